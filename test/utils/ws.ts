import { once } from 'node:events';
import WebSocket from 'ws';

/** One graphql-transport-ws message as a raw client sees it. */
export type Message = { id?: string; type: string; payload?: unknown };

export interface RawWsClient {
  readonly socket: WebSocket;
  /** What arrived and has not been taken by `until` or `flush`. */
  readonly inbox: Message[];
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: Message): void;
  /** Waits for a message that passes `test`; returns everything received until then (and takes it out). */
  until(test: (m: Message) => boolean): Promise<Message[]>;
  /** A ping/pong round trip: everything the server sent before the pong (and takes it out). */
  flush(): Promise<Message[]>;
  close(): void;
}

/**
 * A raw graphql-transport-ws client on a real `ws` socket that queues what it receives, for tests
 * that check exact messages and close codes. With `init` (the default) it sends connection_init
 * and waits for the ack, throwing if anything else comes first.
 */
export async function rawWsClient(url: string, init = true): Promise<RawWsClient> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const inbox: Message[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (data) => {
    inbox.push(JSON.parse(String(data)) as Message);
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await once(socket, 'open');
  const client: RawWsClient = {
    socket,
    inbox,
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    async until(test) {
      for (;;) {
        const at = inbox.findIndex(test);
        if (at !== -1) return inbox.splice(0, at + 1);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async flush() {
      client.send({ type: 'ping' });
      return (await client.until((m) => m.type === 'pong')).slice(0, -1);
    },
    close: () => socket.close(),
  };
  if (init) {
    client.send({ type: 'connection_init' });
    const first = await client.until((m) => m.type === 'connection_ack');
    if (first.length !== 1) throw new Error(`expected only connection_ack after connection_init, got ${JSON.stringify(first)}`);
  }
  return client;
}
