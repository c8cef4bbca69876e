import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { expectWellFormed, label } from '../utils/events.ts';
import { gqlAt, serveProcess, type ServerProcess } from '../utils/process.ts';
import { dropSchema, withClient } from '../utils/postgres.ts';
import { subscribe } from '../utils/server.ts';
import { requireService } from '../utils/services.ts';

/**
 * Crash recovery with real processes: a server runs a graph, is killed with SIGKILL mid-run, and a
 * new server on the same database takes the run up. Parameterised by where the runs are kept, so the
 * same test runs against every store the server can use: a target gives the server's environment
 * and a Store on the same data for checking what was stored. Another store is one more TARGETS entry.
 */
interface StoreTarget {
  name: string;
  /** Environment for the server process (e.g. FLOWCAST_DB), given a fresh temp dir. */
  env(dir: string): Record<string, string>;
  /** The same data, opened directly. */
  open(dir: string): Store | Promise<Store>;
  /** Before the first server starts, and after the test. */
  setUp?(dir: string): Promise<void>;
  tearDown?(dir: string): Promise<void>;
}

const databaseUrl = requireService('DATABASE_URL', 'crash recovery on PostgreSQL');
/** Each test's PostgreSQL schema, named after its temp dir; servers reach it through the URL's options. */
const schemaOf = (dir: string): string => `flowcast_crash_${basename(dir).replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
const urlFor = (dir: string): string => {
  const url = new URL(databaseUrl!);
  url.searchParams.set('options', `-c search_path=${schemaOf(dir)}`);
  return url.toString();
};

const TARGETS: StoreTarget[] = [
  { name: 'SQLite file', env: (dir) => ({ FLOWCAST_DB: join(dir, 'flowcast.db') }), open: (dir) => openSqliteStore(join(dir, 'flowcast.db')) },
  ...(databaseUrl === undefined
    ? []
    : [{
      name: 'PostgreSQL',
      env: (dir: string) => ({ DATABASE_URL: urlFor(dir) }),
      open: (dir: string) => openPostgresStore(databaseUrl, { schema: schemaOf(dir) }),
      setUp: (dir: string) => withClient(databaseUrl, undefined, async (client) => void (await client.query(`CREATE SCHEMA "${schemaOf(dir)}"`))),
      tearDown: (dir: string) => dropSchema(databaseUrl, schemaOf(dir)),
    }]),
];

const NODES = 8;
const DELAY_MS = 150;

/** n1 -> n2 -> … -> n8, delay nodes of 150 ms, each appending its id to `log`. */
const CHAIN = `mutation { createGraph(input: {id: "slow-chain", name: "Slow chain", entry: "n1",
  state: [{key: "log", reducer: APPEND, default: []}],
  nodes: [${Array.from({ length: NODES }, (_, i) => `{id: "n${i + 1}", kind: "delay", config: {ms: ${DELAY_MS}, update: {log: ["n${i + 1}"]}}}`).join(', ')}],
  edges: [${Array.from({ length: NODES }, (_, i) => `{from: "n${i + 1}", to: "${i + 1 === NODES ? 'END' : `n${i + 2}`}"}`).join(', ')}]}) { ... on Graph { id } ... on Error { message } } }`;

const FOLLOW = 'subscription($id: ID!, $after: Int) { runEvents(runId: $id, after: $after) { seq type ... on NodeStarted { nodeId } } }';

interface Seen {
  seq: number;
  type: string;
  nodeId?: string;
}

describe.each(TARGETS)('recovery after kill -9 ($name)', (target) => {
  let dir: string;
  const servers: ServerProcess[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-crash-'));
    await target.setUp?.(dir);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exit;
      }
    }
    await target.tearDown?.(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  function serve(): ServerProcess {
    const server = serveProcess({ ...target.env(dir), FLOWCAST_SHUTDOWN_GRACE_MS: '300' });
    servers.push(server);
    return server;
  }

  function follow(url: string, id: string, after: number, onEvent?: (event: Seen) => void): ReturnType<typeof subscribe<Seen>> {
    const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    return subscribe<Seen>(client, FOLLOW, { id, after }, 'runEvents', onEvent);
  }

  async function storedEvents(id: string): Promise<RunEvent[]> {
    const store = await target.open(dir);
    try {
      return await store.readEvents(id, 0, 10_000);
    } finally {
      await store.close();
    }
  }

  async function pollStatus(url: string, id: string, status: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const res = await gqlAt<{ run: { status: string } }>(url, 'query($id: ID!) { run(id: $id) { status } }', { id });
      if (res.data?.run.status === status) return;
      await sleep(20);
    }
    throw new Error(`run ${id} never became ${status}`);
  }

  it('a killed server\'s run is resumed by the next one: same final state, seq 1..n without gap or repeat, and a subscriber gets all it missed', async () => {
    const first = serve();
    const url = await first.url;
    expect((await gqlAt<{ createGraph: { id: string } }>(url, CHAIN)).data?.createGraph.id).toBe('slow-chain');
    const started = await gqlAt<{ startRun: { id: string } }>(url, 'mutation { startRun(graphId: "slow-chain") { ... on Run { id } } }');
    const id = started.data!.startRun.id;

    // Follow the run and kill the server the moment n4 starts: mid-run, with n4..n8 still to go.
    let killedAt = 0;
    const before = follow(url, id, 0, (event) => {
      if (killedAt === 0 && event.type === 'NodeStarted' && event.nodeId === 'n4') {
        killedAt = event.seq;
        first.child.kill('SIGKILL');
      }
    });
    const { items: seenBefore } = await before.done;
    expect(await first.exit).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    const lastSeen = seenBefore.at(-1)!.seq;
    expect(seenBefore.map((e) => e.seq)).toEqual(Array.from({ length: lastSeen }, (_, i) => i + 1));
    const atKill = await storedEvents(id);
    expect(atKill.some((e) => e.type === 'RunCompleted'), 'the run must still be going when the server is killed').toBe(false);
    expect(atKill.length).toBeGreaterThanOrEqual(lastSeen);

    // The next server takes it up at start; a subscriber resumes after the last seq it saw.
    const second = serve();
    const url2 = await second.url;
    const { items: seenAfter, error } = await follow(url2, id, lastSeen).done;
    expect(error).toBeUndefined();
    expect(second.output()).toContain('took up runs left unfinished by a previous process: 1 resumed or queued again, 0 still paused, 0 failed');

    const events = await storedEvents(id);
    expectWellFormed(events);
    expect(events.slice(0, atKill.length)).toEqual(atKill);
    expect(seenAfter.map((e) => [e.seq, e.type])).toEqual(events.slice(lastSeen).map((e) => [e.seq, e.type]));
    const notices = events.filter((e) => e.type === 'SystemNotice' && e.code === 'RECOVERY');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.seq).toBe(atKill.length + 1);
    // Nodes that completed before the checkpoint the kill left behind do not run again.
    const starts = events.filter((e) => e.type === 'NodeStarted').map(label);
    for (const node of ['n1', 'n2', 'n3']) expect(starts.filter((s) => s === `NodeStarted(${node})`)).toHaveLength(1);
    expect(new Set(starts)).toEqual(new Set(Array.from({ length: NODES }, (_, i) => `NodeStarted(n${i + 1})`)));

    const done = await gqlAt<{ run: { status: string; state: unknown; lastSeq: number; nodes: Array<{ status: string; iteration: number }> } }>(url2, 'query($id: ID!) { run(id: $id) { status state lastSeq nodes { status iteration } } }', { id });
    const uninterrupted = await gqlAt<{ runGraph: { status: string; state: unknown } }>(url2, 'mutation { runGraph(graphId: "slow-chain") { ... on Run { status state } } }');
    expect(uninterrupted.data!.runGraph.status).toBe('COMPLETED');
    expect(done.data!.run).toMatchObject({ status: 'COMPLETED', state: uninterrupted.data!.runGraph.state, lastSeq: events.length });
    expect(done.data!.run.state).toEqual({ log: Array.from({ length: NODES }, (_, i) => `n${i + 1}`) });
    expect(done.data!.run.nodes).toEqual(Array.from({ length: NODES }, () => ({ status: 'SUCCEEDED', iteration: 1 })));

    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  });

  it('a run PAUSED when the server is killed is PAUSED on the next one, and can be resumed there', async () => {
    const first = serve();
    const url = await first.url;
    await gqlAt(url, CHAIN);
    const started = await gqlAt<{ startRun: { id: string } }>(url, 'mutation { startRun(graphId: "slow-chain", options: {interruptBefore: ["n2"]}) { ... on Run { id } } }');
    const id = started.data!.startRun.id;
    await pollStatus(url, id, 'PAUSED');
    first.child.kill('SIGKILL');
    await first.exit;

    const second = serve();
    const url2 = await second.url;
    const paused = await gqlAt<{ run: { status: string; pause: unknown; breakpoints: unknown } }>(url2, 'query($id: ID!) { run(id: $id) { status pause { cause nodeId } breakpoints { nodeId when } } }', { id });
    expect(paused.data!.run).toEqual({ status: 'PAUSED', pause: { cause: 'BEFORE', nodeId: 'n2' }, breakpoints: [{ nodeId: 'n2', when: 'BEFORE' }] });
    const resumed = await gqlAt<{ resumeRun: { status: string } }>(url2, 'mutation($id: ID!) { resumeRun(id: $id, stateUpdate: {log: ["edited"]}) { ... on Run { status } ... on Error { message } } }', { id });
    expect(resumed.data!.resumeRun.status).toMatch(/^(RUNNING|COMPLETED)$/);
    await pollStatus(url2, id, 'COMPLETED');
    const done = await gqlAt<{ run: { state: { log: string[] } } }>(url2, 'query($id: ID!) { run(id: $id) { state } }', { id });
    expect(done.data!.run.state.log).toEqual(['n1', 'edited', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8']);
    const events = await storedEvents(id);
    expectWellFormed(events);
    expect(events.filter((e) => ['RunPaused', 'SystemNotice', 'RunResumed'].includes(e.type)).map((e) => e.type)).toEqual(['RunPaused', 'SystemNotice', 'RunResumed']);
  });
});
