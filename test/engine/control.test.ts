import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import type { RunRecord } from '../../src/events/snapshot.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { GraphBuilder, type NodeOptions } from '../../src/graph/builder.ts';
import { END, type NodeHandler } from '../../src/graph/types.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { expectWellFormed, label } from '../utils/events.ts';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

describe('engine: retries, timeouts, cancel and limits', () => {
  let f: TestFlowcast;
  beforeEach(() => {
    f = makeFlowcast({ engine: { abortGraceMs: 100 } });
  });
  afterEach(() => f.close());

  const dataGraph = (nodes: unknown[], edges: unknown[], extra: Record<string, unknown> = {}) =>
    f.catalog.create({ name: 'test', entry: (nodes[0] as { id: string }).id, nodes, edges, ...extra });

  /** Registers a graph `graphId` of one code node, `nodeId`, which goes to END. */
  const oneNodeGraph = (graphId: string, nodeId: string, handler: NodeHandler, options: NodeOptions = {}): void => {
    f.catalog.register(new GraphBuilder({ id: graphId, name: graphId }).addNode(nodeId, handler, options).setEntry(nodeId).addEdge(nodeId, END).compile(f.catalog.kinds));
  };

  /** Starts a run of `graphId`, cancels it with `reason` 30 ms later, and resolves with the run as it ended, and how long after the cancel. */
  const cancelledAfter30ms = async (graphId: string, reason: string): Promise<{ run: RunRecord; cancelled: boolean; ms: number }> => {
    const created = await f.engine.createRun(graphId, {});
    const done = f.engine.execute(created.id);
    await sleep(30);
    const t0 = Date.now();
    const cancelled = await f.engine.cancel(created.id, reason);
    const run = await done;
    return { run, cancelled, ms: Date.now() - t0 };
  };

  it('retries a failing node with exponential backoff, then succeeds', async () => {
    const graph = await dataGraph([{ id: 'flaky', kind: 'fail', config: { message: 'boom', times: 2 }, retry: { maxAttempts: 3, initialDelayMs: 20, backoffFactor: 3, maxDelayMs: 50 } }], [{ from: 'flaky', to: END }]);
    const run = await f.engine.run(graph.id, {});
    expect(run.status).toBe('COMPLETED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    const failures = events.filter((e): e is Of<'NodeFailed'> => e.type === 'NodeFailed');
    expect(failures.map((e) => [e.attempt, e.willRetry, e.retryInMs, e.error.message])).toEqual([
      [1, true, 20, 'boom'],
      [2, true, 50, 'boom'],
    ]);
    const starts = events.filter((e): e is Of<'NodeStarted'> => e.type === 'NodeStarted');
    expect(starts.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(Date.parse(starts[2]!.at) - Date.parse(starts[1]!.at)).toBeGreaterThanOrEqual(45);
    expect((await f.store.getNodes(run.id))[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 3, iteration: 1 });
  });

  it('fails the run when a node runs out of attempts, naming the node and its error', async () => {
    const graph = await dataGraph([{ id: 'bad', kind: 'fail', config: { message: 'always' }, retry: { maxAttempts: 2, initialDelayMs: 1 } }], [{ from: 'bad', to: END }]);
    const run = await f.engine.run(graph.id, {});
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'NODE_FAILED', message: 'always' } });
    const events = await f.events(run.id);
    expectWellFormed(events);
    expect(events.at(-1)).toMatchObject({ type: 'RunFailed', nodeId: 'bad' });
    expect(events.filter((e) => e.type === 'NodeFailed').map((e) => (e as Of<'NodeFailed'>).willRetry)).toEqual([true, false]);
  });

  it('times a node out by aborting its signal', async () => {
    const graph = await dataGraph([{ id: 'slow', kind: 'delay', config: { ms: 5_000 }, timeoutMs: 50 }], [{ from: 'slow', to: END }]);
    const t0 = Date.now();
    const run = await f.engine.run(graph.id, {});
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'NODE_TIMEOUT', message: 'node "slow" exceeded its timeoutMs (50 ms)' } });
  });

  it("gives a handler that reads ctx.signal only after its node timed out a signal aborted with NODE_TIMEOUT", async () => {
    let seen: { aborted: boolean; code: unknown } | undefined;
    oneNodeGraph('late-reader', 'late', async (_state, ctx) => {
      await sleep(80);
      seen = { aborted: ctx.signal.aborted, code: (ctx.signal.reason as { code?: unknown }).code };
      return {};
    }, { timeoutMs: 20 });
    const run = await f.engine.run('late-reader', {});
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'NODE_TIMEOUT' } });
    expect(seen).toEqual({ aborted: true, code: 'NODE_TIMEOUT' });
  });

  it('aborts the signal of a node with its own timeout when the run is cancelled', async () => {
    let reason: unknown;
    oneNodeGraph('timed', 'wait', (_state, ctx) => new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => {
        reason = ctx.signal.reason;
        reject(ctx.signal.reason as Error);
      });
    }), { timeoutMs: 10_000 });
    expect((await cancelledAfter30ms('timed', 'stop now')).run).toMatchObject({ status: 'CANCELLED' });
    expect(reason).toMatchObject({ code: 'CANCELLED', message: 'stop now' });
  });

  it('lets a handler destructure ctx: its methods and signal work apart from it', async () => {
    oneNodeGraph('destructured', 'parts', (_state, { progress, log, notice, signal, nodeId, attempt }) => {
      progress(50, 'half');
      log('a line');
      notice('a warning');
      return { seen: { aborted: signal.aborted, nodeId, attempt } };
    });
    const run = await f.engine.run('destructured', {});
    expect(run).toMatchObject({ status: 'COMPLETED', state: { seen: { aborted: false, nodeId: 'parts', attempt: 1 } } });
    const events = await f.events(run.id);
    expect(events.filter((e) => e.type === 'Progress' && e.nodeId === 'parts')).toMatchObject([{ percent: 50, message: 'half' }]);
    expect(events.filter((e) => e.type === 'SystemNotice').map((e) => [(e as Of<'SystemNotice'>).code, (e as Of<'SystemNotice'>).message])).toEqual([['NODE_LOG', 'a line'], ['NODE_NOTICE', 'a warning']]);
  });

  it('ends a run past its timeoutMs as FAILED with RUN_TIMEOUT', async () => {
    const graph = await dataGraph([{ id: 'slow', kind: 'delay', config: { ms: 5_000 } }], [{ from: 'slow', to: END }]);
    const run = await f.engine.run(graph.id, {}, { timeoutMs: 60 });
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT' } });
    expectWellFormed(await f.events(run.id));
  });

  it('cancels a running run within the grace period even when a handler ignores its signal', async () => {
    let sawAbort = false;
    oneNodeGraph('stubborn', 'ignore', async (_state, ctx) => {
      ctx.signal.addEventListener('abort', () => (sawAbort = true));
      await sleep(10_000);
      return { never: true };
    });
    const { run, cancelled, ms } = await cancelledAfter30ms('stubborn', 'user pressed stop');
    expect(cancelled).toBe(true);
    expect(ms).toBeLessThan(1_000);
    expect(sawAbort).toBe(true);
    expect(run.status).toBe('CANCELLED');
    const events = await f.events(run.id);
    expectWellFormed(events);
    expect(events.slice(-2).map(label)).toEqual(['NodeFailed(ignore)', 'RunCancelled']);
    expect(events.at(-1)).toMatchObject({ reason: 'user pressed stop' });
    expect(await f.engine.cancel(run.id)).toBe(false);
  });

  it('cancels a created run that has not started', async () => {
    const run = await f.engine.createRun('fan-out', {}, {}, true);
    expect(await f.engine.cancel(run.id)).toBe(true);
    expect((await f.events(run.id)).map(label)).toEqual(['RunQueued', 'RunCancelled']);
    expect(await f.store.getRun(run.id)).toMatchObject({ status: 'CANCELLED' });
  });

  it('stops a loop at maxSteps with a notice and a MAX_STEPS failure', async () => {
    const graph = await dataGraph(
      [{ id: 'tick', kind: 'transform', config: { expression: '{"n": n + 1}' }, maxIterations: 1000 }],
      [{ from: 'tick', to: 'tick', when: 'n < 1000' }, { from: 'tick', to: END, when: 'n >= 1000' }],
      { maxSteps: 7, state: [{ key: 'n', default: 0 }] },
    );
    const run = await f.engine.run(graph.id, {});
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'MAX_STEPS' }, step: 7 });
    expect(run.state['n']).toBe(7);
    const events = await f.events(run.id);
    expect(events.at(-2)).toMatchObject({ type: 'SystemNotice', code: 'MAX_STEPS', level: 'WARN' });
  });

  it('does not run a node past its maxIterations, says so, and lets the run finish', async () => {
    const graph = await dataGraph(
      [{ id: 'tick', kind: 'transform', config: { expression: '{"n": n + 1}' }, maxIterations: 3 }],
      [{ from: 'tick', to: 'tick', when: 'n < 10' }, { from: 'tick', to: END, when: 'n >= 10' }],
      { state: [{ key: 'n', default: 0 }] },
    );
    const run = await f.engine.run(graph.id, {});
    expect(run.status).toBe('COMPLETED');
    expect(run.state['n']).toBe(3);
    const notice = (await f.events(run.id)).find((e) => e.type === 'SystemNotice');
    expect(notice).toMatchObject({ code: 'MAX_ITERATIONS', nodeId: 'tick', message: 'node "tick" reached its maxIterations (3) and does not run again' });
  });

  it('takes conditional edges by JSONata expression and reports the branch not taken', async () => {
    const graph = await dataGraph(
      [
        { id: 'check', kind: 'noop' },
        { id: 'big', kind: 'transform', config: { expression: '{"size": "big"}' } },
        { id: 'small', kind: 'transform', config: { expression: '{"size": "small"}' } },
      ],
      [{ from: 'check', to: 'big', when: 'value > 10' }, { from: 'check', to: 'small', when: 'value <= 10' }, { from: 'big', to: END }, { from: 'small', to: END }],
    );
    const run = await f.engine.run(graph.id, { value: 42 });
    expect(run.state).toEqual({ value: 42, size: 'big' });
    const events = await f.events(run.id);
    expect(events.filter((e) => ['Transition', 'NodeSkipped'].includes(e.type)).map(label)).toEqual([
      'Transition(check->big)',
      'NodeSkipped(small)',
      'Transition(big->END)',
    ]);
    expect((await f.store.getNodes(run.id)).find((n) => n.nodeId === 'small')!.status).toBe('SKIPPED');
  });

  it('ends a run whose last edge is a join into END once all its sources have arrived', async () => {
    const graph = await dataGraph(
      [{ id: 's', kind: 'noop' }, { id: 'p', kind: 'transform', config: { expression: '{"p": 1}' } }, { id: 'q', kind: 'transform', config: { expression: '{"q": 1}' } }],
      [{ from: 's', to: 'p' }, { from: 's', to: 'q' }, { from: ['p', 'q'], to: END }],
    );
    const run = await f.engine.run(graph.id, {});
    expect(run).toMatchObject({ status: 'COMPLETED', state: { p: 1, q: 1 }, step: 2 });
    expect((await f.events(run.id)).filter((e) => e.type === 'Transition').map(label)).toEqual(['Transition(s->p)', 'Transition(s->q)', 'Transition(p->END)', 'Transition(q->END)']);
  });

  it('applies updates of one step in node-id order with each key\'s reducer', async () => {
    const graph = await dataGraph(
      [
        { id: 'start', kind: 'noop' },
        { id: 'b', kind: 'transform', config: { expression: '{"log": ["b"], "meta": {"b": 1}, "last": "b"}' } },
        { id: 'a', kind: 'transform', config: { expression: '{"log": ["a"], "meta": {"a": 1}, "last": "a"}' } },
      ],
      [{ from: 'start', to: 'a' }, { from: 'start', to: 'b' }, { from: 'a', to: END }, { from: 'b', to: END }],
      { state: [{ key: 'log', reducer: 'APPEND', default: ['init'] }, { key: 'meta', reducer: 'MERGE', default: { seed: 0 } }] },
    );
    const run = await f.engine.run(graph.id, {});
    expect(run.state).toEqual({ log: ['init', 'a', 'b'], meta: { seed: 0, a: 1, b: 1 }, last: 'b' });
  });

  it('bounds how many nodes of one step run at once', async () => {
    const local = makeFlowcast({ store: 'memory', engine: { nodeConcurrency: 2 } });
    let running = 0;
    let peak = 0;
    const builder = new GraphBuilder({ id: 'wide', name: 'wide' }).addNode('start', () => undefined).setEntry('start');
    for (let i = 0; i < 6; i++) {
      builder.addNode(`w${i}`, async () => {
        peak = Math.max(peak, ++running);
        await sleep(10);
        running--;
      });
      builder.addEdge('start', `w${i}`).addEdge(`w${i}`, END);
    }
    local.catalog.register(builder.compile(local.catalog.kinds));
    const run = await local.engine.run('wide', {});
    expect(run.status).toBe('COMPLETED');
    expect(peak).toBe(2);
    await local.close();
  });

  it('fails a node that returns something other than a JSON object', async () => {
    const graph = new GraphBuilder({ id: 'odd', name: 'odd' })
      .addNode('odd', () => 42 as never)
      .setEntry('odd')
      .addEdge('odd', END)
      .compile(f.catalog.kinds);
    f.catalog.register(graph);
    const run = await f.engine.run('odd', {});
    expect(run).toMatchObject({ status: 'FAILED', error: { message: 'node "odd" returned number; return an object (a partial state update) or nothing' } });
  });

  it('routes with a code router and rejects a target it did not declare', async () => {
    const graph = new GraphBuilder({ id: 'router', name: 'router' })
      .addNode('pick', () => ({}))
      .addNode('x', () => ({ went: 'x' }))
      .setEntry('pick')
      .addConditionalEdges('pick', (state) => String(state['to']), ['x', END])
      .addEdge('x', END)
      .compile(f.catalog.kinds);
    f.catalog.register(graph);
    expect((await f.engine.run('router', { to: 'x' })).state['went']).toBe('x');
    const bad = await f.engine.run('router', { to: 'y' });
    expect(bad).toMatchObject({ status: 'FAILED', error: { message: expect.stringContaining('returned "y", which is not one of its declared targets (x, END)') } });
  });
});
