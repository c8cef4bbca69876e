import { AppError } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import type { Engine, RunOptions } from '../engine/engine.ts';
import type { RunRecord, RunStatus } from '../events/snapshot.ts';
import { isTerminal } from '../events/types.ts';
import type { EventLog } from '../store/log.ts';
import type { RunQueue } from './types.ts';

/** What startRun does when a run with the same concurrency key has not finished. */
export type ConflictPolicy = 'REJECT' | 'ENQUEUE' | 'CANCEL_PREVIOUS';

export interface StartOptions extends RunOptions {
  /** Only with concurrencyKey. Default REJECT. */
  onConflict?: ConflictPolicy;
}

export interface Started {
  run: RunRecord;
  /** False when an idempotency key gave back an existing run. */
  created: boolean;
}

const UNFINISHED: RunStatus[] = ['QUEUED', 'RUNNING', 'PAUSED'];

/**
 * Starts background runs under their run policies, in front of the run queue:
 *
 * - `idempotencyKey`: a start with a key that names a stored run returns that run (created: false)
 *   instead of starting another, for as long as the run is kept (see retention). The same key with
 *   another graph or input is INVALID_INPUT: a key names one request.
 * - `concurrencyKey`: runs with the same key run one at a time, oldest first. A key is held from
 *   the run's creation until its terminal event, PAUSED included. A start that finds it held
 *   follows `onConflict`: REJECT (the default) throws AppError CONCURRENCY_CONFLICT naming the
 *   holder; ENQUEUE creates the run QUEUED and hands it to the queue only once every earlier run
 *   with the key has ended; CANCEL_PREVIOUS cancels those runs first.
 *
 * Starts that carry a key are serialized, so two starts cannot both see a key free. The held keys
 * live in this process and are rebuilt from the store by `load()` at start, so a restart keeps the
 * order; one process owns a store's keyed runs (as it owns recovery).
 */
export class Admission {
  readonly #engine: Engine;
  readonly #queue: RunQueue;
  readonly #log: EventLog;
  /** Concurrency key -> its unfinished runs, oldest first; the first holds the key. */
  readonly #holders = new Map<string, string[]>();
  readonly #keyOf = new Map<string, string>();
  /** Runs created under ENQUEUE that wait for their key before they go to the queue: id -> priority. */
  readonly #parked = new Map<string, number>();
  #lock: Promise<unknown> = Promise.resolve();
  /** Set while some key is held: run ends are followed only then. */
  #unsubscribe: (() => void) | undefined;

  constructor(engine: Engine, queue: RunQueue, log: EventLog) {
    this.#engine = engine;
    this.#queue = queue;
    this.#log = log;
  }

  /** Rebuilds the held keys from the store's unfinished runs. Call once at start, before `requeue`. */
  async load(): Promise<void> {
    const keyed: RunRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#log.store.listRuns({ status: UNFINISHED }, { first: 500, ...(after ? { after } : {}) });
      keyed.push(...page.items.filter((run) => run.concurrencyKey !== null));
      if (!page.hasMore) break;
      after = page.items.at(-1)!.id;
    }
    // Ids sort by creation time; listRuns gives newest first.
    for (const run of keyed.sort((a, b) => (a.id < b.id ? -1 : 1))) this.#hold(run.id, run.concurrencyKey!);
  }

  /** Hands a recovered QUEUED or RUNNING run to the queue, or parks it behind its key's holder. */
  async requeue(runId: string, priority: number): Promise<void> {
    const key = this.#keyOf.get(runId);
    if (key !== undefined && this.#holders.get(key)?.[0] !== runId) this.#parked.set(runId, priority);
    else await this.#queue.enqueue(runId, priority);
  }

  /** Creates and queues a background run under its policies; see the class comment. */
  start(graphId: string, input: JsonObject, options: StartOptions = {}): Promise<Started> {
    if (options.onConflict !== undefined && options.concurrencyKey === undefined) {
      return Promise.reject(new AppError('INVALID_INPUT', 'options.onConflict applies to runs with a concurrencyKey; give one or leave onConflict out'));
    }
    if (options.concurrencyKey === undefined && options.idempotencyKey === undefined) return this.#start(graphId, input, options);
    const started = this.#lock.then(() => this.#start(graphId, input, options));
    this.#lock = started.catch(() => undefined);
    return started;
  }

  /** Stops following run ends. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async #start(graphId: string, input: JsonObject, options: StartOptions): Promise<Started> {
    const { store } = this.#log;
    const { onConflict = 'REJECT', ...runOptions } = options;
    if (options.idempotencyKey !== undefined) {
      const existing = (await store.listRuns({ idempotencyKey: options.idempotencyKey }, { first: 1 })).items[0];
      if (existing) {
        if (existing.graphId !== graphId || JSON.stringify(existing.input) !== JSON.stringify(input)) {
          throw new AppError('INVALID_INPUT', `idempotencyKey ${JSON.stringify(options.idempotencyKey)} already names run ${existing.id} of graph ${existing.graphId} with another input; use a new key for another run`);
        }
        return { run: existing, created: false };
      }
    }
    const key = options.concurrencyKey;
    if (key !== undefined) {
      const holders = [...(this.#holders.get(key) ?? [])];
      if (holders.length > 0 && onConflict === 'REJECT') {
        const holder = await store.getRun(holders[0]!);
        throw new AppError(
          'CONCURRENCY_CONFLICT',
          `run ${holders[0]} (${holder?.status ?? 'unfinished'}) holds concurrencyKey ${JSON.stringify(key)}; wait for it to end, cancel it, or start with onConflict ENQUEUE or CANCEL_PREVIOUS`,
          { runId: holders[0], concurrencyKey: key },
        );
      }
      if (onConflict === 'CANCEL_PREVIOUS') {
        for (const id of holders) {
          this.#queue.remove(id);
          await this.#engine.cancel(id, `cancelled by a newer run with concurrencyKey ${JSON.stringify(key)} (onConflict CANCEL_PREVIOUS)`);
          this.#release(id);
        }
      }
    }
    const run = await this.#engine.createRun(graphId, input, runOptions, true);
    await this.#log.flush();
    if (key !== undefined && this.#hold(run.id, key) > 0) this.#parked.set(run.id, run.priority);
    else await this.#queue.enqueue(run.id, run.priority);
    return { run: (await store.getRun(run.id))!, created: true };
  }

  /** Adds an unfinished run to its key's holders; returns how many are before it. */
  #hold(runId: string, key: string): number {
    this.#unsubscribe ??= this.#log.pubsub.subscribe('all', '*', (events) => {
      for (const event of events) if (isTerminal(event) && this.#keyOf.has(event.runId)) this.#release(event.runId);
    });
    let holders = this.#holders.get(key);
    if (!holders) this.#holders.set(key, (holders = []));
    holders.push(runId);
    this.#keyOf.set(runId, key);
    return holders.length - 1;
  }

  /** A keyed run has ended: the next one with its key may go to the queue. */
  #release(runId: string): void {
    const key = this.#keyOf.get(runId);
    if (key === undefined) return;
    this.#keyOf.delete(runId);
    this.#parked.delete(runId);
    const holders = (this.#holders.get(key) ?? []).filter((id) => id !== runId);
    if (holders.length === 0) {
      this.#holders.delete(key);
      if (this.#holders.size === 0) this.close();
      return;
    }
    this.#holders.set(key, holders);
    const next = holders[0]!;
    const priority = this.#parked.get(next);
    if (priority === undefined) return;
    this.#parked.delete(next);
    this.#queue.enqueue(next, priority).catch((error: unknown) => console.error(`flowcast: run ${next} could not be queued after its concurrency key was released:`, error));
  }
}
