import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

interface Batch { seq: number; updates: Array<{ kind: string; targetId: string; priority: string; changes: Record<string, unknown> }> }
const VISUAL = 'subscription($id: ID!, $size: Int, $ms: Int) { runVisualUpdates(runId: $id, batchSize: $size, batchIntervalMs: $ms) { seq updates { kind targetId priority changes } } }';

describe('runVisualUpdates over graphql-ws', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('starts with a complete refresh, then batches coloured node and edge updates until the run ends', async () => {
    const run = await s.app.services.engine.createRun('content-pipeline', { topic: 'canvas', speed: 0.5 });
    const done = s.app.services.engine.execute(run.id);
    const { items, error } = await subscribe<Batch>(s.wsClient(), VISUAL, { id: run.id, size: 10, ms: 50 }, 'runVisualUpdates').done;
    await done;
    expect(error).toBeUndefined();
    const [first, ...rest] = items;
    expect(first!.updates).toHaveLength(1);
    expect(first!.updates[0]).toMatchObject({ kind: 'COMPLETE_REFRESH', targetId: run.id, priority: 'HIGH' });
    const nodes = first!.updates[0]!.changes['nodes'] as Array<{ id: string; color: string }>;
    expect(nodes.map((n) => n.id).sort()).toEqual(['assemble', 'kb_ingestion', 'section_writer_body', 'section_writer_conclusion', 'section_writer_intro', 'topic_identification']);
    const updates = rest.flatMap((b) => b.updates);
    expect(updates).toContainEqual(expect.objectContaining({ kind: 'NODE_UPDATE', targetId: 'assemble', changes: expect.objectContaining({ status: 'SUCCEEDED', color: '#10b981' }) }));
    expect(updates).toContainEqual(expect.objectContaining({ kind: 'EDGE_UPDATE', targetId: 'kb_ingestion->section_writer_body' }));
    expect(rest.at(-1)!.updates[0]).toMatchObject({ kind: 'STYLE_UPDATE', targetId: run.id, priority: 'HIGH', changes: expect.objectContaining({ status: 'COMPLETED' }) });
    for (const batch of rest) {
      expect(batch.updates.length).toBeLessThanOrEqual(10);
      const keys = batch.updates.map((u) => `${u.kind}:${u.targetId}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(items.map((b) => b.seq)).toEqual([...items.map((b) => b.seq)].sort((a, b) => a - b));
  });

  it('gives a late joiner of a finished run the final picture and completes', async () => {
    const run = await s.app.services.engine.run('fan-out', { speed: 0 });
    const { items } = await subscribe<Batch>(s.wsClient(), VISUAL, { id: run.id }, 'runVisualUpdates').done;
    expect(items).toHaveLength(1);
    const picture = items[0]!.updates[0]!.changes as { status: string; nodes: Array<{ status: string; color: string }> };
    expect(picture.status).toBe('COMPLETED');
    expect(picture.nodes.every((n) => n.status === 'SUCCEEDED' && n.color === '#10b981')).toBe(true);
  });

  it('rejects a batch size out of range with a message saying the range', async () => {
    const run = await s.app.services.engine.run('fan-out', { speed: 0 });
    const { error } = await subscribe<Batch>(s.wsClient(), VISUAL, { id: run.id, size: 0 }, 'runVisualUpdates').done;
    expect(JSON.stringify(error)).toContain('batchSize must be an integer from 1 to 1000');
  });
});
