import type { Socket } from 'node:net';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage, type Context } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { corkForTick, drainedBelowHighWater, hasRoom } from './writes.ts';
import { followDirect, sharedJsonReplacer, sinkRoot, spliceSharedJson, type DirectEnd, type DirectSink } from './shared.ts';

/** What a subscription needs of its connection: the socket to write to and graphql-ws's context. */
export interface SubscriptionSocket {
  readonly socket: WebSocket;
  readonly raw: Socket;
  /** Sends one text message, if the socket is still open. */
  send(text: string): void;
  /** Closes the socket with 4500 after an unexpected error, which it logs. */
  fail(error: unknown): void;
}

type Subscriptions = Context<Record<string, unknown> | undefined, unknown>['subscriptions'];

/**
 * One `subscribe` of a subscription operation over graphql-transport-ws, served here rather than
 * by graphql-ws's makeServer (which keeps a suspended async handler, its emit closures, the message
 * and the execution arguments for every subscription while it lives). The protocol is graphql-ws's
 * own, rule for rule: the id is reserved in graphql-ws's `ctx.subscriptions` before anything is
 * awaited (so a duplicate id closes 4409 and a `complete` from the client reaches it through
 * graphql-ws, which calls the stream's return()); results go out as `next`; a stream that throws
 * sends `error` and no `complete`; an ExecutionResult instead of a stream (setup failed) is one
 * `next`; the end sends `complete` unless the client completed first. Messages are built with
 * graphql-ws's `stringifyMessage`. An unexpected throw closes the socket with 4500, as graphql-ws's
 * adapters do.
 *
 * For a stream that writes itself (see shared.ts), the subscription is also its sink: `next`
 * frames go straight to the TCP socket, and while idle nothing is pending at all.
 */
export class WsSubscription implements DirectSink, DirectEnd {
  readonly #owner: SubscriptionSocket;
  readonly #subscriptions: Subscriptions;
  readonly #id: string;
  /** `{"id":…,"type":"next","payload":`: a string, as a small Buffer kept per subscription would pin a pool slab. */
  readonly #prefix: string;
  readonly #prefixBytes: number;
  #stream: AsyncIterable<unknown> | undefined;

  constructor(owner: SubscriptionSocket, subscriptions: Subscriptions, id: string) {
    this.#owner = owner;
    this.#subscriptions = subscriptions;
    this.#id = id;
    this.#prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    this.#prefixBytes = Buffer.byteLength(this.#prefix);
    subscriptions[id] = null;
  }

  /**
   * Subscribes with `subscribe` (the yoga pipeline's) and serves the stream to its end. Resolves
   * once the subscription is set up (a stream that writes itself) or over (any other).
   */
  async start(subscribe: (args: ExecutionArgs) => Promise<unknown>, args: Omit<ExecutionArgs, 'rootValue'>): Promise<void> {
    const subscriptions = this.#subscriptions;
    const id = this.#id;
    try {
      const result = (await subscribe({ ...args, rootValue: sinkRoot(this) })) as AsyncIterableIterator<ExecutionResult> | ExecutionResult;
      if (!(Symbol.asyncIterator in result)) {
        if (this.#mine()) this.#sendNext(result);
        this.complete();
        return;
      }
      if (!(id in subscriptions)) {
        // The client completed it while it was being set up.
        await result.return?.();
        return;
      }
      subscriptions[id] = this.#stream = result;
      if (followDirect(result, this)) return;
      try {
        for await (const value of result) this.#sendNext(value);
      } catch (error) {
        this.fail(error);
        return;
      }
      this.complete();
    } catch (error) {
      this.#release();
      throw error;
    }
  }

  /** DirectSink: one `next` message as an unmasked text frame built in one buffer (see `textFrame`). */
  send(json: Buffer): boolean {
    const { socket, raw } = this.#owner;
    if (socket.readyState !== socket.OPEN) return true;
    corkForTick(raw);
    raw.write(textFrame(this.#prefix, this.#prefixBytes, json));
    return hasRoom(raw);
  }

  drained(): Promise<void> {
    return drainedBelowHighWater(this.#owner.raw);
  }

  /** The stream ended: `complete`, unless the client completed it first. */
  complete(): void {
    if (this.#release()) this.#owner.send(stringifyMessage({ id: this.#id, type: MessageType.Complete }));
  }

  /** The stream threw: `error` with its message and extensions (as graphql-ws wraps it), no `complete`. */
  fail(error: unknown): void {
    const original = error instanceof Error ? error : new Error(String(error));
    const errors = [new GraphQLError(original.message, { originalError: original })];
    this.#owner.send(stringifyMessage({ id: this.#id, type: MessageType.Error, payload: errors.map((e) => e.toJSON()) }));
    this.#release();
  }

  /** Still this subscription's id (the client has not completed it, nor reused the id since). */
  #mine(): boolean {
    const current = this.#subscriptions[this.#id];
    return this.#id in this.#subscriptions && (current === null || current === this.#stream);
  }

  /** Frees the id if it is still this subscription's; says whether it was. */
  #release(): boolean {
    if (!this.#mine()) return false;
    delete this.#subscriptions[this.#id];
    return true;
  }

  #sendNext(result: ExecutionResult): void {
    const { errors, ...rest } = result;
    const payload = { ...rest, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) };
    this.#owner.send(spliceSharedJson(stringifyMessage({ id: this.#id, type: MessageType.Next, payload }, sharedJsonReplacer)));
  }
}

/** An unmasked, final text frame (RFC 6455 §5.2) whose payload is prefix + body + '}'. */
function textFrame(prefix: string, prefixBytes: number, body: Buffer): Buffer {
  const length = prefixBytes + body.length + 1;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(prefix, header, prefixBytes, 'utf8');
  body.copy(frame, header + prefixBytes);
  frame[header + length - 1] = 0x7d; // '}'
  return frame;
}
