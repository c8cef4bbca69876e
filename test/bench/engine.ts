/**
 * Engine overhead: wall time of a whole run (createRun → terminal event flushed) divided by the
 * nodes it executed, for no-op nodes, so what is measured is the engine itself: supersteps, events,
 * snapshots, checkpoints and (for SQLite) the durable log.
 *
 * Shapes: chains of 10, 100 and 1,000 nodes; a 5-way fan-out (a → b0..b4 → join → END).
 * Variants: Flowcast on MemoryStore, Flowcast on a SQLite file in a fresh temp dir, and a
 * LangGraph.js StateGraph of the same shape (no checkpointer) as the baseline, measured first, in a
 * child process (see langgraph.ts: it turns on promise hooks for its whole process). Each group of
 * shapes (SHAPE_GROUPS) is measured in a fresh child process too: after the 10-node chain's
 * hundred thousand runs, the same process measured chain-1000/chain-100 per node at up to 1.47×
 * in memory and 1.60× on SQLite, where a fresh one measured 1.14–1.38× and 1.20–1.27×. Median of N runs
 * after a warm-up; N is chosen from a time budget per variant and shape and printed. Memory and
 * SQLite are measured in alternating rounds, chain-100 and chain-1000 in the same rounds, and
 * sqlite/mem and chain-1000/chain-100 are medians of the rounds' ratios, so that load from outside
 * and the machine's speed changing (by up to 1.6×, within a second) fall on both sides alike.
 *
 * Targets: ≤ 20 µs/node in memory; linear in length (µs/node of chain-1000 within 1.5× of
 * chain-100); SQLite ≤ 2× memory.
 *
 * The floor under the SQLite figure is measured in the same rounds: for each shape whose run the
 * store writes in one commit (all but chain-1000, counted by a probe run), the same rows (its run
 * row and its rows of events, as the store wrote them) inserted by bare better-sqlite3 in one
 * transaction, into a file of the same schema, with nothing else. memory + that commit over memory
 * is the best sqlite/mem that any store writing those rows durably could reach.
 *
 * The fan-out also runs, in the same rounds, on a SQLite store whose writer does every WAL
 * checkpoint itself (walCheckpointFrames 0). Medians leave those checkpoints out, so for both the
 * mean per run is printed, and the time spent in runs over 10× the median (stalls), per run.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { GraphCatalog } from '../../src/engine/catalog.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { newId } from '../../src/common/async.ts';
import { EventLog } from '../../src/store/log.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { measureLangGraph } from './langgraph.ts';
import { MAX_STEPS, noop, SHAPE_GROUPS, type Shape } from './shapes.ts';
import { measure, measurePaired, median, num, pairedRatio, progress, ratio, runChild, verdict, withTempDir, type BenchResult, type PairedSample, type Variant } from './util.ts';

const FAR_FUTURE = '9999-12-31T00:00:00.000Z';
/** Per variant and shape: warm-up, then measured repetitions; a shape takes about 3 × their sum. */
const WARMUP_MS = 500;
const BUDGET_MS = 700;
/**
 * Variants measured together: ROUNDS alternating rounds of ROUND_MS each, after WARMUP_MS each.
 * Single rounds' sqlite/mem ratios ranged from 1.1 to 3.7 on the development machine; with 31
 * rounds the median still moved by up to ±0.1 between runs of the bench (15 gave up to ±0.12).
 */
const ROUNDS = 31;
const ROUND_MS = 100;

/** A Flowcast engine over `store` with the shape registered; `run` resolves when the run ended. */
function flowcastRunner(store: Store, shape: Shape, checkpoints = true): { run: () => Promise<number>; forget: () => Promise<void>; close: () => Promise<void> } {
  const log = new EventLog({ store, pubsub: new MemoryPubSub(), checkpoints });
  const kinds = defaultKindRegistry();
  const catalog = new GraphCatalog(store, kinds);
  const builder = new GraphBuilder({ id: shape.name, name: shape.name, maxSteps: MAX_STEPS });
  for (const id of shape.nodes) builder.addNode(id, noop);
  builder.setEntry(shape.entry);
  for (const [from, to] of shape.edges) builder.addEdge(from, to);
  catalog.register(builder.compile(kinds));
  const engine = new Engine({ log, catalog });
  return {
    async run() {
      const run = await engine.run(shape.name, {}, { maxSteps: MAX_STEPS });
      if (run.status !== 'COMPLETED') throw new Error(`${shape.name}: run ended ${run.status}: ${JSON.stringify(run.error)}`);
      return run.lastSeq;
    },
    // A MemoryStore keeps every run's events in the heap: by the end of a shape, hundreds of MB
    // that each major GC marks, slowing every variant measured in this process. So the memory
    // variant deletes each finished run after it, untimed, as retention would in a long-lived
    // server; the SQLite variant's retention is not timed either (it has none here).
    async forget() {
      await store.deleteFinishedBefore(FAR_FUTURE, 10_000);
    },
    async close() {
      await engine.shutdown();
      await store.close();
    },
  };
}

/** Runs before the probe run that counts commits. */
const PROBE_WARMUP_RUNS = 20;

/**
 * One run of `shape` on a SQLite file at `path`, after PROBE_WARMUP_RUNS to warm up: how many
 * commits it took, and the rows it left.
 */
async function probeRun(shape: Shape, path: string): Promise<{ commits: number; rows: ReturnType<typeof lastRunRows> }> {
  const store = openSqliteStore(path);
  const commit = store.commit.bind(store);
  let commits = 0;
  store.commit = (batch) => {
    commits++;
    return commit(batch);
  };
  const runner = flowcastRunner(store, shape);
  // Warm: a run that is still being compiled can outlast the log's 5 ms and take two commits.
  for (let i = 0; i < PROBE_WARMUP_RUNS; i++) await runner.run();
  commits = 0;
  await runner.run();
  await runner.close();
  return { commits, rows: lastRunRows(path) };
}

/** The rows of the latest run the SQLite store at `path` wrote. */
function lastRunRows(path: string): { run: Record<string, unknown>; events: Array<{ seq: number; last_seq: number; data: string | Buffer }> } {
  const db = new Database(path, { readonly: true });
  try {
    const run = db.prepare<[], Record<string, unknown>>('SELECT * FROM runs ORDER BY no DESC LIMIT 1').get()!;
    const events = db.prepare<[number], { seq: number; last_seq: number; data: string | Buffer }>('SELECT seq, last_seq, data FROM events WHERE run_no = ? ORDER BY key').all(run['no'] as number);
    return { run, events };
  } finally {
    db.close();
  }
}

/**
 * Bare better-sqlite3 committing `rows` (a run row and its rows of events) again and again, each
 * time as a new run with a new id, in one transaction, into a file at `path` with Flowcast's schema
 * and pragmas: what a run's durable write costs with no store around it.
 */
async function rawCommitRunner(path: string, rows: ReturnType<typeof lastRunRows>): Promise<{ commit: () => void; close: () => void }> {
  await openSqliteStore(path).close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  const columns = Object.keys(rows.run).filter((column) => column !== 'no');
  const insertRun = db.prepare<unknown[]>(`INSERT INTO runs (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const insertEvents = db.prepare<[number, number, number, number, number, string | Buffer]>('INSERT INTO events (key, run_no, seq, last_seq, data) VALUES ((? << 32) | ?, ?, ?, ?, ?)');
  const values = columns.map((column) => rows.run[column]);
  const idAt = columns.indexOf('id');
  // As the store's commit writes a run row: not yet in the graph and retention indexes (migration
  // 013). The probe read it after closing the store, which listed it. The store's later listing of
  // many rows at once is in its own figure only.
  values[columns.indexOf('listed')] = 0;
  const commit = db.transaction(() => {
    values[idAt] = newId('run');
    const no = Number(insertRun.run(...values).lastInsertRowid);
    for (const batch of rows.events) insertEvents.run(no, batch.seq, no, batch.seq, batch.last_seq, batch.data);
  });
  return { commit: () => commit(), close: () => db.close() };
}

interface Row {
  shape: Shape;
  events: number;
  mem: number;
  sqlite: number;
  /** Median over rounds of the SQLite/memory ratio of round medians. */
  ratio: number;
  /** SQLite µs/node with checkpoints dropped (chain-1000 only). */
  noCheckpoints: number | undefined;
  /** Median over rounds of (memory + a bare commit of the run's rows) / memory; for runs written in one commit. */
  floor: number | undefined;
  /** SQLite with the WAL checkpoint thread and with the writer checkpointing (compareWalThread): mean µs/node, and µs per run spent in runs over 10× the median. */
  walThread: { mean: number; inlineMean: number; stall: number; inlineStall: number } | undefined;
  /** The rounds' run times per variant, for ratios across shapes measured together. */
  paired: { mem: PairedSample; sqlite: PairedSample };
}

/**
 * Measures shapes together: Flowcast on memory and on SQLite for every shape of the group, in
 * alternating rounds, so that a ratio between two of them (SQLite/memory, or chain-1000/chain-100
 * per node) is not skewed by the machine's speed changing between measurements. Runs in a child
 * process of its own (see benchEngine).
 */
async function benchGroup(shapes: Shape[], dir: string): Promise<Row[]> {
  const budget = { budgetMs: BUDGET_MS, warmupMs: WARMUP_MS };
  progress(`${shapes.map((s) => s.name).join(', ')}: flowcast-mem and flowcast-sqlite, in alternating rounds`);
  const runners = [];
  for (const shape of shapes) {
    const probe = await probeRun(shape, join(dir, `${shape.name}-probe.db`));
    runners.push({
      shape,
      events: 0,
      mem: flowcastRunner(new MemoryStore(), shape),
      sqlite: flowcastRunner(openSqliteStore(join(dir, `${shape.name}.db`)), shape),
      raw: probe.commits === 1 ? await rawCommitRunner(join(dir, `${shape.name}-raw.db`), probe.rows) : undefined,
      inline: shape.compareWalThread ? flowcastRunner(openSqliteStore(join(dir, `${shape.name}-inline.db`), { walCheckpointFrames: 0 }), shape) : undefined,
    });
  }
  const variants: Record<string, Variant> = {};
  for (const r of runners) {
    variants[`${r.shape.name} mem`] = { run: async () => void (r.events = await r.mem.run()), after: r.mem.forget };
    variants[`${r.shape.name} sqlite`] = async () => void (await r.sqlite.run());
    const raw = r.raw;
    if (raw) variants[`${r.shape.name} raw`] = async () => raw.commit();
    const inline = r.inline;
    if (inline) variants[`${r.shape.name} sqlite-inline`] = async () => void (await inline.run());
  }
  const paired = await measurePaired(variants, { rounds: ROUNDS, roundMs: ROUND_MS, warmupMs: WARMUP_MS });

  const rows: Row[] = [];
  for (const r of runners) {
    await r.mem.close();
    await r.sqlite.close();
    r.raw?.close();
    await r.inline?.close();
    const { shape } = r;
    const perNode = (ms: number): number => (ms * 1000) / shape.nodes.length;
    const mem = paired[`${shape.name} mem`]!;
    const sqlite = paired[`${shape.name} sqlite`]!;
    const raw = paired[`${shape.name} raw`];
    const inline = paired[`${shape.name} sqlite-inline`];

    // What checkpoints cost: the same SQLite run with the event log dropping every checkpoint.
    let noCheckpoints: number | undefined;
    if (shape.name === 'chain-1000') {
      progress(`${shape.name}: flowcast-sqlite without checkpoints`);
      const bare = flowcastRunner(openSqliteStore(join(dir, `${shape.name}-bare.db`)), shape, false);
      noCheckpoints = perNode((await measure(async () => void (await bare.run()), budget)).medianMs);
      await bare.close();
    }
    rows.push({
      shape,
      events: r.events,
      noCheckpoints,
      floor: raw && median(mem.roundMedians.map((value, round) => (value + raw.roundMedians[round]!) / value)),
      walThread: inline && { mean: perNode(sqlite.meanMs), inlineMean: perNode(inline.meanMs), stall: sqlite.stallMs * 1000, inlineStall: inline.stallMs * 1000 },
      ratio: pairedRatio(sqlite, mem),
      mem: perNode(mem.medianMs),
      sqlite: perNode(sqlite.medianMs),
      paired: { mem, sqlite },
    });
  }
  return rows;
}

/** Set in the child process that measures one group of shapes: its index in SHAPE_GROUPS. */
const GROUP_ENV = 'FLOWCAST_BENCH_ENGINE_GROUP';

export async function benchEngine(): Promise<BenchResult> {
  const langGraph = await measureLangGraph({ budgetMs: BUDGET_MS, warmupMs: WARMUP_MS });
  const rows: Row[] = [];
  for (let group = 0; group < SHAPE_GROUPS.length; group++) {
    const out = await runChild(fileURLToPath(import.meta.url), { [GROUP_ENV]: String(group) });
    rows.push(...(JSON.parse(out) as Row[]));
  }

  const table = [['shape', 'nodes', 'events/run', 'flowcast-mem µs/node', 'flowcast-sqlite µs/node', 'langgraph µs/node', 'langgraph/mem', 'sqlite/mem', 'floor', 'runs (mem/sql/lg)']];
  for (const r of rows) {
    const lg = langGraph.get(r.shape.name)!;
    const lgPerNode = (lg.medianMs * 1000) / r.shape.nodes.length;
    const reps = `${r.paired.mem.reps}/${r.paired.sqlite.reps}/${lg.reps}`;
    table.push([r.shape.name, String(r.shape.nodes.length), String(r.events), num(r.mem), num(r.sqlite), num(lgPerNode), ratio(lgPerNode / r.mem), ratio(r.ratio), r.floor === undefined ? '—' : ratio(r.floor), reps]);
  }

  const worstMem = Math.max(...rows.map((r) => r.mem));
  const worstSqlite = Math.max(...rows.map((r) => r.ratio));
  const worstShape = rows.find((r) => r.ratio === worstSqlite)!;
  const byName = (name: string): Row => rows.find((r) => r.shape.name === name)!;
  // Per node: the median over rounds of chain-1000's run time / chain-100's, over 10 (the length ratio).
  const perNodeRatio = (variant: 'mem' | 'sqlite'): number => pairedRatio(byName('chain-1000').paired[variant], byName('chain-100').paired[variant]) / 10;
  const linear = perNodeRatio('mem');
  const linearSqlite = perNodeRatio('sqlite');
  const long = byName('chain-1000');
  const checkpointCost = long.sqlite / long.noCheckpoints!;
  return {
    title: 'Engine overhead: µs per node executed (whole run wall time / nodes), median',
    rows: table,
    notes: [
      `target ≤ 20 µs/node in memory:        worst ${num(worstMem)} µs/node  ${verdict(worstMem <= 20)}`,
      `target linear in length (mem):        chain-1000 / chain-100 µs/node = ${ratio(linear)} (≤ 1.50×)  ${verdict(linear <= 1.5)}`,
      `target linear in length (sqlite):     chain-1000 / chain-100 µs/node = ${ratio(linearSqlite)} (≤ 1.50×)  ${verdict(linearSqlite <= 1.5)}`,
      `target sqlite ≤ 2× memory:            worst ${ratio(worstSqlite)} (${worstShape.shape.name})  ${verdict(worstSqlite <= 2)}  (sqlite/mem: median of ${ROUNDS} alternating rounds' ratios)`,
      `floor: (memory + a bare better-sqlite3 commit of the same run's rows) / memory, for runs written in one commit; ${rows.filter((r) => r.floor !== undefined).map((r) => `${r.shape.name} ${ratio(r.floor!)}`).join(', ')}`,
      ...rows.filter((r) => r.walThread).map(({ shape, walThread: w }) =>
        `WAL checkpoints, ${shape.name} on SQLite: with the thread / with the writer checkpointing, mean ${num(w!.mean)} / ${num(w!.inlineMean)} µs/node = ${ratio(w!.mean / w!.inlineMean)}; in runs over 10× the median ${num(w!.stall)} / ${num(w!.inlineStall)} µs per run`),
      `target checkpoints ≤ 2× none:         chain-1000 on SQLite ${num(long.sqlite)} µs/node checkpointing (each write stores the latest step boundary), ${num(long.noCheckpoints!)} with checkpoints dropped = ${ratio(checkpointCost)}  ${verdict(checkpointCost <= 2)}`,
      'langgraph/mem > 1 means Flowcast is faster. LangGraph runs without a checkpointer (nothing stored).',
    ],
  };
}

if (process.env[GROUP_ENV] !== undefined) {
  const shapes = SHAPE_GROUPS[Number(process.env[GROUP_ENV])]!;
  process.stdout.write(JSON.stringify(await withTempDir('engine', (dir) => benchGroup(shapes, dir))));
}
