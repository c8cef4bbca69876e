import type { RunEvent } from './types.ts';

/**
 * The topics Flowcast publishes, each keyed by an id: `run` carries one run's events (id = run id),
 * `all` carries every run's events (id = '*'). Payloads are batches, in seq order per run, exactly
 * as the event log wrote them.
 */
export interface Topics {
  run: RunEvent[];
  all: RunEvent[];
}

export type Listener<T> = (payload: T) => void;

/**
 * Publish/subscribe between the event log and its readers. Delivery is at most once and in order
 * per channel; anything a subscriber misses is in the store. Listeners are called synchronously
 * (memory) or from the adapter's connection (Redis); a listener that throws is reported and
 * skipped, never rethrown into the publisher.
 */
export interface PubSub {
  publish<K extends keyof Topics>(topic: K, id: string, payload: Topics[K]): Promise<void>;
  /** Returns the unsubscribe function; calling it twice is harmless. */
  subscribe<K extends keyof Topics>(topic: K, id: string, listener: Listener<Topics[K]>): () => void;
  close(): Promise<void>;
}

/** In-process pub/sub: a map of channel to listeners. */
export class MemoryPubSub implements PubSub {
  readonly #channels = new Map<string, Set<Listener<never>>>();

  async publish<K extends keyof Topics>(topic: K, id: string, payload: Topics[K]): Promise<void> {
    this.deliver(`${topic}:${id}`, payload);
  }

  /** Synchronous delivery, for callers that must not yield between write and publish. */
  deliver(channel: string, payload: unknown): void {
    const listeners = this.#channels.get(channel);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        (listener as Listener<unknown>)(payload);
      } catch (error) {
        console.error(`flowcast: a subscriber of ${channel} threw; it was skipped`, error);
      }
    }
  }

  subscribe<K extends keyof Topics>(topic: K, id: string, listener: Listener<Topics[K]>): () => void {
    const channel = `${topic}:${id}`;
    let listeners = this.#channels.get(channel);
    if (!listeners) this.#channels.set(channel, (listeners = new Set()));
    const entry = listener as Listener<never>;
    listeners.add(entry);
    return () => {
      const set = this.#channels.get(channel);
      if (!set) return;
      set.delete(entry);
      if (set.size === 0) this.#channels.delete(channel);
    };
  }

  /** Number of listeners of one channel (for tests that wait for subscribers to attach). */
  listenerCount(topic: keyof Topics, id: string): number {
    return this.#channels.get(`${topic}:${id}`)?.size ?? 0;
  }

  /** Number of live channels (for leak checks). */
  get channelCount(): number {
    return this.#channels.size;
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}
