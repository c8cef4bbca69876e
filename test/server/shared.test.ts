import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryPubSub } from '../../src/events/pubsub.ts';
import { sharedExecutionStats } from '../../src/server/shared.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

const QUERY = 'subscription($id: ID!) { runEvents(runId: $id) { seq type ... on NodeCompleted { nodeId stateUpdate } } }';

describe('shared subscription execution', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('executes each live event once for subscribers with the same document and variables, and they all get the same payloads', async () => {
    const run = await s.app.services.engine.createRun('content-pipeline', { speed: 0.3 });
    const clients = Array.from({ length: 8 }, () => s.wsClient());
    const before = sharedExecutionStats();
    const subs = clients.map((c) => subscribe<{ seq: number }>(c, QUERY, { id: run.id }, 'runEvents'));
    // Every subscriber is listening live before the run starts.
    const pubsub = s.app.services.pubsub as MemoryPubSub;
    while (pubsub.listenerCount('run', run.id) < 8) await new Promise((resolve) => setTimeout(resolve, 10));
    await s.app.services.engine.execute(run.id);
    const results = await Promise.all(subs.map((sub) => sub.done));
    const after = sharedExecutionStats();
    const n = results[0]!.items.length;
    expect(n).toBe((await s.app.services.store.getRun(run.id))!.lastSeq);
    for (const r of results) expect(r.items).toEqual(results[0]!.items);
    // Every event reached 8 subscribers; live ones were executed once and reused 7 times.
    const executed = after.executions - before.executions;
    const reused = after.reused - before.reused;
    expect(executed + reused).toBe(8 * n);
    expect(reused).toBeGreaterThanOrEqual(7 * (n - 5));
  });

  it('keeps subscribers with different variables apart', async () => {
    const a = await s.app.services.engine.run('fan-out', { speed: 0 });
    const b = await s.app.services.engine.run('fan-out', { value: 7, speed: 0 });
    const [ra, rb] = await Promise.all([
      subscribe<{ seq: number; stateUpdate?: { total?: number } }>(s.wsClient(), QUERY, { id: a.id }, 'runEvents').done,
      subscribe<{ seq: number; stateUpdate?: { total?: number } }>(s.sseClient(), QUERY, { id: b.id }, 'runEvents').done,
    ]);
    expect(ra.items.find((e) => e.stateUpdate?.total !== undefined)!.stateUpdate!.total).toBe(a.state['total']);
    expect(rb.items.find((e) => e.stateUpdate?.total !== undefined)!.stateUpdate!.total).toBe(b.state['total']);
  });
});
