import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES, type RunEvent } from '../../src/events/types.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { END } from '../../src/graph/types.ts';
import { batchParts, entryAt, objectEntry, parseBatch, restoreEntry } from '../../src/store/batch.ts';
import { toBatchEntry } from '../../src/store/rows.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { expectAppError } from './spec.ts';
import { inEngineOrder, makeEvent, makeStoredApart } from './fixtures.ts';

const RUN = 'run-1';
const GRAPH = 'graph-fixture';
/** The types the engine emits often enough to be packed. */
const PACKED = EVENT_TYPES.filter((type) => !['SystemNotice', 'RunPaused', 'RunResumed'].includes(type));

/** A fixture event with its keys in the order the engine's emitter gives them: body, runId, graphId, at, priority, seq. */
function emitted(seq: number, type: RunEvent['type'], body: Record<string, unknown> = {}): RunEvent {
  return inEngineOrder(makeEvent(RUN, seq, type), body);
}

/** `events` as one stored batch: its bytes. */
function encode(events: readonly RunEvent[], graphId = GRAPH): Buffer {
  const parts = batchParts(events, graphId, Number.POSITIVE_INFINITY);
  expect(parts).toHaveLength(1);
  return parts[0]!.data;
}

/** A stored batch's entries (bytes, or JSON text as written before migration 012). */
const entriesOf = (data: string | Buffer): unknown[] => parseBatch(data, RUN, 1);

/** The events a stored batch gives back (its first entry having seq `first`). */
function readBack(data: string | Buffer, first = 1, runId = RUN, graphId = GRAPH): RunEvent[] {
  const events: RunEvent[] = [];
  for (const [i, entry] of entriesOf(data).entries()) events.push(restoreEntry(entry, first + i, runId, graphId, events.at(-1)?.at));
  return events;
}

/** Each event as JSON: equal only when every key and value is, in the same order. */
const texts = (events: readonly RunEvent[]): string[] => events.map((event) => JSON.stringify(event));

describe('SQLite event batches', () => {
  it('packs every event type the engine emits often, in the order it emits it, and reads each back key for key', () => {
    const events = EVENT_TYPES.map((type, i) => emitted(i + 1, type));
    const data = encode(events);
    const entries = entriesOf(data);
    expect(entries.map((entry) => Array.isArray(entry))).toStrictEqual(EVENT_TYPES.map((type) => PACKED.includes(type)));
    // Type and priority by code (migration 011): Transition is 6, NORMAL 1.
    expect(entries[EVENT_TYPES.indexOf('Transition')]).toStrictEqual([6, 'a', 'b', EVENT_TYPES.indexOf('Transition') + 1, events[6]!.at, 1]);
    // The rest are their entries, as JSON.stringify writes them.
    for (const [i, event] of events.entries()) if (!PACKED.includes(event.type)) expect(entries[i]).toStrictEqual(toBatchEntry(event, GRAPH, events[i - 1]?.at));
    expect(texts(readBack(data))).toStrictEqual(texts(events));
    // Shorter than the JSON text of the same entries, which is what was stored before migration 012.
    expect(data.length).toBeLessThan(JSON.stringify(entries).length);
  });

  it('writes values that need escaping or have no JSON number as JSON.stringify does', () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const long = `${'x'.repeat(100)} "quoted"`;
    const events = [
      emitted(1, 'NodeStarted', { nodeId: 'a "quoted"\n\\ node ☕ \u0000 \u2028 \ud800 </script>', input: { date, list: [1, -0, 2.5e-7, 1e21, null, 'ü'], nested: { '': {}, __proto__x: [] } } }),
      emitted(2, 'NodeCompleted', { nodeId: long, stateUpdate: { n: Number.NaN, m: Number.POSITIVE_INFINITY }, bytes: 0, durationMs: 0.1 + 0.2 }),
      emitted(3, 'Progress', { percent: 33.333333333333336, message: 'step "1" done\t', nodeId: null }),
      emitted(4, 'NodeFailed', { error: { code: 'NODE_FAILED', message: 'boom', details: { at: [1, { deep: true }] } }, willRetry: false, retryInMs: null }),
      emitted(5, 'Transition', { from: '', to: 'END' }),
    ];
    const data = encode(events);
    // As JSON.stringify of the values, in order: what JSON.parse then gives back.
    const values = (event: RunEvent): unknown[] => Object.entries(event).filter(([key]) => !['runId', 'graphId', 'seq', 'at'].includes(key)).map(([, value]) => value);
    for (const [i, entry] of (entriesOf(data) as unknown[][]).entries()) {
      expect(Array.isArray(entry), events[i]!.type).toBe(true);
      const event = events[i]!;
      expect([...entry.slice(1, -2), entry.at(-1)], event.type).toStrictEqual(JSON.parse(JSON.stringify(values(event).slice(1, -1))).concat([['LOW', 'NORMAL', 'HIGH', 'CRITICAL'].indexOf(event.priority)]));
    }
    expect(texts(readBack(data))).toStrictEqual(texts(JSON.parse(JSON.stringify(events)) as RunEvent[]));
    // A number JSON has no text for is written null, as JSON.stringify writes it (and then fails to decode).
    const nan = encode([emitted(6, 'NodeCompleted', { bytes: -0, durationMs: Number.NaN })]);
    expect((entriesOf(nan) as unknown[][])[0]!.slice(6, 8)).toStrictEqual([0, null]);
  });

  it('writes a repeated time as 0 and the first event of a batch with its own', () => {
    const first = emitted(1, 'Transition');
    const events = [first, { ...emitted(2, 'DataFlow'), at: first.at }, emitted(3, 'Transition'), { ...emitted(4, 'NodeStarted'), at: first.at }];
    const data = encode(events);
    expect(entriesOf(data).map(entryAt)).toStrictEqual([first.at, 0, events[2]!.at, first.at]);
    expect(texts(readBack(data))).toStrictEqual(texts(events));
  });

  it('stores any other shape as its entry object: other key orders, optional and extra keys, values JSON leaves out, another graph', () => {
    const { runId: _runId, seq: _seq, graphId: _graphId, ...noRun } = emitted(2, 'Transition');
    const others: RunEvent[] = [
      makeEvent(RUN, 1, 'NodeStarted'),
      { ...noRun, runId: RUN, graphId: GRAPH, seq: 2 } as RunEvent,
      { ...emitted(3, 'DataFlow'), extra: 1 } as unknown as RunEvent,
      makeStoredApart(RUN, 4).event,
      emitted(5, 'NodeCompleted', { stateUpdate: undefined }),
      emitted(6, 'Progress', { message: () => 'a function' }),
      { ...emitted(7, 'NodeSkipped'), graphId: 'other-graph' },
    ];
    const objectsOf = (list: RunEvent[]): unknown[] => JSON.parse(JSON.stringify(list.map((event, i) => toBatchEntry(event, GRAPH, list[i - 1]?.at)))) as unknown[];
    expect(entriesOf(encode(others))).toStrictEqual(objectsOf(others));
    // Packed and object entries mix in one batch.
    const mixed = [emitted(1, 'RunStarted'), ...others.slice(1, 4).map((event, i) => ({ ...event, seq: i + 2 })), emitted(5, 'RunCompleted')];
    const data = encode(mixed);
    expect(entriesOf(data).map((entry) => Array.isArray(entry))).toStrictEqual([true, false, false, false, true]);
    // Object entries come back with runId and graphId before `at` and seq last, as restoreEvent puts them; packed ones as they were.
    expect(readBack(data)).toStrictEqual(mixed);
    expect(texts(readBack(data)).filter((_, i) => i === 0 || i === 4)).toStrictEqual(texts([mixed[0]!, mixed[4]!]));
  });

  it('splits a batch whose bytes pass the limit into parts, each starting with its own time', () => {
    const first = emitted(1, 'RunStarted');
    const big = (seq: number, size: number): RunEvent => ({ ...emitted(seq, 'NodeStarted', { input: { text: 'x'.repeat(size) } }), at: first.at });
    const events = [first, big(2, 300), big(3, 300), { ...emitted(4, 'Transition'), at: first.at }, big(5, 2_000), big(6, 100), makeEvent(RUN, 7, 'SystemNotice')];
    expect(batchParts(events, GRAPH, 100_000)).toStrictEqual([{ first: 1, last: 7, data: encode(events) }]);
    const parts = batchParts(events, GRAPH, 1_000);
    expect(parts.map((part) => [part.first, part.last])).toStrictEqual([[1, 4], [5, 5], [6, 7]]);
    for (const part of parts) {
      const entries = entriesOf(part.data);
      expect(entryAt(entries[0]), `part from ${part.first}`).toBe(events[part.first - 1]!.at);
      if (entries.length > 1) expect(part.data.length).toBeLessThanOrEqual(1_000);
    }
    expect(entryAt(entriesOf(parts[0]!.data)[1])).toBe(0);
    expect(texts(parts.flatMap((part) => readBack(part.data, part.first)).slice(0, 6))).toStrictEqual(texts(events.slice(0, 6)));
    expect(readBack(parts[2]!.data, 6)[1]).toStrictEqual(events[6]);
  });

  it('throws what JSON.stringify throws for a value JSON cannot hold', () => {
    const bad = emitted(1, 'NodeCompleted', { stateUpdate: { big: 1n } });
    expect(() => encode([bad])).toThrow(TypeError);
    expect(() => encode([bad])).toThrow(/BigInt/);
  });

  it('reads back 10,000 events of distinct strings key for key', () => {
    const events = Array.from({ length: 10_000 }, (_, i) => emitted(i + 1, 'Transition', { from: `node-${i}`, to: `"to" ${i % 3}` }));
    expect(texts(readBack(encode(events)))).toStrictEqual(texts(events));
    expect(texts(readBack(encode(events.slice(5, 8)), 6))).toStrictEqual(texts(events.slice(5, 8)));
  });

  it('rejects a packed entry of an unknown type, of the wrong length or with a bad value, and one that takes its time from no entry', async () => {
    const entry = entriesOf(encode([emitted(1, 'DataFlow')]))[0] as unknown[];
    const fails = async (bad: unknown, message: RegExp): Promise<void> => {
      await expectAppError(Promise.resolve().then(() => restoreEntry(bad, 1, RUN, GRAPH, 'x')), 'INVALID_INPUT', message);
    };
    const stored = /is neither the code nor the name of a type stored as a list/;
    await fails(['NoSuchType', 1], /first item, "NoSuchType", is neither/);
    await fails(['SystemNotice', 'a', 'b'], stored);
    await fails(['toString'], stored);
    await fails([12, 'a'], /first item, 12, is neither/);
    await fails([-1, 'a'], stored);
    await fails([6.5, 'a'], stored);
    await fails([], /first item, undefined/);
    await fails(entry.slice(0, -1), /\(DataFlow\) must be a list of 7 items \(type, from, to, step, bytes, at, priority\), got 6/);
    await fails([7, 'a', 'b', 'one', 42, 'x', 0], /DataFlow.step must be int/);
    await fails(['DataFlow', 'a', 'b', 1, 42, 'x', 'URGENT'], /priority/);
    await fails([7, 'a', 'b', 1, 42, 'x', 4], /priority code 4; codes are 0 to 3 \(LOW, NORMAL, HIGH, CRITICAL\)/);
    await fails([7, 'a', 'b', 1, 42, 'x', 0.5], /priority code 0.5/);
    await expectAppError(Promise.resolve().then(() => restoreEntry([...entry.slice(0, -2), 0, 0], 1, RUN, GRAPH, undefined)), 'INVALID_INPUT', /takes its time \(at 0\) from the event before it/);
    expect(objectEntry(entry, RUN, 1)).toStrictEqual({ type: 'DataFlow', from: 'a', to: 'b', step: 1, bytes: 42, at: entry[5], priority: 'LOW' });
  });

  it('reads entries packed before migration 011, with the names of type and priority, as it reads coded ones', () => {
    const events = PACKED.map((type, i) => emitted(i + 1, type));
    const coded = entriesOf(encode(events)) as unknown[][];
    const CODES = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];
    const named = coded.map((entry, i) => [events[i]!.type, ...entry.slice(1, -1), CODES[entry.at(-1) as number]]);
    const transition = PACKED.indexOf('Transition');
    expect(named[transition]).toStrictEqual(['Transition', 'a', 'b', transition + 1, coded[transition]![4], 'NORMAL']);
    expect(texts(readBack(JSON.stringify(named)))).toStrictEqual(texts(events));
    expect(named.map(entryAt)).toStrictEqual(coded.map(entryAt));
    for (const [i, entry] of named.entries()) expect(objectEntry(entry, RUN, i + 1)).toStrictEqual(objectEntry(coded[i], RUN, i + 1));
  });
});

describe('SQLite event batches of the events the engine emits', () => {
  let f: TestFlowcast;
  // A memory store keeps the very objects the engine emitted, keys in their order.
  beforeEach(() => {
    f = makeFlowcast({ store: 'memory' });
  });
  afterEach(() => f.close());

  it('packs every event of the usual types, and reads each back key for key', async () => {
    const builder = new GraphBuilder({ id: 'shapes', name: 'shapes' });
    builder.addNode('start', (_state, ctx) => {
      ctx.progress(50, 'half');
      return { n: 1 };
    });
    builder.addNode('left', () => ({ side: 'left' }));
    builder.addNode('right', () => ({ side: 'right' }));
    builder.setEntry('start');
    builder.addConditionalEdges('start', (state) => (state['n'] === 1 ? 'left' : 'right'), ['left', 'right']);
    builder.addEdge('left', END);
    builder.addEdge('right', END);
    f.catalog.register(builder.compile(defaultKindRegistry()));
    const flaky = await f.catalog.create({
      name: 'flaky', entry: 'flaky', nodes: [{ id: 'flaky', kind: 'fail', config: { message: 'boom', times: 1 }, retry: { maxAttempts: 2, initialDelayMs: 1 } }, { id: 'wait', kind: 'delay', config: { ms: 5 } }],
      edges: [{ from: 'flaky', to: 'wait' }, { from: 'wait', to: END }],
    });
    const failing = await f.catalog.create({ name: 'failing', entry: 'bad', nodes: [{ id: 'bad', kind: 'fail', config: { message: 'always' } }], edges: [{ from: 'bad', to: END }] });
    const slow = await f.catalog.create({ name: 'slow', entry: 'slow', nodes: [{ id: 'slow', kind: 'delay', config: { ms: 5000 } }], edges: [{ from: 'slow', to: END }] });

    const runs = [await f.engine.run('shapes', {}), await f.engine.run(flaky.id, {}), await f.engine.run(failing.id, {}), await f.engine.run('fan-out', {})];
    const queued = await f.engine.createRun(slow.id, {}, {}, true);
    const ended = f.engine.execute(queued.id);
    await f.engine.cancel(queued.id);
    runs.push(await ended);

    const seen = new Set<string>();
    for (const run of runs) {
      const events = await f.events(run.id);
      const data = encode(events, run.graphId);
      expect(texts(readBack(data, 1, run.id, run.graphId))).toStrictEqual(texts(events));
      for (const [i, entry] of entriesOf(data).entries()) {
        const { type, seq } = events[i]!;
        expect(Array.isArray(entry), `${run.graphId} ${type} #${seq}`).toBe(PACKED.includes(type));
        seen.add(type);
      }
    }
    expect([...seen].filter((type) => PACKED.includes(type as RunEvent['type'])).sort()).toStrictEqual([...PACKED].sort());
  });
});
