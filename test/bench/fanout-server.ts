/**
 * One server process of the fan-out benchmark. fanout.ts forks it (same node flags, so under tsx,
 * plus --expose-gc) with what to serve as argv[2]:
 *   flowcast  the real server: createApp(loadConfig({PORT: '0', HOST: '127.0.0.1', FLOWCAST_DB}))
 *             with one extra code graph, `bench.fanout`, whose single node waits at a gate and then
 *             emits Progress events as the plan says (a burst yielding every N, paced with a
 *             timestamp, or nothing at all);
 *   raw-ws    a bare `ws` WebSocketServer that broadcasts given texts to every connected socket;
 *   raw-sse   a bare node:http server that keeps every request open as text/event-stream and
 *             broadcasts given frames to every response.
 * It prints nothing on stdout; the parent talks to it over IPC: {id, cmd, …} → {id, ok, value |
 * error, cpuUs, t}, where cpuUs is this process's user+system CPU time so far and t is `now()`, so
 * the parent can compute the server's CPU use over any interval. It exits when the parent goes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';
import { deferred, sleep, type Deferred } from '../../src/common/async.ts';
import { corkForTick } from '../../src/server/writes.ts';
import { now, stamp } from './fanout-clients.ts';

export type ServerMode = 'flowcast' | 'raw-ws' | 'raw-sse';

/** What the benchmark node (or the raw broadcaster) does once the gate opens. */
export interface Plan {
  /** burst: `events` messages back to back, yielding to the event loop every `yieldEvery`;
   *  paced: one every `intervalMs`, each carrying a `t=` timestamp; idle: nothing, until stopped. */
  kind: 'burst' | 'paced' | 'idle';
  events: number;
  yieldEvery: number;
  intervalMs: number;
}

export type ServerCommand =
  /** flowcast: create a run of bench.fanout that waits at its gate → {runId, preEvents}; raw: → {connections}. */
  | { cmd: 'prepare'; plan: Plan }
  /** Open the gate: start emitting (flowcast) or broadcasting (raw). Answers at once. */
  | { cmd: 'go' }
  /** Waits for the emitting to end → {t0, tLast, status}: first and last emit times. */
  | { cmd: 'result' }
  /** raw: the message texts to broadcast (`burst` sends texts[i % length]; `paced` stamps texts[0]). */
  | { cmd: 'texts'; texts: string[] }
  /** Forces GC a few times → process.memoryUsage(). */
  | { cmd: 'memory' }
  /** Writes a heap snapshot to `path` (for explaining the memory numbers). */
  | { cmd: 'heapSnapshot'; path: string }
  /** Nothing; the reply's cpuUs and t are the point. */
  | { cmd: 'sample' }
  /** Shared-execution counters (flowcast). */
  | { cmd: 'stats' }
  | { cmd: 'stop' };

export interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
  cpuUs: number;
  t: number;
}

export interface PrepareValue {
  runId?: string;
  preEvents: number;
  connections: number;
}

export interface ResultValue {
  t0: number;
  tLast: number;
  status: string;
  /** flowcast, paced plans: ms from each event's emit (its `t=` stamp) to the event log publishing it. */
  publishLatencies?: number[];
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function collectGarbage(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(50);
  }
  return process.memoryUsage();
}

interface Handler {
  port: number;
  handle(command: ServerCommand): Promise<unknown>;
  stop(): Promise<void>;
}

/** A prepared gated emission: what the node (or broadcaster) does and when it did it. */
interface Gate {
  plan: Plan;
  entered: Deferred<void>;
  open: Deferred<void>;
  finished: Deferred<string>;
  t0: number;
  tLast: number;
  publishLatencies: number[];
}

function newGate(plan: Plan): Gate {
  const gate: Gate = { plan, entered: deferred(), open: deferred(), finished: deferred(), t0: 0, tLast: 0, publishLatencies: [] };
  gate.finished.promise.catch(() => undefined);
  return gate;
}

async function flowcastServer(dbDir: string): Promise<Handler> {
  // Imported here, so the raw baselines' processes do not load (and hold) Flowcast at all.
  const [{ GraphBuilder }, { END }, { createApp }, { loadConfig }, { sharedExecutionStats }] = await Promise.all([
    import('../../src/graph/builder.ts'),
    import('../../src/graph/types.ts'),
    import('../../src/server/app.ts'),
    import('../../src/server/config.ts'),
    import('../../src/server/shared.ts'),
  ]);
  const app = await createApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', FLOWCAST_DB: join(dbDir, 'flowcast.db'), FLOWCAST_SHUTDOWN_GRACE_MS: '200' }));
  const { catalog, engine, log, pubsub } = app.services;
  const gates = new Map<string, Gate>();
  let current: Gate | undefined;

  catalog.register(
    new GraphBuilder({ id: 'bench.fanout', name: 'fan-out benchmark' })
      .addNode('emit', async (_state, ctx) => {
        const gate = gates.get(ctx.runId);
        if (!gate) throw new Error(`no plan for run ${ctx.runId}`);
        gate.entered.resolve();
        await new Promise<void>((resolve, reject) => {
          gate.open.promise.then(resolve, reject);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
        });
        const { kind, events, yieldEvery, intervalMs } = gate.plan;
        gate.t0 = now();
        if (kind === 'burst') {
          for (let i = 0; i < events; i++) {
            ctx.progress(((i + 1) * 100) / events, `p${i}`);
            if ((i + 1) % yieldEvery === 0) await immediate();
          }
        } else if (kind === 'paced') {
          for (let i = 0; i < events; i++) {
            await sleep(intervalMs, ctx.signal);
            ctx.progress(((i + 1) * 100) / events, stamp());
          }
        }
        gate.tLast = now();
        return {};
      })
      .setEntry('emit')
      .addEdge('emit', END)
      .compile(catalog.kinds),
  );
  await app.start();
  const port = Number(new URL(app.url).port);

  return {
    port,
    async handle(command) {
      switch (command.cmd) {
        case 'prepare': {
          const run = await engine.createRun('bench.fanout', {});
          const gate = newGate(command.plan);
          gates.set(run.id, gate);
          current = gate;
          if (command.plan.kind === 'paced') {
            // Subscribed before any subscriber, so this listener runs first when the log publishes.
            pubsub.subscribe('run', run.id, (events) => {
              const at = now();
              for (const event of events) {
                if (event.type === 'Progress' && event.message?.startsWith('t=')) gate.publishLatencies.push(at - Number(event.message.slice(2)));
              }
            });
          }
          engine.execute(run.id).then(
            (record) => gate.finished.resolve(record.status),
            (error: unknown) => gate.finished.reject(error),
          );
          await gate.entered.promise;
          await log.flush();
          return { runId: run.id, preEvents: engine.snapshot(run.id)?.lastSeq ?? 0, connections: 0 } satisfies PrepareValue;
        }
        case 'go':
          current?.open.resolve();
          return null;
        case 'result': {
          if (!current) throw new Error('nothing prepared');
          const status = await current.finished.promise;
          return { t0: current.t0, tLast: current.tLast, status, publishLatencies: current.publishLatencies } satisfies ResultValue;
        }
        case 'stats':
          return sharedExecutionStats();
        default:
          throw new Error(`flowcast server: unknown command ${command.cmd}`);
      }
    },
    async stop() {
      for (const gate of gates.values()) gate.open.reject(new Error('stopping'));
      await app.stop();
    },
  };
}

// The baselines coalesce writes as Flowcast's transports do (corkForTick, the same function): a
// burst leaves in one system call per socket on both sides, and the ratio measures what Flowcast
// adds, not how it batches. writes.ts imports nothing of Flowcast's.

/** The raw baselines' broadcaster: one send function per transport, the same pacing as the engine. */
function broadcaster(send: (data: Buffer) => void) {
  let texts: string[] = [];
  let current: Gate | undefined;
  const run = async (gate: Gate): Promise<void> => {
    const { kind, events, yieldEvery, intervalMs } = gate.plan;
    gate.t0 = now();
    if (kind === 'burst') {
      // Encoded once per message, as a broadcaster would; the same bytes go to every connection.
      const encoded = texts.map((text) => Buffer.from(text));
      for (let i = 0; i < events; i++) {
        send(encoded[i % encoded.length]!);
        if ((i + 1) % yieldEvery === 0) await immediate();
      }
    } else if (kind === 'paced') {
      const template = texts[0]!;
      for (let i = 0; i < events; i++) {
        await sleep(intervalMs);
        send(Buffer.from(template.replace(/t=\d+\.\d{3}/, stamp())));
      }
    }
    gate.tLast = now();
    gate.finished.resolve('COMPLETED');
  };
  return {
    async handle(command: ServerCommand, connections: number): Promise<unknown> {
      switch (command.cmd) {
        case 'texts':
          texts = command.texts;
          return null;
        case 'prepare':
          if (command.plan.kind !== 'idle' && texts.length === 0) throw new Error('no texts to broadcast');
          current = newGate(command.plan);
          return { preEvents: 0, connections } satisfies PrepareValue;
        case 'go': {
          const gate = current;
          if (!gate) throw new Error('nothing prepared');
          run(gate).catch((error: unknown) => gate.finished.reject(error));
          return null;
        }
        case 'result': {
          if (!current) throw new Error('nothing prepared');
          const status = await current.finished.promise;
          return { t0: current.t0, tLast: current.tLast, status } satisfies ResultValue;
        }
        default:
          throw new Error(`raw server: unknown command ${command.cmd}`);
      }
    },
  };
}

async function rawWsServer(): Promise<Handler> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const raws = new Map<WebSocket, Socket>();
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', () => undefined);
    raws.set(socket, request.socket);
    socket.on('close', () => raws.delete(socket));
  });
  const textFrame = { binary: false };
  const cast = broadcaster((data) => {
    for (const [client, raw] of raws) {
      corkForTick(raw);
      client.send(data, textFrame);
    }
  });
  return {
    port: (wss.address() as AddressInfo).port,
    handle: (command) => cast.handle(command, wss.clients.size),
    async stop() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function rawSseServer(): Promise<Handler> {
  const responses = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    responses.add(res);
    res.on('close', () => responses.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const cast = broadcaster((data) => {
    for (const res of responses) {
      if (res.socket) corkForTick(res.socket);
      res.write(data);
    }
  });
  return {
    port: (server.address() as AddressInfo).port,
    handle: (command) => cast.handle(command, responses.size),
    async stop() {
      for (const res of responses) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2] as ServerMode;
  const send = (message: unknown): Promise<void> =>
    new Promise((resolve) => {
      if (!process.send) resolve();
      else process.send(message, undefined, undefined, () => resolve());
    });
  const handler = mode === 'flowcast' ? await flowcastServer(process.argv[3]!) : mode === 'raw-ws' ? await rawWsServer() : await rawSseServer();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { id: number } & ServerCommand) => {
    const reply = (ok: boolean, value: unknown, error?: string): Promise<void> => {
      const out: Reply = { id: message.id, ok, value, cpuUs: cpuUs(), t: now() };
      if (error !== undefined) out.error = error;
      return send(out);
    };
    const work = async (): Promise<unknown> => {
      if (message.cmd === 'sample') return null;
      if (message.cmd === 'memory') return collectGarbage();
      if (message.cmd === 'heapSnapshot') return writeHeapSnapshot(message.path);
      if (message.cmd === 'stop') {
        await handler.stop();
        return null;
      }
      return handler.handle(message);
    };
    work().then(
      async (value) => {
        await reply(true, value);
        if (message.cmd === 'stop') process.exit(0); // a normal exit, so --cpu-prof writes its profile
      },
      (error: unknown) => reply(false, null, error instanceof Error ? (error.stack ?? error.message) : String(error)),
    );
  });
  await send({ ready: true, port: handler.port });
}

await main();
