import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

const SLOW_GRAPH = 'mutation { createGraph(input: {id: "slow", name: "slow", entry: "wait", nodes: [{id: "wait", kind: "delay", config: {ms: 60000}}], edges: [{from: "wait", to: "END"}]}) { ... on Graph { id } } }';

describe('retention: the server deletes finished runs past FLOWCAST_RETENTION', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  async function start(env: Record<string, string>, overrides = {}): Promise<TestServer> {
    const server = await startTestServer(env, overrides);
    servers.push(server);
    return server;
  }
  async function ran(s: TestServer): Promise<{ id: string; lastSeq: number }> {
    const { data, errors } = await s.gql<{ runGraph: { id: string; status: string; lastSeq: number } }>('mutation { runGraph(graphId: "fan-out", input: {value: 2, speed: 0}) { ... on Run { id status lastSeq } } }');
    expect(errors).toBeUndefined();
    expect(data!.runGraph.status).toBe('COMPLETED');
    return data!.runGraph;
  }
  async function running(s: TestServer): Promise<string> {
    await s.gql(SLOW_GRAPH);
    const { data } = await s.gql<{ startRun: { id: string } }>('mutation { startRun(graphId: "slow") { ... on Run { id } } }');
    return data!.startRun.id;
  }
  async function status(s: TestServer, id: string): Promise<string | null> {
    const { data } = await s.gql<{ run: { status: string } | null }>('query($id: ID!) { run(id: $id) { status } }', { id });
    return data!.run?.status ?? null;
  }

  it('deletes a run finished longer ago than the retention, with its events, and keeps newer and unfinished runs', async () => {
    // One day of retention, swept every 100 ms; the old run is made old by moving its finishedAt
    // back two days, as if it had finished then.
    const s = await start({ FLOWCAST_RETENTION: '1d' }, { retentionSweepMs: 100 });
    const { store } = s.app.services;
    const old = await ran(s);
    const recent = await ran(s);
    const unfinished = await running(s);
    const record = (await store.getRun(old.id))!;
    await store.commit({ events: [], runs: [{ ...record, finishedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() }], nodes: [], checkpoints: [] });

    await waitFor(async () => (await status(s, old.id)) === null);
    expect(await store.readEvents(old.id, 0, 1000)).toStrictEqual([]);
    expect(await store.getNodes(old.id)).toStrictEqual([]);
    expect(await store.latestCheckpoint(old.id)).toBeUndefined();
    // The API answers for it as for a run that never existed.
    const attached = await subscribe(s.wsClient(), 'subscription($id: ID!) { runEvents(runId: $id) { seq } }', { id: old.id }, 'runEvents').done;
    expect(attached.items).toStrictEqual([]);
    expect(attached.error).toMatchObject([{ message: `no run "${old.id}"`, extensions: { code: 'RUN_NOT_FOUND' } }]);
    const cancel = await s.gql<{ cancelRun: { __typename: string } }>('mutation($id: ID!) { cancelRun(id: $id) { __typename } }', { id: old.id });
    expect(cancel.data!.cancelRun.__typename).toBe('RunNotFoundError');

    expect(await status(s, recent.id)).toBe('COMPLETED');
    expect((await store.readEvents(recent.id, 0, 1000)).map((e) => e.seq)).toStrictEqual(Array.from({ length: recent.lastSeq }, (_, i) => i + 1));
    expect(await status(s, unfinished)).toBe('RUNNING');
  });

  it('with a retention of 1s, lets a finished run go by itself and keeps a run that is still running', async () => {
    const s = await start({ FLOWCAST_RETENTION: '1s' });
    const unfinished = await running(s);
    const finished = await ran(s);
    await waitFor(async () => (await status(s, finished.id)) === null);
    expect(await s.app.services.store.readEvents(finished.id, 0, 1000)).toStrictEqual([]);
    // Created before the finished run and older than the retention, but not finished.
    expect(await status(s, unfinished)).toBe('RUNNING');
  });

  it('keeps every run with FLOWCAST_RETENTION=off', async () => {
    const s = await start({ FLOWCAST_RETENTION: 'off' }, { retentionSweepMs: 100 });
    const { store } = s.app.services;
    const old = await ran(s);
    const record = (await store.getRun(old.id))!;
    await store.commit({ events: [], runs: [{ ...record, finishedAt: '2001-01-01T00:00:00.000Z' }], nodes: [], checkpoints: [] });
    await sleep(400);
    expect(await status(s, old.id)).toBe('COMPLETED');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}
