import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/events/types.ts';
import { iterationsAt } from '../../src/engine/recovery.ts';
import type { Checkpoint, CommitBatch, NodeRow } from '../../src/store/types.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';

/**
 * A checkpoint after every step: whatever the store holds after any commit of an unfinished run,
 * its latest checkpoint is the latest step boundary of the events stored with it, so a restart
 * re-runs at most the step that was in flight. The commit that ends a run stores no checkpoint.
 */
describe('engine: checkpoints', () => {
  let f: TestFlowcast;
  let commits: CommitBatch[];
  beforeEach(() => {
    f = makeFlowcast();
    commits = [];
    const commit = f.store.commit.bind(f.store);
    f.store.commit = async function recordCommit(batch) {
      await commit(batch);
      commits.push(structuredClone(batch));
    };
  });
  afterEach(() => f.close());

  interface Stored {
    events: RunEvent[];
    checkpoint: Checkpoint | undefined;
    nodes: Map<string, NodeRow>;
  }

  /** After each commit while the run was unfinished: the stored events, (highest-step) checkpoint and node rows of the run. */
  function afterEachCommit(runId: string): Stored[] {
    const events: RunEvent[] = [];
    let checkpoint: Checkpoint | undefined;
    const nodes = new Map<string, NodeRow>();
    const states: Stored[] = [];
    for (const batch of commits) {
      events.push(...batch.events.filter((e) => e.runId === runId));
      for (const row of batch.nodes) if (row.runId === runId) nodes.set(row.nodeId, row);
      const ended = batch.runs.some((r) => r.id === runId && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status));
      if (ended) {
        expect(batch.checkpoints.filter((c) => c.runId === runId), 'the commit that ends a run stores no checkpoint of it').toEqual([]);
        break;
      }
      for (const c of batch.checkpoints) if (c.runId === runId && (!checkpoint || c.step >= checkpoint.step)) checkpoint = c;
      states.push({ events: [...events], checkpoint, nodes: new Map(nodes) });
    }
    return states;
  }

  function expectCheckpointCoversAllButTheStepInFlight(runId: string): void {
    const states = afterEachCommit(runId);
    expect(states.length).toBeGreaterThan(1);
    for (const { events, checkpoint, nodes } of states) {
      if (!events.some((e) => e.type === 'RunStarted')) continue;
      expect(checkpoint, 'a checkpoint is stored with RunStarted').toBeDefined();
      const cp = checkpoint!;
      expect(cp.lastSeq).toBeLessThanOrEqual(events.at(-1)!.seq);
      // The checkpoint holds the counters of its next step's nodes only; with the node rows stored
      // beside it they give every counter as of the boundary, however far the step in flight got.
      expect(Object.keys(cp.iterations).sort()).toEqual(cp.next);
      const started: Record<string, number> = {};
      for (const e of events) if (e.type === 'NodeStarted' && e.attempt === 1 && e.seq <= cp.lastSeq) started[e.nodeId] = e.iteration;
      expect(iterationsAt(cp, nodes.values()), `counters at the checkpoint of step ${cp.step}`).toEqual(started);
      for (const e of events) {
        if (!('step' in e)) continue;
        if (e.seq <= cp.lastSeq) expect(e.step, `${e.type} #${e.seq} is before checkpoint step ${cp.step}`).toBeLessThanOrEqual(cp.step);
        else expect(e.step, `${e.type} #${e.seq} after the checkpoint of step ${cp.step} belongs to the step in flight`).toBe(cp.step + 1);
        if (e.type === 'NodeStarted' && e.step === cp.step + 1) expect(cp.next).toContain(e.nodeId);
      }
    }
  }

  it('stores with every commit the latest step boundary, for a loop of fast steps', async () => {
    const graph = await f.catalog.create({
      name: 'ticks', entry: 'tick', state: [{ key: 'n', default: 0 }],
      nodes: [{ id: 'tick', kind: 'transform', config: { expression: '{"n": n + 1}' }, maxIterations: 500 }],
      edges: [{ from: 'tick', to: 'tick', when: 'n < 300' }, { from: 'tick', to: 'END', when: 'n >= 300' }],
      maxSteps: 1000,
    });
    const run = await f.engine.run(graph.id, {});
    expect(run).toMatchObject({ status: 'COMPLETED', step: 300, state: { n: 300 } });
    expectCheckpointCoversAllButTheStepInFlight(run.id);
    // The stored one is the boundary of the last commit before the end (the last step's own when a
    // flush fell between it and RunCompleted): a finished run needs none of its own.
    const last = afterEachCommit(run.id).at(-1)!.checkpoint!;
    expect(last.step).toBeLessThanOrEqual(300);
    expect(await f.store.latestCheckpoint(run.id)).toStrictEqual(last);
    expect(last).toMatchObject({ state: { n: last.step }, next: last.step < 300 ? ['tick'] : [], joins: {}, writes: {}, resumes: {}, pastBreakpoints: false });
    expect(last.iterations).toEqual(last.step < 300 ? { tick: last.step } : {});
  });

  it('stores with every commit the latest step boundary, with parallel branches, a join and delays', async () => {
    const run = await f.engine.run('fan-out', { value: 2, speed: 1 });
    expect(run.status).toBe('COMPLETED');
    expectCheckpointCoversAllButTheStepInFlight(run.id);
    const steps = new Set(afterEachCommit(run.id).map((s) => s.checkpoint?.step));
    // Every step after the first (which is synchronous) waits on timers, so each boundary was the
    // stored checkpoint at some point; but the last, whose commit ends the run.
    for (let step = 1; step < run.step; step++) expect(steps.has(step), `checkpoint of step ${step}`).toBe(true);
  });

  it('records join progress and the step count in the checkpoint', async () => {
    const graph = await f.catalog.create({
      name: 'join', entry: 's', state: [{ key: 'log', reducer: 'APPEND', default: [] }],
      nodes: [
        { id: 's', kind: 'noop' },
        { id: 'a', kind: 'delay', config: { ms: 1, update: { log: ['a'] } } },
        { id: 'b1', kind: 'delay', config: { ms: 1, update: { log: ['b1'] } } },
        { id: 'b2', kind: 'delay', config: { ms: 1, update: { log: ['b2'] } } },
        { id: 'j', kind: 'transform', config: { expression: '{"log": ["j"]}' } },
      ],
      edges: [{ from: 's', to: 'a' }, { from: 's', to: 'b1' }, { from: 'b1', to: 'b2' }, { from: ['a', 'b2'], to: 'j' }, { from: 'j', to: 'END' }],
    });
    const run = await f.engine.run(graph.id, {});
    expect(run.state).toEqual({ log: ['a', 'b1', 'b2', 'j'] });
    const afterStep2 = afterEachCommit(run.id).find((s) => s.checkpoint?.step === 2)!;
    expect(afterStep2.checkpoint).toMatchObject({ step: 2, next: ['b2'], joins: { 'a&b2->j': ['a'] }, iterations: { b2: 0 }, state: { log: ['a', 'b1'] } });
    expect(iterationsAt(afterStep2.checkpoint!, afterStep2.nodes.values())).toEqual({ s: 1, a: 1, b1: 1 });
  });
});
