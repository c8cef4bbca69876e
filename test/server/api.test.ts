import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

const RUN = '... on Run { id status state progress lastSeq error { code message } nodes { nodeId status iteration attempts } } ... on Error { __typename message }';

describe('GraphQL over HTTP: graphs, runs, polling, cancel', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('lists graphs, node kinds and health', async () => {
    const { data, errors } = await s.gql<{ graphs: { nodes: Array<{ id: string; builtIn: boolean }>; pageInfo: { hasNextPage: boolean } }; nodeKinds: Array<{ kind: string }>; health: { ok: boolean; workerConcurrency: number } }>(
      '{ graphs(first: 2) { nodes { id builtIn } pageInfo { hasNextPage } } nodeKinds { kind } health { ok workerConcurrency } }',
    );
    expect(errors).toBeUndefined();
    expect(data!.graphs).toEqual({ nodes: [{ id: 'code-review', builtIn: true }, { id: 'content-pipeline', builtIn: true }], pageInfo: { hasNextPage: true } });
    expect(data!.nodeKinds.map((k) => k.kind)).toEqual(['delay', 'fail', 'http', 'interrupt', 'noop', 'transform']);
    expect(data!.health).toEqual({ ok: true, workerConcurrency: 4 });
  });

  it('runs a graph synchronously and returns the finished run', async () => {
    const { data } = await s.gql<{ runGraph: { status: string; state: { total: number }; nodes: unknown[] } }>(`mutation { runGraph(graphId: "fan-out", input: {value: 2, speed: 0}) { ${RUN} } }`);
    expect(data!.runGraph).toMatchObject({ status: 'COMPLETED', state: { total: 25 }, progress: 100, error: null });
    expect(data!.runGraph.nodes).toHaveLength(6);
  });

  it('starts a background run at once, and polling run(id) shows it through to COMPLETED', async () => {
    const started = await s.gql<{ startRun: { id: string; status: string } }>(`mutation { startRun(graphId: "fan-out", input: {value: 1, speed: 1}) { ${RUN} } }`);
    const { id, status } = started.data!.startRun;
    expect(['QUEUED', 'RUNNING']).toContain(status);
    const seen = new Set<string>();
    let run: { status: string; lastSeq: number; state: { total?: number } } | undefined;
    for (let i = 0; i < 200; i++) {
      run = (await s.gql<{ run: typeof run }>('query($id: ID!) { run(id: $id) { status lastSeq state } }', { id })).data!.run;
      seen.add(run!.status);
      if (run!.status === 'COMPLETED') break;
      await sleep(10);
    }
    expect(run).toMatchObject({ status: 'COMPLETED', state: { total: 2 + 11 + 1 + 2 } });
    expect(seen.has('RUNNING')).toBe(true);
    const events = await s.gql<{ run: { events: { nodes: Array<{ seq: number; type: string }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>(
      'query($id: ID!) { run(id: $id) { events(after: 0, first: 5) { nodes { seq type } pageInfo { hasNextPage endCursor } } } }',
      { id },
    );
    expect(events.data!.run.events.nodes).toEqual([
      { seq: 1, type: 'RunQueued' },
      { seq: 2, type: 'RunStarted' },
      { seq: 3, type: 'NodeStarted' },
      { seq: 4, type: 'NodeCompleted' },
      { seq: 5, type: 'Transition' },
    ]);
    expect(events.data!.run.events.pageInfo).toEqual({ hasNextPage: true, endCursor: '5' });
  });

  it('lists runs newest first with filters and cursor paging', async () => {
    const page1 = await s.gql<{ runs: { nodes: Array<{ id: string; graphId: string; status: string }>; pageInfo: { endCursor: string; hasNextPage: boolean } } }>(
      '{ runs(first: 1, filter: {graphId: "fan-out", status: [COMPLETED]}) { nodes { id graphId status } pageInfo { endCursor hasNextPage } } }',
    );
    const first = page1.data!.runs;
    expect(first.nodes[0]).toMatchObject({ graphId: 'fan-out', status: 'COMPLETED' });
    const page2 = await s.gql<{ runs: { nodes: Array<{ id: string }> } }>('query($after: String) { runs(first: 5, after: $after, filter: {graphId: "fan-out"}) { nodes { id } } }', { after: first.pageInfo.endCursor });
    expect(page2.data!.runs.nodes.length).toBeGreaterThan(0);
    expect(page2.data!.runs.nodes.every((r) => r.id < first.nodes[0]!.id)).toBe(true);
    const bad = await s.gql('{ runs(first: 0) { nodes { id } } }');
    expect(bad.errors![0]).toMatchObject({ message: 'first must be an integer from 1 to 1000, got 0', extensions: { code: 'INVALID_INPUT' } });
  });

  it('cancels a running run; it ends CANCELLED; cancelling again says there is nothing to cancel', async () => {
    const graph = await s.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "slow", entry: "wait", nodes: [{id: "wait", kind: "delay", config: {ms: 10000}}], edges: [{from: "wait", to: "END"}]}) { ... on Graph { id } } }',
    );
    const started = await s.gql<{ startRun: { id: string } }>('mutation($g: ID!) { startRun(graphId: $g) { ... on Run { id } } }', { g: graph.data!.createGraph.id });
    const id = started.data!.startRun.id;
    await sleep(50);
    const cancelled = await s.gql<{ cancelRun: { status: string } }>(`mutation($id: ID!) { cancelRun(id: $id) { ${RUN} } }`, { id });
    expect(cancelled.data!.cancelRun).toMatchObject({ status: 'CANCELLED', error: { code: 'CANCELLED' } });
    const again = await s.gql<{ cancelRun: { __typename: string; message: string } }>(`mutation($id: ID!) { cancelRun(id: $id) { ${RUN} } }`, { id });
    expect(again.data!.cancelRun).toEqual({ __typename: 'InvalidInputError', message: `run ${id} already ended CANCELLED; there is nothing to cancel` });
    const missing = await s.gql<{ cancelRun: unknown }>('mutation { cancelRun(id: "run_nope") { ... on RunNotFoundError { message runId } } }');
    expect(missing.data!.cancelRun).toEqual({ message: 'no run "run_nope"', runId: 'run_nope' });
  });

  it('returns every problem of an invalid graph as data, with paths', async () => {
    const { data } = await s.gql<{ createGraph: { __typename: string; problems: Array<{ path: string; message: string }> } }>(
      'mutation { createGraph(input: {name: "bad", entry: "a", nodes: [{id: "a", kind: "nosuch"}, {id: "b", kind: "transform", config: {expression: "{"}}], edges: [{from: "a", to: "ghost"}]}) { __typename ... on InvalidGraphError { message problems { path message } } } }',
    );
    expect(data!.createGraph.__typename).toBe('InvalidGraphError');
    expect(data!.createGraph.problems.map((p) => p.path)).toEqual(['nodes[0].kind', 'nodes[1].config.expression', 'edges[0].to']);
  });

  it('creates a data graph with a join and runs it; deletes it; built-in graphs cannot be deleted', async () => {
    const created = await s.gql<{ createGraph: { id: string; edges: Array<{ sources: string[]; to: string; kind: string }> } }>(
      `mutation { createGraph(input: {id: "joined", name: "Joined", entry: "s", state: [{key: "log", reducer: APPEND}],
        nodes: [{id: "s", kind: "noop"}, {id: "a", kind: "transform", config: {expression: "{\\"log\\": [\\"a\\"]}"}}, {id: "b", kind: "transform", config: {expression: "{\\"log\\": [\\"b\\"]}"}}, {id: "j", kind: "noop"}],
        edges: [{from: "s", to: "a"}, {from: "s", to: "b"}, {from: "a", join: ["b"], to: "j"}, {from: "j", to: "END"}]}) { ... on Graph { id edges { sources to kind } } ... on Error { message } } }`,
    );
    expect(created.data!.createGraph.edges).toContainEqual({ sources: ['a', 'b'], to: 'j', kind: 'STATIC' });
    const run = await s.gql<{ runGraph: { status: string; state: { log: string[] } } }>(`mutation { runGraph(graphId: "joined") { ${RUN} } }`);
    expect(run.data!.runGraph).toMatchObject({ status: 'COMPLETED', state: { log: ['a', 'b'] } });
    expect((await s.gql('mutation { deleteGraph(id: "joined") { ... on DeletedGraph { id } } }')).data).toEqual({ deleteGraph: { id: 'joined' } });
    expect((await s.gql('mutation { deleteGraph(id: "joined") { ... on Error { __typename message } } }')).data).toEqual({ deleteGraph: { __typename: 'GraphNotFoundError', message: 'no stored graph "joined"' } });
    expect((await s.gql('mutation { deleteGraph(id: "fan-out") { ... on Error { __typename message } } }')).data).toEqual({ deleteGraph: { __typename: 'InvalidInputError', message: 'graph "fan-out" is built in and cannot be deleted' } });
  });

  it('answers bad input with typed errors that say what to fix', async () => {
    const notFound = await s.gql<{ startRun: unknown }>('mutation { startRun(graphId: "nope") { ... on GraphNotFoundError { graphId message } } }');
    expect(notFound.data!.startRun).toEqual({ graphId: 'nope', message: expect.stringMatching(/^no graph "nope"; known graphs: code-review, content-pipeline, fan-out/) });
    const badInput = await s.gql<{ startRun: unknown }>('mutation { startRun(graphId: "fan-out", input: [1, 2]) { ... on InvalidInputError { message } } }');
    expect(badInput.data!.startRun).toEqual({ message: 'run input must be a JSON object, e.g. {"topic": "graphs"}' });
    const syncWithKey = await s.gql<{ runGraph: unknown }>('mutation { runGraph(graphId: "fan-out", options: {idempotencyKey: "k"}) { ... on InvalidInputError { message } } }');
    expect(syncWithKey.data!.runGraph).toEqual({ message: 'options.idempotencyKey applies to background runs only: use startRun, or leave it out' });
    const strayPolicy = await s.gql<{ startRun: unknown }>('mutation { startRun(graphId: "fan-out", options: {onConflict: ENQUEUE}) { ... on InvalidInputError { message } } }');
    expect(strayPolicy.data!.startRun).toEqual({ message: 'options.onConflict applies to runs with a concurrencyKey; give one or leave onConflict out' });
    const longKey = await s.gql<{ startRun: unknown }>(`mutation { startRun(graphId: "fan-out", options: {concurrencyKey: "${'k'.repeat(201)}"}) { ... on InvalidInputError { message } } }`);
    expect(longKey.data!.startRun).toEqual({ message: 'options.concurrencyKey must be a string of 1 to 200 characters' });
    expect((await s.gql('{ run(id: "run_nope") { id } }')).data).toEqual({ run: null });
  });

  it('refuses queries past the depth, alias and token limits, with a message', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: health { ok }`).join(' ');
    const tooMany = await s.gql(`{ ${aliases} }`);
    expect(tooMany.errors?.[0]?.message).toMatch(/aliases/i);
    const deep = await s.gql('{ runs { edges { node { graph { nodes { retry { maxAttempts } } edges { sources } } nodes { error { code } } events { edges { node { ... on RunStarted { input } } } } } } } }');
    expect(deep.errors).toBeUndefined();
  });
});
