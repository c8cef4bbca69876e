/**
 * Fan-out: one run's events streamed to many subscribers, against bare transports measured in the
 * same run. Every server is its own process (fanout-server.ts, forked fresh per scenario); this
 * process is the client side (fanout-clients.ts: hand-rolled raw-socket clients that count
 * messages without parsing JSON). On the 2-core machine that is one core each.
 *
 * 1. WebSocket fan-out: 1,000 graphql-ws subscribers of `runEvents(runId)` (same query, same
 *    variables) of a run whose node emits EVENTS Progress events back to back, yielding to the
 *    event loop every 50. Deliveries/s = 1,000 × EVENTS / (last receipt by any client − first emit).
 *    Baseline: a bare `ws` server broadcasting the very `next` messages Flowcast sent (captured
 *    from one subscriber), each encoded once, to 1,000 sockets with the same pacing.
 *    Target flowcast/raw ≥ 0.8×.
 * 2. SSE fan-out: the same with 1,000 graphql-sse subscriptions (distinct connections mode: POST
 *    /graphql/stream, accept: text/event-stream). Baseline: a bare node:http server writing the
 *    captured `event: next` frames to 1,000 responses. Target ≥ 0.5×.
 * 3. Latency, emit → receipt: 1,000 WebSocket subscribers; the node emits one Progress event every
 *    100 ms (105, the first 5 not counted) whose message is the emit time; each client takes
 *    receipt − emit per message. Baseline: the bare `ws` server broadcasting the same message,
 *    freshly stamped, at the same rate. Target p99 ≤ 1.5× raw.
 * 4. Memory per idle subscription: the server's RSS and heapUsed (after forced GCs) before and after
 *    5,000 subscribers attach to a run that emits nothing, against 5,000 idle connections to the
 *    bare `ws` server; both warmed up by 200 connections first. Target RSS/sub ≤ 1.5× raw.
 *
 * The throughput scenarios keep both servers up: a Flowcast warm-up round (100 subscribers, which
 * also captures the texts the baseline sends), a baseline warm-up, then ROUNDS measured rounds of
 * each, alternating which goes first; the verdict is the median of the back-to-back pairs' ratios,
 * so load from outside the benchmark (other processes on the machine) hits both sides alike. CPU
 * columns are each process's CPU time over the round's wall time (100% = one core): a client near
 * 100% while its server is not means the client limited that round.
 *
 * FLOWCAST_BENCH_FANOUT=ws,sse,latency,memory runs only those scenarios; FLOWCAST_BENCH_CPU_PROF=<dir>
 * runs every server process with --cpu-prof (one sub-dir per server); FLOWCAST_BENCH_HEAP_SNAPSHOT=<dir>
 * writes heap snapshots of the memory scenario's servers before and after the subscribers attach
 * (which inflates the RSS numbers of that run). Takes about 2½ minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../src/common/async.ts';
import { now, openAll, Round, SseClient, WsClient } from './fanout-clients.ts';
import type { Plan, PrepareValue, Reply, ResultValue, ServerCommand, ServerMode } from './fanout-server.ts';
import { formatTable, median, num, progress, ratio, verdict, withTempDir, type BenchResult } from './util.ts';

const CLIENTS = 1_000;
const EVENTS = 500;
const YIELD_EVERY = 50;
const ROUNDS = 3;
/** Subscribers of Flowcast's warm-up round (which also captures the texts the baselines send). */
const WARM_CLIENTS = 100;
const PACED_EVENTS = 105;
const PACED_WARM = 5;
const INTERVAL_MS = 100;
const IDLE = 5_000;
const IDLE_WARM = 200;
/** Connection attempts in flight while connecting (well under the listen backlog). */
const CONNECT_CONCURRENCY = 64;
/** Pause after everyone is subscribed, before the gate opens. */
const SETTLE_MS = 250;

const QUERY = 'subscription Fanout($runId: ID!) { runEvents(runId: $runId) { __typename seq type at ... on Progress { percent message nodeId } } }';
const SERVER_FILE = fileURLToPath(new URL('./fanout-server.ts', import.meta.url));

const burst = (events: number): Plan => ({ kind: 'burst', events, yieldEvery: YIELD_EVERY, intervalMs: 0 });

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Rejects if `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fanout: ${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Answer<T> {
  value: T;
  cpuUs: number;
  t: number;
}

/** A server child process (fanout-server.ts) and its IPC request/reply channel. */
class ServerProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    child.on('message', (message: Reply) => {
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`server exited (${code ?? signal}) with a request pending`));
      this.#pending.clear();
    });
  }

  static start(mode: ServerMode, label: string, dbDir = ''): Promise<ServerProcess> {
    const profDir = process.env['FLOWCAST_BENCH_CPU_PROF'];
    const prof: string[] = [];
    if (profDir) {
      // One dir per server: the process's threads (tsx's loader runs in a worker) each write a profile.
      prof.push('--cpu-prof', `--cpu-prof-dir=${join(profDir, label)}`);
    }
    const child = spawn(process.execPath, [...process.execArgv, '--expose-gc', ...prof, SERVER_FILE, mode, dbDir], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    // stdout is the benchmark's JSON channel to index.ts; whatever the server prints goes to stderr.
    child.stdout?.pipe(process.stderr);
    return within(
      new Promise<ServerProcess>((resolve, reject) => {
        const onMessage = (message: { ready?: boolean; port?: number }): void => {
          if (!message.ready) return;
          child.off('message', onMessage).off('exit', onExit);
          resolve(new ServerProcess(child, message.port!));
        };
        const onExit = (code: number | null): void => reject(new Error(`${label} server exited (${code}) before it was ready`));
        child.on('message', onMessage).once('exit', onExit);
      }),
      30_000,
      `${label} server start`,
    );
  }

  async call<T>(command: ServerCommand): Promise<Answer<T>> {
    const id = this.#nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...command });
    });
    if (!reply.ok) throw new Error(`server ${command.cmd} failed: ${reply.error}`);
    return { value: reply.value as T, cpuUs: reply.cpuUs, t: reply.t };
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      await within(this.call({ cmd: 'stop' }), 15_000, 'server stop');
      await within(exited, 10_000, 'server exit');
    } catch {
      this.#child.kill('SIGKILL');
      await exited;
    }
  }
}

/** Starts a server, runs `work` with it, and always stops it. */
async function withServer<T>(mode: ServerMode, label: string, dbDir: string, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await ServerProcess.start(mode, label, dbDir);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

interface Measured {
  /** Deliveries per second. */
  rate: number;
  ms: number;
  serverCpu: number;
  clientCpu: number;
}

const pct = (share: number): string => `${(share * 100).toFixed(0)}%`;

/** Opens the gate of a prepared round and waits for every client to have its last message. */
async function measureRound(server: ServerProcess, round: Round, clients: number, events: number): Promise<Measured> {
  await within(round.ready.promise, 60_000, 'subscribers ready (replay received)');
  await sleep(SETTLE_MS);
  const cpu0 = process.cpuUsage();
  const wall0 = now();
  const go = await server.call({ cmd: 'go' });
  await within(round.done.promise, 180_000, 'all deliveries');
  const end = await server.call({ cmd: 'sample' });
  const cpu = process.cpuUsage(cpu0);
  const wall = now() - wall0;
  const { value: result } = await server.call<ResultValue>({ cmd: 'result' });
  const ms = round.lastAt - result.t0;
  const measured = {
    rate: (clients * events) / (ms / 1000),
    ms,
    serverCpu: (end.cpuUs - go.cpuUs) / 1000 / (end.t - go.t),
    clientCpu: (cpu.user + cpu.system) / 1000 / wall,
  };
  progress(`  ${num(measured.rate, 0)} deliveries/s in ${num(ms, 0)} ms (last emit at +${num(result.tLast - result.t0, 0)} ms), server cpu ${pct(measured.serverCpu)}, client cpu ${pct(measured.clientCpu)}`);
  return measured;
}

interface Section {
  summary: string[];
  lines: string[];
}

/** One variant of a throughput scenario: its server and how its clients take part in a round. */
interface Side {
  name: string;
  server: ServerProcess;
  /** Prepares a round of `events` and gets the first `clients` clients into it; the round is ready once all are live. */
  arm(clients: number, events: number, capture: boolean): Promise<Round>;
  /** After the round's last delivery: lets it end; returns the captured message texts if asked to capture. */
  finish(round: Round): Promise<string[]>;
  close(): void;
}

async function connectGraphqlWs(port: number, count: number): Promise<WsClient[]> {
  return openAll(count, CONNECT_CONCURRENCY, async () => {
    const client = await WsClient.open(port, '/graphql', 'graphql-transport-ws');
    await within(client.init(), 10_000, 'connection_ack');
    return client;
  });
}

async function flowcastWsSide(server: ServerProcess): Promise<Side> {
  const clients = await connectGraphqlWs(server.port, CLIENTS);
  let rounds = 0;
  return {
    name: 'flowcast',
    server,
    async arm(count, events, capture) {
      const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: burst(events) });
      const round = new Round(count, { skip: prep.preEvents, count: events });
      const id = `r${++rounds}`;
      clients.slice(0, count).forEach((client, i) => client.subscribe(id, QUERY, { runId: prep.runId }, round, capture && i === 0));
      return round;
    },
    async finish(round) {
      await within(round.completed.promise, 60_000, 'complete messages');
      return round.captured;
    },
    close: () => clients.forEach((client) => client.close()),
  };
}

async function rawWsSide(server: ServerProcess, texts: string[]): Promise<Side> {
  await server.call({ cmd: 'texts', texts });
  const clients = await openAll(CLIENTS, CONNECT_CONCURRENCY, () => WsClient.open(server.port, '/'));
  return {
    name: 'raw ws',
    server,
    async arm(count, events) {
      const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: burst(events) });
      if (prep.connections !== CLIENTS) throw new Error(`raw ws server has ${prep.connections} connections, expected ${CLIENTS}`);
      // Every connection gets the broadcast; only the first `count` are waited for.
      const round = new Round(count, { skip: 0, count: events });
      for (const client of clients.slice(0, count)) client.attach(round);
      return round;
    },
    finish: async () => [],
    close: () => clients.forEach((client) => client.close()),
  };
}

/** graphql-sse distinct connections: a fresh POST per subscription, so fresh connections per round. */
function flowcastSseSide(server: ServerProcess): Side {
  let clients: SseClient[] = [];
  let skip = 0;
  return {
    name: 'flowcast',
    server,
    async arm(count, events, capture) {
      const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: burst(events) });
      skip = prep.preEvents;
      const round = new Round(count, { skip, count: events });
      const body = JSON.stringify({ query: QUERY, variables: { runId: prep.runId } });
      clients = await openAll(count, CONNECT_CONCURRENCY, (i) => SseClient.open(server.port, '/graphql/stream', body, round, capture && i === 0));
      return round;
    },
    async finish(round) {
      await within(round.completed.promise, 60_000, 'SSE responses ending');
      const frames = clients[0]!.text.split('\n\n').filter((frame) => frame.startsWith('event: next\n'));
      for (const client of clients) client.close();
      return frames.slice(skip, round.target).map((frame) => `${frame}\n\n`);
    },
    close: () => clients.forEach((client) => client.close()),
  };
}

async function rawSseSide(server: ServerProcess, texts: string[]): Promise<Side> {
  await server.call({ cmd: 'texts', texts });
  const idle = new Round(CLIENTS, { skip: 0, count: 0 });
  const clients = await openAll(CLIENTS, CONNECT_CONCURRENCY, () => SseClient.open(server.port, '/', '{}', idle));
  return {
    name: 'raw sse',
    server,
    async arm(count, events) {
      const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: burst(events) });
      if (prep.connections !== CLIENTS) throw new Error(`raw SSE server has ${prep.connections} responses, expected ${CLIENTS}`);
      const round = new Round(count, { skip: 0, count: events });
      for (const client of clients.slice(0, count)) client.attach(round);
      return round;
    },
    finish: async () => [],
    close: () => clients.forEach((client) => client.close()),
  };
}

/**
 * A warm-up round of Flowcast (which also captures the texts it sent), then the raw baseline set up
 * with those texts and warmed up, then ROUNDS measured rounds of each, alternating which goes
 * first (so load from outside the benchmark drifting over time hits both alike).
 */
async function throughput(options: {
  key: string;
  title: string;
  rawMode: ServerMode;
  flowcast: (server: ServerProcess) => Side | Promise<Side>;
  raw: (server: ServerProcess, texts: string[]) => Promise<Side>;
  target: number;
  dir: string;
  describe: (texts: string[]) => string;
}): Promise<Section> {
  const { key } = options;
  const label = key.replace(/\W+/g, '-');
  return withServer('flowcast', `${label}-flowcast`, join(options.dir, label), (flowcastServer) =>
    withServer(options.rawMode, `${label}-raw`, '', async (rawServer) => {
      const sides: Side[] = [];
      try {
        progress(`${key}: connecting ${num(CLIENTS, 0)} clients to flowcast`);
        const flowcast = await options.flowcast(flowcastServer);
        sides.push(flowcast);
        progress(`${key}: flowcast warm-up (${WARM_CLIENTS} subscribers; one's messages are captured for the baseline)`);
        const { texts } = await runRound(flowcast, WARM_CLIENTS, true);
        if (texts.length !== EVENTS) throw new Error(`fanout: captured ${texts.length} messages, expected ${EVENTS}`);
        progress(`${key}: connecting ${num(CLIENTS, 0)} clients to the raw server`);
        const raw = await options.raw(rawServer, texts);
        sides.push(raw);
        progress(`${key}: raw warm-up`);
        await runRound(raw, CLIENTS, false);
        const results = new Map<Side, Measured[]>([
          [flowcast, []],
          [raw, []],
        ]);
        for (let r = 1; r <= ROUNDS; r++) {
          for (const side of r % 2 === 1 ? [flowcast, raw] : [raw, flowcast]) {
            progress(`${key}: ${side.name} round ${r}`);
            results.get(side)!.push((await runRound(side, CLIENTS, false)).measured);
          }
        }
        const stats = (await flowcastServer.call<{ executions: number; reused: number }>({ cmd: 'stats' })).value;
        const shared = `flowcast shared execution: ${num(stats.executions, 0)} event executions, ${num(stats.reused, 0)} reused by other subscribers`;
        return throughputSection(options.title, key, flowcast.name, results.get(flowcast)!, raw.name, results.get(raw)!, options.target, [options.describe(texts), shared]);
      } finally {
        for (const side of sides) side.close();
      }
    }),
  );
}

/** One round on one side: arm, measure, finish; `texts` is empty unless capturing. */
async function runRound(side: Side, clients: number, capture: boolean): Promise<{ measured: Measured; texts: string[] }> {
  const round = await side.arm(clients, EVENTS, capture);
  const measured = await measureRound(side.server, round, clients, EVENTS);
  return { measured, texts: await side.finish(round) };
}

function throughputSection(title: string, key: string, flowcastName: string, flowcast: Measured[], rawName: string, raw: Measured[], target: number, extra: string[]): Section {
  const fcRate = median(flowcast.map((m) => m.rate));
  const rawRate = median(raw.map((m) => m.rate));
  // Rounds ran in pairs, back to back: the median of the pairs' ratios shrugs off outside load.
  const r = median(flowcast.map((m, i) => m.rate / raw[i]!.rate));
  const table = [['variant', 'round', 'deliveries/s', 'ms', 'server cpu', 'client cpu', 'flowcast/raw']];
  flowcast.forEach((m, i) => table.push([flowcastName, String(i + 1), num(m.rate, 0), num(m.ms, 0), pct(m.serverCpu), pct(m.clientCpu), ratio(m.rate / raw[i]!.rate)]));
  raw.forEach((m, i) => table.push([rawName, String(i + 1), num(m.rate, 0), num(m.ms, 0), pct(m.serverCpu), pct(m.clientCpu), '']));
  const summary = [
    ['metric', 'flowcast', rawName, 'flowcast/raw', 'target', 'verdict'],
    [`deliveries/s (median of ${ROUNDS})`, num(fcRate, 0), num(rawRate, 0), ratio(r), `≥ ${target.toFixed(2)}×`, verdict(r >= target)],
  ];
  return {
    summary: [key, 'deliveries/s', num(fcRate, 0), num(rawRate, 0), ratio(r), `≥ ${target.toFixed(2)}×`, verdict(r >= target)],
    lines: [`-- ${title}`, '', formatTable(summary), '', formatTable(table), ...extra, ''],
  };
}

function sizes(texts: string[]): string {
  const bytes = texts.map((text) => Buffer.byteLength(text));
  return `${Math.min(...bytes)}–${Math.max(...bytes)} bytes`;
}

function wsFanout(dir: string): Promise<Section> {
  return throughput({
    key: 'ws fan-out',
    title: `ws fan-out: ${num(CLIENTS, 0)} graphql-ws subscribers (same query and variables) × ${num(EVENTS, 0)} events, emitted back to back, yielding every ${YIELD_EVERY}`,
    rawMode: 'raw-ws',
    flowcast: flowcastWsSide,
    raw: rawWsSide,
    target: 0.8,
    dir,
    describe: (texts) => `message: ${sizes(texts)}, e.g. ${texts[0]}`,
  });
}

function sseFanout(dir: string): Promise<Section> {
  return throughput({
    key: 'sse fan-out',
    title: `sse fan-out: ${num(CLIENTS, 0)} graphql-sse subscriptions (distinct connections, same query and variables) × ${num(EVENTS, 0)} events`,
    rawMode: 'raw-sse',
    flowcast: flowcastSseSide,
    raw: rawSseSide,
    target: 0.5,
    dir,
    describe: (texts) => `frame: ${sizes(texts)}, e.g. ${JSON.stringify(texts[0])}`,
  });
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

interface Latency extends Percentiles {
  serverCpu: number;
  /** Emit → the event log publishing the event (Flowcast only): the engine's share of the latency. */
  publish: Percentiles | undefined;
}

function percentiles(samples: readonly number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]!, mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, samples: sorted.length };
}

async function pacedRound(server: ServerProcess, round: Round): Promise<Latency> {
  await within(round.ready.promise, 60_000, 'subscribers ready (replay received)');
  await sleep(SETTLE_MS);
  const go = await server.call({ cmd: 'go' });
  await within(round.done.promise, PACED_EVENTS * INTERVAL_MS + 60_000, 'all paced deliveries');
  const end = await server.call({ cmd: 'sample' });
  const { value: result } = await server.call<ResultValue>({ cmd: 'result' });
  const publish = result.publishLatencies?.slice(PACED_WARM);
  return {
    ...percentiles(round.latencies!),
    serverCpu: (end.cpuUs - go.cpuUs) / 1000 / (end.t - go.t),
    publish: publish && publish.length > 0 ? percentiles(publish) : undefined,
  };
}

async function wsLatency(dir: string): Promise<Section> {
  const expected = CLIENTS * (PACED_EVENTS - PACED_WARM);
  let template = '';
  const paced: Plan = { kind: 'paced', events: PACED_EVENTS, yieldEvery: 1, intervalMs: INTERVAL_MS };
  const flowcast = await withServer('flowcast', 'latency-flowcast', join(dir, 'latency'), async (server) => {
    progress(`latency: flowcast, ${CLIENTS} graphql-ws subscribers, ${PACED_EVENTS} events at ${1000 / INTERVAL_MS}/s`);
    const clients = await connectGraphqlWs(server.port, CLIENTS);
    const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: paced });
    const round = new Round(CLIENTS, { skip: prep.preEvents, count: PACED_EVENTS, latency: { warm: PACED_WARM } });
    clients.forEach((client, i) => client.subscribe('lat', QUERY, { runId: prep.runId }, round, i === 0));
    const result = await pacedRound(server, round);
    template = round.captured.at(-1) ?? '';
    for (const client of clients) client.close();
    return result;
  });
  if (!/t=\d+\.\d{3}/.test(template)) throw new Error(`fanout: no timestamped message captured (got ${JSON.stringify(template)})`);

  const raw = await withServer('raw-ws', 'latency-raw', '', async (server) => {
    progress(`latency: raw ws, ${CLIENTS} sockets, ${PACED_EVENTS} messages at ${1000 / INTERVAL_MS}/s`);
    await server.call({ cmd: 'texts', texts: [template] });
    const clients = await openAll(CLIENTS, CONNECT_CONCURRENCY, () => WsClient.open(server.port, '/'));
    await server.call({ cmd: 'prepare', plan: paced });
    const round = new Round(CLIENTS, { skip: 0, count: PACED_EVENTS, latency: { warm: PACED_WARM } });
    for (const client of clients) client.attach(round);
    const result = await pacedRound(server, round);
    for (const client of clients) client.close();
    return result;
  });
  for (const [name, l] of [['flowcast', flowcast], ['raw', raw]] as const) {
    if (l.samples !== expected) throw new Error(`fanout: ${name} latency has ${l.samples} samples, expected ${expected}`);
  }

  const ms = (value: number): string => num(value, 2);
  const r = flowcast.p99 / raw.p99;
  const table = [
    ['metric', 'flowcast', 'raw ws', 'flowcast/raw', 'target', 'verdict'],
    ['p99 ms', ms(flowcast.p99), ms(raw.p99), ratio(r), '≤ 1.50×', verdict(r <= 1.5)],
    ['p50 ms', ms(flowcast.p50), ms(raw.p50), ratio(flowcast.p50 / raw.p50), '', ''],
    ['mean ms', ms(flowcast.mean), ms(raw.mean), ratio(flowcast.mean / raw.mean), '', ''],
    ['max ms', ms(flowcast.max), ms(raw.max), ratio(flowcast.max / raw.max), '', ''],
    ['server cpu', pct(flowcast.serverCpu), pct(raw.serverCpu), '', '', ''],
  ];
  const publish = flowcast.publish;
  return {
    summary: ['ws latency', 'p99 ms', ms(flowcast.p99), ms(raw.p99), ratio(r), '≤ 1.50×', verdict(r <= 1.5)],
    lines: [
      `-- latency: emit → client receipt, ${num(CLIENTS, 0)} subscribers, ${PACED_EVENTS - PACED_WARM} events at ${1000 / INTERVAL_MS}/s (${num(expected, 0)} samples each)`,
      '',
      formatTable(table),
      ...(publish ? [`flowcast emit → event log publish (before any fan-out): p50 ${ms(publish.p50)} ms, p99 ${ms(publish.p99)} ms, max ${ms(publish.max)} ms`] : []),
      `message: ${Buffer.byteLength(template)} bytes, e.g. ${template}`,
      '',
    ],
  };
}

interface MemoryDelta {
  rss: number;
  heap: number;
  external: number;
  rssBefore: number;
  rssAfter: number;
}

async function idleMemory(server: ServerProcess, label: string, connect: (count: number) => Promise<Array<{ close(): void }>>): Promise<MemoryDelta> {
  const snapshots = process.env['FLOWCAST_BENCH_HEAP_SNAPSHOT'];
  if (snapshots) mkdirSync(snapshots, { recursive: true });
  const warm = await connect(IDLE_WARM);
  for (const client of warm) client.close();
  await sleep(500);
  const { value: before } = await server.call<NodeJS.MemoryUsage>({ cmd: 'memory' });
  if (snapshots) await server.call({ cmd: 'heapSnapshot', path: join(snapshots, `${label}-before.heapsnapshot`) });
  const clients = await connect(IDLE);
  await sleep(500);
  const { value: after } = await server.call<NodeJS.MemoryUsage>({ cmd: 'memory' });
  if (snapshots) await server.call({ cmd: 'heapSnapshot', path: join(snapshots, `${label}-after.heapsnapshot`) });
  for (const client of clients) client.close();
  return {
    rss: (after.rss - before.rss) / IDLE,
    heap: (after.heapUsed - before.heapUsed) / IDLE,
    external: (after.external - before.external) / IDLE,
    rssBefore: before.rss,
    rssAfter: after.rss,
  };
}

async function memorySection(dir: string): Promise<Section> {
  const flowcast = await withServer('flowcast', 'memory-flowcast', join(dir, 'memory'), async (server) => {
    progress(`memory: ${num(IDLE, 0)} idle graphql-ws subscriptions on flowcast`);
    const { value: prep } = await server.call<PrepareValue>({ cmd: 'prepare', plan: { kind: 'idle', events: 0, yieldEvery: 1, intervalMs: 0 } });
    return idleMemory(server, 'memory-flowcast', async (count) => {
      const round = new Round(count, { skip: prep.preEvents, count: 0 });
      const clients = await openAll(count, CONNECT_CONCURRENCY, async () => {
        const client = await WsClient.open(server.port, '/graphql', 'graphql-transport-ws');
        await within(client.init(), 10_000, 'connection_ack');
        client.subscribe('idle', QUERY, { runId: prep.runId }, round);
        return client;
      });
      await within(round.ready.promise, 60_000, 'idle subscribers ready');
      return clients;
    });
  });
  const raw = await withServer('raw-ws', 'memory-raw', '', async (server) => {
    progress(`memory: ${num(IDLE, 0)} idle connections on the raw ws server`);
    return idleMemory(server, 'memory-raw', (count) => openAll(count, CONNECT_CONCURRENCY, () => WsClient.open(server.port, '/')));
  });
  const bytes = (value: number): string => num(value, 0);
  const mb = (value: number): string => num(value / 2 ** 20, 1);
  const r = flowcast.rss / raw.rss;
  const table = [
    ['metric', 'flowcast', 'raw ws', 'flowcast/raw', 'target', 'verdict'],
    ['RSS bytes/subscription', bytes(flowcast.rss), bytes(raw.rss), ratio(r), '≤ 1.50×', verdict(r <= 1.5)],
    ['heapUsed bytes/subscription', bytes(flowcast.heap), bytes(raw.heap), ratio(flowcast.heap / raw.heap), '', ''],
    ['external bytes/subscription', bytes(flowcast.external), bytes(raw.external), '', '', ''],
    ['RSS MB before', mb(flowcast.rssBefore), mb(raw.rssBefore), '', '', ''],
    ['RSS MB after', mb(flowcast.rssAfter), mb(raw.rssAfter), '', '', ''],
  ];
  return {
    summary: ['idle memory', 'RSS B/subscription', bytes(flowcast.rss), bytes(raw.rss), ratio(r), '≤ 1.50×', verdict(r <= 1.5)],
    lines: [`-- memory per idle subscription: ${num(IDLE, 0)} subscribers of a run that emits nothing vs ${num(IDLE, 0)} idle raw ws connections (after forced GC)`, '', formatTable(table), ''],
  };
}

export async function benchFanout(): Promise<BenchResult> {
  const sections = await withTempDir('fanout', async (dir) => {
    const out: Section[] = [];
    const only = process.env['FLOWCAST_BENCH_FANOUT']?.split(',');
    const scenarios = { ws: wsFanout, sse: sseFanout, latency: wsLatency, memory: memorySection };
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (only && !only.includes(name)) continue;
      const t0 = performance.now();
      const section = await scenario(dir);
      section.lines.push(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`, '');
      out.push(section);
    }
    return out;
  });
  return {
    title: `Fan-out: ${num(CLIENTS, 0)} subscribers of one run (${num(IDLE, 0)} for memory), Flowcast vs bare ws / http in a separate process each`,
    rows: [['scenario', 'metric', 'flowcast', 'raw', 'flowcast/raw', 'target', 'verdict'], ...sections.map((s) => s.summary)],
    notes: [
      '',
      ...sections.flatMap((s) => s.lines),
      'Deliveries/s = subscribers × events / (last receipt by any client − first emit on the server).',
      'Raw baselines send the exact texts Flowcast sent (captured from one subscriber), each encoded once, with the same pacing.',
      'cpu = process CPU time / round wall time (100% = one core; a server can pass 100% with V8 GC helper threads).',
      'A client near 100% while its server is not would mean the client limited the round.',
    ],
  };
}
