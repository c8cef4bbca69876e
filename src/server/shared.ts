import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import type { PushConsumer } from '../store/stream.ts';
import { maskResult, type Mask } from './masking.ts';
import type { Plugin } from 'graphql-yoga';

/**
 * Execute once, serialize once, send many.
 *
 * Stock graphql-js subscriptions execute the selection set for every subscriber and every event,
 * and graphql-ws stringifies every result per subscriber. With a thousand viewers of one run that
 * is a thousand executions and serializations of the same event. Here, subscribers that share the
 * document, operation and variables (and, once there is auth, the scope) share one execution per
 * event: results are cached per source event object (the in-process pub/sub hands every
 * subscriber the same object), and each result carries its JSON, which the WebSocket sender splices
 * into the graphql-ws message instead of serializing the payload again.
 *
 * Resolvers of event fields must not depend on the subscriber's context for this to be sound;
 * event types in src/schema expose stored fields only (NodeCompleted.stateUpdate may load its
 * stored copy, from the store every subscriber shares).
 */
const JSON_OF = Symbol('flowcast.sharedJson');
type SharedResult = ExecutionResult & { [JSON_OF]?: string };
/**
 * Most events execute synchronously; one whose selection needs I/O (NodeCompleted.stateUpdate
 * stored apart) gives a promise, shared in the cache like a result.
 */
type Executed = SharedResult | Promise<SharedResult>;

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as { then?: unknown }).then === 'function';

const caches = new WeakMap<DocumentNode, Map<string, WeakMap<object, Executed>>>();
const stats = { executions: 0, reused: 0, pushed: 0 };

/**
 * How many event results were executed, how many were served from another subscriber's execution,
 * and how many were pushed to a subscriber's socket in the publisher's turn (no promise per event).
 */
export function sharedExecutionStats(): Readonly<typeof stats> {
  return { ...stats };
}

function cacheFor(args: ExecutionArgs): WeakMap<object, Executed> {
  let byVariables = caches.get(args.document);
  if (!byVariables) caches.set(args.document, (byVariables = new Map()));
  const key = `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  let cache = byVariables.get(key);
  if (!cache) {
    // Distinct variable sets are few per document in practice; cap them so a client cannot grow this.
    if (byVariables.size > 10_000) byVariables.clear();
    byVariables.set(key, (cache = new WeakMap()));
  }
  return cache;
}

/**
 * Where a transport lets a subscription write its results itself, instead of pulling them one
 * promise at a time through the transport library's loop. The transport passes it as the
 * operation's root value (`sinkRoot`), which the schema's subscribe resolvers do not read.
 */
export interface DirectSink {
  /**
   * Sends one result, given as its JSON in UTF-8 (shared by every subscriber of the event: do not
   * modify it). Returns false when the peer is congested: wait for `drained`.
   */
  send(resultJson: Buffer): boolean;
  /** Resolves once the peer has taken what was sent (or is gone). */
  drained(): Promise<void>;
}

const SINK = Symbol('flowcast.directSink');

/** The root value that lets an operation's subscription write to `sink` directly. */
export function sinkRoot(sink: DirectSink): { [SINK]: DirectSink } {
  return { [SINK]: sink };
}

/** A source that can push events synchronously (RunEventStream.pushTo and pull). */
interface Pushable extends AsyncIterator<unknown> {
  pushTo(consumer: PushConsumer<unknown>): void;
  pull(): Promise<IteratorResult<unknown> | undefined>;
}

const isPushable = (source: object): source is Pushable => typeof (source as Partial<Pushable>).pushTo === 'function';
const BYTES_OF = Symbol('flowcast.sharedBytes');

/** The result's JSON as UTF-8, encoded once per shared result. */
function bytesOf(result: SharedResult & { [BYTES_OF]?: Buffer }): Buffer {
  let bytes = result[BYTES_OF];
  if (!bytes) {
    bytes = Buffer.from(result[JSON_OF] ?? JSON.stringify(result));
    Object.defineProperty(result, BYTES_OF, { value: bytes });
  }
  return bytes;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * An iterator of results with the given `next`, whose return() and throw() close `source` (as
 * graphql-ws and graphql-sse do when a client leaves): throw() then rethrows its error.
 */
export function closingIterator(source: AsyncIterator<unknown>, next: () => Promise<IteratorResult<ExecutionResult>>): AsyncIterableIterator<ExecutionResult> {
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    next,
    async return() {
      await source.return?.();
      return DONE;
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
  };
  return iterator;
}

/** How a transport learns that a direct stream (see `followDirect`) has ended. */
export interface DirectEnd {
  /** After the last result was written (the terminal event, or return()). */
  complete(): void;
  /** The stream failed; `error` is masked. Nothing more is written. */
  fail(error: GraphQLError): void;
}

/** The subscription one event executes for: shared by its subscribers through `cache`. */
interface EventExecution {
  args: ExecutionArgs;
  cache: WeakMap<object, Executed>;
  mask: Mask;
}

function executeEvent(execution: EventExecution, event: unknown): Executed {
  const { args, cache, mask } = execution;
  if (typeof event !== 'object' || event === null) return finish(execute({ ...args, rootValue: event }), mask, false);
  let result = cache.get(event);
  if (result) stats.reused++;
  else {
    stats.executions++;
    result = finish(execute({ ...args, rootValue: event }), mask, true);
    cache.set(event, result);
  }
  return result;
}

/**
 * A subscription that writes itself: the source pushes results straight into the sink, and the
 * transport hears only the end. As an iterator (for transports that pull), `next()` stays pending
 * until the end (done after the terminal event, or the stream's error), so the transport then sends
 * its own complete or error message after every result. A transport that knows it can call
 * `follow(end)` instead (see `followDirect`), and nothing at all is pending while it is idle.
 *
 * While caught up and live, nothing runs and nothing waits: the source holds this object and
 * pushes to it (`push`), or wakes it (`wake`) when there is something to pull: events buffered
 * while the sink was congested, a gap to fill, the end. While the sink is congested, results wait
 * in the source's bounded buffer and are written as the peer drains. A result that is a promise is
 * written once it settles, after the results before it: pushing stops (as for a congested sink) and
 * every later result waits for the writes queued in `behind`.
 *
 * A class, not closures: under tsx (keepNames), each named closure made per subscription costs
 * a property dictionary of its own (~300 bytes), which thousands of idle subscribers notice.
 */
class DirectStream implements AsyncIterableIterator<ExecutionResult>, PushConsumer<unknown> {
  readonly #source: Pushable;
  readonly #sink: DirectSink;
  readonly #execution: EventExecution;
  #behind: Promise<void> | undefined;
  #end: DirectEnd | undefined;
  /** A pull loop runs (or is about to); `#woken` says the source woke it meanwhile. */
  #pulling = false;
  #woken = false;

  constructor(source: Pushable, sink: DirectSink, execution: EventExecution) {
    this.#source = source;
    this.#sink = sink;
    this.#execution = execution;
    source.pushTo(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Starts writing; `end` hears how it ends. Call once. */
  follow(end: DirectEnd): void {
    this.#end = end;
    this.wake();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    return new Promise((resolve, reject) =>
      this.follow({
        complete() {
          resolve(DONE);
        },
        fail: reject,
      }),
    );
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.#source.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.#source.return?.();
    throw error;
  }

  push(event: unknown): boolean {
    stats.pushed++;
    const result = executeEvent(this.#execution, event);
    if (this.#behind === undefined && !isPromise(result)) return this.#sink.send(bytesOf(result));
    this.#writeInTurn(result);
    return false;
  }

  wake(): void {
    if (this.#pulling) {
      this.#woken = true;
      return;
    }
    this.#pulling = true;
    // Not in the caller's turn: the source wakes this from inside its own bookkeeping.
    queueMicrotask(() => void this.#pull());
  }

  /** Writes what the source has to give until it parks this (or ends, or fails). */
  async #pull(): Promise<void> {
    const end = this.#end!;
    try {
      for (;;) {
        this.#woken = false;
        const step = await this.#source.pull();
        // Nothing is pushed while this runs (the source pushes only to a parked consumer).
        if (this.#behind) await this.#behind;
        if (step === undefined) {
          if (this.#woken) continue;
          this.#pulling = false;
          return;
        }
        if (step.done) break;
        const result = executeEvent(this.#execution, step.value);
        if (!this.#sink.send(bytesOf(isPromise(result) ? await result : result))) await this.#sink.drained();
      }
    } catch (error) {
      await this.#behind?.catch(() => undefined);
      this.#pulling = false;
      end.fail(this.#execution.mask(error));
      return;
    }
    // Ended: a later next() (or follow) pulls once more and hears the end again.
    this.#pulling = false;
    end.complete();
  }

  #writeInTurn(result: Executed): void {
    const sink = this.#sink;
    const write = (this.#behind ?? Promise.resolve()).then(async () => {
      if (!sink.send(bytesOf(await result))) await sink.drained();
    });
    this.#behind = write;
    const clear = (): void => {
      if (this.#behind === write) this.#behind = undefined;
    };
    write.then(clear, clear);
  }
}

/**
 * For a transport that can do without an iterator: when `iterator` is a subscription that writes
 * itself, starts it and returns true; `end` then hears how it ends (and nothing is pending while it
 * is idle). Else returns false and the transport iterates as usual.
 */
export function followDirect(iterator: object, end: DirectEnd): boolean {
  if (!(iterator instanceof DirectStream)) return false;
  iterator.follow(end);
  return true;
}

/** The masked result, with its JSON attached when `withJson` and it has no errors; a promise for an async execution. */
function finish(result: ExecutionResult | Promise<ExecutionResult>, mask: Mask, withJson: boolean): Executed {
  if (isPromise(result)) return result.then((settled) => finish(settled, mask, withJson));
  const masked = maskResult(result, mask) as SharedResult;
  if (withJson && !masked.errors) Object.defineProperty(masked, JSON_OF, { value: JSON.stringify(masked), enumerable: true });
  return masked;
}

async function sharedSubscribe(args: ExecutionArgs, mask: Mask): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  // A fresh literal of what execution reads, not the pipeline's args object: that one carries a
  // hidden class of its own (~300 bytes) that every subscriber would keep.
  const { schema, document, operationName, variableValues, contextValue, fieldResolver, typeResolver } = args;
  const execution: EventExecution = { args: { schema, document, operationName, variableValues, contextValue, fieldResolver, typeResolver }, cache: cacheFor(args), mask };
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const sink = (args.rootValue as { [SINK]?: DirectSink } | null | undefined)?.[SINK];
  if (sink && isPushable(iterator)) return new DirectStream(iterator, sink, execution);
  return closingIterator(iterator, async function nextShared() {
    let step: IteratorResult<unknown>;
    try {
      step = await iterator.next();
    } catch (error) {
      // A stream that ends with an expected error (FELL_BEHIND) keeps its code and resume
      // cursor in extensions, which the transports carry to the client.
      throw mask(error);
    }
    return step.done ? DONE : { done: false, value: await executeEvent(execution, step.value) };
  });
}

/** The envelop plugin that swaps in the shared subscribe function, for every transport. */
export function useSharedExecution(mask: Mask): Plugin {
  const subscribe = (args: ExecutionArgs): ReturnType<typeof sharedSubscribe> => sharedSubscribe(args, mask);
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}

const TOKEN = '\u0000flowcast-shared';
const QUOTED_TOKEN = JSON.stringify(TOKEN);
let pendingJson: string | undefined;

/**
 * graphql-ws's jsonMessageReplacer: a payload that carries its JSON becomes a token, which
 * `spliceSharedJson` replaces by that JSON. graphql-ws stringifies a message and hands it to the
 * socket in one synchronous step, so one pending slot is enough.
 */
export function sharedJsonReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key === 'payload' && typeof value === 'object' && value !== null && JSON_OF in value) {
    pendingJson = (value as SharedResult)[JSON_OF];
    return TOKEN;
  }
  return value;
}

/** Puts back the JSON that `sharedJsonReplacer` took out of the message just stringified. */
export function spliceSharedJson(data: string): string {
  if (pendingJson === undefined) return data;
  const json = pendingJson;
  pendingJson = undefined;
  const at = data.lastIndexOf(QUOTED_TOKEN);
  return at === -1 ? data : data.slice(0, at) + json + data.slice(at + QUOTED_TOKEN.length);
}
