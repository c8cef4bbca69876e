import { createServer, type Server } from 'node:http';
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
import { Admission } from '../queue/admission.ts';
import { InProcessQueue } from '../queue/memory.ts';
import { buildSchema, type Services } from '../schema/index.ts';
import { EventLog } from '../store/log.ts';
import { openPostgresStore } from '../store/postgres.ts';
import { RetentionSweeper } from '../store/retention.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import type { Config } from './config.ts';
import { makeMask, useMasking } from './masking.ts';
import { useSharedExecution } from './shared.ts';
import { createSseHandler } from './sse.ts';
import { createStaticHandler } from './static.ts';
import { attachWebSocket } from './ws.ts';

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
 * Picks the adapters (the PostgreSQL store when `databaseUrl` is set, else the SQLite file at
 * `dbPath`; memory pub/sub, in-process queue) and registers the demo graphs. The server and the
 * in-process CLI commands share it. Rejects when the store cannot be opened (PostgreSQL: with
 * AppError INVALID_CONFIG naming the URL without its password).
 */
export async function createServices(config: Pick<Config, 'dbPath' | 'databaseUrl' | 'workers' | 'httpAllowlist' | 'largePayloadBytes'>): Promise<Services & { close(): Promise<void> }> {
  const store = await openStore(config);
  const pubsub = new MemoryPubSub();
  const log = new EventLog({ store, pubsub, largePayloadBytes: config.largePayloadBytes });
  const kinds = defaultKindRegistry({ httpAllowlist: config.httpAllowlist });
  const catalog = new GraphCatalog(store, kinds);
  for (const graph of demoGraphs(kinds)) catalog.register(graph);
  const engine = new Engine({ log, catalog });
  const queue = new InProcessQueue((runId) => engine.execute(runId), { concurrency: config.workers });
  const admission = new Admission(engine, queue, log);
  return {
    engine, catalog, log, store, pubsub, queue, admission, startedAt: Date.now(), version: VERSION,
    /** Cancels what still runs, writes what is pending, closes the store. */
    async close() {
      admission.close();
      await queue.close(0);
      await engine.shutdown();
      await log.flush().catch((error: unknown) => console.error('flowcast: final flush failed', error));
      await store.close();
    },
  };
}

function openStore(config: Pick<Config, 'dbPath' | 'databaseUrl'>): Promise<Store> | Store {
  if (config.databaseUrl !== undefined) return openPostgresStore(config.databaseUrl);
  if (config.dbPath !== ':memory:') mkdirSync(dirname(config.dbPath), { recursive: true });
  return openSqliteStore(config.dbPath);
}

/**
 * The composition root: picks the adapters (see createServices), registers the demo graphs, and
 * serves GraphQL over HTTP, graphql-ws (same path) and graphql-sse (/graphql/stream) through one
 * yoga pipeline, GraphiQL at /graphql, and the live view's built files (config.webDir) at every
 * other path. Resolves once the store is open; nothing listens until `start()`, which also takes
 * up runs a previous process left unfinished and starts the retention sweep (unless `retentionMs`
 * is null); `stop()` stops the sweep before it closes the store.
 */
const SSE_PATH = '/graphql/stream';

export async function createApp(config: Config): Promise<App> {
  const services = await createServices(config);
  const { engine, queue } = services;

  const mask = makeMask(config.dev);
  const yoga = createYoga<Record<string, unknown>, Services>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    context: () => services,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Flowcast' },
    // yoga's own GraphiQL page loads its scripts from a CDN; this one has them inline, so GraphiQL
    // works with no network. Imported on the first visit: the page is 9 MB of script.
    renderGraphiQL: async function renderOfflineGraphiQL(options) {
      const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
      return renderGraphiQL(options);
    },
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
      useMasking(mask),
      useSharedExecution(mask),
    ],
  });

  // Finished runs older than the retention go, with their events; unfinished runs are never touched.
  const sweeper = config.retentionMs === null ? undefined : new RetentionSweeper(services.store, {
    retentionMs: config.retentionMs,
    intervalMs: config.retentionSweepMs,
    onSwept: (deleted, cutoff) => console.log(`flowcast: retention deleted ${deleted} run(s) finished before ${cutoff}`),
  });

  const sse = createSseHandler(yoga, { mask, maxBodyBytes: config.wsMaxPayload });
  const serveStatic = createStaticHandler(config.webDir);
  const server = createServer(function handle(req, res) {
    if (req.url?.split('?', 1)[0] === SSE_PATH) {
      sse(req, res).catch(function sseFailed(error: unknown) {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ errors: [mask(error).toJSON()] }));
        else res.destroy();
      });
      return;
    }
    if (serveStatic(req, res)) return;
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
      // Runs a stopped process left unfinished: resumed (through the queue, for a worker), kept
      // PAUSED, or ended FAILED with the reason.
      const recovered = await engine.recover();
      await services.admission.load();
      for (const { runId, priority } of recovered.requeue) await services.admission.requeue(runId, priority);
      const { requeue, paused, failed } = recovered;
      if (requeue.length + paused.length + failed.length > 0) {
        console.warn(`flowcast: took up runs left unfinished by a previous process: ${requeue.length} resumed or queued again, ${paused.length} still paused, ${failed.length} failed`);
      }
      sweeper?.start();
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
      await sweeper?.stop();
      await services.close();
    },
  };
}

