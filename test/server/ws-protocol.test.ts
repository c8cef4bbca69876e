import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sleep } from '../../src/common/async.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { gate, registerHeldFlood, burst } from '../utils/streams.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';
import { rawWsClient, type Message } from '../utils/ws.ts';

/**
 * graphql-transport-ws rules (graphql-ws PROTOCOL.md) on the paths Flowcast serves itself rather
 * than through graphql-ws's makeServer: subscription operations (src/server/ws-subscriptions.ts)
 * and the connection_init timeout. Raw `ws` clients check the exact messages and close codes; the
 * real graphql-ws client checks that it all fits together. (A stream that fails, FELL_BEHIND, is
 * checked message for message in slow-consumer.test.ts.)
 */

const EVENTS = 'subscription($id: ID!) { runEvents(runId: $id) { seq type } }';
const seqOf = (m: Message): number => (m.payload as { data: { runEvents: { seq: number } } }).data.runEvents.seq;


describe('graphql-transport-ws subscriptions', () => {
  let s: TestServer;
  let pubsub: MemoryPubSub;
  const opens: Array<() => void> = [];
  beforeAll(async () => {
    s = await startTestServer();
    if (!(s.app.services.pubsub instanceof MemoryPubSub)) throw new Error('these tests count the in-process pub/sub listeners');
    pubsub = s.app.services.pubsub;
  });
  afterAll(async () => {
    for (const open of opens) open();
    await s.stop();
  });

  /** A run of a fresh graph that waits at `hold` (2 events so far) until `open()`, then emits 5 Progress events. */
  async function heldRun(): Promise<{ runId: string; open(): void; done: Promise<unknown> }> {
    const start = gate();
    opens.push(start.open);
    const graphId = `held-${opens.length}`;
    registerHeldFlood(s.app.services.catalog, graphId, start.node, burst(5));
    const { engine } = s.app.services;
    const run = await engine.createRun(graphId, {});
    const done = engine.execute(run.id);
    while ((engine.snapshot(run.id)?.lastSeq ?? 0) < 2) await sleep(5);
    return { runId: run.id, open: start.open, done };
  }

  const listeners = (runId: string): number => pubsub.listenerCount('run', runId);
  async function until(test: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !test(); i++) await sleep(10);
    expect(test()).toBe(true);
  }

  it('sends each event as `next`, then `complete` after the terminal one, and nothing more', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    client.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    await until(() => listeners(run.runId) === 1);
    run.open();
    await run.done;
    const messages = await client.until((m) => m.type === 'complete');
    const lastSeq = (await s.app.services.store.getRun(run.runId))!.lastSeq;
    expect(messages.slice(0, -1).map((m) => [m.id, m.type, seqOf(m)])).toEqual(Array.from({ length: lastSeq }, (_, i) => ['a', 'next', i + 1]));
    expect(messages.at(-1)).toEqual({ id: 'a', type: 'complete' });
    expect(await client.flush()).toEqual([]);
    expect(listeners(run.runId)).toBe(0);
    client.socket.close();
  });

  it('closes the socket with 4409 when a subscribe reuses an id that is in use, and lets go of its streams', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    client.send({ id: 'dup', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    await client.until((m) => m.type === 'next' && seqOf(m) === 2);
    client.send({ id: 'dup', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    expect(await client.closed).toEqual({ code: 4409, reason: 'Subscriber for dup already exists' });
    await until(() => listeners(run.runId) === 0);
  });

  it('closes the socket with 4409 for a subscription that reuses the id of one still being set up', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    const subscribeMessage = JSON.stringify({ id: 'x', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    client.socket.send(subscribeMessage);
    client.socket.send(subscribeMessage);
    expect(await client.closed).toEqual({ code: 4409, reason: 'Subscriber for x already exists' });
    await until(() => listeners(run.runId) === 0);
  });

  it('closes the socket with 4401 for a subscribe before connection_ack', async () => {
    const client = await rawWsClient(s.ws, false);
    client.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { events { seq } }' } });
    expect(await client.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('stops a stream the client completes: no `complete` back, nothing more for it, its listener gone, its id free again', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    client.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    await client.until((m) => m.type === 'next' && seqOf(m) === 2);
    client.send({ id: 'a', type: 'complete' });
    await until(() => listeners(run.runId) === 0);
    expect(await client.flush()).toEqual([]);

    client.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    await until(() => listeners(run.runId) === 1);
    run.open();
    await run.done;
    const messages = await client.until((m) => m.type === 'complete');
    const lastSeq = (await s.app.services.store.getRun(run.runId))!.lastSeq;
    expect(messages.slice(0, -1).map(seqOf)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(messages.at(-1)).toEqual({ id: 'a', type: 'complete' });
    expect(await client.flush()).toEqual([]);
    client.socket.close();
  });

  it('lets go of a stream the client completes while it is still being set up', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    client.socket.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } }));
    client.socket.send(JSON.stringify({ id: 'a', type: 'complete' }));
    await sleep(50);
    const after = await client.flush();
    expect(after.filter((m) => m.type !== 'next')).toEqual([]);
    expect(listeners(run.runId)).toBe(0);
    client.socket.close();
  });

  it('answers a subscription whose set-up fails with one `next` carrying the error, then `complete`; the socket stays up', async () => {
    const client = await rawWsClient(s.ws);
    client.send({ id: 'gone', type: 'subscribe', payload: { query: EVENTS, variables: { id: 'run_nope' } } });
    const messages = await client.until((m) => m.type === 'complete');
    expect(messages).toEqual([
      { id: 'gone', type: 'next', payload: { data: null, errors: [expect.objectContaining({ message: 'no run "run_nope"', path: ['runEvents'], extensions: expect.objectContaining({ code: 'RUN_NOT_FOUND' }) })] } },
      { id: 'gone', type: 'complete' },
    ]);
    client.send({ id: 'q', type: 'subscribe', payload: { query: '{ health { ok } }' } });
    expect(await client.until((m) => m.type === 'complete')).toEqual([
      { id: 'q', type: 'next', payload: { data: { health: { ok: true } } } },
      { id: 'q', type: 'complete' },
    ]);
    client.socket.close();
  });

  it('answers an invalid subscription with `error` and no `complete`; the socket stays up', async () => {
    const client = await rawWsClient(s.ws);
    client.send({ id: 'bad', type: 'subscribe', payload: { query: 'subscription { runEvents(runId: "r") { nope } }' } });
    const [error] = await client.until((m) => m.id === 'bad');
    expect(error).toEqual({ id: 'bad', type: 'error', payload: [expect.objectContaining({ message: expect.stringContaining('Cannot query field "nope" on type "RunEvent".'), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })] });
    expect(await client.flush()).toEqual([]);
    client.socket.close();
  });

  it('serves a stream that does not write itself (events) the same way, until the client completes it', async () => {
    const client = await rawWsClient(s.ws);
    client.send({ id: 'all', type: 'subscribe', payload: { query: 'subscription { events(filter: {graphId: "fan-out", types: [RunCompleted]}) { type runId } }' } });
    await until(() => pubsub.listenerCount('all', '*') === 1);
    const run = await s.app.services.engine.run('fan-out', { speed: 0 });
    const [next] = await client.until((m) => m.id === 'all');
    expect(next).toEqual({ id: 'all', type: 'next', payload: { data: { events: { type: 'RunCompleted', runId: run.id } } } });
    client.send({ id: 'all', type: 'complete' });
    await until(() => pubsub.listenerCount('all', '*') === 0);
    expect(await client.flush()).toEqual([]);
    client.socket.close();
  });

  it('lets go of every stream of a socket that closes', async () => {
    const run = await heldRun();
    const client = await rawWsClient(s.ws);
    client.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    client.send({ id: 'b', type: 'subscribe', payload: { query: EVENTS, variables: { id: run.runId } } });
    client.send({ id: 'c', type: 'subscribe', payload: { query: 'subscription { events { seq } }' } });
    await until(() => listeners(run.runId) === 2 && pubsub.listenerCount('all', '*') === 1);
    client.socket.close();
    await until(() => listeners(run.runId) === 0 && pubsub.listenerCount('all', '*') === 0);
  });

  it('closes a socket that sends no connection_init within 3 s with 4408', async () => {
    const client = await rawWsClient(s.ws, false);
    const t0 = Date.now();
    expect(await client.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(Date.now() - t0).toBeGreaterThan(2_500);
  }, 10_000);

  it('keeps a socket that did send connection_init open past 3 s', async () => {
    const client = await rawWsClient(s.ws);
    await sleep(3_200);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(await client.flush()).toEqual([]);
    client.socket.close();
  }, 10_000);

  it('works for the graphql-ws client: queries and subscriptions side by side on one socket, and unsubscribing lets go', async () => {
    const run = await heldRun();
    const client = s.wsClient();
    const seen: number[] = [];
    const live = subscribe<{ seq: number }>(client, EVENTS, { id: run.runId }, 'runEvents', (e) => seen.push(e.seq));
    const left = subscribe<{ seq: number }>(client, EVENTS, { id: run.runId }, 'runEvents');
    await until(() => listeners(run.runId) === 2);
    const health = await subscribe<{ ok: boolean }>(client, '{ health { ok } }', {}, 'health').done;
    expect(health).toEqual({ items: [{ ok: true }], error: undefined });
    left.cancel();
    await until(() => listeners(run.runId) === 1);
    run.open();
    await run.done;
    const { items, error } = await live.done;
    expect(error).toBeUndefined();
    const lastSeq = (await s.app.services.store.getRun(run.runId))!.lastSeq;
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(seen).toHaveLength(lastSeq);
  });
});
