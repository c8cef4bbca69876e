import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryPubSub } from '../../src/events/pubsub.ts';
import { sharedExecutionStats } from '../../src/server/shared.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END } from '../../src/graph/types.ts';
import { gate } from '../utils/streams.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';
import { rawWsClient } from '../utils/ws.ts';

/**
 * Live subscriptions write their own frames (WebSocket) and event-stream messages (SSE distinct
 * connections). These tests check the bytes with the real clients: payloads on both sides of each
 * WebSocket length encoding (7-bit, 16-bit, 64-bit), ids that need escaping, and that the frames
 * were written by the direct path at all (the subscribers were live when the events came).
 */

/** Payload sizes around the WebSocket frame header boundaries (125/126 and 65,535/65,536 bytes). */
const SIZES = [0, 40, 60, 200, 65_200, 65_600, 300_000];
const QUERY = 'subscription($id: ID!) { runEvents(runId: $id) { seq type ... on Progress { message nodeId } } }';

describe('subscriptions that write their own frames', () => {
  let s: TestServer;
  let open: () => void;
  beforeAll(async () => {
    s = await startTestServer();
    const start = gate();
    open = start.open;
    s.app.services.catalog.register(
      new GraphBuilder({ id: 'sizes', name: 'sizes' })
        .addNode('hold', start.node)
        .addNode('emit', (_state, ctx) => {
          for (const size of SIZES) ctx.progress(50, 'é'.repeat(size / 2) + 'x'.repeat(size % 2));
        })
        .setEntry('hold')
        .addEdge('hold', 'emit')
        .addEdge('emit', END)
        .compile(s.app.services.catalog.kinds),
    );
  });
  afterAll(() => s.stop());

  it('deliver every payload size intact over graphql-ws and graphql-sse, to subscribers that were live', async () => {
    const run = await s.app.services.engine.createRun('sizes', {});
    const pubsub = s.app.services.pubsub as MemoryPubSub;
    const ws = s.wsClient();
    const sse = s.sseClient();
    const subs = [
      subscribe<Item>(ws, QUERY, { id: run.id }, 'runEvents'),
      subscribe<Item>(sse, QUERY, { id: run.id }, 'runEvents'),
    ];
    const execution = s.app.services.engine.execute(run.id);
    // Both wait at `hold`, live, before any payload is published.
    while (pubsub.listenerCount('run', run.id) < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = sharedExecutionStats().pushed;
    open();
    await execution;
    const lastSeq = (await s.app.services.store.getRun(run.id))!.lastSeq;
    for (const sub of subs) {
      const { items } = await sub.done;
      expect(items.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      const messages = items.filter((e) => e.type === 'Progress' && e.nodeId === 'emit').map((e) => e.message);
      expect(messages).toEqual(SIZES.map((size) => 'é'.repeat(size / 2) + 'x'.repeat(size % 2)));
    }
    expect(sharedExecutionStats().pushed - before).toBeGreaterThanOrEqual(2 * SIZES.length);
  });

  it('escape the subscription id inside the frame (and send small frames with the 7-bit length)', async () => {
    const run = await s.app.services.engine.run('fan-out', {});
    const id = 'quote " backslash \\ ünï';
    const socket = await rawWsClient(s.ws);
    const query = 'subscription($id: ID!) { runEvents(runId: $id) { seq } }';
    socket.send({ id, type: 'subscribe', payload: { query, variables: { id: run.id } } });
    const messages = await socket.until((m) => m.type === 'complete');
    expect(messages.filter((m) => m.type === 'next').map((m) => m.id)).toEqual(Array.from({ length: run.lastSeq }, () => id));
    expect(messages.at(-1)).toEqual({ id, type: 'complete' });
    socket.close();
  });

  it('over SSE, an operation error arrives in the stream, then complete', async () => {
    const body = JSON.stringify({ query: 'subscription($id: ID!) { runEvents(runId: $id) { seq } }', variables: { id: 'run_missing' } });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(s.sse, { method: 'POST', headers: { accept: 'text/event-stream', 'content-type': 'application/json' } }, (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (out += chunk)).on('end', () => resolve(out));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(text).toContain('event: next\ndata: {"data":null,"errors":[{"message":"no run \\"run_missing\\""');
    expect(text.trimEnd().endsWith('event: complete\ndata:')).toBe(true);
  });
});

type Item = { seq: number; type: string; message?: string; nodeId?: string | null };
describe('graphql-sse request bodies', () => {
  it('refuses a body over FLOWCAST_WS_MAX_PAYLOAD with a 400 that says so, and keeps serving', async () => {
    const s = await startTestServer({ FLOWCAST_WS_MAX_PAYLOAD: '2048' });
    try {
      const post = (body: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = request(s.sse, { method: 'POST', headers: { accept: 'text/event-stream', 'content-type': 'application/json' } }, (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const big = await post(JSON.stringify({ query: `{ health { ok } } # ${'x'.repeat(4000)}` }));
      expect(big).toEqual({ status: 400, text: JSON.stringify({ errors: [{ message: 'request body is larger than 2048 bytes', extensions: { code: 'INVALID_INPUT' } }] }) });
      const small = await post(JSON.stringify({ query: '{ health { ok } }' }));
      expect(small.status).toBe(200);
      expect(small.text).toContain('event: next\ndata: {"data":{"health":{"ok":true}}}');
    } finally {
      await s.stop();
    }
  });
});
