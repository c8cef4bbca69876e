import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlowcastClient, type FlowcastClient, type Resubscribe, type RunEvent } from '../../client/sdk/index.ts';
import { sleep } from '../../src/common/async.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { createTickerGraph, range, recordingWebSocket, seededRandom } from './fixtures.ts';

/**
 * The SDK's run event streams over a run of more than 1,000 events while the server side cuts the
 * connection at random points (after a random number of events, and at random times), over
 * graphql-ws ('auto' mode) and over graphql-sse alone. Whatever the cuts, the events delivered are
 * seq 1..n (or after+1..n), each once, in order, and the stream ends after the terminal event.
 *
 * The cut points come from a seeded PRNG; the seed is in every assertion message, and
 * FLOWCAST_TEST_SEED=<seed> repeats a run.
 */

const ITERATIONS = 130;

describe.each([
  { transport: 'graphql-ws', mode: 'auto' as const },
  { transport: 'graphql-sse', mode: 'sse' as const },
])('run events over $transport with connections cut server-side', ({ mode }) => {
  let server: TestServer;
  let client: FlowcastClient;
  let graphId: string;
  let seed: number;
  let random: () => number;

  beforeEach(async () => {
    server = await startTestServer();
    graphId = await createTickerGraph(server, ITERATIONS);
    client = createFlowcastClient({ url: server.http, mode, webSocketImpl: WebSocket, retry: { initialDelayMs: 5, maxDelayMs: 100, attempts: 50 } });
    seed = Number(process.env['FLOWCAST_TEST_SEED'] ?? Math.floor(Math.random() * 1_000_000));
    random = seededRandom(seed);
  });
  afterEach(async () => {
    await client.dispose();
    await server.stop();
  });

  /**
   * Cuts every stream connection after a random number of events (6 times, spread over the first
   * `span`, which must not be more than the stream will deliver) and at random times (4 times,
   * 20–150 ms apart, from the first event on).
   */
  function cutter(span = 999) {
    let cuts = 0;
    const thresholds = Array.from({ length: 6 }, () => 1 + Math.floor(random() * span)).sort((a, b) => a - b);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timed = 0;
    const cutLater = () => {
      timer = setTimeout(() => {
        cuts += server.cutStreams();
        if (++timed < 4) cutLater();
      }, 20 + Math.floor(random() * 130));
    };
    return {
      /** Call after each event delivered, with how many have been. */
      delivered(count: number) {
        if (count === 1) cutLater();
        while (thresholds.length > 0 && count >= thresholds[0]!) {
          thresholds.shift();
          cuts += server.cutStreams();
        }
      },
      stop: () => clearTimeout(timer),
      get cuts() {
        return cuts;
      },
    };
  }

  async function finished(runId: string): Promise<number> {
    const run = await client.getRun(runId);
    expect(run?.status).toBe('COMPLETED');
    return run!.lastSeq;
  }

  it('for await gets seq 1..n exactly once, in order, and the loop ends after RunCompleted', async () => {
    const run = await client.startRun(graphId);
    const resubscribes: Resubscribe[] = [];
    const cuts = cutter();
    const events: RunEvent[] = [];
    for await (const event of client.runEvents(run.id, { onResubscribe: (info) => resubscribes.push(info) })) {
      events.push(event);
      cuts.delivered(events.length);
    }
    cuts.stop();

    const n = await finished(run.id);
    const why = `seed ${seed}, ${cuts.cuts} connections cut, resubscribed ${JSON.stringify(resubscribes.map((r) => [r.reason, r.after]))}`;
    expect(n, why).toBeGreaterThanOrEqual(1_000);
    expect(events.map((e) => e.seq), why).toEqual(range(1, n));
    expect(events.at(-1)!.__typename, why).toBe('RunCompleted');
    expect(events.filter((e) => e.__typename === 'RunCompleted'), why).toHaveLength(1);
    expect(cuts.cuts, why).toBeGreaterThan(0);
    expect(resubscribes.filter((r) => r.reason === 'disconnected').length, why).toBeGreaterThan(0);
    // Each resubscription asked for the events after the last one it had.
    for (const r of resubscribes) expect(r.after, why).toBeLessThan(n);
    // A WebSocket that connected once and then dropped is no reason to leave it.
    expect(client.transport.active).toBe(mode === 'sse' ? 'sse' : 'ws');
  });

  it('watchRun from after: k, with an onEvent that sometimes waits, gets k+1..n exactly once and resolves with the terminal event', async () => {
    const run = await client.startRun(graphId);
    // Resume from a point the run has passed, as a client that saw 1..k before would.
    let { lastSeq } = (await client.getRun(run.id))!;
    for (let i = 0; i < 200 && lastSeq < 50; i++) ({ lastSeq } = (await sleep(10).then(() => client.getRun(run.id)))!);
    const k = 1 + Math.floor(random() * Math.min(lastSeq, 300));
    // The stream delivers n - k events, at least 1,045 - 300: cut within those, so some cut always happens.
    const cuts = cutter(700);
    const seqs: number[] = [];
    const terminal = await client.watchRun(run.id, {
      after: k,
      onEvent: async (event) => {
        seqs.push(event.seq);
        cuts.delivered(seqs.length);
        if (random() < 0.05) await sleep(1);
      },
    }).done;
    cuts.stop();

    const n = await finished(run.id);
    const why = `seed ${seed}, after ${k}, ${cuts.cuts} connections cut`;
    expect(seqs, why).toEqual(range(k + 1, n));
    expect(terminal, why).toMatchObject({ __typename: 'RunCompleted', seq: n, runId: run.id, finalState: { n: ITERATIONS } });
    expect(cuts.cuts, why).toBeGreaterThan(0);
  });
});

describe('run events over graphql-ws when the server closes the socket normally (1000)', () => {
  let server: TestServer;
  let client: FlowcastClient;

  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await client.dispose();
    await server.stop();
  });

  // graphql-ws reconnects by itself after a 1000 close while subscriptions are active, and
  // subscribes again with the original variables: the server replays everything after the original
  // `after`. The stream must drop what it has already delivered.
  it('drops the events that graphql-ws makes the server replay, and still delivers 1..n once each', async () => {
    const graphId = await createTickerGraph(server, ITERATIONS);
    const recording = recordingWebSocket();
    client = createFlowcastClient({ url: server.http, mode: 'ws', webSocketImpl: recording.WebSocket });
    const run = await client.startRun(graphId);
    const resubscribes: Resubscribe[] = [];
    const seqs: number[] = [];
    const closeAt = new Set([150, 400, 700]);
    for await (const event of client.runEvents(run.id, { onResubscribe: (info) => resubscribes.push(info) })) {
      seqs.push(event.seq);
      // A close frame, code 1000, written by the server side.
      if (closeAt.has(seqs.length)) for (const socket of server.streamSockets()) socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    }
    const n = (await client.getRun(run.id))!.lastSeq;
    expect(seqs).toEqual(range(1, n));
    expect(recording.sockets.length).toBe(4);
    // More events arrived than were delivered: the replays, dropped.
    expect(recording.nextMessages).toBeGreaterThan(n + 150);
    // graphql-ws reconnected on its own; the stream itself never had to.
    expect(resubscribes).toEqual([]);
  });
});
