import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlowcastClient, FlowcastError, type FlowcastClient, type Resubscribe, type RunEvent } from '../../client/sdk/index.ts';
import { sleep } from '../../src/common/async.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { burst, gate, registerHeldFlood } from '../utils/streams.ts';
import { createTickerGraph, range } from './fixtures.ts';

/**
 * How the SDK's run event streams handle a server that lets go of them (FELL_BEHIND), a consumer
 * that does not keep up, a consumer that stops, and errors that no reconnect can fix.
 */

const STREAM_BUFFER = 50;

describe.each([
  { transport: 'graphql-ws', mode: 'ws' as const },
  { transport: 'graphql-sse', mode: 'sse' as const },
])('run events over $transport', ({ mode }) => {
  let server: TestServer;
  let client: FlowcastClient;
  let start: ReturnType<typeof gate>;

  beforeEach(async () => {
    // The server's streams hold at most 50 live events for a subscriber whose socket does not drain.
    server = await startTestServer({}, {}, { streamBufferSize: STREAM_BUFFER });
    client = createFlowcastClient({ url: server.http, mode, webSocketImpl: WebSocket, retry: { initialDelayMs: 5, maxDelayMs: 50 } });
    start = gate();
    const { catalog } = server.app.services;
    registerHeldFlood(catalog, 'flood', start.node, burst(600));
  });
  afterEach(async () => {
    start.open();
    await client.dispose();
    await server.stop();
  });

  async function until(runId: string, status: string): Promise<number> {
    for (let i = 0; i < 1_000; i++) {
      const run = await client.getRun(runId);
      if (run?.status === status) return run.lastSeq;
      await sleep(10);
    }
    throw new Error(`run ${runId} never became ${status}`);
  }

  const channels = (): number => {
    const { pubsub } = server.app.services;
    if (!(pubsub instanceof MemoryPubSub)) throw new Error('this test counts the in-process pub/sub channels');
    return pubsub.channelCount;
  };

  it('resubscribes after resumeAfter when the server ends the stream with FELL_BEHIND, and misses nothing', async () => {
    const run = await client.startRun('flood');
    const resubscribes: Resubscribe[] = [];
    const stream = client.runEvents(run.id, { onResubscribe: (info) => resubscribes.push(info), bufferSize: 10_000 });
    const events: RunEvent[] = [];
    // RunQueued, RunStarted, NodeStarted(hold): caught up, the run waits at `hold`.
    for (let i = 0; i < 3; i++) events.push((await stream.next()).value!);
    expect(events.map((e) => e.type)).toEqual(['RunQueued', 'RunStarted', 'NodeStarted']);

    // Stall the server's writes to this subscriber: nothing it sends completes until uncorked.
    const sockets = server.streamSockets();
    expect(sockets).toHaveLength(1);
    sockets[0]!.cork();
    start.open();
    const n = await until(run.id, 'COMPLETED');
    // The stream overflowed its 50 events and let go of the run while the socket was stalled.
    for (let i = 0; i < 500 && channels() > 0; i++) await sleep(10);
    expect(channels()).toBe(0);
    sockets[0]!.uncork();

    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.seq)).toEqual(range(1, n));
    expect(events.at(-1)!.type).toBe('RunCompleted');
    const fellBehind = resubscribes.filter((r) => r.reason === 'fell-behind');
    expect(fellBehind).toHaveLength(1);
    expect(fellBehind[0]).toMatchObject({ delayMs: 0, error: { code: 'FELL_BEHIND', details: { code: 'FELL_BEHIND', runId: run.id } } });
    const m = fellBehind[0]!.after;
    expect(m).toBeGreaterThanOrEqual(3);
    expect(m).toBeLessThan(n - STREAM_BUFFER);
  });

  it('holds at most bufferSize events for a consumer that stops taking them, and lets the server go meanwhile', async () => {
    const run = await client.startRun('flood');
    start.open();
    const resubscribes: Resubscribe[] = [];
    const stream = client.runEvents(run.id, { bufferSize: 100, onResubscribe: (info) => resubscribes.push(info) });
    const first = await stream.next();
    expect(first.value!.seq).toBe(1);
    // The consumer takes nothing more until the run is over.
    const n = await until(run.id, 'COMPLETED');
    for (let i = 0; i < 500 && channels() > 0; i++) await sleep(10);
    expect(channels()).toBe(0);
    expect(stream.lastSeq).toBe(1);
    expect(resubscribes).toEqual([]);

    const rest: number[] = [];
    for await (const event of stream) rest.push(event.seq);
    expect([1, ...rest]).toEqual(range(1, n));
    // It stopped at 1 delivered + 100 held, and went on from there once half had been taken.
    expect(resubscribes[0]).toEqual({ reason: 'drained', after: 101, attempt: 0, delayMs: 0 });
    expect(resubscribes.every((r) => r.reason === 'drained')).toBe(true);
  });

  it('stops when the consumer breaks out of the loop or calls stop(), and the server lets go', async () => {
    const run = await client.startRun('flood');
    let taken = 0;
    for await (const event of client.runEvents(run.id)) {
      if (++taken === 3) {
        expect(event.type).toBe('NodeStarted');
        break;
      }
    }
    for (let i = 0; i < 500 && channels() > 0; i++) await sleep(10);
    expect(channels()).toBe(0);

    const seen: string[] = [];
    const watch = client.watchRun(run.id, { onEvent: (event) => void seen.push(event.type) });
    for (let i = 0; i < 500 && seen.length < 3; i++) await sleep(10);
    expect(channels()).toBe(1);
    watch.stop();
    expect(await watch.done).toBeUndefined();
    for (let i = 0; i < 500 && channels() > 0; i++) await sleep(10);
    expect(channels()).toBe(0);
    expect(seen).toEqual(['RunQueued', 'RunStarted', 'NodeStarted']);
  });

  it('ends with RUN_NOT_FOUND for an unknown run, without retrying', async () => {
    const resubscribes: Resubscribe[] = [];
    const error = await client.watchRun('run_missing', { onEvent: () => undefined, onResubscribe: (info) => resubscribes.push(info) }).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowcastError);
    expect(error).toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(resubscribes).toEqual([]);
  });

  it('ends with nothing when resuming a finished run after its last seq, and with the rest from before it', async () => {
    const graphId = await createTickerGraph(server, 3);
    const run = await client.runGraph(graphId);
    const n = run.lastSeq;
    const nothing: number[] = [];
    expect(await client.watchRun(run.id, { after: n, onEvent: (e) => void nothing.push(e.seq) }).done).toBeUndefined();
    expect(nothing).toEqual([]);
    const tail: number[] = [];
    for await (const event of client.runEvents(run.id, { after: n - 2 })) tail.push(event.seq);
    expect(tail).toEqual([n - 1, n]);
  });

  it('gives up with DISCONNECTED after `attempts` failed reconnects in a row', async () => {
    const graphId = await createTickerGraph(server, 3);
    const run = await client.runGraph(graphId);
    const url = server.http;
    await server.stop();
    const resubscribes: Resubscribe[] = [];
    const offline = createFlowcastClient({ url, mode, webSocketImpl: WebSocket, retry: { initialDelayMs: 5, maxDelayMs: 20, attempts: 3 } });
    const error = await offline.watchRun(run.id, { onEvent: () => undefined, onResubscribe: (info) => resubscribes.push(info) }).done.catch((e: unknown) => e);
    await offline.dispose();
    server = await startTestServer();
    expect(error).toMatchObject({ name: 'FlowcastError', code: 'DISCONNECTED', details: { runId: run.id, after: 0 } });
    expect((error as Error).cause).toBeDefined();
    expect(resubscribes.map((r) => [r.reason, r.attempt])).toEqual([
      ['disconnected', 1],
      ['disconnected', 2],
      ['disconnected', 3],
    ]);
  });
});
