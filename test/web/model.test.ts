import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowcastClient, type FlowcastClient, type RunEvent } from '../../client/sdk/index.ts';
import { foldEvents, formatMs } from '../../client/web/src/model/fold.ts';
import { parseJsonObject, parseJsonValue } from '../../client/web/src/model/json.ts';
import { bestDirection, END_ID, kindLabel, layoutGraph, loopingNodes, smoothPath, START_ID, type GraphDef } from '../../client/web/src/model/layout.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

/**
 * The live view's pure parts: the fold of a run's events into what the page draws (checked against
 * the server's own picture of real runs), the dagre layout, and the JSON input check.
 */

const GRAPH_QUERY = 'query ($id: ID!) { graph(id: $id) { id entry nodes { id kind maxIterations } edges { from sources to kind when } } }';
const NODES_QUERY = 'query ($id: ID!) { run(id: $id) { status progress nodes { nodeId status iteration attempts } } }';

describe('the fold of a run\'s events', () => {
  let server: TestServer;
  let client: FlowcastClient;

  beforeAll(async () => {
    server = await startTestServer();
    client = createFlowcastClient({ url: server.http, webSocketImpl: WebSocket });
  });
  afterAll(async () => {
    await client.dispose();
    await server.stop();
  });

  async function eventsOf(runId: string): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    await client.watchRun(runId, { onEvent: (event) => void events.push(event) }).done;
    return events;
  }

  async function serverNodes(runId: string): Promise<{ status: string; progress: number; nodes: Array<{ nodeId: string; status: string; iteration: number; attempts: number }> }> {
    const result = await server.gql<{ run: { status: string; progress: number; nodes: Array<{ nodeId: string; status: string; iteration: number; attempts: number }> } }>(NODES_QUERY, { id: runId });
    return result.data!.run;
  }

  it('agrees with the server on every node of a looping run, and has one timeline entry per NodeStarted', async () => {
    const run = await client.runGraph('code-review', { code: 'function f(a) { if (a && a > 1) return a ? 1 : 2; for (;;) if (a) break; }', threshold: 85 });
    const events = await eventsOf(run.id);
    const picture = foldEvents(events);
    const expected = await serverNodes(run.id);

    expect(picture.status).toBe('COMPLETED');
    expect(picture.progress).toBe(expected.progress);
    for (const node of expected.nodes) {
      expect(picture.nodes.get(node.nodeId), node.nodeId).toMatchObject({ status: node.status.toLowerCase(), iteration: node.iteration, attempts: node.attempts });
    }
    const starts = events.filter((e) => e.__typename === 'NodeStarted');
    expect(picture.attempts.map((a) => [a.nodeId, a.iteration, a.attempt])).toEqual(starts.map((e) => [e.nodeId, e.iteration, e.attempt]));
    expect(picture.attempts.every((a) => a.status === 'succeeded' && a.durationMs !== null && a.endSeq !== null)).toBe(true);
    expect(picture.nodes.get('score')!.iteration).toBeGreaterThan(1);

    // The path taken: every Transition's edge, each as often as it happened, and nothing flows once the run is over.
    const transitions = events.filter((e) => e.__typename === 'Transition');
    for (const t of transitions) expect(picture.edges.get(`${t.from}->${t.to}`)?.taken).toBe(transitions.filter((u) => u.from === t.from && u.to === t.to).length);
    expect(picture.edges.get('score->END')?.taken).toBe(1);
    expect([...picture.edges.values()].some((edge) => edge.flowing)).toBe(false);
    expect(picture.finalState).toEqual(run.state);
  });

  it('replays: the first N events give the picture as it was then', async () => {
    const run = await client.runGraph('fan-out', { value: 2, speed: 0 });
    const events = await eventsOf(run.id);
    expect(foldEvents(events, 0).nodes.size).toBe(0);
    const firstStart = events.findIndex((e) => e.__typename === 'NodeStarted');
    const atStart = foldEvents(events, firstStart + 1);
    expect(atStart.nodes.get('start')?.status).toBe('running');
    expect(atStart.status).toBe('RUNNING');
    expect(atStart.attempts).toHaveLength(1);

    // While a Transition's target has not finished, its edge flows.
    const toBranch = events.findIndex((e) => e.__typename === 'Transition' && e.to === 'branch_a');
    expect(foldEvents(events, toBranch + 1).edges.get('start->branch_a')).toMatchObject({ taken: 1, flowing: true });
    const branchDone = events.findIndex((e) => e.__typename === 'NodeCompleted' && e.nodeId === 'branch_a');
    expect(foldEvents(events, branchDone + 1).edges.get('start->branch_a')).toMatchObject({ taken: 1, flowing: false });

    for (let n = 1; n <= events.length; n++) {
      const picture = foldEvents(events, n);
      expect(picture.lastSeq).toBe(n);
      expect(picture.attempts).toHaveLength(events.slice(0, n).filter((e) => e.__typename === 'NodeStarted').length);
    }
  });

  it('keeps each failed attempt of a retried node, and the error of a run that fails', async () => {
    const created = await server.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "flaky", entry: "flaky", nodes: [{id: "flaky", kind: "fail", config: {message: "try again", times: 2}, retry: {maxAttempts: 3, initialDelayMs: 1}}, {id: "broken", kind: "fail", config: {message: "always"}}], edges: [{from: "flaky", to: "broken"}, {from: "broken", to: "END"}]}) { ... on Graph { id } } }',
    );
    const run = await client.runGraph(created.data!.createGraph.id);
    const picture = foldEvents(await eventsOf(run.id));
    const expected = await serverNodes(run.id);

    expect(picture.status).toBe('FAILED');
    expect(picture.error?.message).toBe(run.error?.message);
    expect(picture.attempts.map((a) => `${a.nodeId}#${a.attempt}:${a.status}`)).toEqual(['flaky#1:retrying', 'flaky#2:retrying', 'flaky#3:succeeded', 'broken#1:failed']);
    expect(picture.attempts[0]!.error?.message).toContain('try again');
    for (const node of expected.nodes) expect(picture.nodes.get(node.nodeId), node.nodeId).toMatchObject({ status: node.status.toLowerCase(), attempts: node.attempts });
  });

  it('shows where a run paused and that it resumed', async () => {
    const created = await server.gql<{ createGraph: { id: string } }>(
      'mutation { createGraph(input: {name: "ask", entry: "ask", nodes: [{id: "ask", kind: "interrupt", config: {payload: {question: "ship it?"}}}], edges: [{from: "ask", to: "END"}]}) { ... on Graph { id } } }',
    );
    const started = await client.startRun(created.data!.createGraph.id);
    const events: RunEvent[] = [];
    const watch = client.watchRun(started.id, { onEvent: (event) => void events.push(event) });
    await expect.poll(() => events.some((e) => e.__typename === 'RunPaused')).toBe(true);

    const paused = foldEvents(events);
    expect(paused.status).toBe('PAUSED');
    expect(paused.pause).toMatchObject({ cause: 'INTERRUPT', nodeId: 'ask', interrupts: [{ nodeId: 'ask', payload: { question: 'ship it?' } }] });
    expect(paused.nodes.get('ask')?.status).toBe('interrupted');
    expect(paused.attempts.map((a) => a.status)).toEqual(['interrupted']);

    await client.resumeRun(started.id, { resume: 'yes' });
    await watch.done;
    const done = foldEvents(events);
    expect(done.pause).toBeNull();
    expect(done.status).toBe('COMPLETED');
    expect(done.attempts.map((a) => a.status)).toEqual(['interrupted', 'succeeded']);
    expect(done.nodes.get('ask')).toMatchObject({ status: 'succeeded', iteration: 1 });
  });

  it('lays out a real graph: every node placed once, no overlaps, the loop found, routes between borders', async () => {
    const graph = (await server.gql<{ graph: GraphDef }>(GRAPH_QUERY, { id: 'code-review' })).data!.graph;
    expect([...loopingNodes(graph)].sort()).toEqual(['analyze', 'improve', 'score']);

    for (const direction of ['LR', 'TB'] as const) {
      const layout = layoutGraph(graph, direction);
      expect(layout.nodes.map((n) => n.id).sort()).toEqual([END_ID, START_ID, 'analyze', 'extract', 'improve', 'score'].sort());
      expect(layout.nodes.find((n) => n.id === 'score')).toMatchObject({ kind: 'code', looping: true });
      for (const a of layout.nodes) {
        for (const b of layout.nodes) {
          if (a === b) continue;
          const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
          expect(apart, `${a.id} overlaps ${b.id} (${direction})`).toBe(true);
        }
      }
      expect(layout.edges.map((e) => e.id).sort()).toEqual([`${START_ID}->extract`, 'analyze->score', 'extract->analyze', 'improve->analyze', 'score->END', 'score->improve']);
      expect(layout.edges.filter((e) => e.back).map((e) => e.id)).toEqual(['improve->analyze']);
      for (const edge of layout.edges) {
        const source = layout.nodes.find((n) => n.id === edge.source)!;
        const target = layout.nodes.find((n) => n.id === edge.target)!;
        const first = edge.points[0]!;
        const last = edge.points.at(-1)!;
        expect(onBorder(source, first), `${edge.id} starts on ${source.id}`).toBe(true);
        expect(onBorder(target, last), `${edge.id} ends on ${target.id}`).toBe(true);
      }
      expect(layoutGraph(graph, direction)).toEqual(layout);
    }
    expect(bestDirection(graph, 300, 1_200)).toBe('TB');
    expect(bestDirection(graph, 2_000, 300)).toBe('LR');
  });
});

function onBorder(box: { x: number; y: number; width: number; height: number }, p: { x: number; y: number }): boolean {
  const slack = 2;
  const inside = p.x >= box.x - slack && p.x <= box.x + box.width + slack && p.y >= box.y - slack && p.y <= box.y + box.height + slack;
  const nearEdge = Math.min(Math.abs(p.x - box.x), Math.abs(p.x - box.x - box.width), Math.abs(p.y - box.y), Math.abs(p.y - box.y - box.height)) <= slack;
  return inside && nearEdge;
}

describe('layoutGraph on definitions', () => {
  const join: GraphDef = {
    id: 'j',
    entry: 'a',
    nodes: [
      { id: 'a', kind: 'noop', maxIterations: null },
      { id: 'b', kind: 'delay', maxIterations: null },
      { id: 'c', kind: 'j.c', maxIterations: null },
    ],
    edges: [
      { from: 'a', sources: ['a'], to: 'b', kind: 'CONDITION', when: 'value > 10' },
      { from: 'a', sources: ['a'], to: 'c', kind: 'STATIC', when: null },
      { from: 'b', sources: ['b', 'c'], to: 'END', kind: 'STATIC', when: null },
    ],
  };

  it('labels conditions and joins, names code handlers "code", and finds no loop where there is none', () => {
    const layout = layoutGraph(join);
    expect(Object.fromEntries(layout.edges.map((e) => [e.id, e.label]))).toEqual({ [`${START_ID}->a`]: null, 'a->b': 'value > 10', 'a->c': null, 'b->END': 'join', 'c->END': 'join' });
    expect(layout.edges.find((e) => e.id === 'c->END')?.target).toBe(END_ID);
    expect(layout.nodes.map((n) => n.kind)).toEqual(['', 'noop', 'delay', 'code', '']);
    expect(loopingNodes(join).size).toBe(0);
    expect(kindLabel('j', { id: 'c', kind: 'j.c' })).toBe('code');
    expect(kindLabel('j', { id: 'c', kind: 'other.c' })).toBe('other.c');
  });

  it('finds a self-loop', () => {
    expect([...loopingNodes({ ...join, edges: [...join.edges, { from: 'c', sources: ['c'], to: 'c', kind: 'CONDITION', when: 'n < 3' }] })]).toEqual(['c']);
  });

  it('draws a route as a path that starts and ends on its first and last points', () => {
    expect(smoothPath([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }])).toBe('M 0 0 Q 10 0 10 5 L 10 10');
    expect(smoothPath([{ x: 1, y: 2 }, { x: 3, y: 4 }])).toBe('M 1 2 L 3 4');
    expect(smoothPath([])).toBe('');
  });
});

describe('parseJsonObject (the start form and the state edit)', () => {
  it('reads an object, and blank text as {}', () => {
    expect(parseJsonObject('{"a": [1, 2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(parseJsonObject('  ')).toEqual({ ok: true, value: {} });
    expect(parseJsonObject('', 'error')).toMatchObject({ ok: false });
  });

  it('says where the JSON is broken, or that it is not an object', () => {
    const broken = parseJsonObject('{\n  "a": 1,\n  "b" 2}');
    expect(!broken.ok && broken.message).toMatch(/^invalid JSON at line 3, column 7: \w/);
    expect(parseJsonObject('{\n  "a": 1,\n  "b": }')).toEqual({ ok: false, message: "invalid JSON: Unexpected token '}'" });
    expect(parseJsonObject('{"code": ')).toEqual({ ok: false, message: 'invalid JSON: Unexpected end of JSON input' });
    expect(parseJsonObject('[1]')).toEqual({ ok: false, message: 'must be a JSON object ({…}), not an array' });
    expect(parseJsonObject('null')).toEqual({ ok: false, message: 'must be a JSON object ({…}), not null' });
    expect(parseJsonObject('"x"')).toEqual({ ok: false, message: 'must be a JSON object ({…}), not a string' });
  });

  it('parseJsonValue takes any JSON, and nothing as undefined', () => {
    expect(parseJsonValue('true')).toEqual({ ok: true, value: true });
    expect(parseJsonValue('')).toEqual({ ok: true, value: undefined });
    expect(parseJsonValue('{')).toMatchObject({ ok: false });
  });
});

describe('formatMs', () => {
  it('gives durations a readable unit', () => {
    expect([0.123, 4.56, 12.4, 1_250, 12_345, 125_000].map(formatMs)).toEqual(['0.12 ms', '4.6 ms', '12 ms', '1.25 s', '12.3 s', '2 min 5 s']);
    expect(formatMs(null)).toBe('–');
  });
});
