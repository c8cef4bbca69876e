import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunExport } from '../../src/engine/export.ts';
import { END, GraphBuilder } from '../../src/graph/index.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

const EXPORT = 'query($id: ID!) { exportRun(id: $id) { __typename ... on RunExport { format version eventCount document } ... on RunNotFoundError { runId message } } }';

interface Exported { __typename: string; format: string; version: number; eventCount: number; document: RunExport }

describe('exportRun: a whole run as one JSON document', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  async function exported(id: string): Promise<Exported> {
    const { data, errors } = await s.gql<{ exportRun: Exported }>(EXPORT, { id });
    expect(errors).toBeUndefined();
    return data!.exportRun;
  }
  async function ran(graphId: string, input: object = {}): Promise<{ id: string; state: object; lastSeq: number }> {
    const { data } = await s.gql<{ runGraph: { id: string; status: string; state: object; lastSeq: number } }>('mutation($g: ID!, $input: JSON) { runGraph(graphId: $g, input: $input) { ... on Run { id status state lastSeq } } }', { g: graphId, input });
    expect(data!.runGraph.status).toBe('COMPLETED');
    return data!.runGraph;
  }

  it('exports a finished demo run: the run, its code graph as data, node states and every event 1..n', async () => {
    const run = await ran('fan-out', { value: 3, speed: 0 });
    const result = await exported(run.id);
    expect(result).toMatchObject({ __typename: 'RunExport', format: 'flowcast.run-export', version: 1, eventCount: run.lastSeq });
    // Through JSON and back, as a file would be read.
    const document = JSON.parse(JSON.stringify(result.document)) as RunExport;
    expect(document).toMatchObject({ format: 'flowcast.run-export', version: 1, run: { id: run.id, graphId: 'fan-out', status: 'COMPLETED', input: { value: 3, speed: 0 }, state: run.state, error: null } });
    expect(Number.isNaN(Date.parse(document.exportedAt))).toBe(false);
    expect(document.run.finishedAt).toEqual(expect.any(String));
    expect(document.events.map((e) => e.seq)).toStrictEqual(Array.from({ length: run.lastSeq }, (_, i) => i + 1));
    expect(document.events.every((e) => e.runId === run.id)).toBe(true);
    expect(document.events.at(-1)).toMatchObject({ type: 'RunCompleted', finalState: run.state });
    const api = await s.gql<{ run: { nodes: Array<{ nodeId: string; status: string }> } }>('query($id: ID!) { run(id: $id) { nodes { nodeId status } } }', { id: run.id });
    expect(document.nodes.map((n) => ({ nodeId: n.nodeId, status: n.status }))).toStrictEqual(api.data!.run.nodes);
    expect(document.graph).toMatchObject({ id: 'fan-out', source: 'code', version: null });
    expect(document.graph!.spec.nodes.map((n) => n.id).sort()).toStrictEqual(api.data!.run.nodes.map((n) => n.nodeId));
    expect(document.graph!.spec.nodes.every((n) => typeof n.kind === 'string')).toBe(true);
    expect(document.graph!.spec.edges.length).toBeGreaterThan(0);
  });

  it('exports a stored graph as it was created, with its version', async () => {
    const created = await s.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "Pair", entry: "a", state: [{key: "log", reducer: APPEND, default: []}], nodes: [{id: "a", kind: "transform", config: {expression: "{\\"log\\": [\\"a\\"]}"}}, {id: "b", kind: "noop"}], edges: [{from: "a", to: "b", when: "$count(log) > 0"}, {from: "a", to: "END", when: "$count(log) = 0"}, {from: "b", to: "END"}]}) { ... on Graph { id } } }',
    );
    const graphId = created.data!.createGraph.id;
    const run = await ran(graphId);
    const { document } = await exported(run.id);
    expect(document.graph).toMatchObject({ id: graphId, source: 'stored', version: 1, routers: [] });
    expect(document.graph!.spec).toMatchObject({ name: 'Pair', entry: 'a', edges: [{ from: 'a', to: 'b', when: '$count(log) > 0' }, { from: 'a', to: 'END', when: '$count(log) = 0' }, { from: 'b', to: 'END' }] });
    expect(document.events.at(-1)).toMatchObject({ type: 'RunCompleted', finalState: { log: ['a'] } });
  });

  it('puts large state updates inline', async () => {
    const { catalog } = s.app.services;
    const update = { big: 'z'.repeat(400_000) };
    catalog.register(new GraphBuilder({ id: 'big-export', name: 'Big' }).addNode('make', () => update).setEntry('make').addEdge('make', END).compile(catalog.kinds));
    const run = await ran('big-export');
    const { document } = await exported(run.id);
    const completed = document.events.find((e) => e.type === 'NodeCompleted');
    expect(completed).toMatchObject({ nodeId: 'make', stateUpdate: update, bytes: 400_010 });
    expect(completed).not.toHaveProperty('stateUpdateRef');
  });

  it('answers an unknown run with RunNotFoundError', async () => {
    expect(await exported('run_nope')).toStrictEqual({ __typename: 'RunNotFoundError', runId: 'run_nope', message: 'no run "run_nope"' });
  });
});
