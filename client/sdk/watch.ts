import { print } from 'graphql';
import { FlowcastError } from './error.ts';
import type { RunEventsSubscription } from './gql/graphql.ts';
import { RunEventsDocument } from './operations.ts';
import type { TransportResult, Transport } from './transport.ts';

type WireEvent = RunEventsSubscription['runEvents'];
/** operations.ts aliases three fields that GraphQL cannot select under one name; events carry the real names. */
const ALIASES = { requiredNodeId: 'nodeId', noticeMessage: 'message', stateEdit: 'stateUpdate' } as const;
type Aliases = typeof ALIASES;
type Renamed<E> = E extends unknown ? { [K in keyof E as K extends keyof Aliases ? Aliases[K] : K]: E[K] } : never;

/** One event of a run with all its fields, discriminated by `__typename` (equal to `type`). */
export type RunEvent = Renamed<WireEvent>;
/** RunCompleted, RunFailed or RunCancelled: the last event of every run. */
export type TerminalRunEvent = Extract<RunEvent, { __typename: 'RunCompleted' | 'RunFailed' | 'RunCancelled' }>;

export function isTerminal(event: RunEvent): event is TerminalRunEvent {
  return event.__typename === 'RunCompleted' || event.__typename === 'RunFailed' || event.__typename === 'RunCancelled';
}

function toRunEvent(wire: WireEvent): RunEvent {
  const event: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wire)) event[key in ALIASES ? ALIASES[key as keyof Aliases] : key] = value;
  return event as RunEvent;
}

const RUN_EVENTS = print(RunEventsDocument);

export interface RetryOptions {
  /** The first wait before subscribing again. Default 250 ms. */
  initialDelayMs?: number;
  /** The longest wait. Default 30,000 ms. */
  maxDelayMs?: number;
  /** Failed attempts in a row (no new event in between) before giving up. Default 10; Infinity never gives up. */
  attempts?: number;
}

const RETRY_DEFAULTS: Required<RetryOptions> = { initialDelayMs: 250, maxDelayMs: 30_000, attempts: 10 };

/** Exponential backoff with jitter: a random wait between half and all of min(maxDelayMs, initialDelayMs × 2^attempt). */
export function backoffDelay(attempt: number, retry: Required<RetryOptions>): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * What to do with an event, given `cursor`, the last seq accepted: deliver it (the next one), drop
 * it (seen already: a replay after a reconnect), or treat the stream as broken (a gap).
 */
export function classify(cursor: number, seq: number): 'deliver' | 'drop' | 'gap' {
  if (seq <= cursor) return 'drop';
  return seq === cursor + 1 ? 'deliver' : 'gap';
}

/**
 * Why the stream subscribes again: the connection broke or the server closed it (`disconnected`,
 * after a backoff), the server ended it with FELL_BEHIND (`fell-behind`, at once, after its
 * `resumeAfter`), an event arrived out of sequence (`gap`, after a backoff), or the consumer has
 * taken half of what the stream held when it stopped because its buffer was full (`drained`).
 */
export type ResubscribeReason = 'disconnected' | 'fell-behind' | 'gap' | 'drained';

export interface Resubscribe {
  reason: ResubscribeReason;
  /** The `after` the next subscription asks for. */
  after: number;
  /** Failed attempts in a row so far. */
  attempt: number;
  delayMs: number;
  error?: unknown;
}

export interface RunEventsOptions {
  /** Deliver the events with seq > after. Default 0: all of them. */
  after?: number;
  /** Aborting it ends the stream like `return()`. */
  signal?: AbortSignal;
  retry?: RetryOptions;
  /**
   * Events held for a consumer that has not taken them yet. When full, the stream unsubscribes
   * (the server keeps nothing for it) and subscribes again once the consumer has taken half.
   * Default 1,000.
   */
  bufferSize?: number;
  /** Called each time the stream is about to subscribe again, before the wait. */
  onResubscribe?: (info: Resubscribe) => void;
}

type Waiter = { resolve(result: IteratorResult<RunEvent, undefined>): void; reject(error: unknown): void };

/**
 * One run's events, seq after+1, after+2, … to the terminal event, each exactly once and in
 * order, over as many subscriptions to `runEvents` as it takes:
 *
 * - It subscribes on the first `next()`, with `after` = the last seq it has accepted.
 * - An event with seq <= that is dropped (a replay); one past the next seq means a gap: it
 *   unsubscribes and subscribes again from the last seq it has.
 * - A broken connection (an error that is not a GraphQL error): it subscribes again after a
 *   backoff (RetryOptions). After `attempts` failures in a row (no new event in between) it ends
 *   and `next()` rejects with FlowcastError `DISCONNECTED` (its `cause` is the last failure).
 * - GraphQL error FELL_BEHIND: it subscribes again after `resumeAfter`, at once if events came
 *   since the last failure, else after a backoff like a broken connection.
 * - Any other GraphQL error (RUN_NOT_FOUND, …): `next()` rejects with a FlowcastError carrying its
 *   code, once the events before it have been taken.
 * - It ends after the terminal event (RunCompleted, RunFailed, RunCancelled), or with nothing more
 *   when the server completes the stream (the run ended at or before `after`).
 * - It holds at most `bufferSize` events the consumer has not taken; when full it unsubscribes and
 *   subscribes again once the consumer has taken half, so a slow consumer costs no memory on
 *   either side (the server's store keeps the events).
 * - `return()` (a `break` out of `for await`) or the signal stops it and drops what it holds.
 */
export class RunEventStream implements AsyncIterableIterator<RunEvent, undefined> {
  readonly runId: string;
  readonly #transport: Transport;
  readonly #retry: Required<RetryOptions>;
  readonly #bufferSize: number;
  readonly #onResubscribe: ((info: Resubscribe) => void) | undefined;
  /** The last seq accepted: delivered, or held in #buffer. */
  #cursor: number;
  #buffer: RunEvent[] = [];
  #waiters: Waiter[] = [];
  #started = false;
  /** Subscribes no more: the terminal event arrived, the server completed, it failed or was stopped. */
  #closed = false;
  #paused = false;
  #failure: FlowcastError | undefined;
  /** Bumped on every (un)subscribe, so a superseded subscription's late results are ignored. */
  #generation = 0;
  #unsubscribe: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => void this.return();

  constructor(transport: Transport, runId: string, options: RunEventsOptions = {}) {
    this.runId = runId;
    this.#transport = transport;
    this.#cursor = options.after ?? 0;
    this.#retry = { ...RETRY_DEFAULTS, ...options.retry };
    this.#bufferSize = Math.max(1, options.bufferSize ?? 1_000);
    this.#onResubscribe = options.onResubscribe;
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.#closed = true;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The last seq handed out by `next()`: pass it as `after` to carry on from here later. */
  get lastSeq(): number {
    return this.#buffer.length > 0 ? this.#buffer[0]!.seq - 1 : this.#cursor;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RunEvent, undefined>> {
    if (!this.#started && !this.#closed) {
      this.#started = true;
      this.#subscribe(this.#cursor);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#settle();
    });
  }

  return(): Promise<IteratorResult<RunEvent, undefined>> {
    this.#close();
    this.#buffer = [];
    this.#failure = undefined;
    this.#settle();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Hands out what it can to whoever waits in next(). */
  #settle(): void {
    while (this.#waiters.length > 0) {
      const event = this.#buffer.shift();
      if (event) {
        this.#waiters.shift()!.resolve({ value: event, done: false });
        this.#resumeIfDrained();
      } else if (this.#failure) {
        const failure = this.#failure;
        this.#failure = undefined;
        this.#waiters.shift()!.reject(failure);
      } else if (this.#closed) {
        this.#waiters.shift()!.resolve({ value: undefined, done: true });
      } else {
        return;
      }
    }
  }

  #subscribe(after: number): void {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    this.#unsubscribe = this.#transport.subscribe(
      { query: RUN_EVENTS, variables: { runId: this.runId, after }, operationName: 'RunEvents' },
      {
        next: (result) => {
          if (current()) this.#onResult(result);
        },
        error: (error) => {
          if (current()) this.#onError(error);
        },
        complete: () => {
          if (current()) this.#onComplete();
        },
      },
    );
  }

  #unsubscribeNow(): void {
    this.#generation++;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    unsubscribe?.();
  }

  #onResult(result: TransportResult): void {
    if (result.errors && result.errors.length > 0) return this.#onGraphQLErrors(result.errors);
    const wire = result.data?.['runEvents'] as WireEvent | undefined;
    if (typeof wire?.seq !== 'number') return this.#fail(new FlowcastError('GRAPHQL', `runEvents for run ${this.runId} sent a result without an event`));
    const verdict = classify(this.#cursor, wire.seq);
    if (verdict === 'drop') return;
    if (verdict === 'gap') return this.#retryLater('gap', new FlowcastError('GAP', `run ${this.runId}: got seq ${wire.seq} after ${this.#cursor}`));
    const event = toRunEvent(wire);
    this.#cursor = event.seq;
    this.#attempt = 0;
    this.#buffer.push(event);
    if (isTerminal(event)) {
      this.#close();
    } else if (this.#buffer.length >= this.#bufferSize) {
      // Full: let the server go rather than hold more; the store keeps the rest for later.
      this.#unsubscribeNow();
      this.#paused = true;
    }
    this.#settle();
  }

  #onGraphQLErrors(errors: NonNullable<TransportResult['errors']>): void {
    const fellBehind = errors.find((error) => error.extensions?.['code'] === 'FELL_BEHIND');
    const resumeAfter = fellBehind?.extensions?.['resumeAfter'];
    if (typeof resumeAfter !== 'number') return this.#fail(FlowcastError.fromGraphQLErrors(errors));
    // resumeAfter is the last seq the server sent; never skip one this stream has not received.
    this.#retryLater('fell-behind', FlowcastError.fromGraphQLErrors(errors), Math.min(resumeAfter, this.#cursor));
  }

  #onError(error: unknown): void {
    if (Array.isArray(error)) return this.#onGraphQLErrors(error as NonNullable<TransportResult['errors']>);
    this.#retryLater('disconnected', error);
  }

  /** The server completes runEvents after the terminal event; before it, only when the run ended at or before `after`. */
  #onComplete(): void {
    this.#close();
    this.#settle();
  }

  #retryLater(reason: ResubscribeReason, error: unknown, after = this.#cursor): void {
    this.#unsubscribeNow();
    if (this.#attempt >= this.#retry.attempts) {
      const message = `lost the event stream of run ${this.runId} after seq ${this.#cursor} and could not resume in ${this.#attempt} attempts`;
      return this.#fail(new FlowcastError('DISCONNECTED', message, { runId: this.runId, after: this.#cursor }, { cause: error }));
    }
    // Falling behind after making progress is no failure of the connection: go again at once.
    const delayMs = reason === 'fell-behind' && this.#attempt === 0 ? 0 : backoffDelay(this.#attempt, this.#retry);
    this.#attempt++;
    this.#again(reason, delayMs, after, error);
  }

  #again(reason: ResubscribeReason, delayMs: number, after: number, error?: unknown): void {
    this.#onResubscribe?.({ reason, after, attempt: this.#attempt, delayMs, ...(error === undefined ? {} : { error }) });
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed && !this.#paused) this.#subscribe(after);
    }, delayMs);
  }

  #resumeIfDrained(): void {
    if (!this.#paused || this.#closed || this.#buffer.length > this.#bufferSize / 2) return;
    this.#paused = false;
    this.#again('drained', 0, this.#cursor);
  }

  #fail(error: FlowcastError): void {
    this.#close();
    this.#failure = error;
    this.#settle();
  }

  #close(): void {
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    clearTimeout(this.#timer);
    this.#unsubscribeNow();
  }
}

export interface WatchRunOptions extends RunEventsOptions {
  /** Gets each event once, in seq order; the next waits until a returned promise settles. */
  onEvent(event: RunEvent): void | Promise<void>;
}

export interface RunWatch {
  /**
   * Resolves after the last event has been handled: with the terminal event, or undefined when
   * stopped (or when the run had ended at or before `after`). Rejects with what the stream
   * rejected with (a FlowcastError) or what `onEvent` threw; either ends the watch.
   */
  done: Promise<TerminalRunEvent | undefined>;
  /** Stops watching; `done` resolves once the event in hand, if any, has been handled. */
  stop(): void;
}

/** Calls `onEvent` for each event of a run: a RunEventStream (same contract) with a callback. */
export function watchRun(transport: Transport, runId: string, options: WatchRunOptions): RunWatch {
  const stream = new RunEventStream(transport, runId, options);
  const done = (async function deliverEvents() {
    let terminal: TerminalRunEvent | undefined;
    for await (const event of stream) {
      await options.onEvent(event);
      if (isTerminal(event)) terminal = event;
    }
    return terminal;
  })();
  return { done, stop: () => void stream.return() };
}
