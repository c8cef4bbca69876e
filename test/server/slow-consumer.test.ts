import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sleep } from '../../src/common/async.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { WRITE_HIGH_WATER } from '../../src/server/writes.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { burst, follow, gate, registerHeldFlood } from '../utils/streams.ts';

/**
 * One subscriber stops reading its socket while a run publishes 20,000 events. What bounds the
 * server's memory:
 *
 * - A subscription writes its frames to the socket itself (src/server/ws.ts) and stops once the
 *   socket holds WRITE_HIGH_WATER (64 KiB) in user space, until it drains. With the peer not
 *   reading, the kernel buffers fill, the socket never drains, and the subscription stops taking
 *   events from its RunEventStream.
 * - The RunEventStream then holds the live events it cannot hand out, up to bufferSize (10,000);
 *   past that it drops them, unsubscribes and ends with FELL_BEHIND (resumeAfter = the last seq it
 *   delivered). The error itself waits behind the queued frames until the client reads again.
 * - The kernel's socket buffers (loopback: a few MB) hold whatever was already written.
 *
 * So the growth is at most ~bufferSize events plus 64 KiB, whatever the run's length.
 *
 * Whether the stalled stream overflows depends on how much the kernel takes first. With ~220-byte
 * frames, loopback buffers (measured: 3.3 MB, ~15,000 frames on Linux, tcp_wmem max 4 MB) take
 * all but < 10,000 events, so the stream never overflows and the client, once it reads again, gets
 * all of it and `complete` (a smaller kernel buffer would make it FELL_BEHIND; both are checked
 * exactly). With ~2 KB frames (the progress message padded) the kernel takes ~1,800, the stream
 * overflows, and the client gets a gapless prefix 1..m, then FELL_BEHIND with resumeAfter = m.
 */

const EVENTS = 20_000;
const FIELDS = 'seq type at runId ... on Progress { percent message nodeId }';
const QUERY = `subscription Follow($runId: ID!, $after: Int) { runEvents(runId: $runId, after: $after) { ${FIELDS} } }`;

/** The net socket under a ws client, which ws keeps private; only what this test uses. */
interface NetSocket {
  pause(): void;
  resume(): void;
}

type Message = { id?: string; type: string; payload?: unknown };

/** `global.gc` when it can be had, so heap numbers are after a collection rather than noise. */
function collector(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return () => gc();
  } catch {
    return () => undefined;
  }
}

const MB = 1024 * 1024;

describe('a subscriber that stops reading its WebSocket', () => {
  let server: TestServer;
  let start: ReturnType<typeof gate>;
  let raw: WebSocket | undefined;
  let serverSockets: Duplex[];

  beforeEach(async () => {
    server = await startTestServer();
    serverSockets = [];
    server.app.server.on('upgrade', (_req, socket: Duplex) => serverSockets.push(socket));
    start = gate();
    const { catalog } = server.app.services;
    for (const [id, pad] of [['flood', 0], ['flood-2k', 2_000]] as const) registerHeldFlood(catalog, id, start.node, burst(EVENTS, 500, ' '.repeat(pad)));
  });
  afterEach(async () => {
    start.open();
    raw?.terminate();
    await server.stop();
  });

  it.each([
    { graphId: 'flood', frames: '~220 B', stalled: 'gets a gapless stream once it reads again' },
    { graphId: 'flood-2k', frames: '~2 KB', stalled: 'ends with FELL_BEHIND' },
  ])('with $frames frames: a healthy subscriber gets all 20,000+ events, the server stays up with bounded memory, and the stalled one $stalled', async ({ graphId }) => {
    const gc = collector();
    const started = await server.gql<{ startRun: { id: string } }>('mutation ($graphId: ID!) { startRun(graphId: $graphId) { ... on Run { id } } }', { graphId });
    const runId = started.data!.startRun.id;

    // The stalled subscriber: graphql-transport-ws by hand, caught up to the run (waiting at `hold`).
    raw = new WebSocket(server.ws, 'graphql-transport-ws');
    const inbox: Message[] = [];
    const arrived: Array<() => void> = [];
    raw.on('message', (data) => {
      inbox.push(JSON.parse(String(data)) as Message);
      arrived.splice(0).forEach((wake) => wake());
    });
    const next = async (test: (m: Message) => boolean): Promise<Message> => {
      for (;;) {
        const found = inbox.find(test);
        if (found) return found;
        await new Promise<void>((resolve) => arrived.push(resolve));
      }
    };
    await once(raw, 'open');
    raw.send(JSON.stringify({ type: 'connection_init' }));
    await next((m) => m.type === 'connection_ack');
    raw.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query: QUERY, variables: { runId, after: 0 } } }));
    await next((m) => m.type === 'next' && seqOf(m) === 3); // RunQueued, RunStarted, NodeStarted(hold)
    const socket = (raw as unknown as { _socket: NetSocket })._socket;
    socket.pause();
    const stalledAt = inbox.length;

    // The healthy subscriber, over graphql-ws.
    const healthy = follow(server.wsClient(), runId, 0);
    await healthy.reach((e) => e.seq === 3);

    gc();
    const before = process.memoryUsage();
    const peak = { rss: before.rss, heapUsed: before.heapUsed, writable: 0 };
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
      peak.writable = Math.max(peak.writable, ...serverSockets.map((s) => s.writableLength));
    }, 10);
    const t0 = Date.now();
    start.open();

    const ending = await healthy.ended;
    const elapsed = Date.now() - t0;
    clearInterval(sampler);
    gc();
    const after = process.memoryUsage();

    // The healthy subscriber got every event once, in order, and its stream completed.
    const run = (await server.gql<{ run: { status: string; lastSeq: number } }>('query ($id: ID!) { run(id: $id) { status lastSeq } }', { id: runId })).data!.run;
    expect(run.status).toBe('COMPLETED');
    const n = run.lastSeq;
    expect(n).toBeGreaterThan(EVENTS);
    expect(ending).toEqual({ how: 'complete' });
    expect(healthy.events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(healthy.events.at(-1)!.type).toBe('RunCompleted');

    // The server is up and answers.
    const health = await server.gql<{ health: { ok: boolean; activeRuns: number } }>('{ health { ok activeRuns } }');
    expect(health.data!.health).toEqual({ ok: true, activeRuns: 0 });

    // Nothing reached the paused client while it was paused.
    expect(inbox.length).toBe(stalledAt);
    const pubsub = server.app.services.pubsub;
    if (!(pubsub instanceof MemoryPubSub)) throw new Error('this test counts the in-process pub/sub channels');
    const listening = pubsub.channelCount;

    const growth = { rss: (after.rss - before.rss) / MB, heap: (after.heapUsed - before.heapUsed) / MB, peakRss: (peak.rss - before.rss) / MB, peakHeap: (peak.heapUsed - before.heapUsed) / MB };
    console.log(
      `slow consumer (${graphId}): ${n} events in ${elapsed} ms; rss ${(before.rss / MB).toFixed(1)} -> ${(after.rss / MB).toFixed(1)} MB (peak +${growth.peakRss.toFixed(1)}), ` +
        `heapUsed ${(before.heapUsed / MB).toFixed(1)} -> ${(after.heapUsed / MB).toFixed(1)} MB after gc (peak +${growth.peakHeap.toFixed(1)}); ` +
        `stalled socket: writableLength peak ${peak.writable} B, ${(bytesWritten(serverSockets[0]!) / MB).toFixed(2)} MB handed to the kernel`,
    );
    expect(growth.peakRss).toBeLessThan(200);
    expect(growth.peakHeap).toBeLessThan(200);
    expect(growth.heap).toBeLessThan(50);
    // Frames queue in user space only up to the socket's high-water mark (plus the frame that crossed it).
    expect(peak.writable).toBeLessThan(WRITE_HIGH_WATER + 16 * 1024);

    // Reading again, the client gets a gapless run of seqs 1..m, then the end of its stream.
    socket.resume();
    const end = await next((m) => m.id === 'slow' && (m.type === 'error' || m.type === 'complete'));
    const seqs = inbox.filter((m) => m.type === 'next').map(seqOf);
    const m = seqs.at(-1)!;
    console.log(`slow consumer (${graphId}): the stalled client, reading again, got seq 1..${m} then ${end.type}: ${JSON.stringify(end.payload ?? null)}`);
    expect(seqs).toEqual(Array.from({ length: m }, (_, i) => i + 1));
    // With 2 KB frames it must overflow; with small ones it depends on the kernel (here it does not).
    const fellBehind = end.type === 'error';
    if (graphId === 'flood-2k') expect(fellBehind).toBe(true);
    if (!fellBehind) {
      // The kernel took all but < bufferSize events: the stream was never too far behind.
      expect(end).toEqual({ id: 'slow', type: 'complete' });
      expect(m).toBe(n);
      expect(listening).toBe(1); // its stream still waited on the stuck write
    } else {
      // It fell behind while paused, and the server let go of it then, not when the client came back.
      expect(listening).toBe(0);
      expect(m).toBeLessThan(n - 10_000);
      expect(end).toEqual({
        id: 'slow',
        type: 'error',
        payload: [{ message: `subscriber fell behind run ${runId} by more than 10000 events; resume after seq ${m}`, extensions: { code: 'FELL_BEHIND', runId, resumeAfter: m } }],
      });
      const rest = follow(server.wsClient(), runId, m);
      expect(await rest.ended).toEqual({ how: 'complete' });
      expect(rest.events.map((e) => e.seq)).toEqual(Array.from({ length: n - m }, (_, i) => m + i + 1));
    }
    await sleep(20);
    expect(pubsub.channelCount).toBe(0);
  });
});

function bytesWritten(socket: Duplex): number {
  return (socket as Duplex & { bytesWritten: number }).bytesWritten;
}

function seqOf(message: Message): number {
  return (message.payload as { data: { runEvents: { seq: number } } }).data.runEvents.seq;
}

describe('a subscriber that stops reading its event stream (graphql-sse, distinct connections)', () => {
  it('ends with FELL_BEHIND in the stream, then complete, while a healthy subscriber gets everything', async () => {
    const server = await startTestServer();
    const start = gate();
    try {
      const { catalog } = server.app.services;
      registerHeldFlood(catalog, 'flood-2k', start.node, burst(EVENTS, 500, ' '.repeat(2_000)));
      const run = await server.app.services.engine.createRun('flood-2k', {});
      const execution = server.app.services.engine.execute(run.id);

      // The stalled subscriber: a bare HTTP request that reads until seq 3, then stops reading.
      let text = '';
      let wake: (() => void) | undefined;
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(server.sse, { method: 'POST', headers: { accept: 'text/event-stream', 'content-type': 'application/json' } }, resolve);
        req.on('error', reject);
        req.end(JSON.stringify({ query: QUERY, variables: { runId: run.id, after: 0 } }));
      });
      const ended = new Promise<void>((resolve) => response.once('end', resolve));
      response.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        wake?.();
      });
      while (!text.includes('"seq":2,')) await new Promise<void>((resolve) => (wake = resolve));
      response.pause();

      const healthy = follow(server.sseClient(), run.id, 0);
      await healthy.reach((e) => e.seq === 2);
      start.open();
      await execution;
      expect(await healthy.ended).toEqual({ how: 'complete' });
      const n = (await server.app.services.store.getRun(run.id))!.lastSeq;
      expect(healthy.events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));

      response.resume();
      await ended;
      const messages = text.split('\n\n').filter((m) => m.startsWith('event: '));
      const data = messages.filter((m) => m.startsWith('event: next')).map((m) => JSON.parse(m.slice('event: next\ndata: '.length)) as { data?: { runEvents: { seq: number } }; errors?: unknown });
      const seqs = data.filter((d) => d.data).map((d) => d.data!.runEvents.seq);
      const m = seqs.length;
      expect(seqs).toEqual(Array.from({ length: m }, (_, i) => i + 1));
      expect(m).toBeLessThan(n - 10_000);
      expect(data.at(-1)).toEqual({
        errors: [{ message: `subscriber fell behind run ${run.id} by more than 10000 events; resume after seq ${m}`, extensions: { code: 'FELL_BEHIND', runId: run.id, resumeAfter: m } }],
      });
      expect(messages.at(-1)).toBe('event: complete\ndata:');
    } finally {
      start.open();
      await server.stop();
    }
  });
});
