import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlowcastClient, FlowcastError, type FlowcastClient, type RunEvent } from '../../client/sdk/index.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

/** The typed helpers against a real server: each returns the typed Run or throws a FlowcastError with the server's code. */

describe('typed client helpers', () => {
  let server: TestServer;
  let client: FlowcastClient;

  beforeEach(async () => {
    server = await startTestServer();
    client = createFlowcastClient({ url: server.http, webSocketImpl: WebSocket });
  });
  afterEach(async () => {
    await client.dispose();
    await server.stop();
  });

  async function createDelayGraph(ms: number): Promise<string> {
    const created = await server.gql<{ createGraph: { id: string } }>(
      'mutation ($ms: Int!) { createGraph(input: {name: "wait", entry: "wait", nodes: [{id: "wait", kind: "delay", config: {ms: $ms}}], edges: [{from: "wait", to: "END"}]}) { ... on Graph { id } } }',
      { ms },
    );
    return created.data!.createGraph.id;
  }

  it('runGraph returns the finished run with its final state and per-node picture', async () => {
    const run = await client.runGraph('fan-out', { value: 3, speed: 0 });
    expect(run.__typename).toBe('Run');
    expect(run.status).toBe('COMPLETED');
    expect(run.graphId).toBe('fan-out');
    expect(run.state).toMatchObject({ branches: ['a', 'b', 'c', 'c2'] });
    expect(run.finishedAt).not.toBeNull();
    expect(run.nodes.map((n) => n.nodeId)).toContain('join');
    expect(run.nodes.every((n) => n.status === 'SUCCEEDED')).toBe(true);
  });

  it('startRun returns at once; getRun and listRuns see the run; watchRun follows it from seq 1 to RunCompleted', async () => {
    const started = await client.startRun('fan-out', { speed: 0 });
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(started.status);

    const seen: number[] = [];
    const terminal = await client.watchRun(started.id, { onEvent: (event) => void seen.push(event.seq) }).done;
    expect(terminal?.__typename).toBe('RunCompleted');
    expect(seen).toEqual(Array.from({ length: terminal!.seq }, (_, i) => i + 1));

    const run = await client.getRun(started.id);
    expect(run).toMatchObject({ id: started.id, status: 'COMPLETED', lastSeq: terminal!.seq, progress: 100 });
    expect(await client.getRun('run_nope')).toBeNull();

    const other = await client.runGraph('fan-out', { speed: 0 });
    const page = await client.listRuns({ graphId: 'fan-out', status: ['COMPLETED'], first: 1 });
    expect(page.runs.map((r) => r.id)).toEqual([other.id]);
    expect(page.hasNextPage).toBe(true);
    const next = await client.listRuns({ graphId: 'fan-out', first: 1, after: page.endCursor! });
    expect(next.runs.map((r) => r.id)).toEqual([started.id]);
  });

  it('cancelRun cancels a running run, and says what is wrong with a finished or unknown one', async () => {
    const graphId = await createDelayGraph(10_000);
    const started = await client.startRun(graphId);
    const cancelled = await client.cancelRun(started.id);
    expect(cancelled).toMatchObject({ id: started.id, status: 'CANCELLED', error: { code: 'CANCELLED' } });

    await expect(client.cancelRun(started.id)).rejects.toMatchObject({ name: 'FlowcastError', code: 'INVALID_INPUT', message: `run ${started.id} already ended CANCELLED; there is nothing to cancel` });
    await expect(client.cancelRun('run_nope')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND', message: 'no run "run_nope"', details: { __typename: 'RunNotFoundError', runId: 'run_nope' } });
  });

  it('resumeRun lets a paused run go on with a state edit; watchRun sees where it paused and the edit', async () => {
    const created = await server.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "gate", entry: "a", nodes: [{id: "a", kind: "noop"}, {id: "b", kind: "noop"}], edges: [{from: "a", to: "b"}, {from: "b", to: "END"}]}) { ... on Graph { id } } }',
    );
    const started = await client.startRun(created.data!.createGraph.id, {}, { interruptBefore: ['b'] });
    const events: RunEvent[] = [];
    const watch = client.watchRun(started.id, { onEvent: (event) => void events.push(event) });
    await expect.poll(async () => (await client.getRun(started.id))?.status).toBe('PAUSED');

    await expect(client.resumeRun(started.id, { stateUpdate: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const resumed = await client.resumeRun(started.id, { stateUpdate: { approved: true } });
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(resumed.status);
    expect((await watch.done)?.__typename).toBe('RunCompleted');
    expect(events.find((e) => e.__typename === 'RunPaused')).toMatchObject({ cause: 'BEFORE', nodeId: 'b', interrupts: [] });
    expect(events.find((e) => e.__typename === 'RunResumed')).toMatchObject({ nodeId: 'b', stateUpdate: { approved: true }, resume: null });
    expect((await client.getRun(started.id))?.state).toMatchObject({ approved: true });

    await expect(client.resumeRun(started.id)).rejects.toMatchObject({ code: 'RUN_NOT_PAUSED', details: { __typename: 'RunNotPausedError', runId: started.id, runStatus: 'COMPLETED' } });
    await expect(client.resumeRun('run_nope')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('turns typed errors into FlowcastErrors with the code and the message that says what to fix', async () => {
    const missing = await client.startRun('nope').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(FlowcastError);
    expect(missing).toMatchObject({ code: 'GRAPH_NOT_FOUND', message: expect.stringMatching(/^no graph "nope"; known graphs: code-review/) });
    await expect(client.runGraph('fan-out', {}, { idempotencyKey: 'k' })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'options.idempotencyKey applies to background runs only: use startRun, or leave it out' });
    const graphId = await createDelayGraph(10_000);
    const holder = await client.startRun(graphId, {}, { concurrencyKey: 'one-at-a-time' });
    await expect(client.startRun(graphId, {}, { concurrencyKey: 'one-at-a-time' })).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT', details: { __typename: 'ConcurrencyConflictError', runId: holder.id, heldKey: 'one-at-a-time' },
    });
    await client.cancelRun(holder.id);
  });

  it('reports an unreachable server as a NETWORK error', async () => {
    const url = server.http;
    await client.dispose();
    await server.stop();
    client = createFlowcastClient({ url, webSocketImpl: WebSocket });
    server = await startTestServer();
    await expect(client.getRun('run_x')).rejects.toMatchObject({ code: 'NETWORK' });
  });

  it('delivers pause and resume events whole: why it paused, what each node asks, and the state edit and answer it resumed with', async () => {
    const created = await server.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "ask", entry: "ask", nodes: [{id: "ask", kind: "interrupt", config: {payload: {question: "ship?"}}}], edges: [{from: "ask", to: "END"}]}) { ... on Graph { id } } }',
    );
    const started = await client.startRun(created.data!.createGraph.id);
    const events = client.runEvents(started.id);
    let event = (await events.next()).value;
    while (event && event.__typename !== 'RunPaused') event = (await events.next()).value;
    expect(event).toMatchObject({ __typename: 'RunPaused', cause: 'INTERRUPT', nodeId: 'ask', interrupts: [{ nodeId: 'ask', payload: { question: 'ship?' } }] });

    const resumed = await server.gql('mutation ($id: ID!) { resumeRun(id: $id, stateUpdate: {approved: true}, resume: {ship: true}) { __typename } }', { id: started.id });
    expect(resumed.data).toEqual({ resumeRun: { __typename: 'Run' } });
    const next = (await events.next()).value;
    expect(next).toMatchObject({ __typename: 'RunResumed', stateUpdate: { approved: true }, resume: { ship: true } });
    expect(next).not.toHaveProperty('stateEdit');
    await events.return();
  });

  it('sends plain urql subscriptions over the same transport', async () => {
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      // urql ends a subscription's results with the last one again, marked hasNext: false.
      client.urql.subscription('subscription { runExecution(graphId: "fan-out", input: {speed: 0}) { seq type } }', {}).subscribe((result) => {
        if (result.error) reject(result.error);
        else if (result.hasNext === false) resolve();
        else events.push((result.data as { runExecution: { type: string } }).runExecution.type);
      });
    });
    expect(events[0]).toBe('RunStarted');
    expect(events.at(-1)).toBe('RunCompleted');
    expect(client.transport.active).toBe('ws');
  });
});
