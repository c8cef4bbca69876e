import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { Admission } from '../../src/queue/admission.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

/** startRun's run policies (concurrencyKey + onConflict, idempotencyKey) over the real API. */

const RESULT = '... on Run { id status graphId concurrencyKey idempotencyKey } ... on Error { __typename message } ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }';
const START = `mutation($graphId: ID!, $input: JSON, $options: RunOptions) { startRun(graphId: $graphId, input: $input, options: $options) { ${RESULT} } }`;

interface Result {
  __typename?: string;
  id?: string;
  status?: string;
  message?: string;
  runId?: string;
  concurrencyKey?: string | null;
  idempotencyKey?: string | null;
  heldKey?: string;
}
interface Polled {
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
}

describe('run policies', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    // One delay node (150 ms), and a gate: a delay node the run pauses before.
    const created = await s.gql(`mutation {
      slow: createGraph(input: {id: "slow", name: "slow", entry: "wait", nodes: [{id: "wait", kind: "delay", config: {ms: 150}}], edges: [{from: "wait", to: "END"}]}) { ... on Graph { id } }
    }`);
    expect(created.errors).toBeUndefined();
  });
  afterAll(() => s.stop());

  const start = async (options: Record<string, unknown>, input: Record<string, unknown> = {}, graphId = 'slow'): Promise<Result> =>
    (await s.gql<{ startRun: Result }>(START, { graphId, input, options })).data!.startRun;
  const poll = async (id: string): Promise<Polled> => (await s.gql<{ run: Polled }>('query($id: ID!) { run(id: $id) { status startedAt finishedAt } }', { id })).data!.run;
  const settle = async (id: string): Promise<Polled> => {
    for (let i = 0; i < 1000; i++) {
      const run = await poll(id);
      if (['COMPLETED', 'FAILED', 'CANCELLED', 'PAUSED'].includes(run.status)) return run;
      await sleep(10);
    }
    throw new Error(`run ${id} did not settle`);
  };

  it('idempotencyKey: the same key returns the same run; the same key for another input is an error', async () => {
    const first = await start({ idempotencyKey: 'order-17' }, { n: 1 });
    const again = await start({ idempotencyKey: 'order-17' }, { n: 1 });
    expect(first.id).toMatch(/^run_/);
    expect(again.id).toBe(first.id);
    expect(again.idempotencyKey).toBe('order-17');
    const other = await start({ idempotencyKey: 'order-17' }, { n: 2 });
    expect(other).toEqual({ __typename: 'InvalidInputError', message: `idempotencyKey "order-17" already names run ${first.id} of graph slow with another input; use a new key for another run` });
    // Concurrent starts with one new key make one run.
    const burst = await Promise.all(Array.from({ length: 5 }, () => start({ idempotencyKey: 'order-18' })));
    expect(new Set(burst.map((r) => r.id)).size).toBe(1);
    const listed = await s.app.services.store.listRuns({ idempotencyKey: 'order-18' }, { first: 10 });
    expect(listed.items.map((r) => r.id)).toEqual([burst[0]!.id]);
    await settle(first.id!);
    await settle(burst[0]!.id!);
  });

  it('concurrencyKey with REJECT (the default): a held key is a ConcurrencyConflictError naming the holder; free again once it ends', async () => {
    const holder = await start({ concurrencyKey: 'tenant-a' });
    expect(holder.concurrencyKey).toBe('tenant-a');
    const rejected = await start({ concurrencyKey: 'tenant-a' });
    expect(rejected).toMatchObject({ __typename: 'ConcurrencyConflictError', runId: holder.id, heldKey: 'tenant-a' });
    expect(rejected.message).toMatch(new RegExp(`^run ${holder.id} \\((QUEUED|RUNNING)\\) holds concurrencyKey "tenant-a"; wait for it to end, cancel it, or start with onConflict ENQUEUE or CANCEL_PREVIOUS$`));
    // Another key is not held.
    expect((await start({ concurrencyKey: 'tenant-b' })).__typename).toBeUndefined();
    expect((await settle(holder.id!)).status).toBe('COMPLETED');
    const next = await start({ concurrencyKey: 'tenant-a' });
    expect(next.id).toMatch(/^run_/);
    await settle(next.id!);
  });

  it('ENQUEUE: runs with one key run one after another, in the order they were started', async () => {
    const runs = [await start({ concurrencyKey: 'serial' }), await start({ concurrencyKey: 'serial', onConflict: 'ENQUEUE' }), await start({ concurrencyKey: 'serial', onConflict: 'ENQUEUE' })];
    expect(runs[1]!.status).toBe('QUEUED');
    const ended = [];
    for (const run of runs) ended.push(await settle(run.id!));
    expect(ended.map((r) => r.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    // Each started only after the one before it had finished.
    for (let i = 1; i < ended.length; i++) expect(ended[i]!.startedAt! >= ended[i - 1]!.finishedAt!).toBe(true);
  });

  it('ENQUEUE: cancelling a waiting run lets the next one go after the holder', async () => {
    const holder = await start({ concurrencyKey: 'skip' });
    const skipped = await start({ concurrencyKey: 'skip', onConflict: 'ENQUEUE' });
    const last = await start({ concurrencyKey: 'skip', onConflict: 'ENQUEUE' });
    const cancelled = await s.gql<{ cancelRun: { status: string } }>('mutation($id: ID!) { cancelRun(id: $id) { ... on Run { status } } }', { id: skipped.id });
    expect(cancelled.data!.cancelRun.status).toBe('CANCELLED');
    const [a, c] = [await settle(holder.id!), await settle(last.id!)];
    expect([a.status, c.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(c.startedAt! >= a.finishedAt!).toBe(true);
  });

  it('CANCEL_PREVIOUS: the unfinished runs with the key end CANCELLED, then the new one runs', async () => {
    const old = await start({ concurrencyKey: 'latest' });
    const waiting = await start({ concurrencyKey: 'latest', onConflict: 'ENQUEUE' });
    const latest = await start({ concurrencyKey: 'latest', onConflict: 'CANCEL_PREVIOUS' });
    expect(latest.__typename).toBeUndefined();
    expect((await poll(old.id!)).status).toBe('CANCELLED');
    expect((await poll(waiting.id!)).status).toBe('CANCELLED');
    expect((await settle(latest.id!)).status).toBe('COMPLETED');
  });

  it('a PAUSED run holds its key', async () => {
    const paused = await start({ concurrencyKey: 'review', interruptBefore: ['wait'] });
    expect((await settle(paused.id!)).status).toBe('PAUSED');
    const rejected = await start({ concurrencyKey: 'review' });
    expect(rejected).toMatchObject({ __typename: 'ConcurrencyConflictError', runId: paused.id, message: expect.stringContaining('(PAUSED)') });
    await s.gql('mutation($id: ID!) { cancelRun(id: $id) { ... on Run { status } } }', { id: paused.id });
    expect((await start({ concurrencyKey: 'review' })).__typename).toBeUndefined();
  });

  it('a new process rebuilds the held keys from the store', async () => {
    const holder = await start({ concurrencyKey: 'restart' });
    const { engine, queue, log } = s.app.services;
    const fresh = new Admission(engine, queue, log);
    await fresh.load();
    await expect(fresh.start('slow', {}, { concurrencyKey: 'restart' })).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT', details: { runId: holder.id } });
    fresh.close();
    await settle(holder.id!);
  });
});
