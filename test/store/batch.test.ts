import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES, type RunEvent } from '../../src/events/types.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { END } from '../../src/graph/types.ts';
import { stringifyBatch, templateText } from '../../src/store/batch.ts';
import { toBatchEntry } from '../../src/store/rows.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { makeEvent, makeStoredApart } from './fixtures.ts';

const GRAPH = 'graph-fixture';
/** The types the engine emits often enough to have a template. */
const TEMPLATED = EVENT_TYPES.filter((type) => !['SystemNotice', 'RunPaused', 'RunResumed'].includes(type));

/** What stringifyBatch must write: JSON.stringify of the events' entries. */
function entriesText(events: readonly RunEvent[], graphId = GRAPH): string {
  return JSON.stringify(events.map((event, i) => toBatchEntry(event, graphId, events[i - 1]?.at)));
}

/** A fixture event with its keys in the order the engine's emitter gives them: body, runId, graphId, at, priority, seq. */
function emitted(seq: number, type: RunEvent['type'], body: Record<string, unknown> = {}): RunEvent {
  const { runId, seq: _seq, graphId, at, priority, type: _type, ...rest } = makeEvent('run-1', seq, type);
  return { type, ...rest, ...body, runId, graphId, at, priority, seq } as unknown as RunEvent;
}

describe('SQLite event batch text', () => {
  it('writes every event type in the order the engine emits it as JSON.stringify would, from a template where one exists', () => {
    const events = EVENT_TYPES.map((type, i) => emitted(i + 1, type));
    expect(stringifyBatch(events, GRAPH)).toBe(entriesText(events));
    for (const [i, event] of events.entries()) {
      const text = templateText(event, GRAPH, events[i - 1]?.at);
      if (TEMPLATED.includes(event.type)) expect(text, event.type).toBe(JSON.stringify(toBatchEntry(event, GRAPH, events[i - 1]?.at)));
      else expect(text, event.type).toBeUndefined();
    }
  });

  it('writes values that need escaping or have no JSON number as JSON.stringify does', () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const long = `${'x'.repeat(100)} "quoted"`;
    const events = [
      emitted(1, 'NodeStarted', { nodeId: 'a "quoted"\n\\ node ☕ \u0000 \u2028 \ud800 </script>', input: { date, list: [1, -0, 2.5e-7, 1e21, null, 'ü'], nested: { '': {}, __proto__x: [] } } }),
      emitted(2, 'NodeCompleted', { nodeId: long, stateUpdate: { n: Number.NaN, m: Number.POSITIVE_INFINITY }, bytes: -0, durationMs: Number.NaN }),
      emitted(3, 'Progress', { percent: 33.333333333333336, message: 'step "1" done\t', nodeId: null }),
      emitted(4, 'NodeFailed', { error: { code: 'NODE_FAILED', message: 'boom', details: { at: [1, { deep: true }] } }, willRetry: false, retryInMs: null }),
      emitted(5, 'Transition', { from: '', to: 'END' }),
    ];
    expect(stringifyBatch(events, GRAPH)).toBe(entriesText(events));
    for (const [i, event] of events.entries()) expect(templateText(event, GRAPH, events[i - 1]?.at), event.type).toBeDefined();
  });

  it('writes a repeated time as 0 and the first event of a batch with its own', () => {
    const first = emitted(1, 'Transition');
    const events = [first, { ...emitted(2, 'DataFlow'), at: first.at }, emitted(3, 'Transition'), { ...emitted(4, 'NodeStarted'), at: first.at }];
    const text = stringifyBatch(events, GRAPH);
    expect(text).toBe(entriesText(events));
    expect((JSON.parse(text) as Array<{ at: unknown }>).map((entry) => entry.at)).toStrictEqual([first.at, 0, events[2]!.at, first.at]);
  });

  it('writes any other shape through JSON.stringify of its entry: other key orders, optional and extra keys, values JSON leaves out, another graph', () => {
    const { runId: _runId, seq: _seq, graphId: _graphId, ...noRun } = emitted(2, 'Transition');
    const others: RunEvent[] = [
      makeEvent('run-1', 1, 'NodeStarted'),
      { ...noRun, runId: 'run-1', graphId: GRAPH, seq: 2 } as RunEvent,
      { ...emitted(3, 'DataFlow'), extra: 1 } as unknown as RunEvent,
      makeStoredApart('run-1', 4).event,
      emitted(5, 'NodeCompleted', { stateUpdate: undefined }),
      emitted(6, 'Progress', { message: () => 'a function' }),
      { ...emitted(7, 'NodeSkipped'), graphId: 'other-graph' },
    ];
    expect(stringifyBatch(others, GRAPH)).toBe(entriesText(others));
    for (const [i, event] of others.entries()) expect(templateText(event, GRAPH, others[i - 1]?.at), `event ${i}`).toBeUndefined();
    // Templated and other events mix in one batch.
    const mixed = [emitted(1, 'RunStarted'), ...others.slice(0, 3), emitted(9, 'RunCompleted')];
    expect(stringifyBatch(mixed, GRAPH)).toBe(entriesText(mixed));
  });

  it('throws what JSON.stringify throws for a value JSON cannot hold', () => {
    const bad = emitted(1, 'NodeCompleted', { stateUpdate: { big: 1n } });
    expect(() => stringifyBatch([bad], GRAPH)).toThrow(TypeError);
    expect(() => stringifyBatch([bad], GRAPH)).toThrow(/BigInt/);
  });

  it('writes the same text when more short strings pass than it keeps quoted', () => {
    const events = Array.from({ length: 10_000 }, (_, i) => emitted(i + 1, 'Transition', { from: `node-${i}`, to: `"to" ${i % 3}` }));
    expect(stringifyBatch(events, GRAPH)).toBe(entriesText(events));
    expect(stringifyBatch(events.slice(0, 3), GRAPH)).toBe(entriesText(events.slice(0, 3)));
  });
});

describe('SQLite event batch text of the events the engine emits', () => {
  let f: TestFlowcast;
  // A memory store keeps the very objects the engine emitted, keys in their order.
  beforeEach(() => {
    f = makeFlowcast({ store: 'memory' });
  });
  afterEach(() => f.close());

  it('writes each run from templates, as JSON.stringify would', async () => {
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
      expect(stringifyBatch(events, run.graphId)).toBe(entriesText(events, run.graphId));
      for (const [i, event] of events.entries()) {
        if (!TEMPLATED.includes(event.type)) continue;
        expect(templateText(event, run.graphId, events[i - 1]?.at), `${run.graphId} ${event.type} #${event.seq}`).toBeDefined();
        seen.add(event.type);
      }
    }
    expect([...seen].sort()).toStrictEqual([...TEMPLATED].sort());
  });
});
