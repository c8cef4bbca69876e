import { AppError } from '../common/errors.ts';
import type { PubSub } from './pubsub.ts';
import { PRIORITIES, type Priority, type RunEvent, type RunEventType } from './types.ts';

export interface LiveFilter {
  graphId?: string;
  types?: readonly RunEventType[];
  minPriority?: Priority;
}

/**
 * Live events across all runs, filtered; no replay (a run's history is `EventLog.stream`'s job).
 * Holds at most `bufferSize` events for a consumer that is not reading; past that the stream ends
 * with AppError FELL_BEHIND (the per-run streams can recover what was missed). `return()`
 * unsubscribes.
 */
export function liveEvents(pubsub: PubSub, filter: LiveFilter, bufferSize = 10_000): AsyncIterableIterator<RunEvent> {
  const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const minRank = PRIORITIES.indexOf(filter.minPriority ?? 'LOW');
  const buffer: RunEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: AppError | undefined;
  let done = false;
  const unsubscribe = pubsub.subscribe('all', '*', function onLiveEvents(events) {
    if (done || failure) return;
    for (const event of events) {
      if (filter.graphId !== undefined && event.graphId !== filter.graphId) continue;
      if (types && !types.has(event.type)) continue;
      if (PRIORITIES.indexOf(event.priority) < minRank) continue;
      buffer.push(event);
    }
    if (buffer.length > bufferSize) {
      buffer.length = 0;
      failure = new AppError('FELL_BEHIND', `subscriber fell behind the live event stream by more than ${bufferSize} events; subscribe again (runEvents with after recovers a run's missed events)`);
      unsubscribe();
    }
    wake?.();
  });
  const finish = (): IteratorResult<RunEvent> => {
    done = true;
    buffer.length = 0;
    unsubscribe();
    wake?.();
    return { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      for (;;) {
        const event = buffer.shift();
        if (event) return { done: false, value: event };
        if (failure) {
          const error = failure;
          finish();
          throw error;
        }
        if (done) return { done: true, value: undefined };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    async return() {
      return finish();
    },
  };
}
