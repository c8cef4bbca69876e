import { createClient as createSseClient, type ClientOptions as SseClientOptions } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient, type ClientOptions as WsClientOptions } from 'graphql-ws';

/** One GraphQL operation as it goes over the wire. */
export interface TransportRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** One result of an operation, as graphql-ws and graphql-sse both deliver it. */
export interface TransportResult {
  data?: Record<string, unknown> | null | undefined;
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> | undefined }> | undefined;
}

/**
 * Receives one subscription's results. `error` gets either the GraphQL errors of an operation the
 * server refused or ended (an array), or what broke the connection (anything else: an Error, a
 * CloseEvent). After `error` or `complete`, nothing more arrives.
 */
export interface ResultSink {
  next(result: TransportResult): void;
  error(error: unknown): void;
  complete(): void;
}

export type TransportMode = 'auto' | 'ws' | 'sse';

export interface TransportOptions {
  /** The GraphQL endpoint over HTTP, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** graphql-ws endpoint. Default: `url` with ws:// or wss://. */
  wsUrl?: string;
  /** graphql-sse endpoint (distinct-connections mode unless `sse.singleConnection`). Default: `${url}/stream`. */
  sseUrl?: string;
  /**
   * 'auto' (default): graphql-ws, and graphql-sse from the moment a WebSocket fails to connect
   * (or when there is no WebSocket implementation). 'ws' or 'sse': that transport only.
   */
  mode?: TransportMode;
  /** The WebSocket class. Default: `globalThis.WebSocket`; Node 20 has none, pass `ws`'s. */
  webSocketImpl?: unknown;
  /**
   * In 'auto' mode, how long a subscription waits for the first WebSocket connection before it
   * goes over SSE instead (a proxy may hold a WebSocket upgrade unanswered). Default 5,000 ms.
   */
  connectTimeoutMs?: number;
  /** Called once, when 'auto' mode switches to SSE, with what made the WebSocket fail. */
  onFallback?: (reason: unknown) => void;
  /** Used for queries, mutations and graphql-sse. Default: the global fetch. */
  fetch?: typeof fetch;
  /** More graphql-ws client options (connectionParams, keepAlive, …). */
  ws?: Partial<Omit<WsClientOptions, 'url' | 'webSocketImpl'>>;
  /** More graphql-sse client options (headers, singleConnection, …). */
  sse?: Partial<Omit<SseClientOptions, 'url' | 'fetchFn'>>;
}

/** Where subscriptions go: what urql's subscriptionExchange and `runEvents` both use. */
export interface Transport {
  /** The transport new subscriptions use now. */
  readonly active: 'ws' | 'sse';
  /** Starts one subscription; the returned function ends it. Nothing reaches the sink after `error`, `complete` or the end. */
  subscribe(request: TransportRequest, sink: ResultSink): () => void;
  /** Closes every connection. */
  dispose(): Promise<void>;
}

/**
 * graphql-ws, with graphql-sse as the fallback. Neither client retries on its own (retryAttempts
 * 0): reconnecting is the caller's job, since only the caller knows where to resume. The one
 * exception is graphql-ws's reconnect after a normal closure (1000) with subscriptions still
 * active, which resubscribes with the original variables; `runEvents` drops what that replays.
 *
 * In 'auto' mode a subscription whose WebSocket fails before it ever connected (refused, closed
 * during the handshake, or not connected within `connectTimeoutMs`) is carried on over SSE, and so
 * is every later one. A WebSocket that connected once and later drops stays the transport.
 */
export function createTransport(options: TransportOptions): Transport {
  const mode = options.mode ?? 'auto';
  const wsUrl = options.wsUrl ?? options.url.replace(/^http/, 'ws');
  const sseUrl = options.sseUrl ?? `${options.url.replace(/\/$/, '')}/stream`;
  const webSocketImpl = options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  if (mode === 'ws' && !webSocketImpl) throw new Error('mode "ws" needs a WebSocket implementation: pass webSocketImpl (for example the `ws` package)');

  let active: 'ws' | 'sse' = mode === 'sse' || !webSocketImpl ? 'sse' : 'ws';
  let wsConnected = false;
  const ws = active === 'ws'
    ? createWsClient({
        retryAttempts: 0,
        ...options.ws,
        url: wsUrl,
        webSocketImpl,
        on: {
          ...options.ws?.on,
          connected: function markConnected(...args) {
            wsConnected = true;
            options.ws?.on?.connected?.(...args);
          },
        },
      })
    : undefined;
  const sse = mode === 'ws' ? undefined : createSseClient({ retryAttempts: 0, ...options.sse, url: sseUrl, ...(options.fetch ? { fetchFn: options.fetch } : {}) });

  const subscribeSse = (request: TransportRequest, sink: ResultSink): (() => void) => {
    if (!sse) throw new Error('SSE is off in mode "ws"');
    return sse.subscribe(request, sink);
  };
  const fallBack = (reason: unknown): void => {
    if (active === 'sse') return;
    active = 'sse';
    options.onFallback?.(reason);
  };

  /** 'auto' before any WebSocket has connected: the subscription may have to move to SSE. */
  const subscribeAuto = (ws: WsClient, request: TransportRequest, sink: ResultSink): (() => void) => {
    let overWs = true;
    let stop: () => void = () => undefined;
    const moveToSse = (reason: unknown): void => {
      clearTimeout(timer);
      overWs = false;
      fallBack(reason);
      stop = subscribeSse(request, sink);
    };
    const timer = setTimeout(function wsConnectTimeout() {
      if (wsConnected || !overWs) return;
      const stopWs = stop;
      moveToSse(new Error(`no WebSocket connection to ${wsUrl} within ${connectTimeoutMs} ms`));
      stopWs();
    }, connectTimeoutMs);
    stop = ws.subscribe(request, {
      next: (result) => {
        clearTimeout(timer);
        if (overWs) sink.next(result);
      },
      error: (error) => {
        clearTimeout(timer);
        if (!overWs) return;
        if (!wsConnected && !Array.isArray(error)) moveToSse(error);
        else sink.error(error);
      },
      complete: () => {
        clearTimeout(timer);
        if (overWs) sink.complete();
      },
    });
    return () => {
      clearTimeout(timer);
      stop();
    };
  };

  return {
    get active() {
      return active;
    },
    subscribe(request, sink) {
      // graphql-ws and graphql-sse may still call `complete` after an unsubscribe; this sink will not.
      let ended = false;
      const guarded: ResultSink = {
        next: (result) => {
          if (!ended) sink.next(result);
        },
        error: (error) => {
          if (ended) return;
          ended = true;
          sink.error(error);
        },
        complete: () => {
          if (ended) return;
          ended = true;
          sink.complete();
        },
      };
      let stop: () => void;
      if (active === 'sse' || !ws) stop = subscribeSse(request, guarded);
      else if (mode === 'ws' || wsConnected) stop = ws.subscribe(request, guarded);
      else stop = subscribeAuto(ws, request, guarded);
      return () => {
        ended = true;
        stop();
      };
    },
    async dispose() {
      sse?.dispose();
      try {
        await ws?.dispose();
      } catch {
        // graphql-ws rethrows why a connection still being attempted failed; there is nothing to close.
      }
    },
  };
}
