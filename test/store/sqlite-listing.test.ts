import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { LIST_AFTER_MS } from '../../src/store/sqlite-listing.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import type { RunRecord } from '../../src/events/snapshot.ts';
import { makeEvents, makeRun } from './fixtures.ts';
import { migrateTo, withRawFile } from './sqlite-raw.ts';

/**
 * A run row goes in with listed = 0 and is put in the graph and retention indexes by a later
 * transaction (migration 013, src/store/sqlite-listing.ts): these tests look at the file with a
 * plain connection, as another process would.
 */
describe('SQLite store: listing run rows later', () => {
  let dir = '';
  let file = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-listing-'));
    file = join(dir, 'flowcast.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const withRaw = <T>(fn: (db: Database.Database) => T): T => withRawFile(file, fn);
  /** Run id -> its listed column. */
  const listedOf = (): Record<string, number> =>
    Object.fromEntries(withRaw((db) => db.prepare<[], { id: string; listed: number }>('SELECT id, listed FROM runs').all()).map((r) => [r.id, r.listed]));
  const owners = (): Array<{ pid: number; from_no: number }> => withRaw((db) => db.prepare<[], { pid: number; from_no: number }>('SELECT pid, from_no FROM unlisted').all());
  const noOf = (id: string): number => withRaw((db) => db.prepare<[string], number>('SELECT no FROM runs WHERE id = ?').pluck().get(id)!);
  /** What another connection's graph filter finds: the rows in runs_graph_id. */
  const inGraphIndex = (graphId: string): string[] =>
    withRaw((db) => db.prepare<[string], string>('SELECT id FROM runs INDEXED BY runs_graph_id WHERE graph_id = ? AND listed = 1 ORDER BY id').pluck().all(graphId));

  const finished = (graphId: string, finishedAt: string): RunRecord => makeRun({ graphId, status: 'COMPLETED', startedAt: finishedAt, finishedAt });
  /** Creates `run` and commits one event of it, as a short run's single commit does. */
  async function commitRun(store: SqliteStore, run: RunRecord): Promise<void> {
    await store.createRun(run, []);
    await store.commit({ events: makeEvents(run.id, 1, 1), runs: [run], nodes: [], checkpoints: [] });
  }

  it('commits a run without its index entries and lists it in a transaction of its own a few milliseconds later', async () => {
    const store = openSqliteStore(file);
    const runs = [finished('g', '2001-01-01T00:00:00.000Z'), finished('g', '2001-01-01T00:00:01.000Z'), finished('h', '2001-01-01T00:00:02.000Z')];
    for (const run of runs) await commitRun(store, run);
    expect(listedOf()).toStrictEqual(Object.fromEntries(runs.map((r) => [r.id, 0])));
    // One owner row for the connection, from its first unlisted row, so a later open can list them if this process dies.
    expect(owners()).toStrictEqual([{ pid: process.pid, from_no: noOf(runs[0]!.id) }]);
    expect(inGraphIndex('g')).toStrictEqual([]);

    await sleep(LIST_AFTER_MS + 40);
    expect(listedOf()).toStrictEqual(Object.fromEntries(runs.map((r) => [r.id, 1])));
    expect(owners()).toStrictEqual([]);
    expect(inGraphIndex('g')).toStrictEqual(runs.slice(0, 2).map((r) => r.id).sort());

    // Another connection filters and sweeps by the indexes.
    const other = openSqliteStore(file);
    expect((await other.listRuns({ graphId: 'h' }, { first: 10 })).items.map((r) => r.id)).toStrictEqual([runs[2]!.id]);
    expect(await other.deleteFinishedBefore('2001-01-01T00:00:01.500Z', 10)).toBe(2);
    expect((await store.listRuns({}, { first: 10 })).items.map((r) => r.id)).toStrictEqual([runs[2]!.id]);
    await other.close();
    await store.close();
  });

  it('lists its own unlisted rows before it filters by graph or deletes expired runs', async () => {
    const store = openSqliteStore(file);
    const old = [finished('g', '2001-01-01T00:00:00.000Z'), finished('g', '2001-01-01T00:00:01.000Z')];
    const recent = finished('g', '2031-01-01T00:00:00.000Z');
    for (const run of [...old, recent]) await commitRun(store, run);
    expect(Object.values(listedOf())).toStrictEqual([0, 0, 0]);
    expect((await store.listRuns({ graphId: 'g' }, { first: 10 })).items.map((r) => r.id)).toStrictEqual([recent, ...old].map((r) => r.id).sort().reverse());

    const later = finished('g', '2001-01-01T00:00:02.000Z');
    await commitRun(store, later);
    expect(listedOf()[later.id]).toBe(0);
    expect(await store.deleteFinishedBefore('2030-01-01T00:00:00.000Z', 10)).toBe(3);
    expect((await store.listRuns({ graphId: 'g' }, { first: 10 })).items.map((r) => r.id)).toStrictEqual([recent.id]);
    await store.close();
  });

  it('writes its owner row again when a commit made stale by another connection is written again', async () => {
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    const run = finished('g', '2001-01-01T00:00:00.000Z');
    // a's createRun reads the file in the transaction its commit then writes in; b commits in between.
    await a.createRun(run, []);
    await commitRun(b, finished('g', '2001-01-01T00:00:01.000Z'));
    await a.commit({ events: makeEvents(run.id, 1, 1), runs: [run], nodes: [], checkpoints: [] });
    expect(owners().map((o) => o.from_no).sort()).toStrictEqual(Object.keys(listedOf()).map(noOf).sort());
    await a.close();
    await b.close();
    expect(Object.values(listedOf())).toStrictEqual([1, 1]);
  });

  it('writes its owner row again after a commit that rolled back with the row in it', async () => {
    const store = openSqliteStore(file);
    const run = finished('g', '2001-01-01T00:00:00.000Z');
    await store.createRun(run, []);
    // The run row goes in first, then the events of a run that does not exist fail the commit, and it all rolls back.
    await expect(store.commit({ events: [...makeEvents(run.id, 1, 1), ...makeEvents('run_missing', 1, 1)], runs: [run], nodes: [], checkpoints: [] })).rejects.toThrow(/run_missing/);
    expect(owners()).toStrictEqual([]);
    await store.commit({ events: makeEvents(run.id, 1, 1), runs: [run], nodes: [], checkpoints: [] });
    expect(owners()).toStrictEqual([{ pid: process.pid, from_no: noOf(run.id) }]);
    await store.close();
  });

  it('lists its rows when it closes', async () => {
    const store = openSqliteStore(file);
    const run = finished('g', '2001-01-01T00:00:00.000Z');
    await commitRun(store, run);
    await store.close();
    expect(listedOf()).toStrictEqual({ [run.id]: 1 });
    expect(owners()).toStrictEqual([]);
  });

  it('lists at open the rows of a connection whose process died before it listed them, and leaves a live one\'s to it', async () => {
    // A process that commits two runs and is killed before its listing timer fires.
    const script = `
      import { openSqliteStore } from ${JSON.stringify(join(import.meta.dirname, '../../src/store/sqlite.ts'))};
      const store = openSqliteStore(${JSON.stringify(file)});
      for (const id of ['run_dead_1', 'run_dead_2']) {
        const run = { id, graphId: 'g', status: 'COMPLETED', input: {}, state: {}, progress: 100, currentNodes: [], step: 1, maxSteps: 10, lastSeq: 0, error: null,
          priority: 0, createdAt: '2001-01-01T00:00:00.000Z', startedAt: '2001-01-01T00:00:00.000Z', finishedAt: '2001-01-01T00:00:00.000Z',
          updatedAt: '2001-01-01T00:00:00.000Z', graphHash: null, timeoutMs: null, breakpoints: [], pause: null, concurrencyKey: null, idempotencyKey: null };
        await store.createRun(run, []);
        await store.commit({ events: [], runs: [run], nodes: [], checkpoints: [] });
      }
      process.stdout.write(String(process.pid));
      process.kill(process.pid, 'SIGKILL');
    `;
    const child: { stdout: string; signal?: string } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
      .catch((error: { stdout: string; signal: string }) => error);
    expect(child.signal).toBe('SIGKILL');
    const deadPid = Number(child.stdout);
    expect(listedOf()).toStrictEqual({ run_dead_1: 0, run_dead_2: 0 });
    expect(owners()).toStrictEqual([{ pid: deadPid, from_no: noOf('run_dead_1') }]);

    // A live connection with a row of its own unlisted.
    const live = openSqliteStore(file);
    const mine = finished('g', '2001-01-01T00:00:00.000Z');
    await commitRun(live, mine);

    // Opening another store lists the dead process's rows (and, being past them, the live one's), and forgets only the dead owner.
    const opened = openSqliteStore(file);
    expect(listedOf()).toMatchObject({ run_dead_1: 1, run_dead_2: 1 });
    expect(owners()).toStrictEqual([{ pid: process.pid, from_no: noOf(mine.id) }]);
    expect((await opened.listRuns({ graphId: 'g' }, { first: 10 })).items.map((r) => r.id)).toContain('run_dead_2');
    expect(await opened.deleteFinishedBefore('2002-01-01T00:00:00.000Z', 10)).toBeGreaterThanOrEqual(2);
    await opened.close();
    await live.close();
    expect(owners()).toStrictEqual([]);
  });

  it('keeps every run of a file migrated from version 12 in both indexes', async () => {
    const run = finished('g', '2001-01-01T00:00:00.000Z');
    withRaw((db) => {
      migrateTo(db, 12);
      db.prepare(`INSERT INTO runs (id, graph_id, status, priority, data, pending, created_at, updated_at, finished_at)
        VALUES (?, 'g', 'COMPLETED', 0, ?, '[]', ?, ?, ?)`).run(run.id, JSON.stringify({ ...run, id: undefined }), run.createdAt, run.updatedAt, run.finishedAt);
    });
    const store = openSqliteStore(file);
    expect(listedOf()).toStrictEqual({ [run.id]: 1 });
    expect(inGraphIndex('g')).toStrictEqual([run.id]);
    expect(await store.deleteFinishedBefore('2002-01-01T00:00:00.000Z', 10)).toBe(1);
    await store.close();
  });
});
