import { useEffect, useMemo, useState } from 'react';
import type { RunEvent } from '../../../sdk/index.ts';
import { flowcast } from '../api.ts';
import { applyEvent, emptyPicture, type RunPicture } from '../model/fold.ts';

export interface RunEvents {
  /** Every event so far, seq 1 … n, each once. */
  events: readonly RunEvent[];
  /** The fold of all of them. Mutated in place as events arrive; `version` changes with it. */
  picture: RunPicture;
  /** Bumped on every change, for memos that read `events` or `picture`. */
  version: number;
  /** The terminal event has arrived (or the run had ended). */
  done: boolean;
  /** Why following the run stopped (unknown run, …). */
  error: string | null;
  /** Resubscriptions after a lost connection so far. */
  resubscribes: number;
  /** Browser clock minus the server's, estimated from the events that arrived live (0 until one has). */
  clockOffset: number;
}

interface Store {
  runId: string | null;
  events: RunEvent[];
  picture: RunPicture;
  done: boolean;
  error: string | null;
  resubscribes: number;
  clockOffset: number;
}

const newStore = (runId: string | null): Store => ({ runId, events: [], picture: emptyPicture(), done: false, error: null, resubscribes: 0, clockOffset: Number.POSITIVE_INFINITY });

/**
 * Follows one run's events with the SDK's watchRun: from seq 1, replayed from the store and then
 * live, resuming from the last seq it has after a lost connection (so nothing is missed or seen
 * twice). Re-renders at most once per animation frame however fast events come.
 */
export function useRunEvents(runId: string | null): RunEvents {
  // The store is mutated as events arrive (folding each event once); `version` tells React it changed.
  const [state, setState] = useState<{ store: Store; version: number }>(() => ({ store: newStore(runId), version: 0 }));

  useEffect(() => {
    if (runId === null) return;
    // A store of its own per subscription: an effect that runs twice must not deliver twice.
    const current = newStore(runId);
    let renders = 0;
    let frame: number | undefined;
    let stopped = false;
    const render = (): void => {
      if (stopped || frame !== undefined) return;
      frame = requestAnimationFrame(() => {
        frame = undefined;
        if (!stopped) setState({ store: current, version: ++renders });
      });
    };
    const watch = flowcast.watchRun(runId, {
      onEvent(event) {
        // Replayed events arrive long after `at`, live ones just after: the smallest gap is the skew (plus latency).
        current.clockOffset = Math.min(current.clockOffset, Date.now() - Date.parse(event.at));
        current.events.push(event);
        applyEvent(current.picture, event);
        render();
      },
      onResubscribe(info) {
        if (info.reason === 'disconnected' || info.reason === 'gap') current.resubscribes++;
      },
    });
    watch.done.then(
      () => {
        current.done = !stopped;
        render();
      },
      (error: unknown) => {
        current.error = error instanceof Error ? error.message : String(error);
        render();
      },
    );
    return () => {
      stopped = true;
      if (frame !== undefined) cancelAnimationFrame(frame);
      watch.stop();
    };
  }, [runId]);

  const store = useMemo(() => (state.store.runId === runId ? state.store : newStore(runId)), [state.store, runId]);
  const { events, picture, done, error, resubscribes, clockOffset } = store;
  return { events, picture, version: state.version, done, error, resubscribes, clockOffset: Number.isFinite(clockOffset) && Math.abs(clockOffset) > 1_000 ? clockOffset : 0 };
}
