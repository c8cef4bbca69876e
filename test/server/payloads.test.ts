import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END, GraphBuilder } from '../../src/graph/index.ts';
import { parseBatch } from '../../src/store/batch.ts';
import type { SqliteStore } from '../../src/store/sqlite.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

/** About 1 MB of JSON: 1,000 lines of 1,000 characters, each line different. */
const UPDATE = { report: { lines: Array.from({ length: 1_000 }, (_, i) => `${String(i).padStart(4, '0')} ${'ü'.repeat(10)}${'x'.repeat(985)}`) } };
const UPDATE_BYTES = Buffer.byteLength(JSON.stringify(UPDATE));

const EVENTS = 'query($id: ID!, $full: Boolean!) { run(id: $id) { events(first: 100) { nodes { seq type ... on NodeCompleted { nodeId stateUpdateBytes stateUpdate @include(if: $full) } } } } }';
const SUBSCRIPTION = 'subscription($id: ID!) { runEvents(runId: $id) { seq type ... on NodeCompleted { nodeId stateUpdateBytes } } }';
const SUBSCRIPTION_FULL = 'subscription($id: ID!) { runEvents(runId: $id) { seq type ... on NodeCompleted { nodeId stateUpdateBytes stateUpdate } } }';
const EXECUTION_FULL = 'subscription { runExecution(graphId: "big-update") { seq type ... on NodeCompleted { nodeId stateUpdate } } }';

interface Event { seq: number; type: string; nodeId?: string; stateUpdateBytes?: number; stateUpdate?: unknown }

describe('large state updates: stored once, sent only when selected', () => {
  let s: TestServer;
  let runId = '';
  beforeAll(async () => {
    s = await startTestServer();
    const { catalog } = s.app.services;
    catalog.register(new GraphBuilder({ id: 'big-update', name: 'Big update' })
      .addNode('make', () => UPDATE)
      .addNode('after', () => ({ done: true }))
      .setEntry('make')
      .addEdge('make', 'after')
      .addEdge('after', END)
      .compile(catalog.kinds));
    const { data } = await s.gql<{ runGraph: { id: string; status: string } }>('mutation { runGraph(graphId: "big-update") { ... on Run { id status } } }');
    expect(data!.runGraph.status).toBe('COMPLETED');
    runId = data!.runGraph.id;
  });
  afterAll(() => s.stop());

  /** The response body as sent, and parsed. */
  async function post(query: string, variables: Record<string, unknown>): Promise<{ size: number; events: Event[] }> {
    const response = await fetch(s.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const text = await response.text();
    const body = JSON.parse(text) as { data: { run: { events: { nodes: Event[] } } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return { size: Buffer.byteLength(text), events: body.data.run.events.nodes };
  }
  const make = (events: Event[]): Event | undefined => events.find((e) => e.type === 'NodeCompleted' && e.nodeId === 'make');

  it('answers a query that does not select stateUpdate with a few KB, and says how large the update is', async () => {
    const { size, events } = await post(EVENTS, { id: runId, full: false });
    expect(size).toBeLessThan(5_000);
    expect(make(events)).toStrictEqual({ seq: expect.any(Number), type: 'NodeCompleted', nodeId: 'make', stateUpdateBytes: UPDATE_BYTES });
    expect(events.map((e) => e.seq)).toStrictEqual(events.map((_, i) => i + 1));
  });

  it('loads the whole update when the query selects it', async () => {
    const { size, events } = await post(EVENTS, { id: runId, full: true });
    expect(size).toBeGreaterThan(UPDATE_BYTES);
    expect(make(events)?.stateUpdate).toStrictEqual(UPDATE);
    expect(events.find((e) => e.nodeId === 'after')?.stateUpdate).toStrictEqual({ done: true });
  });

  it('stores the update once, in one blob row, and keeps the event row small', () => {
    const db = new Database((s.app.services.store as SqliteStore).path, { readonly: true });
    try {
      const blobs = db.prepare<[string], { size: number }>('SELECT length(b.data) AS size FROM blobs b JOIN runs r ON r.no = b.run_no WHERE r.id = ?').all(runId);
      expect(blobs).toStrictEqual([{ size: JSON.stringify(UPDATE).length }]);
      // Events are stored in batches of entries (SQLite migration 006), as bytes since 012, which
      // SQL's JSON functions cannot read: the store's parseBatch decodes them. A NodeCompleted is
      // packed as a list starting with its type's code, 3, or else an object with its type.
      const rows = db.prepare<[string], { seq: number; data: string | Buffer }>('SELECT e.seq, e.data FROM events e JOIN runs r ON r.no = e.run_no WHERE r.id = ? ORDER BY e.key').all(runId);
      const completed = rows.flatMap((row) => parseBatch(row.data, runId, row.seq))
        .filter((entry) => (Array.isArray(entry) ? entry[0] === 3 : (entry as { type?: unknown }).type === 'NodeCompleted'));
      expect(completed).toHaveLength(2);
      expect(Math.max(...completed.map((entry) => JSON.stringify(entry).length))).toBeLessThan(400);
    } finally {
      db.close();
    }
  });

  it.each(['ws', 'sse'] as const)('over %s, replays a run small without stateUpdate and whole with it', async (transport) => {
    const client = (): ReturnType<TestServer['wsClient']> => (transport === 'ws' ? s.wsClient() : (s.sseClient() as never));
    const lean = await subscribe<Event>(client(), SUBSCRIPTION, { id: runId }, 'runEvents').done;
    expect(lean.error).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(lean.items))).toBeLessThan(5_000);
    expect(make(lean.items)?.stateUpdateBytes).toBe(UPDATE_BYTES);
    const full = await subscribe<Event>(client(), SUBSCRIPTION_FULL, { id: runId }, 'runEvents').done;
    expect(full.error).toBeUndefined();
    expect(make(full.items)?.stateUpdate).toStrictEqual(UPDATE);
    expect(full.items.map((e) => e.seq)).toStrictEqual(lean.items.map((e) => e.seq));
  });

  it.each(['ws', 'sse'] as const)('over %s, a live subscriber gets every event in order, the large update loaded in its turn', async (transport) => {
    const client = transport === 'ws' ? s.wsClient() : (s.sseClient() as never);
    const live = await subscribe<Event>(client, EXECUTION_FULL, {}, 'runExecution').done;
    expect(live.error).toBeUndefined();
    expect(live.items.map((e) => e.seq)).toStrictEqual(live.items.map((_, i) => i + 1));
    expect(live.items.at(-1)?.type).toBe('RunCompleted');
    expect(make(live.items)?.stateUpdate).toStrictEqual(UPDATE);
  });
});
