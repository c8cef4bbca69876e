import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

interface Ev { seq: number; type: string; runId: string; nodeId?: string; maybeNode?: string | null; from?: string; to?: string }

const FIELDS = 'seq type runId ... on Progress { maybeNode: nodeId } ... on SystemNotice { maybeNode: nodeId } ... on NodeFailed { nodeId } ... on DataFlow { from to } ... on NodeStarted { nodeId } ... on NodeCompleted { nodeId } ... on NodeSkipped { nodeId } ... on Transition { from to } ... on RunCompleted { finalState }';
const EXECUTE = `subscription($g: ID!, $input: JSON) { runExecution(graphId: $g, input: $input) { ${FIELDS} } }`;
const label = (e: Ev): string => {
  const node = e.nodeId ?? e.maybeNode;
  return node ? `${e.type}(${node})` : e.from ? `${e.type}(${e.from}->${e.to})` : e.type;
};

const DEMOS: Array<[string, Record<string, unknown>]> = [
  ['code-review', { code: 'function f(a) { if (a) { for (;;) {} } return a && 1 }', threshold: 95, max_iterations: 4 }],
  ['content-pipeline', { topic: 'graphs', speed: 0.02 }],
  ['fan-out', { value: 3, speed: 0 }],
];

describe.each(['graphql-ws', 'graphql-sse', 'graphql-sse single connection'] as const)('subscriptions over %s', (transport) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());
  const client = () => (transport === 'graphql-ws' ? s.wsClient() : s.sseClient(transport === 'graphql-sse' ? {} : { singleConnection: true }));

  it.each(DEMOS)('runExecution streams every event of %s, gapless and in order, then completes', async (graphId, input) => {
    const { items, error } = await subscribe<Ev>(client(), EXECUTE, { g: graphId, input }, 'runExecution').done;
    expect(error).toBeUndefined();
    expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
    expect(items[0]!.type).toBe('RunStarted');
    expect(items.at(-1)!.type).toBe('RunCompleted');
    // Exactly what the store recorded, in the same order.
    const stored = await s.app.services.store.readEvents(items[0]!.runId, 0, 10_000);
    expect(items.map(label)).toEqual(stored.map((e) => label(e as unknown as Ev)));
  });

  it('runExecution of fan-out gives the exact event sequence', async () => {
    const { items } = await subscribe<Ev>(client(), EXECUTE, { g: 'fan-out', input: { speed: 0 } }, 'runExecution').done;
    expect(items.filter((e) => e.type !== 'Progress' && e.type !== 'DataFlow').map(label)).toEqual([
      'RunStarted',
      'NodeStarted(start)', 'NodeCompleted(start)',
      'Transition(start->branch_a)', 'Transition(start->branch_b)', 'Transition(start->branch_c)',
      'NodeStarted(branch_a)', 'NodeStarted(branch_b)', 'NodeStarted(branch_c)',
      'NodeCompleted(branch_a)', 'NodeCompleted(branch_b)', 'NodeCompleted(branch_c)',
      'Transition(branch_a->join)', 'Transition(branch_b->join)', 'Transition(branch_c->branch_c_refine)',
      'NodeStarted(branch_c_refine)', 'NodeCompleted(branch_c_refine)',
      'Transition(branch_c_refine->join)',
      'NodeStarted(join)', 'NodeCompleted(join)',
      'Transition(join->END)',
      'RunCompleted',
    ]);
  });

  it('runEvents replays a finished run after a cursor, filtered by type, then completes', async () => {
    const run = await s.app.services.engine.run('fan-out', { speed: 0 });
    const { items, error } = await subscribe<Ev>(client(), `subscription($id: ID!) { runEvents(runId: $id, after: 20) { ${FIELDS} } }`, { id: run.id }, 'runEvents').done;
    expect(error).toBeUndefined();
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: run.lastSeq - 20 }, (_, i) => 21 + i));
    const typed = await subscribe<Ev>(client(), `subscription($id: ID!) { runEvents(runId: $id, types: [NodeCompleted]) { ${FIELDS} } }`, { id: run.id }, 'runEvents').done;
    expect(typed.items.map(label)).toEqual(['start', 'branch_a', 'branch_b', 'branch_c', 'branch_c_refine', 'join'].map((n) => `NodeCompleted(${n})`));
  });

  it('runEvents of an unknown run is an error that names it', async () => {
    const { items, error } = await subscribe<Ev>(client(), 'subscription { runEvents(runId: "run_nope") { seq } }', {}, 'runEvents').done;
    expect(items).toEqual([]);
    expect(JSON.stringify(error)).toContain('no run \\"run_nope\\"');
    expect(JSON.stringify(error)).toContain('RUN_NOT_FOUND');
  });

  it('events(filter) streams live events of many runs, by graph and minimum priority', async () => {
    const seen: Ev[] = [];
    const sub = subscribe<Ev>(client(), 'subscription { events(filter: {graphId: "fan-out", minPriority: CRITICAL}) { seq type runId } }', {}, 'events', (e) => seen.push(e));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const a = await s.app.services.engine.run('fan-out', { speed: 0 });
    const b = await s.app.services.engine.run('fan-out', { speed: 0 });
    await s.app.services.engine.run('code-review', { code: 'function a() {}' });
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    sub.cancel();
    expect(seen.map((e) => [e.runId, e.type])).toEqual([[a.id, 'RunCompleted'], [b.id, 'RunCompleted']]);
  });
});
