/**
 * Event append rate: events/s written through Flowcast's EventLog into the SQLite store, against a
 * raw better-sqlite3 baseline writing the same rows.
 *
 * Flowcast: 100,000 small Progress events across 10 runs via `log.append(run, event)`, awaiting
 * `log.flush()` every 1,000 appends (as the engine does at step boundaries), then a final flush.
 * That path assigns seqs, folds each event into its run snapshot, and commits events plus the
 * touched run rows in one transaction per batch.
 * Raw: the same event objects JSON-encoded and inserted with one prepared INSERT into an events
 * table made by Flowcast's own migrations, in transactions of 1,000, WAL + synchronous=NORMAL.
 * Both write a fresh file in a temp dir; the median of REPS repetitions (alternating which writer
 * goes first) is printed.
 *
 * Target: flowcast/raw ≥ 0.5×.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { newNodeSnapshot, toRecord, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { NewRunEvent } from '../../src/events/types.ts';
import { EventLog } from '../../src/store/log.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { median, num, progress, ratio, verdict, withTempDir, type BenchResult } from './util.ts';

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

/** Seconds to append EVENTS events through EventLog into a SqliteStore at `path`. */
async function flowcastOnce(path: string, events: number): Promise<number> {
  const store = openSqliteStore(path);
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
  await store.close();
  removeDb(path);
  if (stored !== events / RUNS) throw new Error(`flowcast stored ${stored} events for run 0, expected ${events / RUNS}`);
  return seconds;
}

/** Seconds to insert the same rows straight into a table of the same schema with better-sqlite3. */
async function rawOnce(path: string, events: number): Promise<number> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const migration of loadMigrations('sqlite')) db.exec(migration.sql);
  // The same rows the SQLite store writes: keyed by the run's integer number, the JSON without the
  // fields that live in columns or in the run row.
  const insert = db.prepare<[number, number, string, string]>('INSERT INTO events (run_no, seq, type, data) VALUES (?, ?, ?, ?)');
  const runs = Array.from({ length: RUNS }, (_, i) => newRunSnapshot(i));
  const writeBatch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const run = runs[i % RUNS]!;
      const { runId: _runId, graphId: _graphId, type, ...data } = progressEvent(run, i);
      insert.run((i % RUNS) + 1, ++run.lastSeq, type, JSON.stringify(data));
    }
  });
  const t0 = performance.now();
  for (let from = 0; from < events; from += BATCH) {
    writeBatch(from, Math.min(events, from + BATCH));
    // Yield like the Flowcast loop's awaited flush does, so both pay for the same number of awaits.
    await Promise.resolve();
  }
  const seconds = (performance.now() - t0) / 1000;
  const count = db.prepare<[], { c: number }>('SELECT count(*) AS c FROM events').get()?.c;
  db.close();
  removeDb(path);
  if (count !== events) throw new Error(`raw stored ${count} events, expected ${events}`);
  return seconds;
}

export async function benchAppend(): Promise<BenchResult> {
  const { flowcast, raw } = await withTempDir('append', async (dir) => {
    progress('append: warm-up');
    await flowcastOnce(join(dir, 'warm-flowcast.db'), EVENTS);
    await rawOnce(join(dir, 'warm-raw.db'), EVENTS);
    const times = { flowcast: [] as number[], raw: [] as number[] };
    for (let rep = 0; rep < REPS; rep++) {
      progress(`append: repetition ${rep + 1}/${REPS}`);
      // Alternate which writer goes first, so neither always runs on a warmer (or busier) machine.
      const flowcast = async (): Promise<void> => void times.flowcast.push(await flowcastOnce(join(dir, `flowcast-${rep}.db`), EVENTS));
      const raw = async (): Promise<void> => void times.raw.push(await rawOnce(join(dir, `raw-${rep}.db`), EVENTS));
      for (const writer of rep % 2 === 0 ? [flowcast, raw] : [raw, flowcast]) await writer();
    }
    return { flowcast: EVENTS / median(times.flowcast), raw: EVENTS / median(times.raw) };
  });
  const r = flowcast / raw;
  return {
    title: `Event append rate into SQLite: ${EVENTS.toLocaleString('en-US')} Progress events over ${RUNS} runs, batches of ${BATCH.toLocaleString('en-US')}, median of ${REPS}`,
    rows: [
      ['writer', 'events/s', 'µs/event', 'vs raw'],
      ['flowcast EventLog → SqliteStore', num(flowcast, 0), num(1e6 / flowcast, 2), ratio(r)],
      ['raw better-sqlite3 INSERT', num(raw, 0), num(1e6 / raw, 2), ratio(1)],
    ],
    notes: [`target flowcast/raw ≥ 0.50×:  ${ratio(r)}  ${verdict(r >= 0.5)}`],
  };
}
