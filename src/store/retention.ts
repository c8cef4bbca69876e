import { yieldToEventLoop } from '../common/async.ts';
import type { Store } from './types.ts';

export interface RetentionOptions {
  /** How long a finished run is kept after its finishedAt, in ms. */
  retentionMs: number;
  /** Time from the end of one sweep to the start of the next, in ms. */
  intervalMs: number;
  /** Runs deleted per store call; a sweep calls again until a call deletes fewer. Default 500. */
  batchSize?: number;
  /** Told how many runs a sweep deleted, when it deleted any, and its cutoff. Default: nothing. */
  onSwept?: (deleted: number, cutoff: string) => void;
  /** Given what a failed sweep threw; the next sweep still comes. Default: console.error. */
  onError?: (error: unknown) => void;
  /** The clock, in ms since the epoch. Default Date.now. */
  now?: () => number;
}

/**
 * Deletes finished runs once they are older than the retention: every `intervalMs`, a sweep asks
 * the store to delete the runs that finished more than `retentionMs` ago
 * (Store.deleteFinishedBefore), in batches, with a turn of the event loop between batches so that
 * a large backlog does not hold up requests. Unfinished runs are never touched.
 *
 * Nothing happens until `start()`, which sweeps at once and then after each interval; the timer
 * is unref'd, so it never keeps a process alive. Sweeps never overlap. A sweep that throws is
 * reported to `onError` and the schedule goes on. `stop()` cancels the schedule and waits for a
 * sweep in progress, so the store can be closed right after it.
 */
export class RetentionSweeper {
  readonly #store: Store;
  readonly #retentionMs: number;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #onSwept: (deleted: number, cutoff: string) => void;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(store: Store, options: RetentionOptions) {
    this.#store = store;
    this.#retentionMs = options.retentionMs;
    this.#intervalMs = options.intervalMs;
    this.#batchSize = options.batchSize ?? 500;
    this.#onSwept = options.onSwept ?? (() => undefined);
    this.#onError = options.onError ?? ((error) => console.error('flowcast: retention sweep failed', error));
    this.#now = options.now ?? Date.now;
  }

  /** Sweeps now, then every interval until stop(). Calling it again does nothing. */
  start(): void {
    if (this.#timer !== undefined || this.#running !== undefined || this.#stopped) return;
    this.#schedule(0);
  }

  /**
   * One sweep now: resolves with how many runs it deleted. While a sweep runs, a call joins it.
   * Rejects with what the store threw.
   */
  sweep(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops the schedule; resolves once a sweep in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sweep()
        .catch(this.#onError)
        .finally(() => {
          if (!this.#stopped) this.#schedule(this.#intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #sweep(): Promise<number> {
    const cutoff = new Date(this.#now() - this.#retentionMs).toISOString();
    let total = 0;
    for (;;) {
      const deleted = await this.#store.deleteFinishedBefore(cutoff, this.#batchSize);
      total += deleted;
      if (deleted < this.#batchSize || this.#stopped) break;
      await yieldToEventLoop();
    }
    if (total > 0) this.#onSwept(total, cutoff);
    return total;
  }
}
