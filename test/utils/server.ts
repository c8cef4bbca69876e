import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { createApp, type App } from '../../src/server/app.ts';
import { loadConfig, type Config } from '../../src/server/config.ts';

export interface TestServer {
  app: App;
  url: string;
  http: string;
  ws: string;
  sse: string;
  /** POSTs one GraphQL operation and returns the parsed response body. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }>;
  wsClient(options?: Partial<Parameters<typeof createWsClient>[0]>): WsClient;
  sseClient(options?: Partial<Parameters<typeof createSseClient>[0]>): SseClient;
  /** The server side of every open connection that carries a WebSocket or an SSE request, oldest first. */
  streamSockets(): Duplex[];
  /**
   * Cuts, from the server side, every open connection that carries a WebSocket or an SSE request
   * (as a proxy or a network would: no close frame, no end of stream). Returns how many it cut.
   */
  cutStreams(): number;
  stop(): Promise<void>;
}

export interface TestServerHooks {
  /** The bufferSize of every run event stream the server opens (default 10,000), to reach FELL_BEHIND with fewer events. */
  streamBufferSize?: number;
}

/** A real server on 127.0.0.1, port 0, with a SQLite file in a fresh temp dir. */
export async function startTestServer(env: Record<string, string> = {}, overrides: Partial<Config> = {}, hooks: TestServerHooks = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flowcast-server-'));
  const config = { ...loadConfig({ PORT: '0', HOST: '127.0.0.1', FLOWCAST_DB: join(dir, 'flowcast.db'), FLOWCAST_SHUTDOWN_GRACE_MS: '200', ...env }), ...overrides };
  const app = await createApp(config);
  const { streamBufferSize } = hooks;
  if (streamBufferSize !== undefined) {
    const { log } = app.services;
    const stream = log.stream.bind(log);
    log.stream = (runId, options = {}) => stream(runId, { bufferSize: streamBufferSize, ...options });
  }
  const streams = new Set<Duplex>();
  const track = (socket: Duplex): void => {
    streams.add(socket);
    socket.once('close', () => streams.delete(socket));
  };
  app.server.on('upgrade', (_req, socket: Duplex) => track(socket));
  app.server.on('request', (req) => req.url?.startsWith('/graphql/stream') && track(req.socket));
  const url = await app.start();
  const clients: Array<{ dispose(): void | Promise<void> }> = [];
  return {
    app,
    url,
    http: `${url}/graphql`,
    ws: `${url.replace('http', 'ws')}/graphql`,
    sse: `${url}/graphql/stream`,
    async gql(query, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as never;
    },
    wsClient(options = {}) {
      const client = createWsClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
      clients.push(client);
      return client;
    },
    sseClient(options = {}) {
      const client = createSseClient({ url: `${url}/graphql/stream`, retryAttempts: 0, ...options });
      clients.push(client);
      return client;
    },
    streamSockets() {
      return [...streams].filter((socket) => !socket.destroyed);
    },
    cutStreams() {
      const open = [...streams].filter((socket) => !socket.destroyed);
      for (const socket of open) socket.destroy();
      return open.length;
    },
    async stop() {
      for (const client of clients) await client.dispose();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Collected<T> {
  items: T[];
  error: unknown;
}

/** Runs one subscription to its end over a graphql-ws or graphql-sse client, collecting `data[field]`. */
export function subscribe<T>(client: WsClient | SseClient, query: string, variables: Record<string, unknown>, field: string, onItem?: (item: T) => void): { done: Promise<Collected<T>>; cancel: () => void } {
  const items: T[] = [];
  let cancel: () => void = () => undefined;
  const done = new Promise<Collected<T>>((resolve) => {
    cancel = (client as WsClient).subscribe(
      { query, variables },
      {
        next(value) {
          if (value.errors) {
            resolve({ items, error: value.errors });
            return;
          }
          const item = (value.data as Record<string, T>)[field]!;
          items.push(item);
          onItem?.(item);
        },
        error(error) {
          resolve({ items, error });
        },
        complete() {
          resolve({ items, error: undefined });
        },
      },
    );
  });
  return { done, cancel: () => cancel() };
}
