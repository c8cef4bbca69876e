import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { maskResult, type Mask } from './masking.ts';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';

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
 * event types in src/schema expose stored fields only.
 */
const JSON_OF = Symbol('flowcast.sharedJson');
type SharedResult = ExecutionResult & { [JSON_OF]?: string };

const caches = new WeakMap<DocumentNode, Map<string, WeakMap<object, SharedResult>>>();
const stats = { executions: 0, reused: 0 };

/** How many event results were executed, and how many were served from another subscriber's execution. */
export function sharedExecutionStats(): Readonly<typeof stats> {
  return { ...stats };
}

function cacheFor(args: ExecutionArgs): WeakMap<object, SharedResult> {
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

async function sharedSubscribe(args: ExecutionArgs, mask: Mask): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const cache = cacheFor(args);
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const executeEvent = (event: unknown): SharedResult => {
    if (typeof event !== 'object' || event === null) return maskResult(execute({ ...args, rootValue: event }) as ExecutionResult, mask);
    let result = cache.get(event);
    if (result) stats.reused++;
    else {
      stats.executions++;
      result = maskResult(execute({ ...args, rootValue: event }) as ExecutionResult, mask) as SharedResult;
      if (!result.errors) Object.defineProperty(result, JSON_OF, { value: JSON.stringify(result), enumerable: true });
      cache.set(event, result);
    }
    return result;
  };
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => mapped,
    async next(): Promise<IteratorResult<ExecutionResult>> {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        // A stream that ends with an expected error (FELL_BEHIND) keeps its code and resume
        // cursor in extensions, which the transports carry to the client.
        throw mask(error);
      }
      return step.done ? done : { done: false, value: executeEvent(step.value) };
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      await iterator.return?.();
      return done;
    },
    async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
      await iterator.return?.();
      throw error;
    },
  };
  return mapped;
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

function spliceSharedJson(data: string): string {
  if (pendingJson === undefined) return data;
  const json = pendingJson;
  pendingJson = undefined;
  const at = data.lastIndexOf(QUOTED_TOKEN);
  return at === -1 ? data : data.slice(0, at) + json + data.slice(at + QUOTED_TOKEN.length);
}

/** Makes every socket of the server splice shared payloads into what it sends. */
export function spliceSharedPayloads(wss: WebSocketServer): void {
  wss.on('connection', function spliceOnSend(socket: WebSocket) {
    const send = socket.send.bind(socket) as (data: unknown, cb?: (error?: Error) => void) => void;
    socket.send = ((data: unknown, cb?: (error?: Error) => void) => send(typeof data === 'string' ? spliceSharedJson(data) : data, cb)) as WebSocket['send'];
  });
}

