import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, sleep, type Deferred } from '../../src/common/async.ts';
import { AppError } from '../../src/common/errors.ts';
import { newNodeSnapshot, type NodeSnapshot } from '../../src/events/snapshot.ts';
import { DEFAULT_PRIORITY, type RunEvent } from '../../src/events/types.ts';
import { resolveVisualOptions, STATUS_COLORS, visualUpdates, type VisualBatch, type VisualPicture } from '../../src/events/visual.ts';

const RUN = 'run_1';
type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
type Body<T extends RunEvent['type']> = Omit<Of<T>, 'seq' | 'runId' | 'graphId' | 'at' | 'type' | 'priority'>;

/** A real RunEvent of the given type, with the common fields filled in. */
function ev<T extends RunEvent['type']>(seq: number, type: T, body: Body<T>): RunEvent {
  return { seq, runId: RUN, graphId: 'g_1', at: new Date(1_700_000_000_000 + seq).toISOString(), type, priority: DEFAULT_PRIORITY[type], ...body } as Of<T>;
}
const started = (seq: number, nodeId: string, iteration = 1, attempt = 1) => ev(seq, 'NodeStarted', { nodeId, step: 1, iteration, attempt, input: {} });
const completed = (seq: number, nodeId: string, durationMs = 5) => ev(seq, 'NodeCompleted', { nodeId, step: 1, iteration: 1, attempt: 1, stateUpdate: {}, bytes: 2, durationMs });
const failed = (seq: number, nodeId: string, willRetry: boolean, attempt = 1) =>
  ev(seq, 'NodeFailed', { nodeId, step: 1, iteration: 1, attempt, error: { code: 'NODE_FAILED', message: 'boom' }, willRetry, retryInMs: willRetry ? 10 : null, durationMs: 3 });
const progress = (seq: number, percent: number, nodeId: string | null = null, message: string | null = null) => ev(seq, 'Progress', { percent, message, nodeId });
const dataFlow = (seq: number, from: string, to: string, bytes = 7) => ev(seq, 'DataFlow', { from, to, step: 1, bytes });
const transition = (seq: number, from: string, to: string) => ev(seq, 'Transition', { from, to, step: 1 });
const runCompleted = (seq: number) => ev(seq, 'RunCompleted', { finalState: {}, durationMs: 50 });

function node(nodeId: string, patch: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return { ...newNodeSnapshot(nodeId), ...patch };
}

/** a succeeded, b running, c pending; edges a->b, b->c; events 1..4 already folded in. */
function picture(patch: Partial<VisualPicture> = {}): VisualPicture {
  return {
    runId: RUN,
    status: 'RUNNING',
    progress: 40,
    lastSeq: 4,
    nodes: [node('a', { status: 'SUCCEEDED', iteration: 1, attempts: 1, durationMs: 12 }), node('b', { status: 'RUNNING', iteration: 2, attempts: 1 }), node('c')],
    edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    ...patch,
  };
}

/** A pushable source that records how it is used. */
function pushable() {
  const queue: RunEvent[] = [];
  let waiting: Deferred<IteratorResult<RunEvent>> | undefined;
  let ended = false;
  let failure: Error | undefined;
  const stats = { nextCalls: 0, returnCalls: 0 };
  const iterator: AsyncIterableIterator<RunEvent> = {
    next() {
      stats.nextCalls++;
      const event = queue.shift();
      if (event) return Promise.resolve({ done: false, value: event });
      if (failure) return Promise.reject(failure);
      if (ended) return Promise.resolve({ done: true, value: undefined });
      waiting = deferred();
      return waiting.promise;
    },
    async return() {
      stats.returnCalls++;
      ended = true;
      waiting?.resolve({ done: true, value: undefined });
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  function settle(): void {
    const w = waiting;
    if (!w) return;
    if (queue.length > 0) w.resolve({ done: false, value: queue.shift()! });
    else if (failure) w.reject(failure);
    else if (ended) w.resolve({ done: true, value: undefined });
    else return;
    waiting = undefined;
  }
  return {
    iterator,
    stats,
    queue,
    push(...events: RunEvent[]): void {
      queue.push(...events);
      settle();
    },
    end(): void {
      ended = true;
      settle();
    },
    fail(error: Error): void {
      failure = error;
      settle();
    },
  };
}

async function value(result: Promise<IteratorResult<VisualBatch>>): Promise<VisualBatch> {
  const r = await result;
  if (r.done) throw new Error('expected a batch, got done');
  return r.value;
}

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * Counts the timers created since install that have neither fired nor been cleared. (A count of
 * process.getActiveResourcesInfo() 'Timeout's is flaky in-process: vitest's own timers come and go;
 * the child-process test below checks that one for real.)
 */
function trackTimers(): { readonly live: number } {
  const live = new Set<unknown>();
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(function trackedSetTimeout(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const handle = realSetTimeout(function trackedFire() {
      live.delete(handle);
      callback(...args);
    }, ms);
    live.add(handle);
    return handle;
  } as typeof setTimeout);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation(function trackedClearTimeout(handle: Parameters<typeof clearTimeout>[0]) {
    live.delete(handle);
    realClearTimeout(handle);
  } as typeof clearTimeout);
  return {
    get live() {
      return live.size;
    },
  };
}
const summary = (batch: VisualBatch) => batch.updates.map((u) => `${u.kind}(${u.targetId}):${u.priority}`);

/** Tracks whether a promise has settled yet. */
function watch<T>(promise: Promise<T>): { settled: () => boolean; at: () => number } {
  let settledAt = 0;
  void promise.then(
    () => (settledAt = performance.now()),
    () => (settledAt = performance.now()),
  );
  return { settled: () => settledAt !== 0, at: () => settledAt };
}

describe('visualUpdates', () => {
  let timers: { readonly live: number };
  beforeEach(() => {
    timers = trackTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends a COMPLETE_REFRESH of the whole picture first, at once, without reading the source', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator);
    const first = await value(out.next());
    expect(src.stats.nextCalls).toBe(0);
    expect(first).toEqual({
      runId: RUN,
      seq: 4,
      updates: [
        {
          kind: 'COMPLETE_REFRESH',
          targetId: RUN,
          priority: 'HIGH',
          changes: {
            status: 'RUNNING',
            progress: 40,
            nodes: [
              { id: 'a', status: 'SUCCEEDED', color: '#10b981', iteration: 1, attempts: 1, durationMs: 12 },
              { id: 'b', status: 'RUNNING', color: '#3b82f6', iteration: 2, attempts: 1, durationMs: null },
              { id: 'c', status: 'PENDING', color: '#9ca3af', iteration: 0, attempts: 0, durationMs: null },
            ],
            edges: [
              { id: 'a->b', from: 'a', to: 'b', active: false },
              { id: 'b->c', from: 'b', to: 'c', active: false },
            ],
          },
        },
      ],
    });
    await out.return!();
  });

  it('ends right after the refresh when the run has already finished', async () => {
    const src = pushable();
    const out = visualUpdates(picture({ status: 'COMPLETED', progress: 100 }), src.iterator);
    expect((await value(out.next())).updates[0]?.kind).toBe('COMPLETE_REFRESH');
    expect(await out.next()).toEqual({ done: true, value: undefined });
    expect(src.stats.nextCalls).toBe(0);
  });

  it('maps every event type to its updates', async () => {
    const src = pushable();
    const out = visualUpdates(picture({ lastSeq: 0 }), src.iterator, { batchIntervalMs: 0 });
    await out.next();
    const cases: Array<[RunEvent, string[], Record<string, unknown>[]]> = [
      [ev(1, 'RunQueued', { input: {} }), ['STYLE_UPDATE(run_1):MEDIUM'], [{ status: 'QUEUED' }]],
      [ev(2, 'RunStarted', { input: {}, maxSteps: 10 }), ['STYLE_UPDATE(run_1):MEDIUM'], [{ status: 'RUNNING' }]],
      [started(3, 'c'), ['NODE_UPDATE(c):MEDIUM'], [{ status: 'RUNNING', color: STATUS_COLORS.RUNNING, animation: 'pulse', iteration: 1, attempt: 1 }]],
      [failed(4, 'c', true), ['NODE_UPDATE(c):HIGH'], [{ status: 'RUNNING', color: STATUS_COLORS.FAILED, animation: 'pulse', error: 'boom', attempt: 1, willRetry: true }]],
      [failed(5, 'c', false, 2), ['NODE_UPDATE(c):HIGH'], [{ status: 'FAILED', color: '#ef4444', animation: 'pulse', error: 'boom', attempt: 2, willRetry: false }]],
      [completed(6, 'b', 30), ['NODE_UPDATE(b):MEDIUM'], [{ status: 'SUCCEEDED', color: '#10b981', animation: 'none', durationMs: 30 }]],
      [started(7, 'b', 3), ['NODE_UPDATE(b):MEDIUM', 'LAYOUT_UPDATE(b):LOW'], [{ status: 'RUNNING', color: '#3b82f6', animation: 'pulse', iteration: 3, attempt: 1 }, { badge: '×3' }]],
      [transition(8, 'a', 'b'), ['EDGE_UPDATE(a->b):MEDIUM'], [{ active: true, animation: 'flow', taken: true }]],
      [dataFlow(9, 'a', 'b', 123), ['EDGE_UPDATE(a->b):LOW'], [{ bytes: 123, animation: 'flow' }]],
      [progress(10, 55), ['STYLE_UPDATE(run_1):LOW'], [{ progress: 55 }]],
      [progress(11, 20, 'b', 'reading'), ['NODE_UPDATE(b):LOW'], [{ progress: 20, message: 'reading' }]],
      [ev(12, 'NodeSkipped', { nodeId: 'd', step: 2, reason: 'branch not taken' }), ['NODE_UPDATE(d):LOW'], [{ status: 'SKIPPED', color: '#f59e0b', animation: 'none' }]],
      [ev(13, 'SystemNotice', { message: 'slow', level: 'WARN', code: null, nodeId: null }), ['STYLE_UPDATE(run_1):LOW'], [{ notice: 'slow', noticeLevel: 'WARN' }]],
      [ev(14, 'RunPaused', { nodeId: 'd', reason: 'breakpoint before node "d"', cause: 'BEFORE', interrupts: [] }), ['STYLE_UPDATE(run_1):HIGH'], [{ status: 'PAUSED' }]],
      [ev(15, 'RunResumed', { nodeId: 'd', stateUpdate: null, resume: null }), ['STYLE_UPDATE(run_1):HIGH'], [{ status: 'RUNNING' }]],
      // b is still RUNNING at the end: shown failed, as applyEvent's finish() records it.
      [ev(16, 'RunFailed', { error: { code: 'NODE_FAILED', message: 'c broke' }, nodeId: 'c', durationMs: 9 }), ['STYLE_UPDATE(run_1):HIGH', 'NODE_UPDATE(b):HIGH'], [{ status: 'FAILED', error: 'c broke' }, { status: 'FAILED', color: '#ef4444', animation: 'none' }]],
    ];
    for (const [event, kinds, changes] of cases) {
      src.push(event);
      const batch = await value(out.next());
      expect(batch.seq, event.type).toBe(event.seq);
      expect(summary(batch), event.type).toEqual(kinds);
      expect(batch.updates.map((u) => u.changes), event.type).toEqual(changes);
    }
    expect((await out.next()).done).toBe(true);
  });

  it('shows the nodes of an interrupt pause INTERRUPTED with what they ask, and not as stranded when the run then ends', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchIntervalMs: 0 });
    await out.next();
    src.push(ev(5, 'RunPaused', { nodeId: 'b', reason: 'node "b" asked for input (interrupt)', cause: 'INTERRUPT', interrupts: [{ nodeId: 'b', payload: { question: 'ok?' } }] }));
    const paused = await value(out.next());
    expect(summary(paused)).toEqual(['STYLE_UPDATE(run_1):HIGH', 'NODE_UPDATE(b):HIGH']);
    expect(paused.updates.map((u) => u.changes)).toEqual([{ status: 'PAUSED' }, { status: 'INTERRUPTED', color: STATUS_COLORS.INTERRUPTED, animation: 'none', interrupt: { question: 'ok?' } }]);
    src.push(ev(6, 'RunCancelled', { reason: 'stop', durationMs: 1 }));
    expect(summary(await value(out.next()))).toEqual(['STYLE_UPDATE(run_1):HIGH']);
  });

  it('skips a node only while it is pending, and ignores events the picture already holds', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchIntervalMs: 0 });
    await out.next();
    // seq 3 is already in the picture (else c would be RUNNING, not skippable); a has run, so stays green.
    src.push(started(3, 'c'), ev(5, 'NodeSkipped', { nodeId: 'a', step: 2, reason: 'branch not taken' }), ev(6, 'NodeSkipped', { nodeId: 'c', step: 2, reason: 'branch not taken' }));
    src.push(ev(7, 'RunCancelled', { reason: 'stop', durationMs: 1 }));
    const skipped = await value(out.next());
    expect(skipped).toEqual({ runId: RUN, seq: 6, updates: [{ kind: 'NODE_UPDATE', targetId: 'c', priority: 'LOW', changes: { status: 'SKIPPED', color: '#f59e0b', animation: 'none' } }] });
    const last = await value(out.next());
    expect(last.seq).toBe(7);
    expect(last.updates).toEqual([
      { kind: 'STYLE_UPDATE', targetId: RUN, priority: 'HIGH', changes: { status: 'CANCELLED', error: 'stop' } },
      { kind: 'NODE_UPDATE', targetId: 'b', priority: 'HIGH', changes: { status: 'FAILED', color: '#ef4444', animation: 'none' } },
    ]);
    expect((await out.next()).done).toBe(true);
  });

  it('sends a batch once batchSize distinct updates are pending, reading no further ahead', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 3, batchIntervalMs: 60_000 });
    await out.next();
    // Four events, three distinct targets: the Progress on b coalesces with b's NodeCompleted.
    src.push(completed(5, 'b'), progress(6, 50, 'b', 'half'), dataFlow(7, 'a', 'b'), started(8, 'c'));
    src.push(...Array.from({ length: 20 }, (_, i) => progress(9 + i, i)));
    const batch = await value(out.next());
    expect(batch.seq).toBe(8);
    expect(summary(batch)).toEqual(['NODE_UPDATE(b):MEDIUM', 'NODE_UPDATE(c):MEDIUM', 'EDGE_UPDATE(a->b):LOW']);
    expect(src.stats.nextCalls).toBe(4);
    expect(src.queue).toHaveLength(20);
    await sleep(30);
    expect(src.stats.nextCalls).toBe(4); // pull-based: nothing read while the consumer is away
    await out.return!();
    expect(timers.live).toBe(0);
  });

  it('sends a batch batchIntervalMs after the first pending update, and not before', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 150 });
    await out.next();
    const next = out.next();
    const seen = watch(next);
    await sleep(5);
    const pushedAt = performance.now();
    src.push(dataFlow(5, 'a', 'b'));
    await sleep(20);
    src.push(progress(6, 45)); // joins the pending batch; the clock still runs from the first update
    await sleep(20);
    expect(seen.settled()).toBe(false);
    expect(timers.live).toBe(1);
    const batch = await value(next);
    expect(seen.at() - pushedAt).toBeGreaterThanOrEqual(145);
    expect(batch.seq).toBe(6);
    expect(summary(batch)).toEqual(['EDGE_UPDATE(a->b):LOW', 'STYLE_UPDATE(run_1):LOW']);
    await out.return!();
  });

  it('sends at once when a HIGH update arrives, with whatever is pending, HIGH first', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    const t0 = performance.now();
    src.push(progress(5, 50), failed(6, 'b', false));
    const batch = await value(out.next());
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(summary(batch)).toEqual(['NODE_UPDATE(b):HIGH', 'STYLE_UPDATE(run_1):LOW']);
    expect(timers.live).toBe(0); // the interval timer was cleared by the send
    await out.return!();
  });

  it('coalesces updates to the same target: later values win, highest priority, first position', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    src.push(progress(5, 10, 'c', 'start'), dataFlow(6, 'a', 'b', 99), started(7, 'c'), transition(8, 'a', 'b'), progress(9, 50, 'c', 'half'), started(10, 'd'));
    src.push(failed(11, 'c', true));
    const batch = await value(out.next());
    expect(batch.seq).toBe(11);
    expect(batch.updates).toEqual([
      { kind: 'NODE_UPDATE', targetId: 'c', priority: 'HIGH', changes: { progress: 50, message: 'half', status: 'RUNNING', color: '#ef4444', animation: 'pulse', iteration: 1, attempt: 1, error: 'boom', willRetry: true } },
      { kind: 'EDGE_UPDATE', targetId: 'a->b', priority: 'MEDIUM', changes: { bytes: 99, animation: 'flow', active: true, taken: true } },
      { kind: 'NODE_UPDATE', targetId: 'd', priority: 'MEDIUM', changes: { status: 'RUNNING', color: '#3b82f6', animation: 'pulse', iteration: 1, attempt: 1 } },
    ]);
    await out.return!();
  });

  it('orders a batch HIGH, MEDIUM, LOW, keeping arrival order within a priority', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    src.push(progress(5, 1), started(6, 'c'), dataFlow(7, 'b', 'c'), completed(8, 'c'), started(9, 'd'), ev(10, 'RunPaused', { nodeId: 'd', reason: 'wait', cause: 'AFTER', interrupts: [] }));
    const batch = await value(out.next());
    expect(summary(batch)).toEqual(['STYLE_UPDATE(run_1):HIGH', 'NODE_UPDATE(c):MEDIUM', 'NODE_UPDATE(d):MEDIUM', 'EDGE_UPDATE(b->c):LOW']);
    expect(batch.updates[0]?.changes).toEqual({ progress: 1, status: 'PAUSED' });
    await out.return!();
  });

  it('sends the pending batch with the terminal event, then ends and releases the source', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    src.push(completed(5, 'b'), runCompleted(6), progress(7, 99));
    const batch = await value(out.next());
    expect(batch.seq).toBe(6);
    expect(summary(batch)).toEqual(['STYLE_UPDATE(run_1):HIGH', 'NODE_UPDATE(b):MEDIUM']);
    expect(batch.updates[0]?.changes).toEqual({ status: 'COMPLETED', progress: 100 });
    expect(await out.next()).toEqual({ done: true, value: undefined });
    expect(src.stats).toEqual({ nextCalls: 2, returnCalls: 1 });
    expect(src.queue).toHaveLength(1);
    expect(timers.live).toBe(0);
  });

  it('flushes and ends when the source ends without a terminal event', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    src.push(dataFlow(5, 'a', 'b'));
    src.end();
    const batch = await value(out.next());
    expect(summary(batch)).toEqual(['EDGE_UPDATE(a->b):LOW']);
    expect(await out.next()).toEqual({ done: true, value: undefined });
    expect(timers.live).toBe(0);
  });

  it('flushes what is pending when the source throws, then throws the same error', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 10_000 });
    await out.next();
    const error = new Error('store went away');
    src.push(progress(5, 60), started(6, 'c'));
    src.fail(error);
    const batch = await value(out.next());
    expect(batch.seq).toBe(6);
    expect(summary(batch)).toEqual(['NODE_UPDATE(c):MEDIUM', 'STYLE_UPDATE(run_1):LOW']);
    await expect(out.next()).rejects.toBe(error);
    expect(await out.next()).toEqual({ done: true, value: undefined });
    expect(src.stats.returnCalls).toBe(0); // a thrown iterator is finished already
    expect(timers.live).toBe(0);
  });

  it('throws the source error at once when nothing is pending', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator);
    await out.next();
    const error = new Error('gone');
    src.fail(error);
    await expect(out.next()).rejects.toBe(error);
  });

  it('return() while a next() waits with an armed timer: ends it, clears the timer, returns the source', async () => {
    const src = pushable();
    const out = visualUpdates(picture(), src.iterator, { batchSize: 100, batchIntervalMs: 30_000 });
    await out.next();
    const waiting = out.next();
    src.push(progress(5, 10));
    await sleep(10);
    expect(timers.live).toBe(1); // the interval timer is armed: the probe sees it
    const t0 = performance.now();
    expect(await out.return!()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(timers.live).toBe(0);
    expect(src.stats.returnCalls).toBe(1);
    expect(await out.next()).toEqual({ done: true, value: undefined });
    expect(src.stats.nextCalls).toBe(2);
  });

  it('return() does not hang on an async-generator source that never yields, and the loop settles', async () => {
    let finalized = false;
    const never = deferred<void>();
    async function* stuck(): AsyncGenerator<RunEvent> {
      try {
        yield dataFlow(5, 'a', 'b');
        await never.promise;
      } finally {
        finalized = true;
      }
    }
    const out = visualUpdates(picture(), stuck(), { batchSize: 100, batchIntervalMs: 30_000 });
    await out.next();
    const waiting = out.next();
    await sleep(10);
    expect(timers.live).toBe(1);
    await out.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(timers.live).toBe(0);
    expect(finalized).toBe(false); // its return() queues behind the pending next(), as generators do
    never.resolve();
    await sleep(5);
    expect(finalized).toBe(true);
  });

  it('works with for await and a plain async generator, ending the source when the consumer breaks', async () => {
    let finalized = false;
    async function* source(): AsyncGenerator<RunEvent> {
      try {
        for (let seq = 5; seq < 1000; seq++) yield progress(seq, seq % 100);
      } finally {
        finalized = true;
      }
    }
    const seqs: number[] = [];
    for await (const batch of visualUpdates(picture(), source(), { batchSize: 1 })) {
      seqs.push(batch.seq);
      if (seqs.length === 3) break;
    }
    expect(seqs).toEqual([4, 5, 6]);
    expect(finalized).toBe(true);
    expect(timers.live).toBe(0);
  });

  it('lets the process exit by itself once the consumer leaves mid-batch', async () => {
    const script = `
      import { visualUpdates } from ${JSON.stringify(new URL('../../src/events/visual.ts', import.meta.url).href)};
      async function* source() {
        yield { seq: 5, runId: 'r', graphId: 'g', at: '2024-01-01T00:00:00.000Z', type: 'DataFlow', priority: 'LOW', from: 'a', to: 'b', step: 1, bytes: 1 };
        await new Promise(() => {});
      }
      const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const out = visualUpdates({ runId: 'r', status: 'RUNNING', progress: 0, lastSeq: 4, nodes: [], edges: [] }, source(), { batchIntervalMs: 60000 });
      await out.next();
      const waiting = out.next();
      await new Promise((r) => setTimeout(r, 20));
      const armed = timeouts();
      await out.return();
      console.log(JSON.stringify({ armed, after: timeouts(), waiting: await waiting }));
    `;
    const t0 = performance.now();
    // A timer left behind would hold the child for the whole 60 s interval; execFile gives up at 20 s.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({ armed: 1, after: 0, waiting: { done: true } });
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  it('validates its options, naming the allowed range', () => {
    expect(resolveVisualOptions()).toEqual({ batchSize: 10, batchIntervalMs: 100 });
    expect(resolveVisualOptions({ batchSize: 1, batchIntervalMs: 0 })).toEqual({ batchSize: 1, batchIntervalMs: 0 });
    expect(resolveVisualOptions({ batchSize: 1000, batchIntervalMs: 60_000 })).toEqual({ batchSize: 1000, batchIntervalMs: 60_000 });
    const bad: Array<[{ batchSize?: number; batchIntervalMs?: number }, string]> = [
      [{ batchSize: 0 }, 'batchSize must be an integer from 1 to 1000; got 0'],
      [{ batchSize: 1001 }, 'batchSize must be an integer from 1 to 1000; got 1001'],
      [{ batchSize: 2.5 }, 'batchSize must be an integer from 1 to 1000; got 2.5'],
      [{ batchIntervalMs: -1 }, 'batchIntervalMs must be an integer from 0 to 60000; got -1'],
      [{ batchIntervalMs: 60_001 }, 'batchIntervalMs must be an integer from 0 to 60000; got 60001'],
      [{ batchIntervalMs: Number.NaN }, 'batchIntervalMs must be an integer from 0 to 60000; got NaN'],
    ];
    for (const [options, message] of bad) {
      let thrown: unknown;
      try {
        visualUpdates(picture(), pushable().iterator, options); // throws before any next()
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect((thrown as AppError).code).toBe('INVALID_INPUT');
      expect((thrown as AppError).message).toBe(message);
    }
  });
});
