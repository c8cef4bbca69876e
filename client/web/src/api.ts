import { createFlowcastClient, type FlowcastClient } from '../../sdk/index.ts';

/** What the connection indicator shows. */
export interface ConnectionInfo {
  /** connecting: never connected yet; live: connected; reconnecting: lost, trying again; offline: several tries failed in a row. */
  status: 'connecting' | 'live' | 'reconnecting' | 'offline';
  transport: 'ws' | 'sse';
  /** Times the connection came back after it was lost. */
  reconnects: number;
}

type Listener = () => void;

/** A tiny store for the connection state, read with useSyncExternalStore. */
class ConnectionStore {
  #info: ConnectionInfo = { status: 'connecting', transport: 'ws', reconnects: 0 };
  #listeners = new Set<Listener>();
  #lost = false;

  get = (): ConnectionInfo => this.#info;

  subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** A connection is up (the WebSocket connected, or an SSE subscription is open). */
  up(transport: 'ws' | 'sse'): void {
    const reconnects = this.#info.reconnects + (this.#lost ? 1 : 0);
    this.#lost = false;
    this.#set({ status: 'live', transport, reconnects });
  }

  /** The connection went down; `failures` in a row so far. */
  down(failures: number): void {
    if (this.#info.status === 'connecting' && !this.#lost && failures < 3) return;
    this.#lost = true;
    this.#set({ ...this.#info, status: failures >= 3 ? 'offline' : 'reconnecting' });
  }

  #set(info: ConnectionInfo): void {
    if (info.status === this.#info.status && info.transport === this.#info.transport && info.reconnects === this.#info.reconnects) return;
    this.#info = info;
    for (const listener of this.#listeners) listener();
  }
}

export const connection = new ConnectionStore();

/**
 * The page's one Flowcast client: queries over HTTP, subscriptions over graphql-ws (graphql-sse when
 * WebSockets are blocked). Run event streams never give up: the page shows "reconnecting" and the
 * stream picks up from the last seq it has.
 */
export const flowcast: FlowcastClient = createFlowcastClient({
  url: new URL('/graphql', window.location.href).href,
  retry: { initialDelayMs: 250, maxDelayMs: 5_000, attempts: Number.POSITIVE_INFINITY },
  ws: {
    on: {
      connected: () => connection.up('ws'),
      closed: () => connection.down(1),
    },
  },
  onFallback: () => connection.down(1),
});
