import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors.ts';
import { yieldToEventLoop } from '../../src/common/async.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { newNodeSnapshot, toRecord, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { EventLog } from '../../src/store/log.ts';
import type { CommitBatch, Store } from '../../src/store/types.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { makeRun } from './fixtures.ts';

/** Counts the real store's commits, to see how the log batches them. */
function countingStore(store: Store): Store & { commits: CommitBatch[] } {
  const commits: CommitBatch[] = [];
  return Object.assign(Object.create(store) as Store, {
    commits,
    commit(batch: CommitBatch) {
      commits.push(batch);
      return store.commit(batch);
    },
  });
}

async function newRun(store: Store): Promise<RunSnapshot> {
  const record = makeRun({ status: 'RUNNING' });
  await store.createRun(record, [newNodeSnapshot('n')]);
  return { ...record, nodes: new Map([['n', newNodeSnapshot('n')]]) };
}

const progress = (i: number) => ({ type: 'Progress', percent: i % 100, message: `event ${i}`, nodeId: null, priority: 'LOW' }) as const;

function append(log: EventLog, run: RunSnapshot, body: Record<string, unknown>): RunEvent {
  return log.append(run, { ...body, runId: run.id, graphId: run.graphId, at: new Date().toISOString() } as never);
}

async function collect(stream: AsyncIterable<RunEvent>): Promise<number[]> {
  const seqs: number[] = [];
  for await (const event of stream) seqs.push(event.seq);
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('event log', () => {
  let f: TestFlowcast;
  let store: Store & { commits: CommitBatch[] };
  let pubsub: MemoryPubSub;
  let log: EventLog;
  beforeEach(() => {
    f = makeFlowcast();
    store = countingStore(f.store);
    pubsub = new MemoryPubSub();
    log = new EventLog({ store, pubsub });
  });
  afterEach(() => f.close());

  it('gives each run its own gapless seq from 1 and writes a tick\'s events in one commit', async () => {
    const a = await newRun(store);
    const b = await newRun(store);
    for (let i = 0; i < 50; i++) {
      append(log, a, progress(i));
      append(log, b, progress(i));
    }
    await log.flush();
    expect(store.commits).toHaveLength(1);
    expect(store.commits[0]!.events).toHaveLength(100);
    expect((await store.readEvents(a.id, 0, 1000)).map((e) => e.seq)).toEqual(range(1, 50));
    expect((await store.readEvents(b.id, 0, 1000)).map((e) => e.seq)).toEqual(range(1, 50));
    expect(await store.getRun(a.id)).toMatchObject({ lastSeq: 50, progress: 49 });
  });

  it('publishes only what is already stored', async () => {
    const run = await newRun(store);
    const checks: Promise<boolean>[] = [];
    pubsub.subscribe('run', run.id, (events) => {
      const last = events[events.length - 1]!;
      checks.push(store.lastSeq(run.id).then((stored) => stored >= last.seq));
    });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) append(log, run, progress(i));
      await yieldToEventLoop();
    }
    await log.flush();
    expect(checks.length).toBeGreaterThanOrEqual(5);
    expect(await Promise.all(checks)).not.toContain(false);
  });

  it('streams after any cursor with no gap and no duplicate while events keep arriving', async () => {
    const run = await newRun(store);
    const total = 3_000;
    const streams: Array<{ after: number; seqs: Promise<number[]> }> = [];
    const producer = (async () => {
      for (let i = 1; i < total; i++) {
        append(log, run, progress(i));
        if (i % 250 === 0) {
          // Readers join at different points, mid-flush and mid-run, with small pages so their
          // catch-up spans many reads while the producer goes on.
          for (const after of [0, Math.max(0, i - 300), i - 1]) streams.push({ after, seqs: collect(log.stream(run.id, { after, pageSize: 37 })) });
          await yieldToEventLoop();
        }
      }
      append(log, run, { type: 'RunCompleted', finalState: {}, durationMs: 1, priority: 'CRITICAL' });
      await log.flush();
    })();
    await producer;
    expect(streams.length).toBeGreaterThan(20);
    for (const { after, seqs } of streams) expect(await seqs).toEqual(range(after + 1, total));
    expect(pubsub.channelCount).toBe(0);
  });

  it('ends at once when the cursor is at or past the end of a finished run, or passes it later', async () => {
    const run = await f.engine.run('fan-out', { speed: 0 });
    expect(await collect(f.log.stream(run.id, { after: run.lastSeq }))).toEqual([]);
    expect(await collect(f.log.stream(run.id, { after: run.lastSeq + 50 }))).toEqual([]);
    const live = await newRun(store);
    const beyond = collect(log.stream(live.id, { after: 10 }));
    append(log, live, progress(1));
    append(log, live, { type: 'RunCompleted', finalState: {}, durationMs: 1, priority: 'CRITICAL' });
    await log.flush();
    expect(await beyond).toEqual([]);
  });

  it('keeps the events published while it reads the run to see whether it has ended', async () => {
    const run = await newRun(store);
    // The whole run is stored and published while the stream, caught up, reads the run row.
    let publish: (() => Promise<void>) | undefined;
    const racing = Object.assign(Object.create(store) as Store, {
      async getRun(id: string) {
        const record = await store.getRun(id);
        await publish?.();
        publish = undefined;
        return record;
      },
    });
    const racingLog = new EventLog({ store: racing, pubsub });
    publish = async () => {
      append(racingLog, run, progress(1));
      append(racingLog, run, { type: 'RunCompleted', finalState: {}, durationMs: 1, priority: 'CRITICAL' });
      await racingLog.flush();
    };
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no end within 2 s'), 2000));
    expect(await Promise.race([collect(racingLog.stream(run.id)), timeout])).toEqual([1, 2]);
    expect(publish).toBeUndefined();
  });

  it('refuses a cursor that is not a seq', async () => {
    const run = await newRun(store);
    expect(() => log.stream(run.id, { after: -1 })).toThrow('after must be a seq (an integer >= 0), got -1');
    expect(() => log.stream(run.id, { after: 1.5 })).toThrow(AppError);
  });

  it('ends a stream at once for a finished run, after replaying it, and filters by type', async () => {
    const run = await f.engine.run('fan-out', { value: 1, speed: 0 });
    const all = await collect(f.log.stream(run.id, { after: 10 }));
    expect(all).toEqual(range(11, run.lastSeq));
    const types: string[] = [];
    for await (const e of f.log.stream(run.id, { types: ['NodeCompleted', 'RunCompleted'] })) types.push(e.type);
    expect(types).toEqual([...Array(6).fill('NodeCompleted'), 'RunCompleted']);
  });

  it('ends a paused subscriber with FELL_BEHIND and a resume cursor, never holding more than its buffer, while a healthy one gets all 20,000 events', async () => {
    const run = await newRun(store);
    const bufferSize = 1_000;
    const paused = log.stream(run.id, { bufferSize });
    // The consumer reads once (it is live, having caught up with an empty run), then stops reading.
    const firstRead = paused.next();
    await yieldToEventLoop();
    append(log, run, progress(0));
    await log.flush();
    expect((await firstRead).value?.seq).toBe(1);
    const healthy = collect(log.stream(run.id));
    let maxHeld = 0;
    const total = 20_000;
    for (let i = 2; i <= total; i++) {
      if (i === total) append(log, run, { type: 'RunCompleted', finalState: {}, durationMs: 1, priority: 'CRITICAL' });
      else append(log, run, progress(i));
      if (i % 500 === 0) {
        await log.flush();
        maxHeld = Math.max(maxHeld, paused.buffered);
      }
    }
    await log.flush();
    expect(maxHeld).toBeLessThanOrEqual(bufferSize);
    expect(paused.buffered).toBe(0);
    const error = await paused.next().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'FELL_BEHIND', details: { resumeAfter: 1 }, message: expect.stringContaining('resume after seq 1') });
    expect(await healthy).toEqual(range(1, total));
    expect(await collect(log.stream(run.id, { after: 1 }))).toEqual(range(2, total));
    expect(pubsub.channelCount).toBe(0);
  });

  it('in push mode, parks a caught-up consumer (pull() gives undefined), pushes live events to it, and wakes it for what it must pull', async () => {
    const run = await newRun(store);
    append(log, run, progress(1));
    await log.flush();
    const pushed: number[] = [];
    let wakes = 0;
    let room = true;
    const stream = log.stream(run.id);
    stream.pushTo({
      push(event) {
        pushed.push(event.seq);
        return room;
      },
      wake() {
        wakes++;
      },
    });
    // Replayed from the store through pull(), then parked: nothing pending.
    expect((await stream.pull())?.value?.seq).toBe(1);
    expect(await stream.pull()).toBeUndefined();
    // Live events go to push() in the publisher's turn, with no wake.
    append(log, run, progress(2));
    append(log, run, progress(3));
    await log.flush();
    expect(pushed).toEqual([2, 3]);
    expect(wakes).toBe(0);
    // A congested consumer: the rest of the batch is buffered, and it is woken to pull it.
    room = false;
    for (const i of [4, 5, 6]) append(log, run, progress(i));
    await log.flush();
    expect(pushed).toEqual([2, 3, 4]);
    expect(wakes).toBe(1);
    expect(stream.buffered).toBe(2);
    expect((await stream.pull())?.value?.seq).toBe(5);
    expect((await stream.pull())?.value?.seq).toBe(6);
    room = true;
    expect(await stream.pull()).toBeUndefined();
    // The terminal event is pushed, then the consumer is woken to pull the end.
    append(log, run, { type: 'RunCompleted', finalState: {}, durationMs: 1, priority: 'CRITICAL' });
    await log.flush();
    expect(pushed).toEqual([2, 3, 4, 7]);
    expect(wakes).toBe(2);
    expect(await stream.pull()).toEqual({ done: true, value: undefined });
    expect(pubsub.channelCount).toBe(0);
  });

  it('in push mode, wakes a parked consumer when the stream is closed', async () => {
    const run = await newRun(store);
    let wakes = 0;
    const stream = log.stream(run.id);
    stream.pushTo({ push: () => true, wake: () => void wakes++ });
    expect(await stream.pull()).toBeUndefined();
    await stream.return();
    expect(wakes).toBe(1);
    expect(await stream.pull()).toEqual({ done: true, value: undefined });
    expect(pubsub.channelCount).toBe(0);
  });

  it("with overflow 'replay', a subscriber that falls behind catches up from the store instead", async () => {
    const run = await newRun(store);
    const slow = log.stream(run.id, { bufferSize: 100, overflow: 'replay', pageSize: 64 });
    append(log, run, progress(0));
    await log.flush();
    const seqs = [(await slow.next()).value!.seq];
    for (let i = 2; i <= 5_000; i++) append(log, run, i === 5_000 ? { type: 'RunFailed', error: { code: 'INTERNAL', message: 'x' }, nodeId: null, durationMs: 1, priority: 'CRITICAL' } : progress(i));
    await log.flush();
    seqs.push(...(await collect(slow)));
    expect(seqs).toEqual(range(1, 5_000));
  });

  it('stores a state update above largePayloadBytes once, apart, and publishes its event with the ref; smaller ones stay inline', async () => {
    const bigLog = new EventLog({ store, pubsub, largePayloadBytes: 1_024 });
    const run = await newRun(store);
    const published: RunEvent[] = [];
    pubsub.subscribe('run', run.id, (events) => published.push(...events));
    const big = { text: 'ü'.repeat(600), list: [1, null, { deep: true }] };
    const small = { text: 'ü'.repeat(500) };
    const completed = (update: object, bytes: number) => ({ type: 'NodeCompleted', nodeId: 'n', step: 1, iteration: 1, attempt: 1, stateUpdate: update, bytes, durationMs: 1, priority: 'NORMAL' });
    const returned = append(bigLog, run, completed(big, JSON.stringify(big).length + 600)); // 600 two-byte ü
    append(bigLog, run, completed(small, 1_024));
    append(bigLog, run, completed(big, JSON.stringify(big).length + 600)); // the same update again
    await bigLog.flush();

    // The snapshot (and so the node row) took the update before it left the event.
    expect(run.nodes.get('n')?.output).toStrictEqual(big);
    const stored = await store.readEvents(run.id, 0, 10);
    expect(stored.map((e) => e.type === 'NodeCompleted' && [e.stateUpdate !== undefined, e.stateUpdateRef !== undefined])).toStrictEqual([[false, true], [true, false], [false, true]]);
    const [first, second, third] = stored as Array<Extract<RunEvent, { type: 'NodeCompleted' }>>;
    expect(first!.stateUpdateRef).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(third!.stateUpdateRef).toBe(first!.stateUpdateRef);
    expect(second!.stateUpdate).toStrictEqual(small);
    expect(returned).toStrictEqual(first);
    expect(await store.readBlob(run.id, first!.stateUpdateRef!)).toStrictEqual(big);
    expect(store.commits.at(-1)!.blobs).toHaveLength(2);
    // Live and replayed events carry the same thing, key for key in the same order.
    expect(published.map((e) => JSON.stringify(e))).toStrictEqual(stored.map((e) => JSON.stringify(e)));
  });

  it('keeps a batch whose commit failed and writes it with the next flush, in order', async () => {
    const run = await newRun(store);
    let failNext = true;
    const flaky = Object.assign(Object.create(f.store) as Store, {
      commit(batch: CommitBatch) {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('disk full'));
        }
        return f.store.commit(batch);
      },
    });
    const flakyLog = new EventLog({ store: flaky, pubsub, largePayloadBytes: 1_024 });
    for (let i = 0; i < 4; i++) append(flakyLog, run, progress(i));
    const big = { text: 'x'.repeat(2_000) };
    append(flakyLog, run, { type: 'NodeCompleted', nodeId: 'n', step: 1, iteration: 1, attempt: 1, stateUpdate: big, bytes: 2_011, durationMs: 1, priority: 'NORMAL' });
    await expect(flakyLog.flush()).rejects.toThrow('disk full');
    for (let i = 5; i < 8; i++) append(flakyLog, run, progress(i));
    await flakyLog.flush();
    const events = await f.store.readEvents(run.id, 0, 100);
    expect(events.map((e) => e.seq)).toEqual(range(1, 8));
    expect(toRecord(run).lastSeq).toBe(8);
    const completed = events[4] as Extract<RunEvent, { type: 'NodeCompleted' }>;
    expect(await f.store.readBlob(run.id, completed.stateUpdateRef!)).toStrictEqual(big);
  });
});
