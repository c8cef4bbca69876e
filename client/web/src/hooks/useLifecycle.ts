import { print } from 'graphql';
import { useEffect, useRef } from 'react';
import { connection, flowcast } from '../api.ts';
import { RunLifecycleDocument } from '../operations.ts';

const QUERY = print(RunLifecycleDocument);

export interface LifecycleEvent {
  runId: string;
  graphId: string;
  type: string;
}

/**
 * Follows the status changes of every run (`events` subscription) and calls `onEvent` for each.
 * The subscription holds the connection open while the page is, so the indicator tells the truth;
 * when it breaks it subscribes again with a backoff and calls `onReconnect` (events in the gap are
 * not replayed: the caller refetches what it shows).
 */
export function useLifecycle(onEvent: (event: LifecycleEvent) => void, onReconnect: () => void): void {
  const handlers = useRef({ onEvent, onReconnect });
  useEffect(() => {
    handlers.current = { onEvent, onReconnect };
  });

  useEffect(() => {
    let stopped = false;
    let failures = 0;
    let unsubscribe: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let upTimer: ReturnType<typeof setTimeout> | undefined;

    const retry = (): void => {
      unsubscribe?.();
      unsubscribe = undefined;
      clearTimeout(upTimer);
      if (stopped) return;
      failures++;
      connection.down(failures);
      const delay = Math.min(10_000, 250 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random() / 2);
      timer = setTimeout(subscribe, delay);
    };

    function subscribe(): void {
      if (stopped) return;
      const wasFailing = failures > 0;
      unsubscribe = flowcast.transport.subscribe(
        { query: QUERY, operationName: 'RunLifecycle' },
        {
          next: (result) => {
            const event = (result.data as { events?: LifecycleEvent } | null | undefined)?.events;
            if (event) handlers.current.onEvent(event);
          },
          error: retry,
          // The server never ends this subscription on its own; an end is a lost connection.
          complete: retry,
        },
      );
      // SSE has no "connected" callback: a subscription that stays up for a moment counts as live.
      upTimer = setTimeout(() => {
        if (flowcast.transport.active === 'sse') connection.up('sse');
        failures = 0;
        if (wasFailing) handlers.current.onReconnect();
      }, 1_000);
    }

    subscribe();
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(upTimer);
      unsubscribe?.();
    };
  }, []);
}
