import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/events/types.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { comparable, expectWellFormed, label } from '../utils/events.ts';

const CODE = 'function parse(s) { if (!s) return null; for (const c of s) { if (c === "{") return c; } return s && s.trim(); }\nconst add = (a, b) => a + b;';

describe('demo graphs', () => {
  let f: TestFlowcast;
  beforeEach(() => {
    f = makeFlowcast();
  });
  afterEach(() => f.close());

  it('code-review loops through improve until the score reaches the threshold', async () => {
    const run = await f.engine.run('code-review', { code: CODE, threshold: 95, max_iterations: 5 });
    expect(run.status).toBe('COMPLETED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    const nodeOrder = events.filter((e) => e.type === 'NodeStarted').map((e) => (e as Extract<RunEvent, { type: 'NodeStarted' }>).nodeId);
    expect(nodeOrder).toEqual(['extract', 'analyze', 'score', 'improve', 'analyze', 'score', 'improve', 'analyze', 'score']);
    expect(run.state['quality_score']).toBeGreaterThanOrEqual(95);
    expect(run.state['decision']).toBe('accept');
    expect(events.some((e) => e.type === 'SystemNotice' && e.code === 'NODE_NOTICE')).toBe(false);
    const nodes = await f.store.getNodes(run.id);
    expect(nodes.find((n) => n.nodeId === 'score')).toMatchObject({ status: 'SUCCEEDED', iteration: 3 });
  });

  it('code-review stops at max_iterations with a SystemNotice saying so', async () => {
    const run = await f.engine.run('code-review', { code: CODE, threshold: 100, max_iterations: 2 });
    expect(run.status).toBe('COMPLETED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    const notice = events.find((e) => e.type === 'SystemNotice');
    expect(notice).toMatchObject({ level: 'WARN', nodeId: 'score', priority: 'HIGH' });
    expect((notice as Extract<RunEvent, { type: 'SystemNotice' }>).message).toMatch(/^max iterations reached \(2\)/);
    expect(run.state['review_round']).toBe(2);
    expect(run.state['decision']).toBe('stop');
    expect(events.filter((e) => e.type === 'NodeSkipped').map(label)).toEqual(['NodeSkipped(improve)']);
  });

  it('content-pipeline writes its sections in parallel, reports progress, and assembles after all of them', async () => {
    const run = await f.engine.run('content-pipeline', { topic: 'graph engines', speed: 0.05 });
    expect(run.status).toBe('COMPLETED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    const writers = ['section_writer_body', 'section_writer_conclusion', 'section_writer_intro'];
    const started = events.filter((e) => e.type === 'NodeStarted' && writers.includes(e.nodeId));
    expect(new Set(started.map((e) => (e as { step: number }).step)).size).toBe(1);
    const assembleStart = events.find((e) => e.type === 'NodeStarted' && e.nodeId === 'assemble')!;
    for (const w of writers) {
      const done = events.find((e) => e.type === 'NodeCompleted' && e.nodeId === w)!;
      expect(done.seq).toBeLessThan(assembleStart.seq);
    }
    expect(events.filter((e) => e.type === 'Progress' && e.nodeId === 'kb_ingestion').map((e) => (e as { percent: number }).percent)).toEqual([25, 50, 75, 100]);
    expect(events.filter((e) => e.type === 'Progress' && e.nodeId === null).at(-1)).toMatchObject({ percent: 100 });
    expect((run.state['article'] as { title: string }).title).toBe('All about graph engines');
    expect((run.state['sections'] as unknown[]).length).toBe(3);
  });

  it('fan-out joins only after its longest branch', async () => {
    const run = await f.engine.run('fan-out', { value: 3, speed: 0 });
    expect(run.status).toBe('COMPLETED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    const joinStart = events.find((e) => e.type === 'NodeStarted' && e.nodeId === 'join') as { step: number; seq: number };
    expect(joinStart.step).toBe(4);
    expect(events.filter((e) => e.type === 'Transition' && e.to === 'join').map(label)).toEqual([
      'Transition(branch_a->join)',
      'Transition(branch_b->join)',
      'Transition(branch_c_refine->join)',
    ]);
    expect(run.state['total']).toBe(6 + 13 + 9 + 10);
  });

  it('gives the same events and final state for the same graph and input', async () => {
    for (const [graph, input] of [['code-review', { code: CODE, threshold: 95, max_iterations: 4 }], ['fan-out', { value: 5, speed: 0 }]] as const) {
      const a = await f.engine.run(graph, input);
      const b = await f.engine.run(graph, input);
      expect(comparable(await f.events(b.id))).toEqual(comparable(await f.events(a.id)));
      expect(b.state).toEqual(a.state);
    }
  });

  it('keeps a run snapshot: status, state, progress and per-node timings in the store', async () => {
    const run = await f.engine.run('fan-out', { value: 2, speed: 0 });
    const stored = await f.store.getRun(run.id);
    expect(stored).toMatchObject({ status: 'COMPLETED', progress: 100, currentNodes: [], error: null, maxSteps: 100 });
    expect(stored!.state['total']).toBe(4 + 12 + 4 + 5);
    expect(stored!.lastSeq).toBe((await f.events(run.id)).length);
    const nodes = await f.store.getNodes(run.id);
    expect(nodes.map((n) => n.nodeId)).toEqual(['branch_a', 'branch_b', 'branch_c', 'branch_c_refine', 'join', 'start']);
    for (const n of nodes) {
      expect(n).toMatchObject({ status: 'SUCCEEDED', iteration: 1, attempts: 1, error: null });
      expect(n.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(n.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(n.startedAt!));
      expect(n.input).not.toBeNull();
    }
    expect(nodes.find((n) => n.nodeId === 'join')!.output).toMatchObject({ total: 25 });
  });

  it('rejects an unknown graph and a non-object input with messages that say what to fix', async () => {
    await expect(f.engine.run('nope', {})).rejects.toMatchObject({ code: 'GRAPH_NOT_FOUND', message: expect.stringContaining('known graphs: code-review, content-pipeline, fan-out') });
    await expect(f.engine.run('fan-out', [1, 2])).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('must be a JSON object') });
    await expect(f.engine.run('fan-out', {}, { maxSteps: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('maxSteps') });
  });
});
