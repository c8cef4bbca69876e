import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlowcastClient, FlowcastError, type FlowcastClient } from '../../client/sdk/index.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { range } from './fixtures.ts';

/**
 * A proxy that blocks WebSockets must not leave a user blind: in 'auto' mode a subscription whose
 * WebSocket cannot connect goes over graphql-sse, and so does every later one.
 */

describe('WebSocket to SSE fallback', () => {
  let server: TestServer;
  let client: FlowcastClient | undefined;
  /** Requests the server got for the SSE endpoint. */
  let sseRequests: number;

  beforeEach(async () => {
    server = await startTestServer();
    sseRequests = 0;
    server.app.server.on('request', (req) => {
      if (req.url?.startsWith('/graphql/stream')) sseRequests++;
    });
  });
  afterEach(async () => {
    await client?.dispose();
    await server.stop();
  });

  async function followToTheEnd(c: FlowcastClient): Promise<number[]> {
    const run = await c.runGraph('fan-out', { speed: 0 });
    const seqs: number[] = [];
    for await (const event of c.runEvents(run.id)) seqs.push(event.seq);
    expect(seqs).toEqual(range(1, run.lastSeq));
    return seqs;
  }

  it('goes over SSE when the WebSocket upgrade is refused, and stays there', async () => {
    const reasons: unknown[] = [];
    // The server answers an upgrade on any other path than /graphql with HTTP 400, as a blocking proxy might.
    client = createFlowcastClient({ url: server.http, wsUrl: `${server.ws}-blocked`, webSocketImpl: WebSocket, onFallback: (reason) => reasons.push(reason) });
    expect(client.transport.active).toBe('ws');

    await followToTheEnd(client);
    expect(client.transport.active).toBe('sse');
    expect(reasons).toHaveLength(1);
    expect(sseRequests).toBe(1);

    // Later subscriptions go straight to SSE.
    await followToTheEnd(client);
    expect(reasons).toHaveLength(1);
    expect(sseRequests).toBe(2);
  });

  describe('when the upgrade is never answered', () => {
    let blackHole: Server;
    let held: Socket[];

    beforeEach(async () => {
      held = [];
      blackHole = createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    });
    afterEach(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    });

    it('goes over SSE after connectTimeoutMs', async () => {
      const reasons: unknown[] = [];
      const { port } = blackHole.address() as AddressInfo;
      client = createFlowcastClient({ url: server.http, wsUrl: `ws://127.0.0.1:${port}/graphql`, connectTimeoutMs: 200, webSocketImpl: WebSocket, onFallback: (reason) => reasons.push(reason) });
      await followToTheEnd(client);
      expect(held.length).toBeGreaterThan(0);
      expect(client.transport.active).toBe('sse');
      expect(reasons).toEqual([new Error(`no WebSocket connection to ws://127.0.0.1:${port}/graphql within 200 ms`)]);
      expect(sseRequests).toBe(1);
    });
  });

  it('goes over SSE at once when there is no WebSocket implementation', async () => {
    // Node 20 has no global WebSocket; this client is given none.
    client = createFlowcastClient({ url: server.http, ...((globalThis as { WebSocket?: unknown }).WebSocket ? { mode: 'sse' as const } : {}) });
    expect(client.transport.active).toBe('sse');
    await followToTheEnd(client);
    expect(sseRequests).toBe(1);
  });

  it('does not fall back in mode "ws": the stream gives up with DISCONNECTED', async () => {
    client = createFlowcastClient({ url: server.http, wsUrl: `${server.ws}-blocked`, mode: 'ws', webSocketImpl: WebSocket, retry: { initialDelayMs: 5, maxDelayMs: 20, attempts: 2 } });
    const run = await client.runGraph('fan-out', { speed: 0 });
    const error = await client.runEvents(run.id).next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowcastError);
    expect(error).toMatchObject({ code: 'DISCONNECTED' });
    expect(client.transport.active).toBe('ws');
    expect(sseRequests).toBe(0);
  });
});
