import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END } from '../../src/graph/types.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';
import { gate } from '../utils/streams.ts';

/** Breakpoints, interrupts, resumeRun, setBreakpoint/clearBreakpoint and cancelRun of paused runs, over the GraphQL API. */

const FIELDS = `id status state step
  pause { cause nodeId reason interrupts { nodeId payload } }
  breakpoints { nodeId when }
  nodes { nodeId status }
  error { code message }`;
const RUN = `... on Run { ${FIELDS} } ... on Error { __typename message }`;

interface RunView {
  id: string;
  status: string;
  state: Record<string, unknown>;
  step: number;
  pause: { cause: string; nodeId: string | null; reason: string; interrupts: Array<{ nodeId: string; payload: unknown }> } | null;
  breakpoints: Array<{ nodeId: string; when: string }>;
  nodes: Array<{ nodeId: string; status: string }>;
  error: { code: string; message: string } | null;
}

/** A chain a -> b -> c of transform nodes, each appending its name to `log`; b also records `approved`. */
const CHAIN = `mutation { createGraph(input: {id: "review", name: "Review", entry: "a", state: [{key: "log", reducer: APPEND, default: []}],
  nodes: [
    {id: "a", kind: "transform", config: {expression: "{\\"log\\": [\\"a\\"]}"}},
    {id: "b", kind: "transform", config: {expression: "{\\"log\\": [approved ? \\"b approved\\" : \\"b\\"]}"}},
    {id: "c", kind: "transform", config: {expression: "{\\"log\\": [\\"c\\"]}"}}],
  edges: [{from: "a", to: "b"}, {from: "b", to: "c"}, {from: "c", to: "END"}]}) { ... on Graph { id } ... on Error { message } } }`;

/** ask (an interrupt node) -> done. */
const ASK = `mutation { createGraph(input: {id: "ask", name: "Ask", entry: "ask",
  nodes: [{id: "ask", kind: "interrupt", config: {payload: {question: "Ship it?"}, resultKey: "decision"}}, {id: "done", kind: "noop"}],
  edges: [{from: "ask", to: "done"}, {from: "done", to: "END"}]}) { ... on Graph { id } ... on Error { message } } }`;

describe('pausing and resuming runs over GraphQL', () => {
  let s: TestServer;
  const hold = gate();
  beforeAll(async () => {
    s = await startTestServer();
    for (const graph of [CHAIN, ASK]) expect((await s.gql<{ createGraph: { id: string } }>(graph)).data?.createGraph.id).toBeTruthy();
    const { catalog } = s.app.services;
    catalog.register(
      new GraphBuilder({ id: 'held', name: 'Held' })
        .addNode('hold', hold.node)
        .addNode('next', () => ({ next: true }))
        .addNode('last', () => ({ last: true }))
        .setEntry('hold')
        .addEdge('hold', 'next')
        .addEdge('next', 'last')
        .addEdge('last', END)
        .compile(catalog.kinds),
    );
  });
  afterAll(async () => {
    hold.open();
    await s.stop();
  });

  async function run(id: string): Promise<RunView> {
    const res = await s.gql<{ run: RunView }>(`query($id: ID!) { run(id: $id) { ${FIELDS} } }`, { id });
    expect(res.errors).toBeUndefined();
    return res.data!.run;
  }

  async function until(id: string, status: string): Promise<RunView> {
    let view = await run(id);
    for (let i = 0; i < 500 && view.status !== status; i++) {
      await sleep(20);
      view = await run(id);
    }
    expect(view.status, `run ${id} never became ${status}`).toBe(status);
    return view;
  }

  async function mutate(field: string, call: string, variables: Record<string, unknown> = {}): Promise<RunView & { __typename?: string; message?: string }> {
    const declared = [['$id', 'ID!'], ['$state', 'JSON'], ['$resume', 'JSON']].filter(([name]) => call.includes(name!)).map(([name, type]) => `${name}: ${type}`);
    const head = declared.length > 0 ? `mutation(${declared.join(', ')})` : 'mutation';
    const res = await s.gql<Record<string, RunView>>(`${head} { ${field}: ${call} { ${RUN} } }`, variables);
    expect(res.errors).toBeUndefined();
    return res.data![field]!;
  }

  async function eventTypes(id: string): Promise<Array<Record<string, unknown>>> {
    const res = await s.gql<{ run: { events: { nodes: Array<Record<string, unknown>> } } }>(
      `query($id: ID!) { run(id: $id) { events(first: 50) { nodes { seq type
        ... on RunPaused { nodeId cause reason interrupts { nodeId payload } }
        ... on RunResumed { nodeId stateUpdate resume } } } } }`,
      { id },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.run.events.nodes;
  }

  it('pauses before a node of interruptBefore, shows where and why, and goes on with resumeRun applying a state edit', async () => {
    const started = await mutate('startRun', 'startRun(graphId: "review", options: {interruptBefore: ["b"]})');
    expect(started.breakpoints).toEqual([{ nodeId: 'b', when: 'BEFORE' }]);
    const paused = await until(started.id, 'PAUSED');
    expect(paused).toMatchObject({
      step: 1,
      state: { log: ['a'] },
      pause: { cause: 'BEFORE', nodeId: 'b', reason: 'breakpoint before node "b"', interrupts: [] },
      nodes: [{ nodeId: 'a', status: 'SUCCEEDED' }, { nodeId: 'b', status: 'PENDING' }, { nodeId: 'c', status: 'PENDING' }],
    });

    const resumed = await mutate('resumeRun', 'resumeRun(id: $id, stateUpdate: $state)', { id: started.id, state: { approved: true } });
    expect(resumed.status === 'RUNNING' || resumed.status === 'COMPLETED').toBe(true);
    expect(resumed.pause).toBeNull();
    const done = await until(started.id, 'COMPLETED');
    expect(done.state).toEqual({ log: ['a', 'b approved', 'c'], approved: true });
    const events = await eventTypes(started.id);
    const at = events.findIndex((e) => e['type'] === 'RunPaused');
    expect(events.slice(at, at + 2)).toEqual([
      { seq: events[at]!['seq'], type: 'RunPaused', nodeId: 'b', cause: 'BEFORE', reason: 'breakpoint before node "b"', interrupts: [] },
      { seq: (events[at]!['seq'] as number) + 1, type: 'RunResumed', nodeId: 'b', stateUpdate: { approved: true }, resume: null },
    ]);
  });

  it('pauses after a node of interruptAfter', async () => {
    const { data } = await s.gql<{ runGraph: RunView }>(`mutation { runGraph(graphId: "review", options: {interruptAfter: ["a"]}) { ${RUN} } }`);
    expect(data!.runGraph).toMatchObject({ status: 'PAUSED', step: 1, state: { log: ['a'] }, pause: { cause: 'AFTER', nodeId: 'a' } });
    await mutate('resumeRun', 'resumeRun(id: $id)', { id: data!.runGraph.id });
    expect((await until(data!.runGraph.id, 'COMPLETED')).state).toEqual({ log: ['a', 'b', 'c'] });
  });

  it('asks for input with an interrupt node; a subscriber sees the question, the answer and the end', async () => {
    const client = s.wsClient();
    let paused: (id: string) => void = () => undefined;
    const pausedRun = new Promise<string>((resolve) => (paused = resolve));
    const stream = subscribe<{ seq: number; type: string; runId: string; interrupts?: unknown; resume?: unknown }>(
      client,
      'subscription { runExecution(graphId: "ask") { seq type runId ... on RunPaused { interrupts { nodeId payload } } ... on RunResumed { resume } } }',
      {},
      'runExecution',
      (event) => event.type === 'RunPaused' && paused(event.runId),
    );
    const id = await pausedRun;
    const view = await run(id);
    expect(view).toMatchObject({ status: 'PAUSED', pause: { cause: 'INTERRUPT', nodeId: 'ask', reason: 'node "ask" asked for input (interrupt)', interrupts: [{ nodeId: 'ask', payload: { question: 'Ship it?' } }] } });
    expect(view.nodes).toContainEqual({ nodeId: 'ask', status: 'INTERRUPTED' });

    await mutate('resumeRun', 'resumeRun(id: $id, resume: $resume)', { id, resume: { ship: true, by: 'ada' } });
    const { items, error } = await stream.done;
    expect(error).toBeUndefined();
    expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
    expect(items.filter((e) => ['RunPaused', 'RunResumed', 'RunCompleted'].includes(e.type))).toEqual([
      expect.objectContaining({ type: 'RunPaused', interrupts: [{ nodeId: 'ask', payload: { question: 'Ship it?' } }] }),
      expect.objectContaining({ type: 'RunResumed', resume: { ship: true, by: 'ada' } }),
      expect.objectContaining({ type: 'RunCompleted' }),
    ]);
    expect((await run(id)).state).toEqual({ decision: { ship: true, by: 'ada' } });
  });

  it('sets and clears breakpoints on a run already going, and cancels it while it is paused', async () => {
    const started = await mutate('startRun', 'startRun(graphId: "held")');
    await mutate('set', 'setBreakpoint(runId: $id, nodeId: "last", when: BEFORE)', { id: started.id });
    await mutate('set', 'setBreakpoint(runId: $id, nodeId: "next", when: AFTER)', { id: started.id });
    const cleared = await mutate('clear', 'clearBreakpoint(runId: $id, nodeId: "next", when: AFTER)', { id: started.id });
    expect(cleared.breakpoints).toEqual([{ nodeId: 'last', when: 'BEFORE' }]);
    hold.open();
    const paused = await until(started.id, 'PAUSED');
    expect(paused).toMatchObject({ state: { next: true }, pause: { cause: 'BEFORE', nodeId: 'last' } });

    const follower = subscribe<{ type: string }>(s.wsClient(), 'subscription($id: ID!) { runEvents(runId: $id, after: 0) { type } }', { id: started.id }, 'runEvents');
    const cancelled = await mutate('cancelRun', 'cancelRun(id: $id)', { id: started.id });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', pause: null, error: { code: 'CANCELLED', message: 'cancelled by request' } });
    const { items, error } = await follower.done;
    expect(error).toBeUndefined();
    expect(items.slice(-2).map((e) => e.type)).toEqual(['RunPaused', 'RunCancelled']);
  });

  it('answers bad requests with typed errors that say what to fix', async () => {
    const missing = await mutate('resumeRun', 'resumeRun(id: $id)', { id: 'run_nope' });
    expect(missing).toEqual({ __typename: 'RunNotFoundError', message: 'no run "run_nope"' });

    const { data } = await s.gql<{ runGraph: RunView }>(`mutation { runGraph(graphId: "review") { ${RUN} } }`);
    const finished = data!.runGraph.id;
    const notPaused = await s.gql<{ resumeRun: Record<string, unknown> }>('mutation($id: ID!) { resumeRun(id: $id) { ... on RunNotPausedError { __typename message runId status } } }', { id: finished });
    expect(notPaused.data!.resumeRun).toEqual({ __typename: 'RunNotPausedError', message: `run ${finished} already ended COMPLETED`, runId: finished, status: 'COMPLETED' });

    const badOption = await mutate('startRun', 'startRun(graphId: "review", options: {interruptBefore: ["b", "ghost"]})');
    expect(badOption).toEqual({ __typename: 'InvalidInputError', message: 'options.interruptBefore names a node not in graph "review": "ghost"; use node ids from: a, b, c' });

    const endedRun = await mutate('set', 'setBreakpoint(runId: $id, nodeId: "b", when: AFTER)', { id: finished });
    expect(endedRun).toEqual({ __typename: 'InvalidInputError', message: `run ${finished} already ended COMPLETED; breakpoints apply only to unfinished runs` });
    expect(await mutate('set', 'setBreakpoint(runId: $id, nodeId: "b", when: AFTER)', { id: 'run_nope' })).toEqual({ __typename: 'RunNotFoundError', message: 'no run "run_nope"' });

    const paused = await mutate('runGraph', 'runGraph(graphId: "review", options: {interruptAfter: ["c"]})');
    expect(paused.status).toBe('PAUSED');
    expect(await mutate('set', 'setBreakpoint(runId: $id, nodeId: "zz", when: BEFORE)', { id: paused.id })).toEqual({ __typename: 'InvalidInputError', message: 'no node "zz" in graph "review"; use one of: a, b, c' });
    expect(await mutate('resumeRun', 'resumeRun(id: $id, stateUpdate: $state)', { id: paused.id, state: [1, 2] })).toEqual({ __typename: 'InvalidInputError', message: 'stateUpdate must be a JSON object of state keys, e.g. {"approved": true}' });
    expect((await run(paused.id)).status).toBe('PAUSED');
    await mutate('cancelRun', 'cancelRun(id: $id)', { id: paused.id });
  });
});

describe('worker slots and paused runs', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ FLOWCAST_WORKERS: '1' });
    await s.gql(CHAIN);
  });
  afterAll(() => s.stop());

  it('a PAUSED run holds no worker: with one worker, another run completes while it waits', async () => {
    const poll = async (id: string, status: string): Promise<{ status: string; state: Record<string, unknown> }> => {
      for (let i = 0; i < 500; i++) {
        const row = (await s.gql<{ run: { status: string; state: Record<string, unknown> } }>('query($id: ID!) { run(id: $id) { status state } }', { id })).data!.run;
        if (row.status === status) return row;
        await sleep(20);
      }
      throw new Error(`run ${id} never became ${status}`);
    };
    const start = async (options: string): Promise<string> =>
      (await s.gql<{ startRun: { id: string } }>(`mutation { startRun(graphId: "review"${options}) { ... on Run { id } } }`)).data!.startRun.id;
    const waiting = await start(', options: {interruptBefore: ["c"]}');
    await poll(waiting, 'PAUSED');
    const other = await start('');
    expect((await poll(other, 'COMPLETED')).state).toEqual({ log: ['a', 'b', 'c'] });
    expect((await s.gql<{ run: { status: string } }>('query($id: ID!) { run(id: $id) { status } }', { id: waiting })).data!.run.status).toBe('PAUSED');
    await s.gql('mutation($id: ID!) { resumeRun(id: $id) { ... on Run { id } } }', { id: waiting });
    expect((await poll(waiting, 'COMPLETED')).state).toEqual({ log: ['a', 'b', 'c'] });
  });
});
