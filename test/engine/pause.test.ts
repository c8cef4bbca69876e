import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import type { JsonValue } from '../../src/common/json.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END, type NodeHandler } from '../../src/graph/types.ts';
import { expectAppError } from '../store/spec.ts';
import { expectWellFormed, label } from '../utils/events.ts';
import { makeFlowcast, type TestFlowcast } from '../utils/flowcast.ts';
import { gate } from '../utils/streams.ts';

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

describe('engine: breakpoints, interrupts and resume', () => {
  let f: TestFlowcast;
  beforeEach(() => {
    f = makeFlowcast({ engine: { abortGraceMs: 100 } });
  });
  afterEach(() => f.close());

  /** a -> b -> c -> END; each appends its id to `log` unless given a handler. */
  function chain(handlers: Partial<Record<'a' | 'b' | 'c', NodeHandler>> = {}, id = 'abc'): string {
    const builder = new GraphBuilder({ id, name: id, state: [{ key: 'log', reducer: 'APPEND', default: [] }] });
    for (const node of ['a', 'b', 'c'] as const) builder.addNode(node, handlers[node] ?? (() => ({ log: [node] })));
    f.catalog.register(builder.setEntry('a').addEdge('a', 'b').addEdge('b', 'c').addEdge('c', END).compile(f.catalog.kinds));
    return id;
  }

  const types = (events: RunEvent[]): string[] => events.map(label);

  it('pauses before a node of interruptBefore, then runs it with the state edit on resume, without pausing there again', async () => {
    let bSaw: unknown;
    const graph = chain({ b: (state) => ((bSaw = state['approved']), { log: ['b'] }) });
    const paused = await f.engine.run(graph, {}, { interruptBefore: ['b'] });
    expect(paused).toMatchObject({ status: 'PAUSED', step: 1, state: { log: ['a'] }, breakpoints: [{ nodeId: 'b', when: 'BEFORE' }] });
    expect(paused.pause).toMatchObject({ cause: 'BEFORE', nodeId: 'b', reason: 'breakpoint before node "b"', interrupts: [] });
    expect((await f.store.getNodes(paused.id)).map((n) => [n.nodeId, n.status])).toEqual([['a', 'SUCCEEDED'], ['b', 'PENDING'], ['c', 'PENDING']]);
    expect((await f.events(paused.id)).at(-1)).toMatchObject({ type: 'RunPaused', cause: 'BEFORE', nodeId: 'b', interrupts: [] });
    // Executing a paused run changes nothing.
    expect(await f.engine.execute(paused.id)).toMatchObject({ status: 'PAUSED' });

    const resumed = await f.engine.resume(paused.id, { stateUpdate: { approved: true, log: ['edit'] } });
    expect(resumed).toMatchObject({ status: 'RUNNING', pause: null, state: { approved: true, log: ['a', 'edit'] } });
    const run = await f.engine.execute(paused.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { approved: true, log: ['a', 'edit', 'b', 'c'] } });
    expect(bSaw).toBe(true);
    const events = await f.events(run.id);
    expectWellFormed(events);
    const at = events.findIndex((e) => e.type === 'RunPaused');
    expect(types(events.slice(at, at + 3))).toEqual(['RunPaused', 'RunResumed', 'NodeStarted(b)']);
    expect(events[at + 1]).toMatchObject({ type: 'RunResumed', nodeId: 'b', stateUpdate: { approved: true, log: ['edit'] }, resume: null });
    expect(events.filter((e) => e.type === 'RunPaused')).toHaveLength(1);
  });

  it('pauses after the step of a node of interruptAfter, with its update applied, and goes on with the next step', async () => {
    const graph = chain();
    const paused = await f.engine.run(graph, {}, { interruptAfter: ['b'] });
    expect(paused).toMatchObject({ status: 'PAUSED', step: 2, state: { log: ['a', 'b'] }, pause: { cause: 'AFTER', nodeId: 'b', reason: 'breakpoint after node "b"' } });
    expect(await f.store.latestCheckpoint(paused.id)).toMatchObject({ step: 2, next: ['c'], pastBreakpoints: false });
    await f.engine.resume(paused.id);
    const run = await f.engine.execute(paused.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b', 'c'] } });
    expectWellFormed(await f.events(run.id));
  });

  it('pauses after the last node too, so its result can be checked or edited before the run completes', async () => {
    const paused = await f.engine.run(chain(), {}, { interruptAfter: ['c'] });
    expect(paused).toMatchObject({ status: 'PAUSED', pause: { cause: 'AFTER', nodeId: 'c' } });
    await f.engine.resume(paused.id, { stateUpdate: { reviewed: 'yes' } });
    expect(await f.engine.execute(paused.id)).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b', 'c'], reviewed: 'yes' } });
  });

  it('pauses where a node calls ctx.interrupt(payload), and runs the node again on resume with the answer', async () => {
    const asked: JsonValue[] = [];
    let runsOfB = 0;
    const graph = chain({
      b: (_state, ctx) => {
        runsOfB++;
        const answer = ctx.interrupt({ question: 'ship it?' });
        asked.push(answer);
        return { log: [`b:${JSON.stringify(answer)}`] };
      },
    });
    const paused = await f.engine.run(graph, {});
    expect(paused).toMatchObject({ status: 'PAUSED', step: 1, currentNodes: [], pause: { cause: 'INTERRUPT', nodeId: 'b', reason: 'node "b" asked for input (interrupt)', interrupts: [{ nodeId: 'b', payload: { question: 'ship it?' } }] } });
    expect((await f.store.getNodes(paused.id)).find((n) => n.nodeId === 'b')).toMatchObject({ status: 'INTERRUPTED', iteration: 1, attempts: 1 });
    expect(asked).toEqual([]);

    await f.engine.resume(paused.id, { resume: { ship: true } });
    const run = await f.engine.execute(paused.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b:{"ship":true}', 'c'] } });
    expect(runsOfB).toBe(2);
    expect(asked).toEqual([{ ship: true }]);
    const events = await f.events(run.id);
    expectWellFormed(events);
    expect(types(events).filter((t) => /^Node\w+\(b\)$|^Run(Paused|Resumed)$/.test(t))).toEqual(['NodeStarted(b)', 'RunPaused', 'RunResumed', 'NodeStarted(b)', 'NodeCompleted(b)']);
    const restart = events.filter((e): e is Of<'NodeStarted'> => e.type === 'NodeStarted' && e.nodeId === 'b');
    expect(restart.map((e) => [e.step, e.iteration, e.attempt])).toEqual([[2, 1, 1], [2, 1, 1]]);
    expect((await f.store.getNodes(run.id)).find((n) => n.nodeId === 'b')).toMatchObject({ status: 'SUCCEEDED', iteration: 1 });
  });

  it('matches several interrupt() calls of one node to the resume values in order', async () => {
    const graph = chain({
      b: (_state, ctx) => {
        const name = ctx.interrupt('name?');
        const age = ctx.interrupt({ ask: 'age?', of: name });
        return { log: [`${String(name)}:${String(age)}`] };
      },
    });
    const first = await f.engine.run(graph, {});
    expect(first.pause?.interrupts).toEqual([{ nodeId: 'b', payload: 'name?' }]);
    await f.engine.resume(first.id, { resume: 'ada' });
    const second = await f.engine.execute(first.id);
    expect(second.pause?.interrupts).toEqual([{ nodeId: 'b', payload: { ask: 'age?', of: 'ada' } }]);
    await f.engine.resume(first.id, { resume: 36 });
    expect(await f.engine.execute(first.id)).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'ada:36', 'c'] } });
  });

  it('keeps the updates of the other nodes of an interrupted step: they do not run again', async () => {
    let runsOfP = 0;
    const graph = new GraphBuilder({ id: 'par', name: 'par', state: [{ key: 'log', reducer: 'APPEND', default: [] }] })
      .addNode('s', () => ({ log: ['s'] }))
      .addNode('p', async () => {
        runsOfP++;
        await sleep(5);
        return { log: ['p'] };
      })
      .addNode('q', (_state, ctx) => ({ log: [`q:${String(ctx.interrupt('ok?'))}`] }))
      .setEntry('s')
      .addEdge('s', 'p')
      .addEdge('s', 'q')
      .addEdge(['p', 'q'], END)
      .compile(f.catalog.kinds);
    f.catalog.register(graph);
    const paused = await f.engine.run('par', {});
    expect(paused).toMatchObject({ status: 'PAUSED', state: { log: ['s'] } });
    expect(await f.store.latestCheckpoint(paused.id)).toMatchObject({ step: 1, next: ['p', 'q'], writes: { p: { update: { log: ['p'] } } }, pastBreakpoints: true });
    await f.engine.resume(paused.id, { resume: 'yes' });
    expect(await f.engine.execute(paused.id)).toMatchObject({ status: 'COMPLETED', state: { log: ['s', 'p', 'q:yes'] } });
    expect(runsOfP).toBe(1);
  });

  it('counts a node as interrupted even when it catches the interrupt', async () => {
    const graph = chain({
      b: (_state, ctx) => {
        try {
          ctx.interrupt('approve?');
        } catch {
          // swallowed
        }
        return { log: ['b'] };
      },
    });
    expect(await f.engine.run(graph, {})).toMatchObject({ status: 'PAUSED', pause: { cause: 'INTERRUPT', nodeId: 'b' } });
  });

  it('takes breakpoints set and cleared while the run goes', async () => {
    const hold = gate();
    const graph = chain({ a: hold.node });
    const run = await f.engine.createRun(graph, {});
    const done = f.engine.execute(run.id);
    await sleep(10);
    await f.engine.setBreakpoint(run.id, { nodeId: 'c', when: 'BEFORE' }, true);
    await f.engine.setBreakpoint(run.id, { nodeId: 'b', when: 'AFTER' }, true);
    await f.engine.setBreakpoint(run.id, { nodeId: 'b', when: 'AFTER' }, true);
    expect((await f.store.getRun(run.id))?.breakpoints).toEqual([{ nodeId: 'b', when: 'AFTER' }, { nodeId: 'c', when: 'BEFORE' }]);
    await f.engine.setBreakpoint(run.id, { nodeId: 'b', when: 'AFTER' }, false);
    hold.open();
    expect(await done).toMatchObject({ status: 'PAUSED', pause: { cause: 'BEFORE', nodeId: 'c' }, breakpoints: [{ nodeId: 'c', when: 'BEFORE' }] });
    await f.engine.setBreakpoint(run.id, { nodeId: 'c', when: 'BEFORE' }, false);
    await f.engine.resume(run.id);
    expect(await f.engine.execute(run.id)).toMatchObject({ status: 'COMPLETED', breakpoints: [] });
  });

  it('says what to fix: unknown breakpoint nodes, resuming a run that is not paused, unknown runs', async () => {
    const graph = chain();
    await expectAppError(f.engine.createRun(graph, {}, { interruptBefore: ['b', 'ghost', 'nope'] }), 'INVALID_INPUT', /^options\.interruptBefore names nodes not in graph "abc": "ghost", "nope"; use node ids from: a, b, c$/);
    await expectAppError(f.engine.createRun(graph, {}, { interruptAfter: ['x'] }), 'INVALID_INPUT', /^options\.interruptAfter names a node not in graph "abc": "x"/);
    const done = await f.engine.run(graph, {});
    const notPaused = await expectAppError(f.engine.resume(done.id), 'RUN_NOT_PAUSED', /already ended COMPLETED/);
    expect(notPaused.details).toEqual({ runId: done.id, status: 'COMPLETED' });
    await expectAppError(f.engine.resume('run_nope'), 'RUN_NOT_FOUND', /no run "run_nope"/);
    await expectAppError(f.engine.setBreakpoint('run_nope', { nodeId: 'a', when: 'BEFORE' }, true), 'RUN_NOT_FOUND');

    const queued = await f.engine.createRun(graph, {}, {}, true);
    await expectAppError(f.engine.resume(queued.id), 'RUN_NOT_PAUSED', new RegExp(`^run ${queued.id} is QUEUED, not PAUSED; only a paused run can be resumed$`));
    await expectAppError(f.engine.setBreakpoint(queued.id, { nodeId: 'zz', when: 'AFTER' }, true), 'INVALID_INPUT', /^no node "zz" in graph "abc"; use one of: a, b, c$/);
    const paused = await f.engine.run(chain({}, 'abc2'), {}, { interruptBefore: ['c'] });
    await expectAppError(f.engine.resume(paused.id, { stateUpdate: [1, 2] as never }), 'INVALID_INPUT', /stateUpdate must be a JSON object/);
    expect((await f.store.getRun(paused.id))?.status).toBe('PAUSED');
  });

  it('cancels a paused run at once: RunCancelled, and the interrupted node stays INTERRUPTED', async () => {
    const graph = chain({ b: (_state, ctx) => ({ log: [String(ctx.interrupt('?'))] }) });
    const paused = await f.engine.run(graph, {});
    expect(paused.status).toBe('PAUSED');
    expect(await f.engine.cancel(paused.id, 'nobody answered')).toBe(true);
    expect(await f.store.getRun(paused.id)).toMatchObject({ status: 'CANCELLED', pause: null, error: { code: 'CANCELLED', message: 'nobody answered' } });
    const events = await f.events(paused.id);
    expectWellFormed(events);
    expect(types(events.slice(-2))).toEqual(['RunPaused', 'RunCancelled']);
    expect((await f.store.getNodes(paused.id)).find((n) => n.nodeId === 'b')?.status).toBe('INTERRUPTED');
    expect(await f.engine.cancel(paused.id)).toBe(false);
    await expectAppError(f.engine.resume(paused.id), 'RUN_NOT_PAUSED');
  });

  it('cancels a run that is pausing as the cancel comes, even if a node ignores its signal', async () => {
    const graph = chain({
      b: async () => {
        await sleep(300);
        return { log: ['b'] };
      },
    });
    const run = await f.engine.createRun(graph, {}, { interruptAfter: ['b'] });
    const done = f.engine.execute(run.id);
    await sleep(20);
    const t0 = Date.now();
    expect(await f.engine.cancel(run.id)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(250);
    expect(await done).toMatchObject({ status: 'CANCELLED' });
    expect((await f.events(run.id)).filter((e) => e.type === 'RunPaused')).toEqual([]);
  });

  it('does not count time spent PAUSED against the run\'s timeoutMs', async () => {
    const paused = await f.engine.run(chain(), {}, { timeoutMs: 1_000, interruptBefore: ['c'] });
    expect(paused.status).toBe('PAUSED');
    await sleep(1_300);
    await f.engine.resume(paused.id);
    expect(await f.engine.execute(paused.id)).toMatchObject({ status: 'COMPLETED', timeoutMs: 1_000 });
  });

  it('leaves paused runs PAUSED on shutdown, and cancels the others', async () => {
    const hold = gate();
    const paused = await f.engine.run(chain(), {}, { interruptBefore: ['c'] });
    const running = await f.engine.createRun(chain({ a: hold.node }, 'held'), {});
    void f.engine.execute(running.id);
    await f.engine.shutdown('going down');
    expect(await f.store.getRun(paused.id)).toMatchObject({ status: 'PAUSED' });
    expect(await f.store.getRun(running.id)).toMatchObject({ status: 'CANCELLED', error: { message: 'going down' } });
  });
});
