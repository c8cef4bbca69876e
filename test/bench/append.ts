/**
 * Event append rate: events/s written through Flowcast's EventLog into the SQLite store, against a
 * raw better-sqlite3 baseline writing the same rows; then the same for the PostgreSQL store against
 * a raw batched insert with the same `pg` driver, when DATABASE_URL is set (skipped, saying so,
 * when it is not).
 *
 * Flowcast: 100,000 small Progress events across 10 runs via `log.append(run, event)`, awaiting
 * `log.flush()` every 1,000 appends (as the engine does at step boundaries), then a final flush.
 * That path assigns seqs, folds each event into its run snapshot, and commits events plus the
 * touched run rows in one transaction per batch.
 * Raw, two ways, in transactions of 1,000, WAL + synchronous=NORMAL, the ratio against the faster:
 * (rows) the same event objects JSON-encoded and inserted one row each with one prepared INSERT,
 * into the events table as Flowcast's migrations before 006 made it (run_no, seq, type, data); and
 * (batches) the same rows the store now writes: per transaction and run, one row holding a JSON
 * list of its events (at most 64), into the events table of all of Flowcast's migrations.
 * Each writes a fresh file in a temp dir; the median of REPS repetitions (rotating which writer
 * goes first) is printed.
 * PostgreSQL: the same Flowcast path into a PostgresStore, each repetition in a fresh schema
 * (dropped after). Raw: one `pg` connection inserting the same rows into the events table of
 * Flowcast's own migrations, one statement (so one transaction) per batch of 1,000, in the two
 * usual ways: a multi-row INSERT … VALUES of 4,000 parameters, and INSERT … SELECT FROM unnest()
 * of four arrays (the store's own way). The ratio is against the faster of the two.
 *
 * Target: flowcast/raw ≥ 0.5× for each database.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { newNodeSnapshot, toRecord, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { NewRunEvent } from '../../src/events/types.ts';
import { EventLog } from '../../src/store/log.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { dropSchema, freshSchema } from '../utils/postgres.ts';
import { median, num, progress, ratio, verdict, withTempDir, type BenchResult } from './util.ts';

const PRIORITY_CODES = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];

const EVENTS = 100_000;
const RUNS = 10;
const BATCH = 1_000;
const REPS = 5;

function newRunSnapshot(index: number): RunSnapshot {
  const now = new Date().toISOString();
  return {
    id: `run_bench_${String(index).padStart(4, '0')}_${Math.random().toString(36).slice(2, 10)}`,
    graphId: 'bench-append',
    status: 'RUNNING',
    input: {},
    state: {},
    progress: 0,
    currentNodes: [],
    step: 0,
    maxSteps: 100,
    lastSeq: 0,
    error: null,
    graphHash: null,
    timeoutMs: null,
    breakpoints: [],
    pause: null,
    concurrencyKey: null,
    idempotencyKey: null,
    priority: 0,
    createdAt: now,
    startedAt: now,
    finishedAt: null,
    updatedAt: now,
    nodes: new Map([['n', newNodeSnapshot('n')]]),
  };
}

/** The i-th event of a run: a small Progress event, built the same way for both writers. */
function progressEvent(run: RunSnapshot, i: number): NewRunEvent {
  return { type: 'Progress', percent: i % 100, message: `event ${i}`, nodeId: null, runId: run.id, graphId: run.graphId, at: new Date().toISOString(), priority: 'LOW' };
}

/** Deletes a database file and its WAL files, so the repetitions do not pile up ~25 MB each. */
function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

/** Seconds to append `events` events through an EventLog into `store`, checked by reading back. */
async function appendThroughLog(store: Store, events: number): Promise<number> {
  const log = new EventLog({ store, pubsub: new MemoryPubSub() });
  const runs = Array.from({ length: RUNS }, (_, i) => newRunSnapshot(i));
  for (const run of runs) await store.createRun(toRecord(run), [...run.nodes.values()]);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    const run = runs[i % RUNS]!;
    log.append(run, progressEvent(run, i));
    if ((i + 1) % BATCH === 0) await log.flush();
  }
  await log.flush();
  const seconds = (performance.now() - t0) / 1000;
  const stored = await store.lastSeq(runs[0]!.id);
  if (stored !== events / RUNS) throw new Error(`flowcast stored ${stored} events for run 0, expected ${events / RUNS}`);
  return seconds;
}

/** Seconds to append EVENTS events through EventLog into a SqliteStore at `path`. */
async function flowcastOnce(path: string, events: number): Promise<number> {
  const store = openSqliteStore(path);
  try {
    return await appendThroughLog(store, events);
  } finally {
    await store.close();
    removeDb(path);
  }
}

/**
 * Seconds to insert the events straight into an events table with better-sqlite3: one row per
 * event (`rows`, the layout of SQLite migrations 001–005) or one row per run and transaction
 * holding a JSON list of at most 64 of them (`batches`, the store's layout: keyed (run_no << 32) |
 * seq since 007, a time that repeats the one before written as 0, each event a list of its values
 * since 010). The store has written those lists as bytes since 012 (src/store/bytes.ts); the raw
 * writer keeps JSON.stringify, what a writer with no encoder of its own would use.
 */
async function rawOnce(path: string, events: number, layout: 'rows' | 'batches'): Promise<number> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const migrations = loadMigrations('sqlite');
  for (const migration of layout === 'rows' ? migrations.filter((m) => m.version < 6) : migrations) db.exec(migration.sql);
  const runs = Array.from({ length: RUNS }, (_, i) => newRunSnapshot(i));
  // Keyed by the run's integer number, the JSON without the fields that live in columns or in the run row.
  // Each layout prepares only its own insert (the other's columns do not exist).
  const insert = layout === 'rows' ? db.prepare<[number, number, string, string]>('INSERT INTO events (run_no, seq, type, data) VALUES (?, ?, ?, ?)') : undefined;
  const insertBatch = layout === 'batches' ? db.prepare<[number, number, number, number, number, string]>('INSERT INTO events (key, run_no, seq, last_seq, data) VALUES ((? << 32) | ?, ?, ?, ?, ?)') : undefined;
  const writeBatch = db.transaction((from: number, to: number) => {
    if (layout === 'rows') {
      for (let i = from; i < to; i++) {
        const run = runs[i % RUNS]!;
        const { runId: _runId, graphId: _graphId, type, ...data } = progressEvent(run, i);
        insert!.run((i % RUNS) + 1, ++run.lastSeq, type, JSON.stringify(data));
      }
      return;
    }
    // One JSON.stringify per batch, as the store does.
    const open = new Map<number, { first: number; at: string | undefined; entries: unknown[][] }>();
    const close = (no: number, batch: { first: number; entries: unknown[][] }): void => {
      insertBatch!.run(no, batch.first, no, batch.first, batch.first + batch.entries.length - 1, JSON.stringify(batch.entries));
      open.delete(no);
    };
    for (let i = from; i < to; i++) {
      const no = (i % RUNS) + 1;
      const run = runs[i % RUNS]!;
      const event = progressEvent(run, i) as Extract<NewRunEvent, { type: 'Progress' }>;
      let batch = open.get(no);
      if (batch && batch.entries.length === 64) close(no, batch);
      batch = open.get(no);
      if (!batch) open.set(no, (batch = { first: run.lastSeq + 1, at: undefined, entries: [] }));
      run.lastSeq++;
      // Packed as the store packs it (src/store/batch.ts, migrations 010 and 011): Progress is code 8, a priority its index in LOW, NORMAL, HIGH, CRITICAL.
      batch.entries.push([8, event.percent, event.message, event.nodeId, event.at === batch.at ? 0 : event.at, PRIORITY_CODES.indexOf(event.priority)]);
      batch.at = event.at;
    }
    for (const [no, batch] of open) close(no, batch);
  });
  const t0 = performance.now();
  for (let from = 0; from < events; from += BATCH) {
    writeBatch(from, Math.min(events, from + BATCH));
    // Yield like the Flowcast loop's awaited flush does, so both pay for the same number of awaits.
    await Promise.resolve();
  }
  const seconds = (performance.now() - t0) / 1000;
  const count = db.prepare<[], { c: number }>(layout === 'rows' ? 'SELECT count(*) AS c FROM events' : 'SELECT sum(last_seq - seq + 1) AS c FROM events').get()?.c;
  db.close();
  removeDb(path);
  if (count !== events) throw new Error(`raw stored ${count} events, expected ${events}`);
  return seconds;
}

/** Seconds to append EVENTS events through EventLog into a PostgresStore in a fresh schema. */
async function flowcastPgOnce(url: string, events: number): Promise<number> {
  const schema = freshSchema('flowcast_bench');
  try {
    const store = await openPostgresStore(url, { schema });
    try {
      return await appendThroughLog(store, events);
    } finally {
      await store.close();
    }
  } finally {
    await dropSchema(url, schema);
  }
}

/** Seconds to insert the same rows into Flowcast's events table with one `pg` connection, one statement per batch. */
async function rawPgOnce(url: string, events: number, form: 'values' | 'unnest'): Promise<number> {
  const schema = freshSchema('flowcast_bench');
  const client = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    for (const migration of loadMigrations('postgres')) await client.query(migration.sql);
    const runs = Array.from({ length: RUNS }, (_, i) => newRunSnapshot(i));
    const t0 = performance.now();
    for (let from = 0; from < events; from += BATCH) {
      const to = Math.min(events, from + BATCH);
      const columns: [number[], number[], string[], string[]] = [[], [], [], []];
      for (let i = from; i < to; i++) {
        const run = runs[i % RUNS]!;
        const { runId: _runId, graphId: _graphId, type, ...data } = progressEvent(run, i);
        columns[0].push((i % RUNS) + 1);
        columns[1].push(++run.lastSeq);
        columns[2].push(type);
        columns[3].push(JSON.stringify(data));
      }
      if (form === 'unnest') {
        await client.query('INSERT INTO events (run_no, seq, type, data) SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[])', columns);
      } else {
        const params: unknown[] = [];
        const tuples: string[] = [];
        for (let row = 0; row < to - from; row++) {
          const n = params.push(columns[0][row], columns[1][row], columns[2][row], columns[3][row]);
          tuples.push(`($${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
        }
        await client.query(`INSERT INTO events (run_no, seq, type, data) VALUES ${tuples.join(', ')}`, params);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const count = Number((await client.query<{ c: string }>('SELECT count(*) AS c FROM events')).rows[0]?.c);
    if (count !== events) throw new Error(`raw pg stored ${count} events, expected ${events}`);
    return seconds;
  } finally {
    await client.end();
    await dropSchema(url, schema);
  }
}

/** Events/s of each writer: a warm-up of each, then the median of REPS repetitions in rotating order. */
async function compare<K extends string>(label: string, writers: Record<K, (rep: string) => Promise<number>>): Promise<Record<K, number>> {
  const names = Object.keys(writers) as K[];
  progress(`append ${label}: warm-up`);
  for (const name of names) await writers[name]('warm');
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    progress(`append ${label}: repetition ${rep + 1}/${REPS}`);
    // Rotate which writer goes first, so none always runs on a warmer (or busier) machine.
    for (let k = 0; k < names.length; k++) {
      const name = names[(rep + k) % names.length]!;
      times.get(name)!.push(await writers[name](String(rep)));
    }
  }
  return Object.fromEntries(names.map((name) => [name, EVENTS / median(times.get(name)!)])) as Record<K, number>;
}

/** One table row: writer, events/s, µs/event, and the ratio to `raw` events/s. */
function row(writer: string, rate: number, raw: number): string[] {
  return [writer, num(rate, 0), num(1e6 / rate, 2), ratio(rate / raw)];
}

export async function benchAppend(): Promise<BenchResult> {
  const sqlite = await withTempDir('append', (dir) =>
    compare('SQLite', {
      flowcast: (rep) => flowcastOnce(join(dir, `flowcast-${rep}.db`), EVENTS),
      rows: (rep) => rawOnce(join(dir, `raw-rows-${rep}.db`), EVENTS, 'rows'),
      batches: (rep) => rawOnce(join(dir, `raw-batches-${rep}.db`), EVENTS, 'batches'),
    }));
  const rawSqlite = Math.max(sqlite.rows, sqlite.batches);
  const rows = [
    ['writer', 'events/s', 'µs/event', 'vs raw'],
    row('flowcast EventLog → SqliteStore', sqlite.flowcast, rawSqlite),
    row('raw better-sqlite3 INSERT, a row per event', sqlite.rows, rawSqlite),
    row('raw better-sqlite3 INSERT, a row per run and batch', sqlite.batches, rawSqlite),
  ];
  const notes = [`target flowcast/raw ≥ 0.50× (SQLite):      ${ratio(sqlite.flowcast / rawSqlite)}  ${verdict(sqlite.flowcast / rawSqlite >= 0.5)}  (raw: the faster raw SQLite writer)`];
  const url = process.env['DATABASE_URL']?.trim();
  if (url) {
    const pg = await compare('PostgreSQL', {
      flowcast: () => flowcastPgOnce(url, EVENTS),
      values: () => rawPgOnce(url, EVENTS, 'values'),
      unnest: () => rawPgOnce(url, EVENTS, 'unnest'),
    });
    const raw = Math.max(pg.values, pg.unnest);
    rows.push(
      row('flowcast EventLog → PostgresStore', pg.flowcast, raw),
      row('raw pg INSERT … VALUES (multi-row)', pg.values, raw),
      row('raw pg INSERT … SELECT FROM unnest', pg.unnest, raw),
    );
    notes.push(`target flowcast/raw ≥ 0.50× (PostgreSQL):  ${ratio(pg.flowcast / raw)}  ${verdict(pg.flowcast / raw >= 0.5)}  (raw: the faster raw pg writer)`);
  } else {
    notes.push('PostgreSQL rows skipped: DATABASE_URL is not set (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- append)');
  }
  return {
    title: `Event append rate: ${EVENTS.toLocaleString('en-US')} Progress events over ${RUNS} runs, batches of ${BATCH.toLocaleString('en-US')}, median of ${REPS}`,
    rows,
    notes,
  };
}
