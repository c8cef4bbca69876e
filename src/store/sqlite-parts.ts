import type Database from 'better-sqlite3';

/** Small parts of the SQLite store's writes (sqlite.ts). */

/**
 * A stored run as the writes need it: its key in the other tables, its graph, and its fold_seq:
 * not null while its nodes are kept as the fold of its events (see foldedRuns in sqlite.ts).
 */
export interface RunRef { no: number; graphId: string; foldSeq: number | null }

/** `rows` -> a prepared `head VALUES tuple, tuple, … tail` of that many tuples, each prepared on first use. */
export function multiRowStatement(db: Database.Database, head: string, tuple: string, tail: string): (rows: number) => Database.Statement<unknown[]> {
  const statements = new Map<number, Database.Statement<unknown[]>>();
  return function statementFor(rows) {
    let statement = statements.get(rows);
    if (!statement) {
      statement = db.prepare<unknown[]>(`${head} VALUES ${Array(rows).fill(tuple).join(', ')} ${tail}`);
      statements.set(rows, statement);
    }
    return statement;
  };
}

/** `items` of the runs in `runs`, by run id, in their order. */
export function groupByRun<T extends { runId: string }>(items: readonly T[], runs: ReadonlyMap<string, unknown>): Map<string, T[]> {
  const byRun = new Map<string, T[]>();
  for (const item of items) {
    if (!runs.has(item.runId)) continue;
    const list = byRun.get(item.runId);
    if (list) list.push(item);
    else byRun.set(item.runId, [item]);
  }
  return byRun;
}

/**
 * Run refs during one commit: the runs it creates, then the store's (`require`). A batch holds long
 * stretches of one run's events, so the last one looked up is kept.
 */
export class RefLookup {
  #lastId: string | undefined;
  #last: RunRef | undefined;
  constructor(private readonly fresh: ReadonlyMap<string, RunRef>, private readonly require: (runId: string) => RunRef) {}

  get(runId: string): RunRef {
    if (runId !== this.#lastId || !this.#last) {
      this.#last = this.fresh.get(runId) ?? this.require(runId);
      this.#lastId = runId;
    }
    return this.#last;
  }
}
