import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga } from 'graphql-yoga';
import { GraphCatalog } from '../engine/catalog.ts';
import { Engine } from '../engine/engine.ts';
import { MemoryPubSub } from '../events/pubsub.ts';
import { demoGraphs } from '../graph/demos.ts';
import { defaultKindRegistry } from '../graph/kinds.ts';
import { InProcessQueue } from '../queue/memory.ts';
import { buildSchema, type Services } from '../schema/index.ts';
import { EventLog } from '../store/log.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Config } from './config.ts';
import { makeMask, useMasking } from './masking.ts';
import { useSharedExecution } from './shared.ts';
import { useSse } from './sse.ts';
import { attachWebSocket } from './ws.ts';

/**
 * SSE frames reach the response one per subscriber per event, each from its own step of the
 * stream pipeline, so each would be its own socket write. Corking until the event loop's next turn
 * sends everything written in this turn in one write.
 */
function corkPerTick(res: ServerResponse): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  let corked = false;
  res.write = ((...args: unknown[]) => {
    if (!corked && res.socket) {
      corked = true;
      const socket = res.socket;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write(...args);
  }) as ServerResponse['write'];
}

export interface App {
  services: Services;
  server: Server;
  /** http://host:port, known once started. */
  url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Picks the adapters (SQLite store, memory pub/sub, in-process queue) and registers the demo
 * graphs. The server and the in-process CLI commands share it.
 */
export function createServices(config: Pick<Config, 'dbPath' | 'workers' | 'httpAllowlist'>): Services & { close(): Promise<void> } {
  if (config.dbPath !== ':memory:') mkdirSync(dirname(config.dbPath), { recursive: true });
  const store = openSqliteStore(config.dbPath);
  const pubsub = new MemoryPubSub();
  const log = new EventLog({ store, pubsub });
  const kinds = defaultKindRegistry({ httpAllowlist: config.httpAllowlist });
  const catalog = new GraphCatalog(store, kinds);
  for (const graph of demoGraphs(kinds)) catalog.register(graph);
  const engine = new Engine({ log, catalog });
  const queue = new InProcessQueue((runId) => engine.execute(runId), { concurrency: config.workers });
  return {
    engine, catalog, log, store, pubsub, queue, startedAt: Date.now(), version: VERSION,
    /** Cancels what still runs, writes what is pending, closes the store. */
    async close() {
      await queue.close(0);
      await engine.shutdown();
      await log.flush().catch((error: unknown) => console.error('flowcast: final flush failed', error));
      await store.close();
    },
  };
}

/**
 * The composition root: picks the adapters (SQLite store, memory pub/sub, in-process queue),
 * registers the demo graphs, and serves GraphQL over HTTP, graphql-ws (same path) and graphql-sse
 * (/graphql/stream) through one yoga pipeline.
 */
export function createApp(config: Config): App {
  const services = createServices(config);
  const { engine, queue } = services;

  const mask = makeMask(config.dev);
  const yoga = createYoga<Record<string, unknown>, Services>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    context: () => services,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Flowcast' },
    landingPage: false,
    logging: config.dev ? 'debug' : 'warn',
    // Masking is ours (masking.ts): the same rules, without a per-subscriber iterator per stream.
    maskedErrors: false,
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 30 },
        costLimit: { maxCost: 20_000 },
        maxTokens: { n: 2_000 },
        maxDirectives: { n: 30 },
      }),
      useSse('/graphql/stream'),
      useMasking(mask),
      useSharedExecution(mask),
    ],
  });

  const server = createServer(function handle(req, res) {
    if (req.url?.startsWith('/graphql/stream')) corkPerTick(res);
    void yoga(req, res);
  });
  const ws = attachWebSocket(server, yoga, { path: '/graphql', maxPayload: config.wsMaxPayload });
  let url = '';

  return {
    services,
    server,
    get url() {
      return url;
    },
    async start() {
      const ended = await engine.failInterrupted();
      if (ended.length > 0) console.warn(`flowcast: ended ${ended.length} run(s) left unfinished by a previous process`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
      return url;
    },
    async stop() {
      // Stop taking work, give running runs the grace period, then cancel what is left.
      server.close();
      await queue.close(config.shutdownGraceMs);
      await engine.shutdown('server shutting down');
      for (const client of ws.wss.clients) client.close(1001, 'server shutting down');
      await ws.dispose();
      server.closeAllConnections();
      await services.close();
    },
  };
}

