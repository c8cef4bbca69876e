import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferred, yieldToEventLoop } from '../../src/common/async.ts';
import { applyEvent, newNodeSnapshot, type NodeSnapshot, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END, type NodeHandler } from '../../src/graph/types.ts';
import type { GraphCatalog } from '../../src/engine/catalog.ts';
import { iterationsAt } from '../../src/engine/recovery.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { makeEvent } from '../store/fixtures.ts';
import { expectWellFormed, label } from '../utils/events.ts';
import { composeOn, type TestFlowcast } from '../utils/flowcast.ts';

/**
 * Recovery in process: a "first process" (an engine with its own event log) runs until a node
 * hangs, its log is flushed, and it is abandoned mid-step, as a killed process would be; a "next
 * process" opens the same SQLite file and recovers. (test/server/recovery.test.ts does it with
 * real processes and kill -9.)
 */
type Handlers = Partial<Record<string, NodeHandler>>;
const logged = (id: string): NodeHandler => () => ({ log: [id] });

/**
 * a -> b -> c -> END, or with a join: s -> a, s -> b1 -> b2, [a, b2] -> j -> END, or parallel:
 * s -> p, s -> q, [p, q] -> END. Each node appends its id to `log` unless `handlers` says otherwise.
 */
function register(catalog: GraphCatalog, shape: 'chain' | 'join' | 'parallel' | 'longer-chain', handlers: Handlers = {}): void {
  const builder = new GraphBuilder({ id: shape === 'longer-chain' ? 'chain' : shape, name: shape, state: [{ key: 'log', reducer: 'APPEND', default: [] }] });
  const node = (id: string): void => void builder.addNode(id, handlers[id] ?? logged(id));
  if (shape === 'chain' || shape === 'longer-chain') {
    ['a', 'b', 'c'].forEach(node);
    builder.setEntry('a').addEdge('a', 'b').addEdge('b', 'c');
    if (shape === 'chain') builder.addEdge('c', END);
    else builder.addNode('d', logged('d')).addEdge('c', 'd').addEdge('d', END);
  } else if (shape === 'join') {
    ['s', 'a', 'b1', 'b2', 'j'].forEach(node);
    builder.setEntry('s').addEdge('s', 'a').addEdge('s', 'b1').addEdge('b1', 'b2').addEdge(['a', 'b2'], 'j').addEdge('j', END);
  } else {
    ['s', 'p', 'q'].forEach(node);
    builder.setEntry('s').addEdge('s', 'p').addEdge('s', 'q').addEdge(['p', 'q'], END);
  }
  catalog.register(builder.compile(catalog.kinds));
}

/** A handler that never returns (and ignores its signal), resolving `entered` when it is called. */
function hang(): { node: NodeHandler; entered: Promise<void> } {
  const entered = deferred<void>();
  return {
    node: () => {
      entered.resolve();
      return new Promise<never>(() => undefined);
    },
    entered: entered.promise,
  };
}

/** The node states that folding every event (applyEvent) gives, from nothing. */
function fold(runId: string, events: RunEvent[]): RunSnapshot {
  const run = { id: runId, status: 'QUEUED', currentNodes: [], nodes: new Map(), pause: null } as unknown as RunSnapshot;
  for (const event of events) applyEvent(run, event);
  return run;
}

describe('engine: recovery after a stop', () => {
  let dir: string;
  let file: string;
  let first: TestFlowcast;
  let next: TestFlowcast | undefined;
  const opened: Store[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-recovery-'));
    file = join(dir, 'flowcast.db');
    first = composeOn(open());
    next = undefined;
  });
  afterEach(async () => {
    // The first process is abandoned, not shut down: its hung run must not write any more.
    await next?.close();
    for (const store of opened) await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  function open(): Store {
    const store = openSqliteStore(file);
    opened.push(store);
    return store;
  }

  /** Waits for whatever the first process has in flight to settle, stores it, and leaves it. */
  async function stopFirst(): Promise<void> {
    await yieldToEventLoop();
    await first.log.flush();
  }

  /** Runs `shape` in the first process until `nodeId` has started (it never returns), then stops the process there. */
  async function runUntilStuck(shape: Parameters<typeof register>[1], nodeId: string): Promise<RunSnapshot> {
    const stuck = hang();
    register(first.catalog, shape, { [nodeId]: stuck.node });
    const created = await first.engine.createRun(shape, {});
    void first.engine.execute(created.id);
    await stuck.entered;
    await stopFirst();
    return created;
  }

  function startNext(shape: Parameters<typeof register>[1] | undefined, handlers: Handlers = {}): TestFlowcast {
    next = composeOn(openSqliteStore(file));
    if (shape) register(next.catalog, shape, handlers);
    return next;
  }

  it('resumes a RUNNING run from its last checkpoint: the step in flight runs again, the rest not, seqs go on without a gap', async () => {
    const created = await runUntilStuck('chain', 'b');
    const stored = await first.events(created.id);
    expect(stored.at(-1)).toMatchObject({ type: 'NodeStarted', nodeId: 'b' });

    const second = startNext('chain');
    expect(await second.store.getRun(created.id)).toMatchObject({ status: 'RUNNING' });
    const report = await second.engine.recover();
    expect(report).toEqual({ requeue: [{ runId: created.id, priority: 0 }], paused: [], failed: [] });
    const run = await second.engine.execute(created.id);
    const uninterrupted = await second.engine.run('chain', {});
    expect(run).toMatchObject({ status: 'COMPLETED', state: uninterrupted.state });
    expect(run.state).toEqual({ log: ['a', 'b', 'c'] });

    const events = await second.events(created.id);
    expectWellFormed(events);
    expect(events.slice(0, stored.length)).toEqual(stored);
    expect(events[stored.length]).toMatchObject({ type: 'SystemNotice', code: 'RECOVERY', level: 'WARN', message: 'the server restarted; the run goes on from its checkpoint after step 1 (nodes of the step in flight run again)' });
    const starts = events.filter((e) => e.type === 'NodeStarted').map(label);
    expect(starts).toEqual(['NodeStarted(a)', 'NodeStarted(b)', 'NodeStarted(b)', 'NodeStarted(c)']);

    // Folding the events alone gives the node states the store has.
    const folded = fold(created.id, events);
    expect(folded.status).toBe('COMPLETED');
    expect(folded.currentNodes).toEqual([]);
    for (const node of await second.store.getNodes(created.id)) {
      expect(folded.nodes.get(node.nodeId)).toMatchObject({ status: 'SUCCEEDED', iteration: 1, attempts: 1 });
      expect(node).toMatchObject({ status: 'SUCCEEDED', iteration: 1, attempts: 1 });
    }
  });

  it('keeps the updates of nodes that completed in the step in flight: only the unfinished ones run again', async () => {
    const created = await runUntilStuck('parallel', 'q');
    expect((await first.store.getNodes(created.id)).map((n) => [n.nodeId, n.status])).toEqual([['p', 'SUCCEEDED'], ['q', 'RUNNING'], ['s', 'SUCCEEDED']]);

    const second = startNext('parallel');
    await second.engine.recover();
    const run = await second.engine.execute(created.id);
    expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'COMPLETED', state: { log: ['s', 'p', 'q'] } });
    const events = await second.events(created.id);
    expectWellFormed(events);
    expect(events.filter((e) => e.type === 'NodeStarted').map(label)).toEqual(['NodeStarted(s)', 'NodeStarted(p)', 'NodeStarted(q)', 'NodeStarted(q)']);
  });

  it('keeps join progress: a join half arrived before the stop fires once the rest arrives after it', async () => {
    const created = await runUntilStuck('join', 'b2');

    const second = startNext('join');
    await second.engine.recover();
    const run = await second.engine.execute(created.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { log: ['s', 'a', 'b1', 'b2', 'j'] } });
    const events = await second.events(created.id);
    expectWellFormed(events);
    expect(events.filter((e) => e.type === 'NodeStarted').map(label)).toEqual(['NodeStarted(s)', 'NodeStarted(a)', 'NodeStarted(b1)', 'NodeStarted(b2)', 'NodeStarted(b2)', 'NodeStarted(j)']);
  });

  it('goes on counting a loop\'s iterations where the stop left them: from the checkpoint for the step in flight, from the node rows for the rest', async () => {
    // a -> b -> a -> … each at most 3 times; b hangs in its second iteration in the first process.
    const cycle = (catalog: GraphCatalog, hangIn?: NodeHandler): void => {
      const counted = (id: string): NodeHandler => (_state, ctx) => ({ log: [`${id}${ctx.iteration}`] });
      const builder = new GraphBuilder({ id: 'cycle', name: 'cycle', state: [{ key: 'log', reducer: 'APPEND', default: [] }] });
      builder.addNode('a', counted('a'), { maxIterations: 3 });
      builder.addNode('b', (state, ctx) => (hangIn && ctx.iteration === 2 ? hangIn(state, ctx) : counted('b')(state, ctx)), { maxIterations: 3 });
      builder.setEntry('a').addEdge('a', 'b').addConditionalEdges('b', function toA() { return 'a'; }, ['a', END]);
      catalog.register(builder.compile(catalog.kinds));
    };
    const stuck = hang();
    cycle(first.catalog, stuck.node);
    const created = await first.engine.createRun('cycle', {});
    void first.engine.execute(created.id);
    await stuck.entered;
    await stopFirst();
    // What the stop left: b's row already counts the iteration in flight, a's the one it finished.
    const checkpoint = await first.store.latestCheckpoint(created.id);
    expect(checkpoint).toMatchObject({ step: 3, next: ['b'], iterations: { b: 1 } });
    expect((await first.store.getNodes(created.id)).map((n) => [n.nodeId, n.iteration])).toEqual([['a', 2], ['b', 2]]);

    const second = startNext(undefined);
    cycle(second.catalog);
    await second.engine.recover();
    const run = await second.engine.execute(created.id);
    expect(run, JSON.stringify(run.error)).toMatchObject({ status: 'COMPLETED', state: { log: ['a1', 'b1', 'a2', 'b2', 'a3', 'b3'] } });
    const events = await second.events(created.id);
    expectWellFormed(events);
    const restart = events.findIndex((e) => e.type === 'SystemNotice' && e.code === 'RECOVERY');
    const after = events.slice(restart).filter((e) => e.type === 'NodeStarted' || (e.type === 'SystemNotice' && e.code === 'MAX_ITERATIONS'));
    expect(after.map((e) => (e.type === 'NodeStarted' ? `${e.nodeId}${e.iteration}` : label(e)))).toEqual(['b2', 'a3', 'b3', 'SystemNotice']);
    expect(after.at(-1)).toMatchObject({ nodeId: 'a', message: 'node "a" reached its maxIterations (3) and does not run again' });
  });

  it('puts a QUEUED run back for the queue; it then starts from the beginning', async () => {
    register(first.catalog, 'chain');
    const created = await first.engine.createRun('chain', {}, { priority: 7 }, true);
    await stopFirst();

    const second = startNext('chain');
    expect(await second.engine.recover()).toEqual({ requeue: [{ runId: created.id, priority: 7 }], paused: [], failed: [] });
    expect(await second.store.getRun(created.id)).toMatchObject({ status: 'QUEUED' });
    const run = await second.engine.execute(created.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b', 'c'] } });
    const events = await second.events(created.id);
    expectWellFormed(events);
    expect(events.slice(0, 3).map((e) => [e.seq, e.type])).toEqual([[1, 'RunQueued'], [2, 'SystemNotice'], [3, 'RunStarted']]);
    expect(events[1]).toMatchObject({ code: 'RECOVERY', message: 'the server restarted; the run is queued again' });
  });

  it('goes on after the highest stored seq, not the checkpoint\'s or the run row\'s', async () => {
    const created = await runUntilStuck('chain', 'b');
    const last = await first.store.lastSeq(created.id);
    // An event stored without its run row (as a writer that stopped between the two might leave it).
    await first.store.commit({ events: [{ ...makeEvent(created.id, last + 1, 'Progress'), graphId: 'chain' }], runs: [], nodes: [], checkpoints: [] });
    expect((await first.store.getRun(created.id))?.lastSeq).toBe(last);

    const second = startNext('chain');
    await second.engine.recover();
    expect(await second.engine.execute(created.id)).toMatchObject({ status: 'COMPLETED' });
    const events = await second.events(created.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[last + 1]).toMatchObject({ seq: last + 2, type: 'SystemNotice', code: 'RECOVERY' });
  });

  it('keeps a PAUSED run PAUSED across a restart; it is resumed there, its interrupt answered', async () => {
    const ask: NodeHandler = (_state, ctx) => ({ log: [`b:${String(ctx.interrupt('go?'))}`] });
    register(first.catalog, 'chain', { b: ask });
    const paused = await first.engine.run('chain', {});
    expect(paused).toMatchObject({ status: 'PAUSED', pause: { cause: 'INTERRUPT', nodeId: 'b' } });
    await stopFirst();

    const second = startNext('chain', { b: ask });
    expect(await second.engine.recover()).toEqual({ requeue: [], paused: [paused.id], failed: [] });
    expect(await second.store.getRun(paused.id)).toMatchObject({ status: 'PAUSED', pause: { cause: 'INTERRUPT', interrupts: [{ nodeId: 'b', payload: 'go?' }] } });
    expect((await second.events(paused.id)).at(-1)).toMatchObject({ type: 'SystemNotice', code: 'RECOVERY', message: 'the server restarted; the run stays PAUSED (node "b" asked for input (interrupt)) and can be resumed' });
    await second.engine.resume(paused.id, { resume: 'yes' });
    const run = await second.engine.execute(paused.id);
    expect(run).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b:yes', 'c'] } });
    expectWellFormed(await second.events(paused.id));
  });

  it('does not pause again before a breakpoint the run was resumed past, when a restart re-runs that step', async () => {
    const b = hang();
    register(first.catalog, 'chain', { b: b.node });
    const paused = await first.engine.run('chain', {}, { interruptBefore: ['b'] });
    expect(paused.status).toBe('PAUSED');
    await first.engine.resume(paused.id);
    void first.engine.execute(paused.id);
    await b.entered;
    await stopFirst();

    const second = startNext('chain');
    expect((await second.engine.recover()).requeue).toEqual([{ runId: paused.id, priority: 0 }]);
    expect(await second.engine.execute(paused.id)).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b', 'c'] }, breakpoints: [{ nodeId: 'b', when: 'BEFORE' }] });
    const events = await second.events(paused.id);
    expectWellFormed(events);
    expect(events.filter((e) => e.type === 'RunPaused')).toHaveLength(1);
  });

  it('ends a run FAILED, saying why, when its graph changed since it started', async () => {
    const created = await runUntilStuck('chain', 'b');

    const second = startNext('longer-chain');
    expect(await second.engine.recover()).toEqual({ requeue: [], paused: [], failed: [created.id] });
    const run = await second.store.getRun(created.id);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'RECOVERY_FAILED', message: expect.stringMatching(/^graph "chain" changed since the run started \(fingerprint [0-9a-f]{16}, now [0-9a-f]{16}\); a run only resumes on the graph it started on$/) } });
    const events = await second.events(created.id);
    expectWellFormed(events);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['SystemNotice', 'RunFailed']);
    expect(events.at(-2)).toMatchObject({ code: 'RECOVERY', message: `the server restarted and could not resume this run: ${run!.error!.message}` });
    // The node in flight at the stop is left FAILED, as the fold of RunFailed has it.
    expect((await second.store.getNodes(created.id)).find((n) => n.nodeId === 'b')).toMatchObject({ status: 'FAILED' });
    expect(fold(created.id, events).nodes.get('b')).toMatchObject({ status: 'FAILED' });
  });

  it('ends a run FAILED when its graph is gone', async () => {
    const created = await runUntilStuck('chain', 'b');

    const second = startNext(undefined);
    expect((await second.engine.recover()).failed).toEqual([created.id]);
    expect(await second.store.getRun(created.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'RECOVERY_FAILED', message: 'graph "chain" was deleted while the run was unfinished; the run cannot go on' },
    });
    // Nothing is left for another recovery.
    expect(await second.engine.recover()).toEqual({ requeue: [], paused: [], failed: [] });
  });
});

describe('iterationsAt', () => {
  const row = (nodeId: string, iteration: number): NodeSnapshot => ({ ...newNodeSnapshot(nodeId), iteration });
  const rows = [row('a', 2), row('b', 2), row('c', 0)];

  it('takes a counter the checkpoint holds over the node row, and the node row for the rest', () => {
    expect(iterationsAt({ iterations: { b: 1 } }, rows)).toEqual({ a: 2, b: 1 });
  });

  it('leaves out nodes at 0: never started, or started only in the step in flight', () => {
    expect(iterationsAt({ iterations: { b: 0, c: 0 } }, rows)).toEqual({ a: 2 });
    expect(iterationsAt({ iterations: {} }, [])).toEqual({});
  });

  it('reads a checkpoint that holds every counter (as written before checkpoints left them to the node rows) the same way', () => {
    expect(iterationsAt({ iterations: { a: 2, b: 1 } }, rows)).toEqual({ a: 2, b: 1 });
  });
});
