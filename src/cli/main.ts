import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, toAppError } from '../common/errors.ts';
import { isPlainObject, parseJson, type JsonObject } from '../common/json.ts';
import { exportRun } from '../engine/export.ts';
import type { RunEvent } from '../events/types.ts';
import { createServices } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { withStateUpdates } from '../store/blobs.ts';
import type { Store } from '../store/types.ts';
import { follow, outcome } from './follow.ts';
import { colorsFor, RunPicture } from './frame.ts';
import { connect, DEFAULT_SERVER, explainClientError, fromServerEvent, type Remote } from './remote.ts';
import { formatRuns, parseLimit, parseStatuses } from './runs.ts';
import { chooseSink } from './view.ts';

const USAGE = `usage:
  flowcast run <graph-id | graph.json> [--input '<json>'] [--watch] [--json] [--db <path> | --server <url>]
      runs a graph and prints each event as a line; --watch shows a live view instead (one line per
      node and a progress bar) when stdout is a terminal. In-process on the local store, or with
      --server on a running server
  flowcast watch <run-id> [--server <url> | --db <path>] [--json]
      follows a run live on a server (--server, else $FLOWCAST_SERVER, else ${DEFAULT_SERVER});
      with --db, shows a finished or paused run from that database file instead
  flowcast runs [--status <s,…>] [--graph <id>] [--limit <n>] [--server <url> | --db <path>]
      lists runs, newest first (server as for watch, or the database file with --db)
  flowcast export <run-id> [file] [--db <path>]
      writes the run (record, graph, node states, every event) as one JSON document to file,
      or to stdout without one
  flowcast graphs [--db <path>]      lists the graphs you can run
  flowcast demo [--db <path>]        runs every demo graph

  exit codes: 0 the run completed (export: written); 1 it failed, was cancelled or paused; 2 bad
  usage or input, unknown graph or run, server unreachable, a file export cannot write; 130 stopped watching a server's run with Ctrl-C (the
  run goes on there). Ctrl-C on a run in process cancels it (exit 1)

  --db defaults to $FLOWCAST_DB or ./data/flowcast.db (":memory:" keeps nothing); without --db,
  a set $DATABASE_URL (postgres://…) picks the PostgreSQL store instead (run, export, graphs, demo)`;

const OPTIONS = {
  input: { type: 'string', short: 'i' },
  db: { type: 'string' },
  server: { type: 'string' },
  json: { type: 'boolean' },
  watch: { type: 'boolean', short: 'w' },
  status: { type: 'string', multiple: true },
  graph: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Option = keyof typeof OPTIONS;

/** The options each command takes (help is taken by all). */
const TAKES: Record<string, readonly Option[]> = {
  run: ['input', 'db', 'server', 'json', 'watch'],
  watch: ['server', 'db', 'json'],
  runs: ['status', 'graph', 'limit', 'server', 'db'],
  export: ['db'],
  graphs: ['db'],
  demo: ['db', 'json'],
};

type Values = { [K in Option]?: K extends 'status' ? string[] : K extends 'json' | 'watch' | 'help' ? boolean : string };

/** Exit codes: 0 completed (export: written), 1 the run failed, was cancelled or paused, 2 bad usage or input, 130 stopped watching. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    return usage((error as Error).message);
  }
  const values: Values = parsed.values;
  const [command, target, ...extra] = parsed.positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const takes = TAKES[command];
  if (!takes) return usage(`unknown command "${command}"`);
  const stray = (Object.keys(values) as Option[]).find((option) => option !== 'help' && !takes.includes(option));
  if (stray) return usage(`${command} does not take --${stray}`);
  // export takes a file after the run id; no other command takes a second argument.
  const [file, ...rest] = command === 'export' ? extra : [undefined, ...extra];
  if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
  if (values.server !== undefined && values.db !== undefined) return usage('pass either --server (a running server) or --db (a database file), not both');

  switch (command) {
    case 'run': {
      if (!target) return usage('run needs a graph id or a graph file, e.g. flowcast run fan-out');
      const input = parseInput(values.input);
      if (typeof input === 'number') return input;
      return values.server !== undefined ? runRemote(connect(values.server), target, input, values) : runLocal(target, input, values);
    }
    case 'watch':
      if (!target) return usage('watch needs a run id, e.g. flowcast watch run_…; flowcast runs lists them');
      return values.db !== undefined ? watchStored(target, values.db, values) : watchRemote(connect(values.server), target, values);
    case 'runs':
      if (target) return usage(`unexpected argument "${target}"`);
      return listRuns(values);
    case 'export':
      if (!target) return usage('export needs a run id, e.g. flowcast export run_0abc123 run.json');
      return exportToFile(target, file, values);
    case 'graphs': {
      if (target) return usage(`unexpected argument "${target}"`);
      const app = await compose(values.db);
      try {
        for (const graph of await app.catalog.list()) console.log(`${graph.id.padEnd(20)} ${graph.name} — ${graph.description}`);
        return 0;
      } finally {
        await app.close();
      }
    }
    case 'demo': {
      if (target) return usage(`unexpected argument "${target}"`);
      const app = await compose(values.db);
      try {
        const inputs: Record<string, JsonObject> = {
          'code-review': { code: 'function parse(s) { if (!s) return null; for (const c of s) { if (c === "{") return c; } return s && s.trim(); }\nconst add = (a, b) => a + b;', threshold: 90, max_iterations: 3 },
          'content-pipeline': { topic: 'live workflow graphs' },
          'fan-out': { value: 3 },
        };
        let worst = 0;
        for (const [graphId, input] of Object.entries(inputs)) {
          console.log(`\n== ${graphId}`);
          worst = Math.max(worst, await runInProcess(app, graphId, input, { json: values.json ?? false, watch: false }));
        }
        return worst;
      } finally {
        await app.close();
      }
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}

type Services = Awaited<ReturnType<typeof createServices>>;

/** The in-process services on --db (an explicit --db means that SQLite file, even where DATABASE_URL is set). */
function compose(db: string | undefined): Promise<Services> {
  return createServices({ ...loadConfig(), ...(db !== undefined ? { dbPath: db, databaseUrl: undefined } : {}) });
}

/** The run input: a JSON object, {} when absent; on bad JSON prints the usage error and returns its exit code. */
function parseInput(text: string | undefined): JsonObject | number {
  if (text === undefined) return {};
  const result = parseJson(text);
  if (!result.ok) return usage(`--input is not valid JSON (${result.error}); pass an object, e.g. --input '{"value": 3}'`);
  // The engine says the same; a server would too, but only after a round trip.
  if (!isPlainObject(result.value)) throw new AppError('INVALID_INPUT', 'run input must be a JSON object, e.g. {"topic": "graphs"}');
  return result.value;
}

async function runLocal(target: string, input: JsonObject, values: Values): Promise<number> {
  const app = await compose(values.db);
  try {
    const graphId = target.endsWith('.json') ? (await app.catalog.create(readGraphFile(target))).id : target;
    return await runInProcess(app, graphId, input, { json: values.json ?? false, watch: values.watch ?? false });
  } finally {
    await app.close();
  }
}

/** Runs a graph in this process, on the local store, following its events from the event log. Ctrl-C cancels the run. */
async function runInProcess(app: Services, graphId: string, input: JsonObject, mode: { json: boolean; watch: boolean }): Promise<number> {
  const run = await app.engine.createRun(graphId, input);
  const sink = chooseSink(mode, () => new RunPicture(run.id, run.graphId, [...run.nodes.keys()]));
  const done = app.engine.execute(run.id);
  const followed = await follow(mode.json ? whole(app.store, app.log.stream(run.id)) : app.log.stream(run.id), sink, {
    // Our own run, followed live: any pause is the one it is in now.
    upToNow: () => true,
    onInterrupt: () => void app.engine.cancel(run.id, 'cancelled from the terminal (Ctrl-C)'),
  });
  await done;
  return outcome(run.id, followed, {
    paused: 'it stays PAUSED in the database, and a server started on it can resume it (resumeRun)',
    detached: 'it was cancelled',
  });
}

async function runRemote(remote: Remote, target: string, input: JsonObject, values: Values): Promise<number> {
  if (target.endsWith('.json')) {
    throw new AppError('INVALID_INPUT', `a graph file runs in-process only; leave out --server, or create the graph on the server (createGraph) and run it by id`);
  }
  try {
    const run = await remote.client.startRun(target, input);
    return await followRemote(remote, run.id, run.graphId, run.nodes.map((node) => node.nodeId), 0, { json: values.json ?? false, watch: values.watch ?? false });
  } catch (error) {
    throw explainClientError(error, remote);
  } finally {
    await remote.client.dispose();
  }
}

async function watchRemote(remote: Remote, runId: string, values: Values): Promise<number> {
  try {
    const run = await remote.client.getRun(runId);
    if (!run) throw new AppError('RUN_NOT_FOUND', `no run "${runId}" on ${remote.base}; flowcast runs --server ${remote.base} lists its runs`);
    return await followRemote(remote, run.id, run.graphId, run.nodes.map((node) => node.nodeId), run.lastSeq, { json: values.json ?? false, watch: true });
  } catch (error) {
    throw explainClientError(error, remote);
  } finally {
    await remote.client.dispose();
  }
}

/**
 * Follows a run on a server from seq 1 (the view is rebuilt from every event). `attachedAt` is the
 * run's last seq when we attached: a pause before it may have been resumed since; a pause the run
 * is still in at it (or later) stops the watching, since nobody here can answer it. Ctrl-C stops
 * watching; the run goes on.
 */
async function followRemote(remote: Remote, runId: string, graphId: string, nodeIds: string[], attachedAt: number, mode: { json: boolean; watch: boolean }): Promise<number> {
  const stop = new AbortController();
  const sink = chooseSink(mode, () => new RunPicture(runId, graphId, nodeIds));
  const stream = remote.client.runEvents(runId, { signal: stop.signal });
  async function* events(): AsyncGenerator<RunEvent> {
    for await (const event of stream) yield fromServerEvent(event);
  }
  const followed = await follow(events(), sink, { upToNow: (event) => event.seq >= attachedAt, onInterrupt: () => stop.abort() });
  const again = `flowcast watch ${runId} --server ${remote.base}`;
  return outcome(runId, followed, {
    paused: `resume it on the server (resumeRun), then watch it again: ${again}`,
    detached: `it keeps running on the server; watch it again: ${again}`,
  });
}

/** A run as a database file has it: finished or paused runs only (a file carries no live events). */
async function watchStored(runId: string, db: string, values: Values): Promise<number> {
  requireFile(db);
  const app = await compose(db);
  try {
    const run = await app.store.getRun(runId);
    if (!run) throw new AppError('RUN_NOT_FOUND', `no run "${runId}" in ${db}; flowcast runs --db ${db} lists its runs`);
    if (run.status === 'QUEUED' || run.status === 'RUNNING') {
      throw new AppError('INVALID_INPUT', `run ${runId} is ${run.status} in ${db}, and a database file has no live events; watch it on the server that runs it: flowcast watch ${runId} --server <url>`);
    }
    const nodes = await app.store.getNodes(runId);
    const sink = chooseSink({ json: values.json ?? false, watch: true }, () => new RunPicture(run.id, run.graphId, nodes.map((node) => node.nodeId)));
    const followed = await follow(values.json ? whole(app.store, storedEvents(app.store, runId)) : storedEvents(app.store, runId), sink, { upToNow: (event) => event.seq >= run.lastSeq, onInterrupt: () => undefined });
    return outcome(runId, followed, { paused: 'a server started on this database can resume it (resumeRun)', detached: '' });
  } finally {
    await app.close();
  }
}

async function* storedEvents(store: Store, runId: string): AsyncGenerator<RunEvent> {
  for (let after = 0; ; ) {
    const page = await store.readEvents(runId, after, 500);
    if (page.length === 0) return;
    yield* page;
    after = page.at(-1)!.seq;
  }
}

async function listRuns(values: Values): Promise<number> {
  const status = parseStatuses(values.status ?? []);
  const first = parseLimit(values.limit);
  const colors = colorsFor(process.stdout);
  const print = (runs: Parameters<typeof formatRuns>[0]): number => {
    console.log(runs.length === 0 ? 'no runs' : formatRuns(runs, Date.now(), colors));
    return 0;
  };
  if (values.db !== undefined) {
    requireFile(values.db);
    const app = await compose(values.db);
    try {
      const page = await app.store.listRuns({ status, ...(values.graph !== undefined ? { graphId: values.graph } : {}) }, { first });
      return print(page.items);
    } finally {
      await app.close();
    }
  }
  const remote = connect(values.server);
  try {
    const page = await remote.client.listRuns({ ...(status.length > 0 ? { status } : {}), ...(values.graph !== undefined ? { graphId: values.graph } : {}), first });
    return print(page.runs);
  } catch (error) {
    throw explainClientError(error, remote);
  } finally {
    await remote.client.dispose();
  }
}

/** Writes a run's export (exportRun) to `file`, or to stdout without one. */
async function exportToFile(runId: string, file: string | undefined, values: Values): Promise<number> {
  if (values.db !== undefined) requireFile(values.db);
  const app = await compose(values.db);
  try {
    const exported = await exportRun(app.store, app.catalog, runId);
    const text = `${JSON.stringify(exported, null, 2)}\n`;
    if (file === undefined) process.stdout.write(text);
    else {
      writeTextFile(file, text);
      console.log(`wrote run ${runId} (${exported.run.status}, ${exported.events.length} events) to ${file}`);
    }
    return 0;
  } finally {
    await app.close();
  }
}

function writeTextFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** JSON lines are for programs: each event whole, a large state update loaded from where it is stored apart. */
async function* whole(store: Store, events: AsyncIterable<RunEvent>): AsyncGenerator<RunEvent> {
  for await (const event of events) yield (await withStateUpdates(store, [event]))[0]!;
}

/** Reading commands must not create a database file where a typo points. */
function requireFile(db: string): void {
  if (db !== ':memory:' && !existsSync(db)) throw new AppError('INVALID_INPUT', `no database file ${db}; pass the file a server or flowcast run wrote (default ./data/flowcast.db)`);
}

function readGraphFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('INVALID_INPUT', `cannot read graph file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new AppError('INVALID_INPUT', `graph file ${path} is not valid JSON: ${parsed.error}`);
  return parsed.value;
}

function usage(message: string): number {
  console.error(`flowcast: ${message} (flowcast --help shows usage)`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (thrown: unknown) => {
    const error = toAppError(thrown);
    const lines = error.code === 'INVALID_GRAPH' ? error.message.replace(/\n/g, '; ') : error.message;
    console.error(`flowcast: ${lines}`);
    process.exitCode = error.code === 'INTERNAL' ? 1 : 2;
  },
);
