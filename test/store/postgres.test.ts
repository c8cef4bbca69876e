import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { yieldToEventLoop } from '../../src/common/async.ts';
import { GraphCatalog } from '../../src/engine/catalog.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import { newNodeSnapshot, type RunRecord, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { demoGraphs } from '../../src/graph/demos.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { EventLog } from '../../src/store/log.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.ts';
import { runParams, toEventData } from '../../src/store/rows.ts';
import type { Store } from '../../src/store/types.ts';
import { expectWellFormed } from '../utils/events.ts';
import { dropSchema, freshSchema, withClient } from '../utils/postgres.ts';
import { requireService } from '../utils/services.ts';
import { makeEvent, makeEvents, makeNode, makeRun, makeStoredApart } from './fixtures.ts';
import { expectAppError, runStoreSpec } from './spec.ts';

const url = requireService('DATABASE_URL', 'the PostgreSQL store tests');

describe('PostgreSQL store: bad configuration', () => {
  it('refuses a URL of another database with INVALID_CONFIG, without showing its password', async () => {
    const error = await expectAppError(openPostgresStore('mysql://root:hunter2@127.0.0.1/test'), 'INVALID_CONFIG', /must start with postgres:\/\/ or postgresql:\/\//);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses a schema name that is not a plain lowercase identifier', async () => {
    for (const schema of ['', 'Upper', '1st', 'a-b', 'x"; DROP SCHEMA public; --', 'a'.repeat(64)]) {
      await expectAppError(openPostgresStore('postgres://127.0.0.1:1/none', { schema }), 'INVALID_CONFIG', /schema .* must be lowercase letters/);
    }
  });

  it('refuses a pool without connections', async () => {
    for (const poolSize of [0, -1, 1.5, Number.NaN]) {
      await expectAppError(openPostgresStore('postgres://127.0.0.1:1/none', { poolSize }), 'INVALID_CONFIG', /poolSize must be an integer of 1 or more/);
    }
  });

  it('says which server it cannot reach, without its password', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const error = await expectAppError(openPostgresStore('postgres://flowcast:hunter2@127.0.0.1:1/none'), 'INVALID_CONFIG', /cannot open the PostgreSQL store at postgres:\/\/flowcast:\*\*\*@127\.0\.0\.1:1\/none/);
    expect(error.message).not.toContain('hunter2');
  });
});

describe.skipIf(url === undefined)('PostgreSQL store', () => {
  const databaseUrl = url ?? '';

  let specSchema = '';
  runStoreSpec(
    'PostgreSQL',
    function openInFreshSchema() {
      specSchema = freshSchema();
      return openPostgresStore(databaseUrl, { schema: specSchema });
    },
    () => dropSchema(databaseUrl, specSchema),
  );

  let schema = '';
  const opened: Store[] = [];
  /** A store on this test's schema, closed after the test. */
  async function open(): Promise<PostgresStore> {
    const store = await openPostgresStore(databaseUrl, { schema, poolSize: 4 });
    opened.push(store);
    return store;
  }
  const sql = <T extends object>(text: string, values: unknown[] = []): Promise<T[]> =>
    withClient(databaseUrl, schema, async (client) => (await client.query<T & Record<string, unknown>>(text, values)).rows);
  const appliedMigrations = (): Promise<unknown[]> => sql('SELECT version, name, applied_at FROM schema_migrations ORDER BY version');

  beforeEach(() => {
    schema = freshSchema();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await dropSchema(databaseUrl, schema);
  });

  it('reads its migration files in version order', () => {
    const migrations = loadMigrations('postgres');
    expect(migrations.map((m) => [m.version, m.name])).toStrictEqual([[1, 'init'], [2, 'run_keys'], [3, 'run_finished_at'], [4, 'blobs']]);
    expect(migrations[0]?.sql).toMatch(/CREATE TABLE events/);
  });

  it('finds the finished runs of a database written before retention once it has migrated it', async () => {
    // A schema at version 2, the last before retention, with runs as earlier versions wrote them:
    // `older` as the first did (finishedAt the last key of data), `old` as the second does. The
    // \u0000 in data is what a json operator would refuse.
    const state = { note: '"finishedAt":null}', nul: '\u0000' };
    // Fields the first version did not have read back as their neutral values.
    const older = makeRun({ status: 'FAILED', finishedAt: '1970-01-01T00:00:01.000Z', state, graphHash: null });
    const old = makeRun({ status: 'COMPLETED', finishedAt: '1970-01-01T00:00:02.000Z', state });
    const running = makeRun({ status: 'RUNNING' });
    await withClient(databaseUrl, undefined, (client) => client.query(`CREATE SCHEMA "${schema}"`));
    await sql('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
    for (const migration of loadMigrations('postgres').slice(0, 2)) {
      await sql(migration.sql);
      await sql('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [migration.version, migration.name, '']);
    }
    for (const run of [older, old, running]) {
      const [id, graphId, status, priority, data, createdAt, updatedAt] = runParams(run);
      const written = run === older ? firstVersionData(run) : data;
      await sql(`WITH r AS (INSERT INTO runs (id, graph_id, status, priority, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING no)
        INSERT INTO events (run_no, seq, type, data) SELECT no, 1, 'Progress', $8 FROM r`, [id, graphId, status, priority, written, createdAt, updatedAt, toEventData(makeEvent(run.id, 1, 'Progress'), run.graphId)]);
    }
    const store = await open();
    expect(await store.getRun(old.id)).toStrictEqual(old);
    expect(await store.getRun(older.id)).toStrictEqual(older);
    expect(await store.deleteFinishedBefore('1970-01-02T00:00:00.000Z', 10)).toBe(2);
    for (const run of [older, old]) {
      expect(await store.getRun(run.id)).toBeUndefined();
      expect(await store.readEvents(run.id, 0, 10)).toStrictEqual([]);
    }
    expect(await store.getRun(running.id)).toStrictEqual(running);
    expect(await store.readEvents(running.id, 0, 10)).toStrictEqual([makeEvent(running.id, 1, 'Progress')]);
  });

  it('creates its schema and records every migration it applies, once, across close and reopen', async () => {
    const run = makeRun();
    const events = makeEvents(run.id, 1, 5);
    const first = await open();
    expect(first.schema).toBe(schema);
    await first.createRun(run, [makeNode('a')]);
    await first.commit({ events, runs: [], nodes: [], checkpoints: [] });
    await first.close();
    const applied = await appliedMigrations();
    expect(applied).toMatchObject(loadMigrations('postgres').map((m) => ({ version: m.version, name: m.name })));

    const second = await open();
    expect(await second.getRun(run.id)).toStrictEqual(run);
    expect(await second.getNodes(run.id)).toStrictEqual([makeNode('a')]);
    expect(await second.readEvents(run.id, 0, 10)).toStrictEqual(events);
    expect(await appliedMigrations()).toStrictEqual(applied);
  });

  it('keeps a large update in one blob row, however many events refer to it, and their rows small', async () => {
    const store = await open();
    const run = makeRun();
    await store.createRun(run, []);
    const update = { big: 'x'.repeat(300_000) };
    const first = makeStoredApart(run.id, 1, update);
    const second = makeStoredApart(run.id, 2, update);
    await store.commit({ events: [first.event], runs: [], nodes: [], checkpoints: [], blobs: [first.blob] });
    await store.commit({ events: [second.event], runs: [], nodes: [], checkpoints: [], blobs: [second.blob, first.blob] });
    expect(await sql('SELECT ref, length(data) AS size FROM blobs')).toStrictEqual([{ ref: first.blob.ref, size: JSON.stringify(update).length }]);
    expect((await sql<{ size: number }>('SELECT length(data) AS size FROM events ORDER BY seq')).map((e) => e.size < 400)).toStrictEqual([true, true]);
    expect(await store.readBlob(run.id, first.blob.ref)).toStrictEqual(update);
  });

  it('migrates once when several stores open the same new schema at the same moment', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => open()));
    expect(await appliedMigrations()).toHaveLength(loadMigrations('postgres').length);
    // They share one database: what one writes, the others read and cannot write again.
    const run = makeRun();
    await stores[0]!.createRun(run, []);
    await stores[1]!.commit({ events: makeEvents(run.id, 1, 3), runs: [], nodes: [], checkpoints: [] });
    expect(await stores[4]!.readEvents(run.id, 0, 10)).toStrictEqual(makeEvents(run.id, 1, 3));
    await expectAppError(stores[2]!.commit({ events: makeEvents(run.id, 3, 4), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', new RegExp(`run ${run.id} already has an event with seq 3`));
    await expectAppError(stores[3]!.createRun(run, []), 'INVALID_INPUT', /already exists/);
  });

  it('passes on what the server says when the database does not exist', async () => {
    const missing = new URL(databaseUrl);
    missing.pathname = '/flowcast_no_such_database';
    await expectAppError(openPostgresStore(missing.toString()), 'INVALID_CONFIG', /cannot open the PostgreSQL store at .*: database "flowcast_no_such_database" does not exist$/);
  });

  it('refuses a database migrated by a newer Flowcast', async () => {
    await (await open()).close();
    await sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')");
    await expectAppError(open(), 'INVALID_CONFIG', new RegExp(`schema ${schema}\\) is at schema version 999, newer`));
  });

  it('sorts every id column in code-point order, whatever the database locale', async () => {
    await open();
    const collations = await sql<{ table_name: string; column_name: string; collation_name: string | null }>(
      `SELECT table_name, column_name, collation_name FROM information_schema.columns
       WHERE table_schema = $1 AND column_name IN ('id', 'graph_id', 'node_id') ORDER BY table_name, column_name`, [schema]);
    expect(collations.map((c) => `${c.table_name}.${c.column_name} ${c.collation_name}`)).toStrictEqual(['graphs.id C', 'nodes.node_id C', 'runs.graph_id C', 'runs.id C']);
    const store = await open();
    const ids = ['b', 'B', 'a', 'Z', '_x', 'é', 'a b', 'a10', 'a9'];
    for (const id of ids) await store.saveGraph({ id, name: id, description: '', spec: { id, name: id, entry: 'a', nodes: [{ id: 'a', kind: 'noop' }], edges: [] } });
    expect((await store.listGraphs()).map((g) => g.id)).toStrictEqual([...ids].sort());
  });

  it('gives back an event the engine wrote with its keys in the same order, so it serializes the same', async () => {
    const store = await open();
    const run = makeRun();
    await store.createRun(run, []);
    const body = { type: 'NodeCompleted' as const, nodeId: 'a', step: 1, iteration: 1, attempt: 1, stateUpdate: { z: 1, a: [2], s: 'quote " \\ \u0000 \ud800 ü' }, bytes: 13, durationMs: 0.25 };
    const event: RunEvent = { ...body, runId: run.id, graphId: run.graphId, at: '2025-01-02T03:04:05.678Z', priority: 'NORMAL', seq: 1 };
    await store.commit({ events: [event], runs: [], nodes: [], checkpoints: [] });
    expect(JSON.stringify((await store.readEvents(run.id, 0, 1))[0])).toBe(JSON.stringify(event));
    // Moving the run to another graph writes the old graphId into the stored event, which
    // PostgreSQL's own json functions could not even read (\u0000, a lone surrogate).
    await store.commit({ events: [], runs: [{ ...run, graphId: 'graph-moved' }], nodes: [], checkpoints: [] });
    expect((await store.readEvents(run.id, 0, 1))[0]).toStrictEqual(event);
  });

  it('rejects a stored event that no longer decodes', async () => {
    const store = await open();
    const run = makeRun();
    await store.createRun(run, []);
    await store.commit({ events: [makeEvent(run.id, 1), makeEvent(run.id, 2)], runs: [], nodes: [], checkpoints: [] });
    await sql("UPDATE events SET data = replace(data, '\"priority\":\"NORMAL\"', '\"priority\":\"URGENT\"') WHERE seq = 2");
    expect(await store.readEvents(run.id, 0, 1)).toHaveLength(1);
    await expectAppError(store.readEvents(run.id, 0, 10), 'INVALID_INPUT', /priority/);
  });

  it('keeps every run gapless when runs append concurrently through event logs of two stores', async () => {
    const RUNS_PER_LOG = 4;
    const EVENTS_PER_RUN = 150;
    const logs = await Promise.all([open(), open()]).then((stores) => stores.map((store) => new EventLog({ store, pubsub: new MemoryPubSub(), maxBatch: 64 })));
    const runs: Array<{ log: EventLog; run: RunSnapshot }> = [];
    for (const log of logs) {
      for (let i = 0; i < RUNS_PER_LOG; i++) {
        const record = makeRun({ status: 'RUNNING' });
        await log.store.createRun(record, [newNodeSnapshot('n')]);
        runs.push({ log, run: { ...record, nodes: new Map([['n', newNodeSnapshot('n')]]) } });
      }
    }
    // Each run is its own task: it appends a few events, then yields or waits for a flush, so the
    // runs' events interleave within and across batches, and the two stores commit at once.
    await Promise.all(runs.map(async function appendEvents({ log, run }, r) {
      for (let i = 0; i < EVENTS_PER_RUN; i++) {
        log.append(run, { type: 'Progress', percent: i % 100, message: `run ${r} event ${i}`, nodeId: null, runId: run.id, graphId: run.graphId, at: new Date().toISOString(), priority: 'LOW' });
        if ((i + r) % 7 === 0) await yieldToEventLoop();
        if ((i + r) % 31 === 0) await log.flush();
      }
    }));
    await Promise.all(logs.map((log) => log.flush()));

    const reader = await open();
    for (const [r, { run }] of runs.entries()) {
      const events = await reader.readEvents(run.id, 0, 1000);
      expect(events.map((e) => e.seq)).toStrictEqual(Array.from({ length: EVENTS_PER_RUN }, (_, i) => i + 1));
      expect(events.map((e) => (e.type === 'Progress' ? e.message : e.type))).toStrictEqual(Array.from({ length: EVENTS_PER_RUN }, (_, i) => `run ${r} event ${i}`));
      expect(await reader.lastSeq(run.id)).toBe(EVENTS_PER_RUN);
      expect(await reader.getRun(run.id)).toMatchObject({ lastSeq: EVENTS_PER_RUN, progress: (EVENTS_PER_RUN - 1) % 100 });
    }
  });

  it('runs a demo graph end to end on PostgreSQL', async () => {
    const store = await open();
    const kinds = defaultKindRegistry();
    const catalog = new GraphCatalog(store, kinds);
    for (const graph of demoGraphs(kinds)) catalog.register(graph);
    const engine = new Engine({ log: new EventLog({ store, pubsub: new MemoryPubSub() }), catalog });
    try {
      const run = await engine.createRun('fan-out', { value: 3, speed: 0 });
      const result = await engine.execute(run.id);
      expect(result.status).toBe('COMPLETED');
      const events = await store.readEvents(run.id, 0, 1000);
      expectWellFormed(events);
      expect(await store.getRun(run.id)).toMatchObject({ status: 'COMPLETED', lastSeq: events.length });
      expect((await store.getNodes(run.id)).every((node) => node.status === 'SUCCEEDED')).toBe(true);
      expect(await store.latestCheckpoint(run.id)).toMatchObject({ runId: run.id });
    } finally {
      await engine.shutdown();
    }
  });
});

/** A run's `data` column as the first version of the store wrote it: finishedAt was its last key. */
function firstVersionData(r: RunRecord): string {
  const { input, state, progress, currentNodes, step, maxSteps, lastSeq, error, startedAt, finishedAt } = r;
  return JSON.stringify({ input, state, progress, currentNodes, step, maxSteps, lastSeq, error, startedAt, finishedAt });
}
