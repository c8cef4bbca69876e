import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/server/config.ts';
import { startTestServer, subscribe, type TestServer } from '../utils/server.ts';

/** A raw graphql-transport-ws socket that queues what it receives. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; next(): Promise<Record<string, unknown>>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  const queue: Array<Record<string, unknown>> = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    queue.push(JSON.parse(String(data)) as Record<string, unknown>);
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    async next() {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return queue.shift()!;
    },
  };
}

describe('robustness of the transports', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ FLOWCAST_WS_MAX_PAYLOAD: '4096' });
  });
  afterAll(() => s.stop());

  it('closes a socket that sends a malformed message with 4400, and stays up for others', async () => {
    const raw = await rawSocket(s.ws);
    raw.ws.send('{"type": "connection_init"}');
    expect(await raw.next()).toEqual({ type: 'connection_ack' });
    raw.ws.send('this is not json');
    expect((await raw.closed).code).toBe(4400);
    expect((await s.gql('{ health { ok } }')).data).toEqual({ health: { ok: true } });
  });

  it('refuses a subscribe before connection_init with 4401', async () => {
    const raw = await rawSocket(s.ws);
    raw.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ health { ok } }' } }));
    expect((await raw.closed).code).toBe(4401);
  });

  it('closes a socket whose message exceeds the maximum payload (1009)', async () => {
    const raw = await rawSocket(s.ws);
    raw.ws.send(JSON.stringify({ type: 'connection_init', payload: { junk: 'x'.repeat(10_000) } }));
    expect((await raw.closed).code).toBe(1009);
  });

  it('rejects an operation past the query limits with an error for that operation only; the socket and its other subscriptions go on', async () => {
    const client = s.wsClient();
    const run = await s.app.services.engine.createRun('fan-out', { speed: 0.5 });
    const healthy = subscribe<{ seq: number }>(client, 'subscription($id: ID!) { runEvents(runId: $id) { seq } }', { id: run.id }, 'runEvents');
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: health { ok }`).join(' ');
    const rejected = await subscribe(client, `query { ${aliases} }`, {}, 'health').done;
    expect(JSON.stringify(rejected.error)).toMatch(/aliases/i);
    await s.app.services.engine.execute(run.id);
    const { items, error } = await healthy.done;
    expect(error).toBeUndefined();
    expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
  });

  it('applies the same query limits over SSE', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: health { ok }`).join(' ');
    const { items, error } = await subscribe(s.sseClient(), `query { ${aliases} }`, {}, 'health').done;
    expect(items).toEqual([]);
    expect(JSON.stringify(error)).toMatch(/Aliases limit of 30 exceeded/);
  });

  it('serves GraphiQL at /graphql to a browser, set up for subscriptions over WebSocket', async () => {
    const response = await fetch(s.http, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<title>Flowcast</title>');
    expect(html).toMatch(/subscriptionsProtocol":\s*"WS"/);
  });
});

describe('configuration from the environment', () => {
  it('uses defaults', () => {
    expect(loadConfig({})).toMatchObject({ host: '127.0.0.1', port: 4000, dbPath: 'data/flowcast.db', workers: 4, httpAllowlist: [] });
  });

  it('picks PostgreSQL only for a postgres:// or postgresql:// DATABASE_URL', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: '  ' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: ' postgres://flowcast@db:5432/flowcast ' }).databaseUrl).toBe('postgres://flowcast@db:5432/flowcast');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/flowcast' }).databaseUrl).toBe('postgresql://db/flowcast');
  });

  it('says what a DATABASE_URL should look like, without showing its password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/flowcast', PORT: '-1' })).toThrow(
      'bad configuration: PORT="-1" must be an integer from 0 to 65535; DATABASE_URL="mysql://root:***@db/flowcast" must be a PostgreSQL URL starting with postgres:// or postgresql://, e.g. postgres://user:password@127.0.0.1:5432/flowcast',
    );
    for (const bad of ['127.0.0.1:5432', 'postgres://', 'postgres://[::1', '/var/run/postgresql']) {
      expect(() => loadConfig({ DATABASE_URL: bad })).toThrow(/DATABASE_URL=.* must be a PostgreSQL URL starting with postgres:\/\/ or postgresql:\/\//);
    }
  });

  it('reads FLOWCAST_RETENTION as a duration, 7 days by default, off for never, and sweeps a tenth as often (100 ms to 1 h)', () => {
    const read = (value?: string): [number | null, number] => {
      const config = loadConfig(value === undefined ? {} : { FLOWCAST_RETENTION: value });
      return [config.retentionMs, config.retentionSweepMs];
    };
    expect(read()).toStrictEqual([604_800_000, 3_600_000]);
    expect(read('7d')).toStrictEqual([604_800_000, 3_600_000]);
    expect(read(' 12H ')).toStrictEqual([43_200_000, 3_600_000]);
    expect(read('30m')).toStrictEqual([1_800_000, 180_000]);
    expect(read('90s')).toStrictEqual([90_000, 9_000]);
    expect(read('5000')).toStrictEqual([5_000, 500]);
    expect(read('1500ms')).toStrictEqual([1_500, 150]);
    expect(read('1s')).toStrictEqual([1_000, 100]);
    expect(read('off')[0]).toBeNull();
    for (const bad of ['7 days', '0', '999ms', '1.5h', '-1d', '36501d', '1w', 'forever']) {
      expect(() => loadConfig({ FLOWCAST_RETENTION: bad })).toThrow(
        `bad configuration: FLOWCAST_RETENTION=${JSON.stringify(bad)} must be a duration from 1s to 36500d, such as 7d, 12h, 30m, 90s or 5000 (ms), or off to keep finished runs forever`,
      );
    }
  });

  it('reads FLOWCAST_LARGE_PAYLOAD_BYTES, 256 KiB by default', () => {
    expect(loadConfig({}).largePayloadBytes).toBe(262_144);
    expect(loadConfig({ FLOWCAST_LARGE_PAYLOAD_BYTES: '1048576' }).largePayloadBytes).toBe(1_048_576);
    for (const bad of ['100', '256KB', '2.5', '2000000000']) {
      expect(() => loadConfig({ FLOWCAST_LARGE_PAYLOAD_BYTES: bad })).toThrow(`bad configuration: FLOWCAST_LARGE_PAYLOAD_BYTES=${JSON.stringify(bad)} must be an integer from 1024 to 1073741824`);
    }
  });

  it('names every bad variable and what it should be', () => {
    expect(() => loadConfig({ PORT: 'eighty', FLOWCAST_WORKERS: '0' })).toThrow(
      'bad configuration: PORT="eighty" must be an integer from 0 to 65535; FLOWCAST_WORKERS="0" must be an integer from 1 to 256',
    );
  });
});
