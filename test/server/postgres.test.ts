import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { END, GraphBuilder } from '../../src/graph/index.ts';
import { dropSchema, freshSchema, withClient } from '../utils/postgres.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { requireService } from '../utils/services.ts';

const url = requireService('DATABASE_URL', 'the server-on-PostgreSQL tests');

describe.skipIf(url === undefined)('server with DATABASE_URL', () => {
  const databaseUrl = url ?? '';
  let schema = '';
  let serverUrl = '';
  const servers: TestServer[] = [];
  beforeEach(async () => {
    schema = freshSchema();
    // The server takes no schema option: the URL's own `options` parameter picks the search_path.
    await withClient(databaseUrl, undefined, (client) => client.query(`CREATE SCHEMA "${schema}"`));
    const withSchema = new URL(databaseUrl);
    withSchema.searchParams.set('options', `-c search_path=${schema}`);
    serverUrl = withSchema.toString();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await dropSchema(databaseUrl, schema);
  });
  async function start(): Promise<TestServer> {
    const server = await startTestServer({ DATABASE_URL: serverUrl });
    servers.push(server);
    return server;
  }

  it('keeps runs in PostgreSQL, where a server started later finds them', async () => {
    const first = await start();
    const ran = await first.gql<{ runGraph: { id: string; status: string } }>('mutation { runGraph(graphId: "fan-out", input: {value: 2, speed: 0}) { ... on Run { id status } } }');
    expect(ran.errors).toBeUndefined();
    const { id, status } = ran.data!.runGraph;
    expect(status).toBe('COMPLETED');
    const rows = await withClient(databaseUrl, schema, async (client) => (await client.query<{ status: string; events: string }>(
      'SELECT r.status, (SELECT count(*) FROM events e WHERE e.run_no = r.no) AS events FROM runs r WHERE r.id = $1', [id])).rows);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('COMPLETED');

    await first.stop();
    servers.splice(0);
    const second = await start();
    const polled = await second.gql<{ run: { status: string; lastSeq: number; events: { nodes: Array<{ seq: number }> } } }>(
      'query($id: ID!) { run(id: $id) { status lastSeq events(after: 0, first: 1000) { nodes { seq } } } }', { id });
    expect(polled.errors).toBeUndefined();
    expect(polled.data!.run.status).toBe('COMPLETED');
    expect(polled.data!.run.lastSeq).toBe(Number(rows[0]!.events));
    expect(polled.data!.run.events.nodes.map((e) => e.seq)).toStrictEqual(Array.from({ length: Number(rows[0]!.events) }, (_, i) => i + 1));
  });

  it('stores a large state update once in PostgreSQL and sends it only to a query that selects it', async () => {
    const s = await start();
    const update = { lines: Array.from({ length: 500 }, (_, i) => `${i} ${'x'.repeat(995)}`) };
    const { catalog } = s.app.services;
    catalog.register(new GraphBuilder({ id: 'big-update', name: 'Big update' }).addNode('make', () => update).setEntry('make').addEdge('make', END).compile(catalog.kinds));
    const ran = await s.gql<{ runGraph: { id: string } }>('mutation { runGraph(graphId: "big-update") { ... on Run { id } } }');
    const id = ran.data!.runGraph.id;
    const query = async (full: boolean): Promise<{ size: number; update: unknown }> => {
      const response = await fetch(s.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({
        query: 'query($id: ID!, $full: Boolean!) { run(id: $id) { events { nodes { ... on NodeCompleted { stateUpdateBytes stateUpdate @include(if: $full) } } } } }', variables: { id, full } }) });
      const text = await response.text();
      const nodes = (JSON.parse(text) as { data: { run: { events: { nodes: Array<{ stateUpdate?: unknown }> } } } }).data.run.events.nodes;
      return { size: text.length, update: nodes.find((n) => n.stateUpdate !== undefined)?.stateUpdate };
    };
    expect((await query(false)).size).toBeLessThan(3_000);
    expect((await query(true)).update).toStrictEqual(update);
    const blobs = await withClient(databaseUrl, schema, async (client) => (await client.query<{ size: number }>(
      'SELECT length(b.data) AS size FROM blobs b JOIN runs r ON r.no = b.run_no WHERE r.id = $1', [id])).rows);
    expect(blobs).toStrictEqual([{ size: JSON.stringify(update).length }]);
  });
});
