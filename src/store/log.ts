import type { Checkpoint, CommitBatch, NodeRow, Store, StoredBlob } from './types.ts';
import type { PubSub } from '../events/pubsub.ts';
import { applyEvent, copyNode, FINISHED_STATUSES, toRecord, type NodeSnapshot, type RunSnapshot } from '../events/snapshot.ts';
import { isTerminal, type NewRunEvent, type RunEvent } from '../events/types.ts';
import { DEFAULT_LARGE_PAYLOAD_BYTES, storeApart } from './blobs.ts';
import { RunEventStream, type StreamOptions } from './stream.ts';

export interface EventLogOptions {
  store: Store;
  pubsub: PubSub;
  /** Flush once this many events are pending, without waiting for the tick. Default 1000. */
  maxBatch?: number;
  /** A step boundary flushes when the oldest pending event is older than this. Default 5 ms. */
  maxDelayMs?: number;
  /**
   * Default true. False drops every checkpoint instead of storing it: runs cannot be recovered
   * after a restart. Only for measuring what checkpoints cost (npm run bench).
   */
  checkpoints?: boolean;
  /**
   * A NodeCompleted whose `bytes` (its update's UTF-8 JSON size) is above this is stored with
   * `stateUpdateRef` instead of `stateUpdate`, and the update once, as a blob of the same commit.
   * Default 262,144 (256 KiB).
   */
  largePayloadBytes?: number;
}

interface PendingRun {
  run: RunSnapshot;
  nodes: Set<string>;
}

/**
 * The one way events enter the system. `append` gives an event the run's next seq and folds it
 * into the run's snapshot; a flush then writes the pending events, run rows, node rows and
 * checkpoints in one store transaction, and only after that commit publishes the events. So
 * everything a subscriber sees is already stored, and a reader that asks for "after N" can always
 * be served from the store first.
 *
 * A large state update leaves its NodeCompleted event on append (see `largePayloadBytes`), after
 * the run's snapshot has taken it: what is stored and published carries only its ref, so
 * readers that do not ask for the update do not pay for it.
 *
 * Flushes happen at the end of the tick (setImmediate), when `maxBatch` events are pending, or at a
 * step boundary that `stepDone()` finds overdue. Flushes never overlap. A failed flush keeps its
 * batch pending, and the error is thrown from the next `flush()`/`stepDone()`.
 */
export class EventLog {
  readonly store: Store;
  readonly pubsub: PubSub;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #keepCheckpoints: boolean;
  readonly #largePayloadBytes: number;
  #events: RunEvent[] = [];
  #blobs: StoredBlob[] = [];
  #runs = new Map<string, PendingRun>();
  #checkpoints = new Map<string, Checkpoint | (() => Checkpoint)>();
  /**
   * Runs whose nodes are the fold of their events (CommitBatch.folded): this log appended every
   * one of their events, from the first, and stored no update of theirs apart. Held weakly: the
   * engine drops a run's snapshot when the run ends.
   */
  readonly #folding = new WeakSet<RunSnapshot>();
  #oldest = 0;
  #scheduled = false;
  #flushing: Promise<void> | undefined;
  #error: unknown;

  constructor(options: EventLogOptions) {
    this.store = options.store;
    this.pubsub = options.pubsub;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 5;
    this.#keepCheckpoints = options.checkpoints ?? true;
    this.#largePayloadBytes = options.largePayloadBytes ?? DEFAULT_LARGE_PAYLOAD_BYTES;
  }

  /**
   * Gives the event the run's next seq (setting it on the object, which the log then owns), applies
   * it to `run`, and queues it for the next flush. Returns the event as it will be stored and
   * published: for a large state update, a copy that carries its ref instead.
   */
  append(run: RunSnapshot, event: NewRunEvent): RunEvent {
    // The event is the caller's fresh object: give it its seq in place instead of copying it.
    let full = event as RunEvent;
    full.seq = run.lastSeq + 1;
    const pending = this.#touch(run);
    // A terminal event settles the nodes still running, and a pause the interrupted ones: their rows change too.
    if (isTerminal(full) || full.type === 'RunPaused') for (const id of run.currentNodes) pending.nodes.add(id);
    const nodeId = applyEvent(run, full);
    if (nodeId !== undefined) pending.nodes.add(nodeId);
    if (full.type === 'NodeCompleted' && full.bytes > this.#largePayloadBytes && full.stateUpdate !== undefined) {
      // The stored event has only the ref, so a fold of the stored events would miss the output.
      this.#folding.delete(run);
      const apart = storeApart(full, full.stateUpdate);
      this.#blobs.push(apart.blob);
      full = apart.event;
    }
    if (this.#events.length === 0) this.#oldest = performance.now();
    this.#events.push(full);
    if (this.#events.length >= this.#maxBatch) void this.#flushSoon(true);
    else this.#schedule();
    return full;
  }

  /** Queues a run row update (e.g. its state after a step) without an event. */
  touch(run: RunSnapshot): void {
    this.#touch(run);
    this.#schedule();
  }

  /**
   * Queues a checkpoint of a run; it is written in the same transaction as the events before it. A
   * later checkpoint of the same run replaces one not yet written (only the latest matters). A
   * function is called when the flush writes the batch, once per flush attempt, and must return the
   * run's latest consistent checkpoint at that moment (its lastSeq no higher than the run's): the
   * engine passes one so that it need not copy its counters at every step.
   *
   * A run that has ended by the time its checkpoint would be written gets none: nothing resumes a
   * finished run, its final state is in its run row, and most short runs start and end within one
   * flush, where the checkpoint would be a quarter of what the commit writes. The run's earlier
   * checkpoints stay until the run is deleted.
   */
  checkpoint(runId: string, checkpoint: Checkpoint | (() => Checkpoint)): void {
    if (!this.#keepCheckpoints) return;
    this.#checkpoints.set(runId, checkpoint);
    this.#schedule();
  }

  /** True when the pending batch is large or old enough that the next step boundary should flush. */
  flushDue(): boolean {
    return this.#error !== undefined || this.#events.length >= this.#maxBatch || (this.#events.length > 0 && performance.now() - this.#oldest >= this.#maxDelayMs);
  }

  /**
   * Called by the engine when a step ends: flushes when the batch is overdue or large, and
   * rethrows an earlier failed flush. Returns undefined when there is nothing to wait for, so a
   * fast loop does not pay for an await.
   */
  stepDone(): Promise<void> | undefined {
    return this.flushDue() ? this.flush() : undefined;
  }

  /** Writes and publishes everything pending; resolves when it is stored and published. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => undefined);
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      if (!this.#hasPending()) throw error;
    }
    if (!this.#hasPending()) return;
    this.#flushing = this.#write();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  /**
   * Streams a run's events with seq > `after`: the stored ones, then live ones, without a gap or a
   * duplicate; ends after the terminal event. See RunEventStream for buffering and overflow.
   */
  stream(runId: string, options: StreamOptions = {}): RunEventStream {
    return new RunEventStream(this.store, this.pubsub, runId, options);
  }

  #touch(run: RunSnapshot): PendingRun {
    let pending = this.#runs.get(run.id);
    if (!pending) {
      this.#runs.set(run.id, (pending = { run, nodes: new Set() }));
      // A run touched first when it has no event yet gets all of them through here.
      if (run.lastSeq === 0) this.#folding.add(run);
    }
    return pending;
  }

  #hasPending(): boolean {
    return this.#events.length > 0 || this.#runs.size > 0 || this.#checkpoints.size > 0 || this.#blobs.length > 0;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flushSoon(false);
    });
  }

  async #flushSoon(_full: boolean): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      this.#error = error;
    }
  }

  async #write(): Promise<void> {
    const events = this.#events;
    const runs = this.#runs;
    const checkpoints = this.#checkpoints;
    const blobs = this.#blobs;
    this.#events = [];
    this.#blobs = [];
    this.#runs = new Map();
    this.#checkpoints = new Map();
    const folded = new Set<string>();
    const batch: CommitBatch = { events, runs: [], nodes: [], checkpoints: [], blobs, folded };
    for (const [runId, checkpoint] of checkpoints) {
      const status = runs.get(runId)?.run.status;
      if (status !== undefined && FINISHED_STATUSES.includes(status)) continue;
      batch.checkpoints.push(typeof checkpoint === 'function' ? checkpoint() : checkpoint);
    }
    for (const pending of runs.values()) {
      const { run, nodes } = pending;
      if (this.#folding.has(run)) folded.add(run.id);
      batch.runs.push(toRecord(run));
      for (const id of nodes) {
        const node = run.nodes.get(id);
        if (node) batch.nodes.push(toNodeRow(node, run.id));
      }
    }
    try {
      await this.store.commit(batch);
    } catch (error) {
      // Keep the batch so nothing is lost; the next flush retries it before newer events.
      this.#events = [...events, ...this.#events];
      this.#blobs = [...blobs, ...this.#blobs];
      for (const [id, pending] of runs) if (!this.#runs.has(id)) this.#runs.set(id, pending);
      for (const [id, checkpoint] of checkpoints) if (!this.#checkpoints.has(id)) this.#checkpoints.set(id, checkpoint);
      throw error;
    }
    await this.#publish(events);
  }

  async #publish(events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const byRun = new Map<string, RunEvent[]>();
    for (const event of events) {
      const list = byRun.get(event.runId);
      if (list) list.push(event);
      else byRun.set(event.runId, [event]);
    }
    const publishes: Promise<void>[] = [];
    for (const [runId, list] of byRun) publishes.push(this.pubsub.publish('run', runId, list));
    publishes.push(this.pubsub.publish('all', '*', events));
    await Promise.all(publishes);
  }
}

/**
 * A node's row: copyNode's field-by-field copy with runId added, not `{ ...node, runId }`, which on
 * Node 20 took about 1.8 µs a node (the snapshots' shapes vary), the copy about 0.05.
 */
function toNodeRow(node: NodeSnapshot, runId: string): NodeRow {
  const row = copyNode(node) as NodeRow;
  row.runId = runId;
  return row;
}
