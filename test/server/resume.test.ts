import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END } from '../../src/graph/types.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { burst, follow, gate, type Segment } from '../utils/streams.ts';

/**
 * Resuming a run's event stream with runEvents(runId, after: last seq received), over graphql-ws and
 * over graphql-sse, with the connection cut at several points: while the stored events replay,
 * while following live events mid-run, while the run waits, and while nothing is attached as the
 * run finishes. Three ways to cut: the client unsubscribes, the client is disposed, and the server
 * side of the TCP connection is destroyed (an abrupt drop, as a proxy or a network would do it).
 *
 * The graph: `first` (400 Progress) -> `hold` (waits for the test) -> `second` (400 Progress) ->
 * `hold2` (waits) -> `third` (400 Progress) -> END, so about 1,230 events, and the gates make
 * "mid-run" certain rather than a matter of timing.
 */

const PER_BURST = 400;

type Transport = 'WebSocket' | 'SSE';

describe.each<Transport>(['WebSocket', 'SSE'])('resuming runEvents over %s', (transport) => {
  let server: TestServer;
  let gates: [ReturnType<typeof gate>, ReturnType<typeof gate>];
  /** Server-side sockets carrying subscriptions (WebSocket upgrades, or SSE requests), newest last. */
  let streamSockets: Duplex[];

  beforeEach(async () => {
    server = await startTestServer();
    gates = [gate(), gate()];
    streamSockets = [];
    if (transport === 'WebSocket') server.app.server.on('upgrade', (_req, socket: Duplex) => streamSockets.push(socket));
    else server.app.server.on('request', (req) => req.url?.startsWith('/graphql/stream') && streamSockets.push(req.socket));
    const { catalog } = server.app.services;
    catalog.register(
      new GraphBuilder({ id: 'noisy', name: 'Noisy' })
        .addNode('first', burst(PER_BURST))
        .addNode('hold', gates[0].node)
        .addNode('second', burst(PER_BURST))
        .addNode('hold2', gates[1].node)
        .addNode('third', burst(PER_BURST))
        .setEntry('first')
        .addEdge('first', 'hold')
        .addEdge('hold', 'second')
        .addEdge('second', 'hold2')
        .addEdge('hold2', 'third')
        .addEdge('third', END)
        .compile(catalog.kinds),
    );
  });
  afterEach(async () => {
    gates[0].open();
    gates[1].open();
    await server.stop();
  });

  const client = () => (transport === 'WebSocket' ? server.wsClient() : server.sseClient());

  async function startRun(): Promise<string> {
    const res = await server.gql<{ startRun: { id: string; status: string } }>('mutation { startRun(graphId: "noisy") { ... on Run { id status } } }');
    expect(res.errors).toBeUndefined();
    return res.data!.startRun.id;
  }

  interface RunRow {
    status: string;
    lastSeq: number;
    currentNodes: string[];
  }

  async function runRow(id: string): Promise<RunRow> {
    const res = await server.gql<{ run: RunRow }>('query ($id: ID!) { run(id: $id) { status lastSeq currentNodes } }', { id });
    return res.data!.run;
  }

  async function until(id: string, done: (run: RunRow) => boolean, what: string): Promise<RunRow> {
    let row = await runRow(id);
    for (let i = 0; i < 500 && !done(row); i++) {
      await sleep(10);
      row = await runRow(id);
    }
    if (!done(row)) throw new Error(`run ${id} never became ${what}: ${JSON.stringify(row)}`);
    return row;
  }
  const completed = (run: RunRow) => run.status === 'COMPLETED';
  const waitingAt = (nodeId: string) => (run: RunRow) => run.status === 'RUNNING' && run.currentNodes.join() === nodeId;

  /**
   * Drops a segment's connection from the server side and waits for the client to notice. `socket`
   * is the number of stream sockets the server had seen when the segment was opened, so its own is
   * the next one (waited for: the request may not have reached the server yet).
   */
  async function drop(segment: Segment, socket: number): Promise<void> {
    for (let i = 0; i < 200 && streamSockets.length <= socket; i++) await sleep(5);
    streamSockets[socket]!.destroy();
    expect((await segment.ended).how).toBe('error');
  }

  const lastSeq = (segments: Segment[]): number => Math.max(0, ...segments.flatMap((s) => s.events.map((e) => e.seq)));

  it('gives every seq 1..n exactly once, in order, across five connections cut mid-replay, mid-live and while the run finishes unattended', async () => {
    const runId = await startRun();
    const segments: Segment[] = [];
    const open = (c = client()) => {
      const socket = streamSockets.length;
      const segment = follow(c, runId, lastSeq(segments));
      segments.push(segment);
      return { segment, client: c, socket };
    };
    /** Waits until seq `target` has been received by any segment (this one being the one still open). */
    const received = async (segment: Segment, target: number) => {
      if (lastSeq(segments) < target) await segment.reach((e) => e.seq >= target);
    };

    // The run emits `first`'s 400 events and waits at `hold`: everything up to h1 is stored.
    const { lastSeq: h1 } = await until(runId, waitingAt('hold'), 'waiting at hold');

    // 1. From the start, replaying from the store; the client unsubscribes 150 events in. (Messages
    //    already in flight still arrive, so it may hold a few hundred, even all of them: it resumes
    //    after the last one it got.)
    const a = open();
    await a.segment.reach((_e, n) => n >= 150);
    a.segment.unsubscribe();
    await a.segment.ended;

    // 2. Resume; once everything up to h1 is in, the server side drops the connection (live, idle).
    const b = open();
    await received(b.segment, h1);
    await drop(b.segment, b.socket);
    expect(lastSeq(segments)).toBe(h1);

    // 3. Resume live at the gate, release it, and dispose the client 150 events into `second`.
    const c = open();
    await sleep(20);
    expect(c.segment.events).toEqual([]);
    gates[0].open();
    await received(c.segment, h1 + 150);
    await c.client.dispose();
    await c.segment.ended;
    const { lastSeq: h2 } = await until(runId, waitingAt('hold2'), 'waiting at hold2');
    expect(h2).toBeGreaterThan(h1 + PER_BURST);

    // 4. Resume mid-run (the run now waits at `hold2`): catch up to h2, then drop server-side.
    const d = open();
    await received(d.segment, h2);
    await sleep(20);
    expect(lastSeq(segments)).toBe(h2);
    await drop(d.segment, d.socket);

    // The run finishes with no subscriber attached.
    gates[1].open();
    const finished = await until(runId, completed, 'COMPLETED');

    // 5. Resume after the run ended: the rest is replayed, then the stream completes on its own.
    const e = open();
    expect(await e.segment.ended).toEqual({ how: 'complete' });

    const n = finished.lastSeq;
    expect(n).toBeGreaterThan(3 * PER_BURST + 20);
    const seqs = segments.flatMap((s) => s.events.map((ev) => ev.seq));
    expect(seqs.length).toBe(n);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Each segment began right after the last seq received before it.
    for (const s of segments) if (s.events.length > 0) expect(s.events[0]!.seq).toBe(s.after + 1);
    expect(segments.map((s) => s.after)).toEqual([0, a.segment.events.at(-1)!.seq, h1, c.segment.events.at(-1)!.seq, h2]);
    const all = segments.flatMap((s) => s.events);
    expect(all.at(-1)!.type).toBe('RunCompleted');
    expect(all.filter((ev) => ev.type === 'RunCompleted')).toHaveLength(1);
    expect(all.slice(0, 2).map((ev) => ev.type)).toEqual(['RunQueued', 'RunStarted']);
    expect(e.segment.events.length).toBe(n - h2);
  });

  async function finishedRun(): Promise<{ runId: string; n: number }> {
    const runId = await startRun();
    gates[0].open();
    gates[1].open();
    return { runId, n: (await until(runId, completed, 'COMPLETED')).lastSeq };
  }

  it('replays a finished run from after: 0 and then completes; from after: n - 3, the last three', async () => {
    const { runId, n } = await finishedRun();
    const everything = follow(client(), runId, 0);
    expect(await everything.ended).toEqual({ how: 'complete' });
    expect(everything.events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(everything.events.at(-1)!.type).toBe('RunCompleted');

    const tail = follow(client(), runId, n - 3);
    expect(await tail.ended).toEqual({ how: 'complete' });
    expect(tail.events.map((e) => e.seq)).toEqual([n - 2, n - 1, n]);
  });

  // With after >= the terminal event's seq the replay finds nothing; the stream must see that the
  // run is over rather than wait live for events that will never come.
  it('completes at once, with nothing, when resuming a finished run after its last seq n', async () => {
    const { runId, n } = await finishedRun();
    const nothing = follow(client(), runId, n);
    const ending = await Promise.race([nothing.ended, sleep(1_500).then(() => 'still open after 1.5 s')]);
    nothing.unsubscribe();
    expect(nothing.events).toEqual([]);
    expect(ending).toEqual({ how: 'complete' });
  });

  it('ends a resume of an unknown run with RUN_NOT_FOUND instead of waiting forever', async () => {
    const missing = follow(client(), 'run_missing', 0);
    const ending = await missing.ended;
    expect(ending.how).toBe('error');
    expect(JSON.stringify(ending.error)).toContain('RUN_NOT_FOUND');
    expect(missing.events).toEqual([]);
  });
});
