import { yieldToEventLoop } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import type { PubSub } from '../events/pubsub.ts';
import { FINISHED_STATUSES } from '../events/snapshot.ts';
import { isTerminal, type RunEvent, type RunEventType } from '../events/types.ts';
import type { Store } from './types.ts';

export interface StreamOptions {
  /** Deliver events with seq > after. Default 0 (from the start). */
  after?: number;
  /** Deliver only these types (the cursor still moves past the others). Default: all. */
  types?: readonly RunEventType[];
  /**
   * Most live events held for a consumer that is not reading. Default 10,000. What happens past it
   * is `overflow`'s call.
   */
  bufferSize?: number;
  /**
   * On overflow: 'error' (default) ends the stream with AppError FELL_BEHIND whose
   * `details.resumeAfter` is the last delivered seq, so the consumer can resubscribe from there;
   * 'replay' drops the buffer and quietly catches up from the store instead.
   */
  overflow?: 'error' | 'replay';
  /** Events read from the store per query while catching up. Default 500. */
  pageSize?: number;
}

/**
 * A consumer that takes events synchronously, in the publisher's turn (see RunEventStream.pushTo).
 * An object rather than a callback, so a consumer that is a class instance costs no closure.
 */
export interface PushConsumer<T> {
  /** Takes one event; returns false when congested (the rest of the batch waits in the stream's buffer). */
  push(event: T): boolean;
  /**
   * Called, in the publisher's turn, when a parked consumer must `pull()` again: events are
   * buffered, the stream has ended or failed, or it went back to the store to fill a gap.
   * Must not call back into the stream synchronously.
   */
  wake(): void;
}

/**
 * One reader of one run's events: replays the stored events after the cursor, then follows the
 * live ones, with no gap and no duplicate, and ends after the terminal event.
 *
 * While it catches up it holds no live events at all (it only notes the newest seq it has heard
 * of): everything published is already stored, so it reads on until the store runs out. Once it
 * is live, a gap between the cursor and the next live event (a page read racing a flush) is filled
 * from the store too. Memory is bounded by `pageSize` + `bufferSize` events. `return()` unsubscribes.
 */
export class RunEventStream implements AsyncIterableIterator<RunEvent> {
  readonly #store: Store;
  readonly #runId: string;
  readonly #types: ReadonlySet<RunEventType> | undefined;
  readonly #bufferSize: number;
  readonly #overflow: 'error' | 'replay';
  readonly #pageSize: number;
  #cursor: number;
  /** Highest seq heard live while catching up (those events are already stored). */
  #heard = 0;
  #mode: 'replay' | 'live' = 'replay';
  #checkedEnd = false;
  #page: RunEvent[] = [];
  #live: RunEvent[] = [];
  #done = false;
  #failure: AppError | undefined;
  #wake: (() => void) | undefined;
  #direct: PushConsumer<RunEvent> | undefined;
  /** The direct consumer was told (pull() gave undefined) that events will be pushed to it. */
  #parked = false;
  #unsubscribe: () => void;

  constructor(store: Store, pubsub: PubSub, runId: string, options: StreamOptions = {}) {
    this.#store = store;
    this.#runId = runId;
    const after = options.after ?? 0;
    if (!Number.isInteger(after) || after < 0) throw new AppError('INVALID_INPUT', `after must be a seq (an integer >= 0), got ${String(after)}`);
    this.#cursor = after;
    this.#types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
    this.#bufferSize = options.bufferSize ?? 10_000;
    this.#overflow = options.overflow ?? 'error';
    this.#pageSize = options.pageSize ?? 500;
    this.#unsubscribe = pubsub.subscribe('run', runId, (events) => this.#onLive(events));
  }

  /** Live events held for the consumer right now (never more than bufferSize). */
  get buffered(): number {
    return this.#live.length;
  }

  /** The seq of the last event this stream has passed (delivered or filtered out). */
  get cursor(): number {
    return this.#cursor;
  }

  /**
   * Push mode, for a consumer that can take events synchronously (a socket writer), which reads
   * with `pull()` instead of `next()`: once it has caught up and nothing is buffered, `pull()`
   * resolves undefined ("parked") instead of waiting, and each published event that passes the
   * filter is handed to `consumer.push` in the publisher's turn. A parked consumer holds no promise
   * at all, so an idle follower costs only its objects. Order, gap checks, the cursor and completion
   * are the same as pulling: the stream calls `consumer.wake()` when there is something to pull (a
   * buffered event, the end, a failure such as FELL_BEHIND, a gap to fill from the store), and the
   * next `pull()` gives it. `push` returns false when its consumer is congested; the rest of that
   * batch then waits in the (bounded) buffer until pulled.
   */
  pushTo(consumer: PushConsumer<RunEvent>): void {
    this.#direct = consumer;
  }

  /**
   * `next()` for the push-mode consumer: the next event, done or the stream's error, or undefined
   * when the consumer is parked (caught up, live, nothing buffered) and will be pushed to and woken.
   */
  pull(): Promise<IteratorResult<RunEvent> | undefined> {
    return this.#advance(this.#direct !== undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RunEvent>> {
    return this.#advance(false) as Promise<IteratorResult<RunEvent>>;
  }

  /** The next event; with `park`, undefined instead of waiting for live events (see pull()). */
  async #advance(park: boolean): Promise<IteratorResult<RunEvent> | undefined> {
    this.#parked = false;
    for (;;) {
      if (this.#failure) {
        const failure = this.#failure;
        this.#finish();
        throw failure;
      }
      if (this.#done) return { done: true, value: undefined };
      const stored = this.#page.shift();
      const event = stored ?? (this.#mode === 'live' ? this.#takeLive() : undefined);
      if (event) {
        if (event.seq <= this.#cursor) {
          // A cursor past the end (after >= the terminal seq): the run is over for this reader.
          if (isTerminal(event)) this.#finishAfterThis();
          continue;
        }
        if (event.seq > this.#cursor + 1) {
          // takeLive never hands out a gap, so this is the store missing events: say so, don't spin.
          this.#failure = new AppError('INTERNAL', `run ${this.#runId} has no stored event ${this.#cursor + 1} (next stored is ${event.seq})`);
          continue;
        }
        this.#cursor = event.seq;
        if (isTerminal(event)) this.#finishAfterThis();
        if (this.#types && !this.#types.has(event.type)) continue;
        return { done: false, value: event };
      }
      if (this.#mode === 'replay') {
        const page = await this.#store.readEvents(this.#runId, this.#cursor, this.#pageSize);
        if (page.length > 0) this.#page = page;
        else if (this.#heard <= this.#cursor) {
          // Caught up. If the run has already ended at or before the cursor, nothing more will
          // ever come: end now rather than wait.
          if (!this.#checkedEnd) {
            this.#checkedEnd = true;
            const run = await this.#store.getRun(this.#runId);
            if (run && FINISHED_STATUSES.includes(run.status) && run.lastSeq <= this.#cursor) {
              this.#finish();
              continue;
            }
            // Events heard while the run was read were not kept (they are stored): read them
            // before going live, or they are lost, and so is the end of a run that ended then.
            if (this.#heard > this.#cursor) continue;
          }
          this.#mode = 'live';
        }
        else await yieldToEventLoop(); // heard of events not readable yet: let the writer finish
        continue;
      }
      if (park) {
        this.#parked = true;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<RunEvent>> {
    this.#finish();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<RunEvent>> {
    this.#finish();
    throw error;
  }

  #takeLive(): RunEvent | undefined {
    const first = this.#live[0];
    if (!first) return undefined;
    if (first.seq <= this.#cursor) return this.#live.shift();
    if (first.seq > this.#cursor + 1) {
      // Something between the cursor and the live stream was published before we listened:
      // it is in the store.
      this.#mode = 'replay';
      return undefined;
    }
    return this.#live.shift();
  }

  #onLive(events: RunEvent[]): void {
    if (this.#done) return;
    if (this.#mode === 'replay') {
      // Catching up: the store has these too; holding them would only cost memory.
      const last = events[events.length - 1];
      if (last && last.seq > this.#heard) this.#heard = last.seq;
      this.#wakeUp();
      return;
    }
    let index = this.#parked && this.#live.length === 0 ? this.#push(events) : 0;
    for (; index < events.length; index++) {
      const event = events[index]!;
      if (event.seq > this.#cursor) this.#live.push(event);
    }
    if (this.#live.length > this.#bufferSize) {
      this.#live = [];
      if (this.#overflow === 'replay') this.#mode = 'replay';
      else {
        const resumeAfter = this.#cursor;
        this.#failure = new AppError(
          'FELL_BEHIND',
          `subscriber fell behind run ${this.#runId} by more than ${this.#bufferSize} events; resume after seq ${resumeAfter}`,
          { runId: this.#runId, resumeAfter },
        );
        this.#unsubscribe();
      }
    }
    this.#wakeUp();
  }

  /** Hands events to the direct consumer until one is not next in line or it is congested; returns how many it took. */
  #push(events: RunEvent[]): number {
    const consumer = this.#direct!;
    let index = 0;
    while (index < events.length && !this.#done) {
      const event = events[index]!;
      if (event.seq > this.#cursor + 1) break; // a gap: the pull path fills it from the store
      index++;
      if (event.seq <= this.#cursor) continue;
      this.#cursor = event.seq;
      if (isTerminal(event)) this.#finishAfterThis();
      if (this.#types && !this.#types.has(event.type)) continue;
      if (!consumer.push(event)) break;
    }
    if (this.#done) this.#wakeUp();
    return this.#done ? events.length : index;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    if (this.#parked && (this.#live.length > 0 || this.#done || this.#failure || this.#mode === 'replay')) {
      this.#parked = false;
      this.#direct!.wake();
    }
  }

  #finishAfterThis(): void {
    this.#done = true;
    this.#unsubscribe();
    this.#live = [];
    this.#page = [];
  }

  #finish(): void {
    this.#done = true;
    this.#failure = undefined;
    this.#unsubscribe();
    this.#live = [];
    this.#page = [];
    this.#wakeUp();
  }
}
