import { deferred, type Deferred } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import { FINISHED_STATUSES, type NodeSnapshot, type NodeStatus, type RunStatus } from './snapshot.ts';
import { isTerminal, type RunEvent } from './types.ts';

/**
 * Visual updates: the pure logic behind `runVisualUpdates(runId, batchSize, batchIntervalMs)`, which
 * feeds graph canvases. A run's events become small, coalesced, prioritised batches of updates.
 * The mapping from each event type to its updates is documented on `eventUpdates` below.
 */
export type VisualUpdateKind = 'NODE_UPDATE' | 'EDGE_UPDATE' | 'LAYOUT_UPDATE' | 'STYLE_UPDATE' | 'COMPLETE_REFRESH';
export type VisualPriority = 'HIGH' | 'MEDIUM' | 'LOW';

/** targetId: a node id, an edge id `${from}->${to}`, or the run id (STYLE_UPDATE, COMPLETE_REFRESH). */
export interface VisualUpdate { kind: VisualUpdateKind; targetId: string; priority: VisualPriority; changes: JsonObject }
/** `seq`: the last event reflected; every event up to it has been folded in. */
export interface VisualBatch { runId: string; seq: number; updates: VisualUpdate[] }

export const STATUS_COLORS = { PENDING: '#9ca3af', RUNNING: '#3b82f6', SUCCEEDED: '#10b981', FAILED: '#ef4444', SKIPPED: '#f59e0b', INTERRUPTED: '#a855f7' } as const;

/** What a late joiner starts from: the run as the store has it after `lastSeq`. */
export interface VisualPicture { runId: string; status: RunStatus; progress: number; lastSeq: number; nodes: NodeSnapshot[]; edges: Array<{ from: string; to: string }> }
/** batchSize: distinct pending updates that trigger a send (1..1000, default 10). batchIntervalMs: the
 * longest a pending update waits (0..60000, default 100; 0 = send every event's updates at once). */
export interface VisualOptions { batchSize?: number; batchIntervalMs?: number }
export const VISUAL_LIMITS = { batchSize: { min: 1, max: 1000, default: 10 }, batchIntervalMs: { min: 0, max: 60_000, default: 100 } } as const;

/** Validates the options and fills in defaults; throws AppError('INVALID_INPUT') naming the allowed range. */
export function resolveVisualOptions(options: VisualOptions = {}): Required<VisualOptions> {
  return {
    batchSize: checkRange('batchSize', options.batchSize, VISUAL_LIMITS.batchSize),
    batchIntervalMs: checkRange('batchIntervalMs', options.batchIntervalMs, VISUAL_LIMITS.batchIntervalMs),
  };
}

function checkRange(name: string, value: number | undefined, limits: { min: number; max: number; default: number }): number {
  const resolved = value ?? limits.default;
  if (Number.isInteger(resolved) && resolved >= limits.min && resolved <= limits.max) return resolved;
  throw new AppError('INVALID_INPUT', `${name} must be an integer from ${limits.min} to ${limits.max}; got ${String(value)}`, { field: name, min: limits.min, max: limits.max });
}

const RANK: Readonly<Record<VisualPriority, number>> = { HIGH: 0, MEDIUM: 1, LOW: 2 };
type Step = { tag: 'event'; result: IteratorResult<RunEvent> } | { tag: 'error'; error: unknown } | { tag: 'timer' } | { tag: 'stop' };
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Turns a run's event stream (events with seq > picture.lastSeq; older ones are skipped) into batches.
 *
 * - Options are validated before anything else (throws synchronously, see resolveVisualOptions).
 * - Each event maps to updates as listed on `eventUpdates`.
 * - The first batch goes out at once, without reading the source: one COMPLETE_REFRESH (target runId,
 *   HIGH) holding {status, progress, nodes: [{id, status, color, iteration, attempts, durationMs}],
 *   edges: [{id, from, to, active:false}]}, taken from the picture when this is called, seq = lastSeq.
 *   If the picture's run has already finished, the iterator then ends.
 * - Pending updates go out as one batch when `batchSize` distinct updates are pending, when
 *   `batchIntervalMs` has passed since the first one, or at once when a HIGH update arrives. Updates to
 *   the same (kind, targetId) coalesce: changes merged (later wins), highest priority, first position.
 *   A batch lists HIGH, then MEDIUM, then LOW updates, otherwise in order.
 * - A terminal event sends the pending batch, then the iterator ends. A source that ends without one is
 *   flushed, then the iterator ends; a source that throws is flushed, then the same error is thrown.
 * - Pull-based: the source is read only while the consumer waits for a batch, with at most one
 *   `next()` outstanding, so a slow consumer costs at most one buffered event plus one batch.
 * - `return()` takes effect at once, even while a `next()` is waiting: it clears the timer, ends the
 *   waiting `next()` (done) and calls `return()` on the source. Concurrent `next()` calls are queued.
 */
export function visualUpdates(picture: VisualPicture, events: AsyncIterable<RunEvent>, options?: VisualOptions): AsyncIterableIterator<VisualBatch> {
  const { batchSize, batchIntervalMs } = resolveVisualOptions(options);
  const runId = picture.runId;
  const refresh = refreshBatch(picture);
  const nodeStatus = new Map<string, NodeStatus>(picture.nodes.map((node) => [node.nodeId, node.status]));
  const pending = new Map<string, VisualUpdate>();
  /** Resolved by return() to end the wait in progress (one per wait: a long-lived one would pile up reactions). */
  let wake: Deferred<Step> | undefined;
  let phase: 'refresh' | 'live' | 'ending' | 'done' = 'refresh';
  let source: AsyncIterator<RunEvent> | undefined;
  let sourceDone = false;
  let inFlight: Promise<Step> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerFired: Promise<Step> | undefined;
  let lastSeq = picture.lastSeq;
  let failure: { error: unknown } | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  function nextStep(): Promise<Step> {
    if (!inFlight) {
      const it = (source ??= events[Symbol.asyncIterator]());
      inFlight = new Promise<IteratorResult<RunEvent>>((resolve) => resolve(it.next())) // a sync throw rejects
        .then((result): Step => ({ tag: 'event', result }), (error: unknown): Step => ({ tag: 'error', error }));
    }
    wake = deferred<Step>();
    return Promise.race(timerFired ? [inFlight, wake.promise, timerFired] : [inFlight, wake.promise]);
  }

  function startTimer(): void {
    if (timer !== undefined) return;
    timerFired = new Promise<Step>(function armTimer(resolve) {
      timer = setTimeout(() => resolve({ tag: 'timer' }), batchIntervalMs);
    });
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    timerFired = undefined;
  }

  /** Clears the timer and releases the source; waits for its return() unless a next() is outstanding. */
  async function closeSource(): Promise<void> {
    clearTimer();
    if (!source || sourceDone) return;
    sourceDone = true;
    const closing = Promise.resolve(source).then((it) => it.return?.()).catch(function ignoreReturnError() {});
    if (!inFlight) await closing; // an async generator's return() waits for its pending next(): don't hang on it
  }

  function add(update: VisualUpdate): void {
    const key = `${update.kind}|${update.targetId}`;
    const prior = pending.get(key);
    if (!prior) return void pending.set(key, { ...update, changes: { ...update.changes } });
    prior.changes = { ...prior.changes, ...update.changes };
    if (RANK[update.priority] < RANK[prior.priority]) prior.priority = update.priority;
  }

  function flush(): IteratorResult<VisualBatch> {
    clearTimer();
    const updates = [...pending.values()].sort((a, b) => RANK[a.priority] - RANK[b.priority]);
    pending.clear();
    return { done: false, value: { runId, seq: lastSeq, updates } };
  }

  async function end(): Promise<IteratorResult<VisualBatch>> {
    phase = 'done';
    await closeSource();
    if (!failure) return DONE;
    const { error } = failure;
    failure = undefined;
    throw error;
  }

  /** The end of the source (done or thrown): flush what is pending, the next pull ends. */
  function sourceEnded(): Promise<IteratorResult<VisualBatch>> | IteratorResult<VisualBatch> {
    sourceDone = true;
    inFlight = undefined;
    if (pending.size === 0) return end();
    phase = 'ending';
    return flush();
  }

  async function produce(): Promise<IteratorResult<VisualBatch>> {
    if (phase === 'done') return DONE;
    if (phase === 'ending') return end();
    if (phase === 'refresh') {
      phase = FINISHED_STATUSES.includes(picture.status) ? 'ending' : 'live';
      return { done: false, value: refresh };
    }
    for (;;) {
      const step = await nextStep();
      wake = undefined;
      if (phase !== 'live' || step.tag === 'stop') return DONE;
      if (step.tag === 'timer') return flush();
      if (step.tag === 'error') {
        failure = { error: step.error };
        return sourceEnded();
      }
      if (step.result.done) return sourceEnded();
      inFlight = undefined;
      const event = step.result.value;
      if (event.seq <= lastSeq) continue;
      lastSeq = event.seq;
      const updates = eventUpdates(event, runId, nodeStatus);
      for (const update of updates) add(update);
      if (isTerminal(event)) {
        phase = 'ending';
        void closeSource();
        return flush();
      }
      if (pending.size === 0) continue;
      const urgent = batchIntervalMs === 0 || updates.some((update) => update.priority === 'HIGH');
      if (urgent || pending.size >= batchSize) return flush();
      startTimer();
    }
  }

  async function pull(): Promise<IteratorResult<VisualBatch>> {
    try {
      return await produce();
    } catch (error) {
      phase = 'done';
      await closeSource();
      throw error;
    }
  }

  const iterator: AsyncIterableIterator<VisualBatch> = {
    next(): Promise<IteratorResult<VisualBatch>> {
      const result = queue.then(pull);
      queue = result.catch(function keepQueueAlive() {});
      return result;
    },
    async return(): Promise<IteratorResult<VisualBatch>> {
      if (phase !== 'done') {
        phase = 'done';
        failure = undefined;
        pending.clear();
        wake?.resolve({ tag: 'stop' });
        await closeSource();
      }
      return DONE;
    },
    [Symbol.asyncIterator](): AsyncIterableIterator<VisualBatch> {
      return iterator;
    },
  };
  return iterator;
}

function refreshBatch(picture: VisualPicture): VisualBatch {
  const nodes = picture.nodes.map(function nodeView(node): JsonObject {
    return { id: node.nodeId, status: node.status, color: STATUS_COLORS[node.status], iteration: node.iteration, attempts: node.attempts, durationMs: node.durationMs };
  });
  const edges = picture.edges.map(function edgeView(edge): JsonObject {
    return { id: edgeId(edge.from, edge.to), from: edge.from, to: edge.to, active: false };
  });
  const changes: JsonObject = { status: picture.status, progress: picture.progress, nodes, edges };
  return { runId: picture.runId, seq: picture.lastSeq, updates: [{ kind: 'COMPLETE_REFRESH', targetId: picture.runId, priority: 'HIGH', changes }] };
}

function edgeId(from: string, to: string): string {
  return `${from}->${to}`;
}

/**
 * One event's updates; `nodes` tracks node statuses as `applyEvent` does.
 *
 * Event → update (kind(target) {changes}, priority):
 * - RunQueued → STYLE_UPDATE(runId) {status:'QUEUED'}, MEDIUM; RunStarted → {status:'RUNNING'}, MEDIUM.
 * - NodeStarted → NODE_UPDATE(node) {status:'RUNNING', color, animation:'pulse', iteration, attempt}, MEDIUM;
 *   with iteration > 1 also LAYOUT_UPDATE(node) {badge:`×${iteration}`}, LOW (loop badge).
 * - NodeCompleted → NODE_UPDATE {status:'SUCCEEDED', color, animation:'none', durationMs}, MEDIUM.
 * - NodeFailed → NODE_UPDATE {status: willRetry ? 'RUNNING' : 'FAILED', color (always failed red),
 *   animation:'pulse', error (message), attempt, willRetry}, HIGH.
 * - NodeSkipped → NODE_UPDATE {status:'SKIPPED', color, animation:'none'}, LOW — only while the node is
 *   still PENDING, as in `applyEvent` (a loop node skipped after it ran keeps its colour).
 * - Transition → EDGE_UPDATE(`from->to`) {active:true, animation:'flow', taken:true}, MEDIUM;
 *   DataFlow → EDGE_UPDATE {bytes, animation:'flow'}, LOW.
 * - Progress → STYLE_UPDATE(runId) {progress} without a node, NODE_UPDATE {progress, message} with one; LOW.
 * - SystemNotice → STYLE_UPDATE(runId) {notice, noticeLevel}, LOW.
 * - RunPaused / RunResumed → STYLE_UPDATE(runId) {status:'PAUSED'|'RUNNING'}, HIGH; RunPaused also gives
 *   each interrupted node NODE_UPDATE {status:'INTERRUPTED', color, animation:'none', interrupt (payload)}, HIGH.
 * - RunCompleted / RunFailed / RunCancelled → STYLE_UPDATE(runId) {status:'COMPLETED'|'FAILED'|'CANCELLED',
 *   error? (failure message or cancel reason), progress:100 on success}, HIGH; plus, as in `applyEvent`,
 *   NODE_UPDATE {status:'FAILED', color, animation:'none'}, HIGH for every node still RUNNING.
 */
function eventUpdates(event: RunEvent, runId: string, nodes: Map<string, NodeStatus>): VisualUpdate[] {
  const node = (targetId: string, priority: VisualPriority, changes: JsonObject): VisualUpdate => ({ kind: 'NODE_UPDATE', targetId, priority, changes });
  const edge = (from: string, to: string, priority: VisualPriority, changes: JsonObject): VisualUpdate => ({ kind: 'EDGE_UPDATE', targetId: edgeId(from, to), priority, changes });
  const style = (priority: VisualPriority, changes: JsonObject): VisualUpdate => ({ kind: 'STYLE_UPDATE', targetId: runId, priority, changes });
  switch (event.type) {
    case 'RunQueued': return [style('MEDIUM', { status: 'QUEUED' })];
    case 'RunStarted': return [style('MEDIUM', { status: 'RUNNING' })];
    case 'NodeStarted': {
      nodes.set(event.nodeId, 'RUNNING');
      const started = node(event.nodeId, 'MEDIUM', { status: 'RUNNING', color: STATUS_COLORS.RUNNING, animation: 'pulse', iteration: event.iteration, attempt: event.attempt });
      if (event.iteration <= 1) return [started];
      return [started, { kind: 'LAYOUT_UPDATE', targetId: event.nodeId, priority: 'LOW', changes: { badge: `×${event.iteration}` } }];
    }
    case 'NodeCompleted':
      nodes.set(event.nodeId, 'SUCCEEDED');
      return [node(event.nodeId, 'MEDIUM', { status: 'SUCCEEDED', color: STATUS_COLORS.SUCCEEDED, animation: 'none', durationMs: event.durationMs })];
    case 'NodeFailed': {
      const status = event.willRetry ? 'RUNNING' : 'FAILED';
      nodes.set(event.nodeId, status);
      return [node(event.nodeId, 'HIGH', { status, color: STATUS_COLORS.FAILED, animation: 'pulse', error: event.error.message, attempt: event.attempt, willRetry: event.willRetry })];
    }
    case 'NodeSkipped':
      if ((nodes.get(event.nodeId) ?? 'PENDING') !== 'PENDING') return [];
      nodes.set(event.nodeId, 'SKIPPED');
      return [node(event.nodeId, 'LOW', { status: 'SKIPPED', color: STATUS_COLORS.SKIPPED, animation: 'none' })];
    case 'Transition': return [edge(event.from, event.to, 'MEDIUM', { active: true, animation: 'flow', taken: true })];
    case 'DataFlow': return [edge(event.from, event.to, 'LOW', { bytes: event.bytes, animation: 'flow' })];
    case 'Progress':
      if (event.nodeId === null) return [style('LOW', { progress: event.percent })];
      return [node(event.nodeId, 'LOW', { progress: event.percent, message: event.message })];
    case 'SystemNotice': return [style('LOW', { notice: event.message, noticeLevel: event.level })];
    case 'RunPaused': {
      for (const { nodeId } of event.interrupts) nodes.set(nodeId, 'INTERRUPTED');
      const interrupted = event.interrupts.map((i) => node(i.nodeId, 'HIGH', { status: 'INTERRUPTED', color: STATUS_COLORS.INTERRUPTED, animation: 'none', interrupt: i.payload }));
      return [style('HIGH', { status: 'PAUSED' }), ...interrupted];
    }
    case 'RunResumed': return [style('HIGH', { status: 'RUNNING' })];
    case 'RunCompleted':
    case 'RunFailed':
    case 'RunCancelled': {
      const changes: JsonObject =
        event.type === 'RunCompleted' ? { status: 'COMPLETED', progress: 100 }
        : event.type === 'RunFailed' ? { status: 'FAILED', error: event.error.message }
        : { status: 'CANCELLED', error: event.reason };
      const stranded = [...nodes].filter(([, status]) => status === 'RUNNING').map(([nodeId]) => nodeId);
      for (const nodeId of stranded) nodes.set(nodeId, 'FAILED');
      return [style('HIGH', changes), ...stranded.map((nodeId) => node(nodeId, 'HIGH', { status: 'FAILED', color: STATUS_COLORS.FAILED, animation: 'none' }))];
    }
  }
}
