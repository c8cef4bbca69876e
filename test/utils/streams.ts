import type { Client as WsClient } from 'graphql-ws';
import type { Client as SseClient } from 'graphql-sse';
import { deferred } from '../../src/common/async.ts';
import type { GraphCatalog } from '../../src/engine/catalog.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END, type NodeHandler } from '../../src/graph/types.ts';

/** Helpers for server tests that follow long event streams: noisy nodes, gates, and one subscription segment. */

/** A node that reports progress `count` times, yielding to the event loop (setImmediate) every `every`. */
export function burst(count: number, every = 50, pad = ''): NodeHandler {
  return async function burstNode(_state, ctx) {
    for (let i = 1; i <= count; i++) {
      ctx.progress((i / count) * 100, `${ctx.nodeId} ${i}/${count}${pad}`);
      if (i % every === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
}

/** Registers graph `id`: `hold` (e.g. a gate, so subscribers can attach first), then `flood` (e.g. a burst), then END. */
export function registerHeldFlood(catalog: GraphCatalog, id: string, hold: NodeHandler, flood: NodeHandler): void {
  catalog.register(new GraphBuilder({ id, name: id }).addNode('hold', hold).addNode('flood', flood).setEntry('hold').addEdge('hold', 'flood').addEdge('flood', END).compile(catalog.kinds));
}

/** A node that waits until `open()` is called (or the run is aborted). */
export function gate(): { node: NodeHandler; open(): void } {
  const opened = deferred<void>();
  return {
    node: (_state, ctx) =>
      new Promise<void>((resolve, reject) => {
        opened.promise.then(resolve, reject);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
      }),
    open: () => opened.resolve(),
  };
}

export interface SeqEvent {
  seq: number;
  type: string;
}

export interface Ending {
  /** 'complete': the stream ended normally; 'error': the transport or the server reported an error. */
  how: 'complete' | 'error';
  error?: unknown;
}

/** One subscription to `runEvents`, from `after` until it ends or is cut. */
export interface Segment {
  readonly after: number;
  readonly events: SeqEvent[];
  readonly ended: Promise<Ending>;
  /** Resolves once an event matching `test` has arrived (rejects if the stream ends first). */
  reach(test: (event: SeqEvent, count: number) => boolean): Promise<SeqEvent>;
  /** The client-side cut: stop listening (graphql-ws sends `complete`, graphql-sse aborts the request). */
  unsubscribe(): void;
}

export const RUN_EVENTS = 'subscription Follow($runId: ID!, $after: Int) { runEvents(runId: $runId, after: $after) { seq type } }';

/** Subscribes to runEvents(runId, after) over a graphql-ws or graphql-sse client. */
export function follow(client: WsClient | SseClient, runId: string, after: number): Segment {
  const events: SeqEvent[] = [];
  const waiters: Array<{ test: (event: SeqEvent, count: number) => boolean; resolve(event: SeqEvent): void; reject(error: Error): void }> = [];
  const ended = deferred<Ending>();
  const end = (ending: Ending): void => {
    ended.resolve(ending);
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`stream after ${after} ended (${ending.how}) after ${events.length} events before the awaited event`));
  };
  const unsubscribe = (client as WsClient).subscribe<{ runEvents: SeqEvent }>(
    { query: RUN_EVENTS, variables: { runId, after } },
    {
      next(value) {
        if (value.errors) {
          end({ how: 'error', error: value.errors });
          return;
        }
        const event = value.data!.runEvents;
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.test(event, events.length)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      },
      error: (error) => end({ how: 'error', error }),
      complete: () => end({ how: 'complete' }),
    },
  );
  return {
    after,
    events,
    ended: ended.promise,
    reach(test) {
      const found = events.find((event, i) => test(event, i + 1));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => waiters.push({ test, resolve, reject }));
    },
    unsubscribe,
  };
}
