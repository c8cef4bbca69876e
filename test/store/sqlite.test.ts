import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { AppError } from '../../src/common/errors.ts';
import { applyEvent, toRecord, type NodeSnapshot, type RunRecord, type RunSnapshot } from '../../src/events/snapshot.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { parseBatch } from '../../src/store/batch.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { nodeData, runParams, toBatchEntry, toEventData } from '../../src/store/rows.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import type { CommitBatch, Store } from '../../src/store/types.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { END } from '../../src/graph/types.ts';
import { composeOn } from '../utils/flowcast.ts';
import { inEngineOrder, makeCheckpoint, makeEvent, makeEvents, makeNode, makeNodeRow, makeRun, makeStoredApart } from './fixtures.ts';
import { expectAppError, runStoreSpec, snapshot } from './spec.ts';
import { migrateTo, withRawFile } from './sqlite-raw.ts';

let specDir = '';
runStoreSpec(
  'SQLite file',
  function openInFreshDir() {
    specDir = mkdtempSync(join(tmpdir(), 'flowcast-store-spec-'));
    return openSqliteStore(join(specDir, 'data', 'flowcast.db'));
  },
  () => rmSync(specDir, { recursive: true, force: true }),
);

runStoreSpec('SQLite :memory:', () => openSqliteStore(':memory:'));

describe('SQLite store', () => {
  let dir = '';
  let file = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-sqlite-'));
    file = join(dir, 'deep', 'er', 'flowcast.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fn` on a second, plain connection to the file, as an operator or another process would. */
  const withRaw = <T>(fn: (db: Database.Database) => T): T => withRawFile(file, fn);
  /** A store on the file with one run created in it, without nodes. */
  async function storeWithRun(overrides: Partial<RunRecord> = {}): Promise<{ store: SqliteStore; run: RunRecord }> {
    const store = openSqliteStore(file);
    const run = makeRun(overrides);
    await store.createRun(run, []);
    return { store, run };
  }
  /** Every stored event batch in key order: its first seq, its `data` as stored, and its entries as the store reads them. */
  function storedBatches(): Array<{ seq: number; data: string | Buffer; entries: unknown[] }> {
    return withRaw((db) => db.prepare<[], { seq: number; data: string | Buffer }>('SELECT seq, data FROM events ORDER BY key').all())
      .map((row) => ({ ...row, entries: parseBatch(row.data, 'raw', row.seq) }));
  }
  /**
   * Writes the batch from `seq` back with its entries changed by `change`, as the JSON text of a
   * batch written before migration 012, which the store still reads: SQL cannot edit the bytes
   * written since, as json_set edited the text.
   */
  function rewriteBatch(seq: number, change: (entries: unknown[]) => void): void {
    withRaw((db) => {
      const data = db.prepare<[number], string | Buffer>('SELECT data FROM events WHERE seq = ?').pluck().get(seq)!;
      const entries = parseBatch(data, 'raw', seq);
      change(entries);
      db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(JSON.stringify(entries), seq);
    });
  }
  /** Where an entry keeps its stored `at` (0: the entry before's) or priority: last but one and last of a packed one (a list), those keys of an object one. */
  function entryField(entry: unknown, key: 'at' | 'priority'): { get(): unknown; set(value: unknown): void } {
    if (Array.isArray(entry)) {
      const index = entry.length - (key === 'at' ? 2 : 1);
      return { get: () => entry[index] as unknown, set: (value) => { entry[index] = value; } };
    }
    const object = entry as Record<string, unknown>;
    return { get: () => object[key], set: (value) => { object[key] = value; } };
  }
  const appliedMigrations = (): unknown[] => withRaw((db) => db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all());

  it('reads its migration files in version order', () => {
    const migrations = loadMigrations('sqlite');
    expect(migrations.map((m) => [m.version, m.name])).toStrictEqual([[1, 'init'], [2, 'run_keys'], [3, 'run_finished_at'], [4, 'blobs'], [5, 'run_nodes'], [6, 'event_batches'], [7, 'event_keys'], [8, 'folded_nodes'], [9, 'status_index'], [10, 'packed_events'], [11, 'coded_events'], [12, 'binary_events'], [13, 'listed_runs']]);
    expect(migrations[0]?.sql).toMatch(/CREATE TABLE events/);
  });

  it('finds the finished runs of a file written before retention once it has migrated it', async () => {
    // A file at schema version 2, the last before retention, with a run as that version wrote it.
    const old = makeRun({ status: 'COMPLETED', finishedAt: '1970-01-01T00:00:01.000Z', state: { note: '"finishedAt":null}', nul: '\u0000' } });
    const running = makeRun({ status: 'RUNNING' });
    mkdirSync(dirname(file), { recursive: true });
    withRaw((db) => {
      migrateTo(db, 2);
      const insert = db.prepare('INSERT INTO runs (id, graph_id, status, priority, data, pending, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const run of [old, running]) {
        const [id, graphId, status, priority, data, createdAt, updatedAt] = runParams(run);
        const { lastInsertRowid } = insert.run(id, graphId, status, priority, data, run === running ? '["p","q"]' : '[]', createdAt, updatedAt);
        if (run === running) db.prepare('INSERT INTO nodes (run_no, node_id, data) VALUES (?, ?, ?)').run(lastInsertRowid, 'q', JSON.stringify(nodeData(makeNode('q', { status: 'RUNNING' }))));
        const insertEvent = db.prepare('INSERT INTO events (run_no, seq, type, data) VALUES (?, ?, ?, ?)');
        insertEvent.run(lastInsertRowid, 1, 'Progress', toEventData(makeEvent(run.id, 1, 'Progress'), run.graphId));
        if (run === running) for (const seq of [2, 3]) insertEvent.run(lastInsertRowid, seq, 'Transition', toEventData(makeEvent(run.id, seq, 'Transition', seq === 3 ? 'other-graph' : run.graphId), run.graphId));
      }
    });
    const store = openSqliteStore(file);
    expect(await store.getRun(old.id)).toStrictEqual(old);
    expect(await store.deleteFinishedBefore('1970-01-02T00:00:00.000Z', 10)).toBe(1);
    expect(await store.getRun(old.id)).toBeUndefined();
    expect(await store.readEvents(old.id, 0, 10)).toStrictEqual([]);
    expect(await store.getRun(running.id)).toStrictEqual(running);
    // Its events, one row each then, read back whole, and appended to.
    const before = [makeEvent(running.id, 1, 'Progress'), makeEvent(running.id, 2, 'Transition'), makeEvent(running.id, 3, 'Transition', 'other-graph')];
    expect(await store.readEvents(running.id, 0, 10)).toStrictEqual(before);
    expect(await store.readEvents(running.id, 1, 10)).toStrictEqual(before.slice(1));
    await expectAppError(store.commit({ events: makeEvents(running.id, 3, 3), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 3/);
    await store.commit({ events: makeEvents(running.id, 4, 5), runs: [], nodes: [], checkpoints: [] });
    expect(await store.readEvents(running.id, 2, 10)).toStrictEqual([before[2], ...makeEvents(running.id, 4, 5)]);
    // Its nodes as that version listed them: untouched ones in `pending`, a row winning over the list.
    expect(await store.getNodes(running.id)).toStrictEqual([makeNode('p'), makeNode('q', { status: 'RUNNING' })]);
    await store.commit({ events: [], runs: [], nodes: [makeNodeRow(running.id, 'p', { status: 'SKIPPED' })], checkpoints: [] });
    expect(await store.getNodes(running.id)).toStrictEqual([makeNode('p', { status: 'SKIPPED' }), makeNode('q', { status: 'RUNNING' })]);
    await store.close();
  });

  it('keys the event batches of a file written before migration 007 by run and seq, and reads and appends to them', async () => {
    const [a, b] = [makeRun({ status: 'RUNNING' }), makeRun({ status: 'RUNNING' })];
    const batches: Array<[RunRecord, RunEvent[]]> = [[a, makeEvents(a.id, 1, 3)], [b, makeEvents(b.id, 1, 1)], [a, makeEvents(a.id, 4, 5)]];
    mkdirSync(dirname(file), { recursive: true });
    withRaw((db) => {
      migrateTo(db, 6);
      const insertRun = db.prepare("INSERT INTO runs (id, graph_id, status, priority, data, pending, nodes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '[]', '{}', ?, ?)");
      const no = new Map([a, b].map((run) => [run.id, Number(insertRun.run(...runParams(run)).lastInsertRowid)]));
      // As migration 006 stored them: one row per batch, each entry whole but for runId and seq.
      const insertBatch = db.prepare('INSERT INTO events (run_no, seq, last_seq, data) VALUES (?, ?, ?, ?)');
      for (const [run, events] of batches) {
        const entries = events.map(({ runId: _r, seq: _s, graphId: _g, ...entry }) => entry);
        insertBatch.run(no.get(run.id), events[0]!.seq, events.at(-1)!.seq, JSON.stringify(entries));
      }
    });
    const store = openSqliteStore(file);
    expect(await store.readEvents(a.id, 0, 10)).toStrictEqual(makeEvents(a.id, 1, 5));
    expect(await store.readEvents(a.id, 2, 2)).toStrictEqual(makeEvents(a.id, 3, 4));
    expect(await store.readEvents(b.id, 0, 10)).toStrictEqual(makeEvents(b.id, 1, 1));
    expect(await store.lastSeq(a.id)).toBe(5);
    await expectAppError(store.commit({ events: makeEvents(a.id, 5, 5), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 5/);
    await store.commit({ events: makeEvents(a.id, 6, 7), runs: [], nodes: [], checkpoints: [] });
    expect(await store.readEvents(a.id, 4, 10)).toStrictEqual(makeEvents(a.id, 5, 7));
    await store.close();
    const rows = withRaw((db) => db.prepare<[], { key: number; run_no: number; seq: number; last_seq: number }>('SELECT key, run_no, seq, last_seq FROM events ORDER BY key').all());
    expect(rows.map((r) => [r.key - r.run_no * 2 ** 32, r.last_seq])).toStrictEqual([[1, 3], [4, 5], [6, 7], [1, 1]]);
  });

  it('reads the event batches of a file written before migration 012, JSON text, and stores the batches after them as bytes', async () => {
    const run = makeRun({ status: 'RUNNING' });
    const objects = makeEvents(run.id, 1, 3);
    // Two Transitions as the engine emits them, in one millisecond: packed, the second's at 0.
    const packed = [4, 5].map((seq) => ({ ...inEngineOrder(makeEvent(run.id, seq, 'Transition')), at: makeEvent(run.id, 4).at }));
    mkdirSync(dirname(file), { recursive: true });
    withRaw((db) => {
      migrateTo(db, 11);
      const insertRun = db.prepare("INSERT INTO runs (id, graph_id, status, priority, data, pending, nodes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '[]', '{}', ?, ?)");
      const no = Number(insertRun.run(...runParams(run)).lastInsertRowid);
      // As 011 stored them: a JSON list of object entries, and one of packed entries (type code 6, body, at, priority code 1: NORMAL).
      const insertBatch = db.prepare('INSERT INTO events (key, run_no, seq, last_seq, data) VALUES ((? << 32) | ?, ?, ?, ?, ?)');
      insertBatch.run(no, 1, no, 1, 3, JSON.stringify(objects.map((event, i) => toBatchEntry(event, run.graphId, objects[i - 1]?.at))));
      insertBatch.run(no, 4, no, 4, 5, JSON.stringify([[6, 'a', 'b', 4, packed[0]!.at, 1], [6, 'a', 'b', 5, 0, 1]]));
    });
    const store = openSqliteStore(file);
    const before = [...objects, ...packed];
    expect(await store.readEvents(run.id, 0, 10)).toStrictEqual(before);
    // Packed entries come back with their keys in the order the engine gave them.
    expect((await store.readEvents(run.id, 3, 10)).map((event) => JSON.stringify(event))).toStrictEqual(packed.map((event) => JSON.stringify(event)));
    expect(await store.lastSeq(run.id)).toBe(5);
    await store.commit({ events: makeEvents(run.id, 6, 7), runs: [], nodes: [], checkpoints: [] });
    expect(await store.readEvents(run.id, 2, 10)).toStrictEqual([...before.slice(2), ...makeEvents(run.id, 6, 7)]);
    await store.close();
    expect(withRaw((db) => db.prepare<[], string>('SELECT typeof(data) FROM events ORDER BY key').pluck().all())).toStrictEqual(['text', 'text', 'blob']);
  });

  it('creates missing parent directories and records every migration it applies', async () => {
    const store = openSqliteStore(file);
    await store.close();
    expect(existsSync(file)).toBe(true);
    expect(appliedMigrations()).toMatchObject(loadMigrations('sqlite').map((m) => ({ version: m.version, name: m.name })));
  });

  it('keeps data across close and reopen without applying migrations again', async () => {
    const run = makeRun();
    const events = makeEvents(run.id, 1, 5);
    const first = openSqliteStore(file);
    await first.createRun(run, [makeNode('a')]);
    await first.commit({ events, runs: [], nodes: [], checkpoints: [] });
    await first.close();
    const applied = appliedMigrations();

    await sleep(5);
    const second = openSqliteStore(file);
    expect(await second.getRun(run.id)).toStrictEqual(run);
    expect(await second.getNodes(run.id)).toStrictEqual([makeNode('a')]);
    expect(await second.readEvents(run.id, 0, 10)).toStrictEqual(events);
    await second.close();
    expect(appliedMigrations()).toStrictEqual(applied);
  });

  it('keeps a large update in one blob row, however many events refer to it, and their rows small', async () => {
    const { store, run } = await storeWithRun();
    const update = { big: 'x'.repeat(300_000) };
    const first = makeStoredApart(run.id, 1, update);
    const second = makeStoredApart(run.id, 2, update);
    await store.commit({ events: [first.event], runs: [], nodes: [], checkpoints: [], blobs: [first.blob] });
    await store.commit({ events: [second.event], runs: [], nodes: [], checkpoints: [], blobs: [second.blob] });
    const rows = withRaw((db) => ({
      blobs: db.prepare<[], { ref: string; size: number }>('SELECT ref, length(data) AS size FROM blobs').all(),
      events: db.prepare<[], { size: number }>('SELECT length(data) AS size FROM events ORDER BY seq').all(),
    }));
    expect(rows.blobs).toStrictEqual([{ ref: first.blob.ref, size: JSON.stringify(update).length }]);
    expect(rows.events.map((e) => e.size < 400)).toStrictEqual([true, true]);
    expect(await store.readBlob(run.id, first.blob.ref)).toStrictEqual(update);
    await store.close();
  });

  it('puts the file in WAL mode', async () => {
    const { store, run } = await storeWithRun();
    await store.commit({ events: makeEvents(run.id, 1, 1), runs: [], nodes: [], checkpoints: [] });
    expect(existsSync(`${file}-wal`)).toBe(true);
    expect(withRaw((db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
    await store.close();
  });

  it('refuses a file migrated by a newer Flowcast', async () => {
    await openSqliteStore(file).close();
    withRaw((db) => db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')").run());
    let error: unknown;
    try {
      openSqliteStore(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/version 999, newer/) });
  });

  it('stores a run\'s events of a commit as batches of consecutive seqs, at most 64 events or about 64 KiB each, and reads any slice of them', async () => {
    const { store, run } = await storeWithRun();
    // 1..150 with a gap after 100, and 151..160 carrying 20 KB each: a batch closes at 64 events
    // and at a gap, and one over 64 KiB is split into parts of at most 64 KiB (103..150 are about
    // 9 KB, so 151 and 152 join them).
    const big = (seq: number): RunEvent => ({ ...makeEvent(run.id, seq, 'NodeStarted'), input: { pad: 'x'.repeat(20_000) } } as RunEvent);
    const events = [...makeEvents(run.id, 1, 100), ...makeEvents(run.id, 103, 150), ...Array.from({ length: 10 }, (_, i) => big(151 + i))];
    await store.commit({ events, runs: [], nodes: [], checkpoints: [] });
    const rows = withRaw((db) => db.prepare<[], { seq: number; last_seq: number }>('SELECT seq, last_seq FROM events ORDER BY seq').all());
    expect(rows.map((r) => [r.seq, r.last_seq])).toStrictEqual([[1, 64], [65, 100], [103, 152], [153, 155], [156, 158], [159, 160]]);
    for (const [after, limit] of [[0, 1000], [63, 2], [64, 1], [99, 3], [100, 1], [101, 2], [150, 1], [152, 5], [160, 5]] as const) {
      const expected = events.filter((e) => e.seq > after).slice(0, limit);
      expect(await store.readEvents(run.id, after, limit), `after ${after}, limit ${limit}`).toStrictEqual(expected);
    }
    // The length of a BLOB is its bytes.
    const sizes = withRaw((db) => db.prepare<[], number>('SELECT length(data) FROM events').pluck().all());
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(await store.lastSeq(run.id)).toBe(160);
    // Appending goes on after the last event, and never before it, even into the gap.
    await store.commit({ events: makeEvents(run.id, 161, 161), runs: [], nodes: [], checkpoints: [] });
    await expectAppError(store.commit({ events: makeEvents(run.id, 101, 101), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 101; events are append-only/);
    await expectAppError(store.commit({ events: [makeEvent(run.id, 163), makeEvent(run.id, 162)], runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 162/);
    expect(await store.lastSeq(run.id)).toBe(161);
    await expectAppError(store.readEvents(run.id, 0.5, 10), 'INVALID_INPUT', /afterSeq must be an integer/);
    await store.close();
  });

  it('keys each batch (run_no << 32) | seq, with no index beside it, and keeps a run\'s seqs below 2^32', async () => {
    const store = openSqliteStore(file);
    const [a, b] = [makeRun(), makeRun()];
    for (const run of [a, b]) await store.createRun(run, []);
    await store.commit({ events: [...makeEvents(a.id, 1, 3), ...makeEvents(b.id, 1, 2)], runs: [], nodes: [], checkpoints: [] });
    await store.commit({ events: makeEvents(a.id, 4, 5), runs: [], nodes: [], checkpoints: [] });
    const rows = withRaw((db) => db.prepare<[], { key: number; run_no: number; seq: number }>('SELECT key, run_no, seq FROM events ORDER BY key').all());
    expect(rows.map((r) => r.key)).toStrictEqual(rows.map((r) => r.run_no * 2 ** 32 + r.seq));
    expect(rows.map((r) => r.seq)).toStrictEqual([1, 4, 1]);
    expect(withRaw((db) => db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events'").pluck().all())).toStrictEqual([]);
    expect(await store.readEvents(a.id, -5, 10)).toStrictEqual(makeEvents(a.id, 1, 5));
    expect(await store.readEvents(a.id, 2 ** 32 - 1, 10)).toStrictEqual([]);
    expect(await store.readEvents(a.id, 2 ** 40, 10)).toStrictEqual([]);
    expect(await store.readEvents(b.id, 1, 10)).toStrictEqual(makeEvents(b.id, 2, 2));
    await expectAppError(store.commit({ events: [makeEvent(b.id, 2 ** 32)], runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /at most 4294967295 events/);
    expect(await store.lastSeq(b.id)).toBe(2);
    await store.close();
  });

  it('stores an event\'s time as 0 when it is the one of the event before it in its batch, and gives every batch its first time', async () => {
    const { store, run } = await storeWithRun();
    // 1..70 in two milliseconds, then 71..80 carrying 20 KB each in a third: a batch closes at 64
    // events, and one over 64 KiB is split into parts of at most 64 KiB, 74, 77 and 80 starting
    // parts in the middle of a millisecond.
    const at = (seq: number): string => `2025-01-02T03:04:05.${seq <= 30 ? '100' : seq <= 70 ? '200' : '300'}Z`;
    const event = (seq: number): RunEvent => ({ ...makeEvent(run.id, seq, 'NodeStarted'), at: at(seq), ...(seq > 70 ? { input: { pad: 'x'.repeat(20_000) } } : {}) } as RunEvent);
    const events = Array.from({ length: 80 }, (_, i) => event(i + 1));
    await store.commit({ events, runs: [], nodes: [], checkpoints: [] });
    const batches = storedBatches().map((batch) => ({ seq: batch.seq, ats: batch.entries.map((entry) => entryField(entry, 'at').get()) }));
    expect(batches.map((b) => b.seq)).toStrictEqual([1, 65, 74, 77, 80]);
    expect(batches[0]!.ats.filter((a) => a !== 0)).toStrictEqual([at(1), at(31)]);
    for (const batch of batches) expect(batch.ats[0], `batch from ${batch.seq}`).toBe(at(batch.seq));
    expect(batches.flatMap((b) => b.ats).filter((a) => a !== 0)).toStrictEqual([at(1), at(31), at(65), at(71), at(74), at(77), at(80)]);
    for (const after of [0, 5, 30, 31, 64, 66, 72, 79]) expect(await store.readEvents(run.id, after, 3), `after ${after}`).toStrictEqual(events.slice(after, after + 3));
    // A batch that starts with a 0 has no time to take.
    rewriteBatch(65, (entries) => entryField(entries[0], 'at').set(0));
    await expectAppError(store.readEvents(run.id, 64, 1), 'INVALID_INPUT', /takes its time \(at 0\) from the event before it/);
    await store.close();
  });

  it('stores the events an engine emits packed, and reads them back key for key as they were published', async () => {
    const f = composeOn(openSqliteStore(file));
    const published: RunEvent[] = [];
    f.pubsub.subscribe('all', '*', (events) => published.push(...events));
    const runs = [await f.engine.run('fan-out', {}), await f.engine.run('code-review', { code: 'function a() { return 1 }', threshold: 101, max_iterations: 2 })];
    const stored = (await Promise.all(runs.map((run) => f.events(run.id)))).flat();
    expect(stored.map((event) => JSON.stringify(event))).toStrictEqual(published.map((event) => JSON.stringify(event)));
    const entries = storedBatches().flatMap((batch) => batch.entries);
    expect(entries).toHaveLength(stored.length);
    // All but the notices (max iterations reached) are lists.
    expect(stored.filter((_, i) => !Array.isArray(entries[i])).map((event) => event.type)).toStrictEqual(stored.filter((event) => event.type === 'SystemNotice').map((event) => event.type));
    expect(stored.some((event) => event.type === 'SystemNotice')).toBe(true);
    await f.close();
  });

  it('writes a batch as its events\' entries without building them, and leaves the events it was given as they were, even when writing fails', async () => {
    const { store, run } = await storeWithRun();
    const first = makeEvent(run.id, 1, 'RunStarted');
    // An event emitted with the time of the one before it, and one with its priority set in its body (before its time).
    const { type: _type, priority: _priority, ...notice } = makeEvent(run.id, 3, 'SystemNotice');
    const events: RunEvent[] = [first, { ...makeEvent(run.id, 2, 'NodeStarted'), at: first.at }, { type: 'SystemNotice', priority: 'HIGH', ...notice } as RunEvent];
    const foreign = [makeEvent(run.id, 4, 'Progress'), makeEvent(run.id, 5, 'Progress', 'other-graph')];
    const asGiven = (list: RunEvent[]): string[] => list.map((event) => JSON.stringify(event));
    // As text, the decoded entries are what the batch's JSON text was before migration 012, keys in the same order.
    const entriesText = (list: RunEvent[]): string => JSON.stringify(list.map((event, i) => toBatchEntry(event, run.graphId, list[i - 1]?.at)));
    const before = asGiven([...events, ...foreign]);
    await store.commit({ events, runs: [], nodes: [], checkpoints: [] });
    await store.commit({ events: foreign, runs: [], nodes: [], checkpoints: [] });
    expect(asGiven([...events, ...foreign])).toStrictEqual(before);
    const stored = storedBatches();
    expect(stored.map((batch) => Buffer.isBuffer(batch.data))).toStrictEqual([true, true]);
    expect(stored.map((batch) => JSON.stringify(batch.entries))).toStrictEqual([entriesText(events), entriesText(foreign)]);
    expect(stored[0]!.entries[1]).toMatchObject({ type: 'NodeStarted', at: 0 });
    expect(await store.readEvents(run.id, 0, 10)).toStrictEqual([...events, ...foreign]);

    // A value JSON cannot hold fails the commit, and the events are whole again for the retry.
    const bad = [makeEvent(run.id, 6, 'NodeStarted'), { ...makeEvent(run.id, 7, 'NodeCompleted'), at: makeEvent(run.id, 6).at, stateUpdate: { big: 1n } } as unknown as RunEvent];
    const badBefore = bad.map((event) => Object.entries(event));
    await expect(store.commit({ events: bad, runs: [], nodes: [], checkpoints: [] })).rejects.toThrow(/BigInt/);
    expect(bad.map((event) => Object.entries(event))).toStrictEqual(badBefore);
    expect(await store.lastSeq(run.id)).toBe(5);
    await store.close();
  });

  it('rejects a stored event that no longer decodes', async () => {
    const { store, run } = await storeWithRun();
    await store.commit({ events: makeEvents(run.id, 1, 2), runs: [], nodes: [], checkpoints: [] });
    rewriteBatch(1, (entries) => entryField(entries[1], 'priority').set('URGENT'));
    expect(await store.readEvents(run.id, 0, 1)).toHaveLength(1);
    await expectAppError(store.readEvents(run.id, 0, 10), 'INVALID_INPUT', /priority/);
    await store.close();
  });

  it('reads run rows and checkpoints written before runs recorded graph hashes, breakpoints and pauses, with neutral values', async () => {
    const { store, run } = await storeWithRun({ status: 'RUNNING' });
    await store.commit({ events: [], runs: [], nodes: [], checkpoints: [makeCheckpoint(run.id, 2)] });
    withRaw((db) => {
      db.prepare("UPDATE runs SET data = json_remove(data, '$.graphHash', '$.timeoutMs', '$.breakpoints', '$.pause')").run();
      db.prepare("UPDATE checkpoints SET data = json_remove(data, '$.writes', '$.resumes', '$.pastBreakpoints')").run();
    });
    expect(await store.getRun(run.id)).toStrictEqual({ ...run, graphHash: null, timeoutMs: null, breakpoints: [], pause: null });
    expect(await store.latestCheckpoint(run.id)).toStrictEqual({ ...makeCheckpoint(run.id, 2), writes: {}, resumes: {}, pastBreakpoints: false });
    await store.close();
  });

  it('stores a run snapshot passed as a record without its nodes map', async () => {
    const { store, run } = await storeWithRun();
    const running = { ...run, status: 'RUNNING' } as const;
    const snapshot: RunSnapshot = { ...running, nodes: new Map([['a', makeNode('a')]]) };
    await store.commit({ events: [], runs: [snapshot], nodes: [], checkpoints: [] });
    expect(await store.getRun(run.id)).toStrictEqual(running);
    await store.close();
  });

  it('shares one log between two stores on the same file', async () => {
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    const run = makeRun();
    await a.createRun(run, []);
    const events = makeEvents(run.id, 1, 6);
    await a.commit({ events: events.slice(0, 3), runs: [], nodes: [], checkpoints: [] });
    // b has never seen the run: it finds it in the file.
    await b.commit({ events: events.slice(3), runs: [], nodes: [], checkpoints: [] });
    expect(await a.readEvents(run.id, 0, 10)).toStrictEqual(events);
    await expectAppError(a.commit({ events: events.slice(5), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 6/);
    await a.close();
    await b.close();
  });

  it('stores events without the fields kept elsewhere, the nodes of a run in its row at first, and node rows only for later changes', async () => {
    const store = openSqliteStore(file);
    const run = makeRun();
    await store.createRun(run, [makeNode('a'), makeNode('b'), makeNode('c', { status: 'SKIPPED' })]);
    const events = [makeEvent(run.id, 1, 'RunStarted'), makeEvent(run.id, 2, 'Progress', 'other-graph')];
    const running = makeNodeRow(run.id, 'b', { status: 'RUNNING' });
    await store.commit({ events, runs: [{ ...run, status: 'RUNNING' }], nodes: [running], checkpoints: [] });
    // One row for the commit's two events of the run, each with its type first and graphId only where it is not the run's.
    const stored = withRaw((db) => db.prepare<[], { seq: number; last_seq: number; data: string | Buffer }>('SELECT seq, last_seq, data FROM events').all());
    expect(stored.map((row) => [row.seq, row.last_seq])).toStrictEqual([[1, 2]]);
    const entries = parseBatch(stored[0]!.data, run.id, 1) as object[];
    expect(entries.map((data) => Object.keys(data).filter((key) => ['runId', 'seq', 'type', 'graphId'].includes(key)))).toStrictEqual([['type'], ['type', 'graphId']]);
    // One insert for the run as the commit left it: its nodes in its row, untouched ones as null.
    const row = (): { status: string; nodes: string; rows: string[] } => withRaw((db) => ({
      ...db.prepare<[], { status: string; nodes: string }>('SELECT status, nodes FROM runs').get()!,
      rows: db.prepare<[], string>('SELECT node_id FROM nodes ORDER BY node_id').pluck().all(),
    }));
    expect(row()).toMatchObject({ status: 'RUNNING', rows: [] });
    expect(JSON.parse(row().nodes)).toStrictEqual({ a: null, b: nodeData(running), c: nodeData(makeNode('c', { status: 'SKIPPED' })) });
    const done = makeNodeRow(run.id, 'b', { status: 'SUCCEEDED' });
    await store.commit({ events: [], runs: [], nodes: [done], checkpoints: [] });
    expect(row().rows).toStrictEqual(['b']);
    expect(await store.getNodes(run.id)).toStrictEqual([makeNode('a'), snapshot(done), makeNode('c', { status: 'SKIPPED' })]);
    await store.close();
  });

  it('writes a folded run\'s nodes into its row once it passes 10,000 events, so that reading them never folds more', async () => {
    const store = openSqliteStore(file);
    const record = makeRun();
    const run: RunSnapshot = { ...record, nodes: new Map(['a', 'b', 'c'].map((id) => [id, makeNode(id)])) };
    await store.createRun(record, [...run.nodes.values()]);
    // Commits of the three nodes taking turns, as the event log would write them (every one named folded).
    let seq = 0;
    const commitUpTo = async (last: number): Promise<void> => {
      const events: RunEvent[] = [];
      const touched = new Set<string>();
      while (seq < last) {
        const nodeId = ['a', 'b', 'c'][Math.floor(seq / 2) % 3]!;
        seq++;
        const event = { ...makeEvent(run.id, seq, seq % 2 === 1 ? 'NodeStarted' : 'NodeCompleted'), nodeId, iteration: Math.ceil(seq / 6) } as RunEvent;
        touched.add(applyEvent(run, event)!);
        events.push(event);
      }
      await store.commit({ events, runs: [toRecord(run)], nodes: [...touched].map((id) => ({ ...run.nodes.get(id)!, runId: run.id })), checkpoints: [], folded: new Set([run.id]) });
    };
    const row = (): { no: number; fold_seq: number | null; nodes: string } => withRaw((db) => db.prepare<[string], { no: number; fold_seq: number | null; nodes: string }>('SELECT no, fold_seq, nodes FROM runs WHERE id = ?').get(run.id)!);
    const nodeRows = (): number => withRaw((db) => db.prepare<[number], number>('SELECT count(*) FROM nodes WHERE run_no = ?').pluck().get(row().no)!);
    const expected = (): NodeSnapshot[] => [...run.nodes.values()].map((n) => ({ ...n }));
    await commitUpTo(4_000);
    await commitUpTo(10_000);
    expect(row().fold_seq).toBe(10_000);
    expect(nodeRows()).toBe(0);
    expect(await store.getNodes(run.id)).toStrictEqual(expected());
    await commitUpTo(10_003);
    expect(row().fold_seq).toBeNull();
    // The fold up to 10,000 went into the row; the nodes the commit touched went into rows.
    expect(Object.keys(JSON.parse(row().nodes) as object)).toStrictEqual(['a', 'b', 'c']);
    expect(nodeRows()).toBe(2);
    expect(await store.getNodes(run.id)).toStrictEqual(expected());
    await commitUpTo(10_010);
    expect(row().fold_seq).toBeNull();
    expect(await store.getNodes(run.id)).toStrictEqual(expected());
    await store.close();
  });

  it('keeps the nodes of a run as the fold of its events, over any number of commits, until an update goes apart', async () => {
    const store = openSqliteStore(file);
    // What the store was given of each run's nodes: at createRun, then each commit's rows winning.
    const given = new Map<string, Map<string, NodeSnapshot>>();
    const f = composeOn(Object.assign(Object.create(store) as Store, {
      async createRun(run: RunRecord, nodes: NodeSnapshot[]) {
        given.set(run.id, new Map(nodes.map((n) => [n.nodeId, { ...n }])));
        return store.createRun(run, nodes);
      },
      async commit(batch: CommitBatch) {
        for (const { runId, ...node } of batch.nodes) given.get(runId)!.set(node.nodeId, node);
        return store.commit(batch);
      },
    }));
    const add = (id: string, build: (g: GraphBuilder) => GraphBuilder): void => f.catalog.register(build(new GraphBuilder({ id, name: id })).compile(f.catalog.kinds));
    // s routes to a (b is skipped), a and c run, c fails: a short run that ends FAILED.
    add('branches', (g) => g.addNode('s', () => ({ n: 1 })).addNode('a', () => ({ a: true })).addNode('b', () => ({ b: true })).addNode('c', () => { throw new Error('c broke'); })
      .setEntry('s').addConditionalEdges('s', () => 'a', ['a', 'b']).addEdge('a', 'c').addEdge('b', END).addEdge('c', END));
    add('big', (g) => g.addNode('a', () => ({ text: 'x'.repeat(300_000) })).setEntry('a').addEdge('a', END));
    add('slow', (g) => g.addNode('a', 'delay', { config: { ms: 20 } }).addNode('b', () => ({ b: 1 })).setEntry('a').addEdge('a', 'b').addEdge('b', END));
    // Folded over its first commits, until c's update goes apart.
    add('late-big', (g) => g.addNode('a', 'delay', { config: { ms: 20 } }).addNode('b', 'delay', { config: { ms: 20 } }).addNode('c', () => ({ text: 'y'.repeat(300_000) }))
      .addNode('d', () => ({ d: 1 })).setEntry('a').addEdge('a', 'b').addEdge('b', 'c').addEdge('c', 'd').addEdge('d', END));
    const commits: number[] = [];
    const counted = f.log.store.commit.bind(f.log.store);
    f.log.store.commit = async (batch) => {
      if (batch.events.length > 0) commits.push(batch.events[0]!.seq);
      return counted(batch);
    };
    const runs = [await f.engine.run('branches', {}), await f.engine.run('big', {}), await f.engine.run('slow', {}), await f.engine.run('late-big', {})];
    expect(runs.map((run) => run.status)).toStrictEqual(['FAILED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    // 'slow' and 'late-big' each took several commits.
    expect(commits.filter((seq) => seq === 1)).toHaveLength(4);
    expect(commits.length).toBeGreaterThanOrEqual(4 + 2 + 2);
    const rows = withRaw((db) => db.prepare<[], { id: string; no: number; nodes: string; fold_seq: number | null }>('SELECT id, no, nodes, fold_seq FROM runs ORDER BY no').all());
    expect(rows.map((row) => row.fold_seq)).toStrictEqual([runs[0]!.lastSeq, null, runs[2]!.lastSeq, null]);
    expect(JSON.parse(rows[0]!.nodes)).toStrictEqual(['a', 'b', 'c', 's']);
    expect(JSON.parse(rows[2]!.nodes)).toStrictEqual(['a', 'b']);
    // 'late-big' kept a and b as a fold until c's update went apart: then they went into its row, folded, and c and d into node rows.
    expect(Object.keys(JSON.parse(rows[3]!.nodes) as object)).toStrictEqual(['a', 'b', 'c', 'd']);
    const nodeRows = (no: number): string[] => withRaw((db) => db.prepare<[number], string>('SELECT node_id FROM nodes WHERE run_no = ? ORDER BY node_id').pluck().all(no));
    expect(nodeRows(rows[2]!.no)).toStrictEqual([]);
    expect(nodeRows(rows[3]!.no)).toStrictEqual(['c', 'd']);
    for (const run of runs) {
      const nodes = [...given.get(run.id)!.values()].sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1));
      expect(await store.getNodes(run.id), run.graphId).toStrictEqual(nodes);
    }
    expect((await store.getNodes(runs[0]!.id)).map((n) => n.status)).toStrictEqual(['SUCCEEDED', 'SKIPPED', 'FAILED', 'SUCCEEDED']);
    expect((await store.getNodes(runs[1]!.id))[0]?.output).toStrictEqual({ text: 'x'.repeat(300_000) });
    expect((await store.getNodes(runs[3]!.id)).map((n) => [n.nodeId, n.status, n.output])).toStrictEqual([
      ['a', 'SUCCEEDED', {}], ['b', 'SUCCEEDED', {}], ['c', 'SUCCEEDED', { text: 'y'.repeat(300_000) }], ['d', 'SUCCEEDED', { d: 1 }],
    ]);
    await f.close();
  });

  it('gives back an event the engine wrote with its keys in the same order, so it serializes the same', async () => {
    const { store, run } = await storeWithRun();
    // As loop.ts emits it: the body, then runId, graphId, at and priority; the log adds seq.
    const body = { type: 'NodeCompleted' as const, nodeId: 'a', step: 1, iteration: 1, attempt: 1, stateUpdate: { z: 1, a: [2] }, bytes: 13, durationMs: 0.25 };
    const event: RunEvent = { ...body, runId: run.id, graphId: run.graphId, at: '2025-01-02T03:04:05.678Z', priority: 'NORMAL', seq: 1 };
    await store.commit({ events: [event], runs: [], nodes: [], checkpoints: [] });
    expect(JSON.stringify((await store.readEvents(run.id, 0, 1))[0])).toBe(JSON.stringify(event));
    await store.close();
  });

  it('looks a created run\'s id up in the transaction that writes it, and writes it again when another connection committed in between', async () => {
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    const taken = makeRun();
    await b.createRun(taken, []);
    await b.commit({ events: makeEvents(taken.id, 1, 1), runs: [], nodes: [], checkpoints: [] });
    // a has never seen the run: it finds the id in the file.
    await expectAppError(a.createRun({ ...taken }, []), 'INVALID_INPUT', /already exists/);
    const run = makeRun();
    await a.createRun(run, []);
    // b commits after a's transaction read the file: a's first write finds its snapshot stale, and writes again.
    const other = makeRun();
    await b.createRun(other, []);
    await b.commit({ events: makeEvents(other.id, 1, 2), runs: [], nodes: [], checkpoints: [] });
    await a.commit({ events: makeEvents(run.id, 1, 3), runs: [], nodes: [], checkpoints: [] });
    expect(await b.readEvents(run.id, 0, 10)).toStrictEqual(makeEvents(run.id, 1, 3));
    expect(await a.readEvents(other.id, 0, 10)).toStrictEqual(makeEvents(other.id, 1, 2));
    expect(await a.readEvents(taken.id, 0, 10)).toStrictEqual(makeEvents(taken.id, 1, 1));
    await a.close();
    await b.close();
  });

  it('writes a created run by itself when no commit comes for it within a few milliseconds', async () => {
    const store = openSqliteStore(file);
    const run = makeRun();
    await store.createRun(run, []);
    expect(withRaw((db) => db.prepare('SELECT count(*) FROM runs').pluck().get())).toBe(0);
    await sleep(30);
    // Written and committed without this store being called again; nothing holds the file.
    expect(withRaw((db) => db.prepare<[string], string>('SELECT status FROM runs WHERE id = ?').pluck().get(run.id))).toBe('QUEUED');
    withRaw((db) => db.prepare("INSERT INTO graphs (id, name, description, spec, version, created_at, updated_at) VALUES ('g', 'g', '', '{}', 1, '', '')").run());
    expect(await store.getRun(run.id)).toStrictEqual(run);
    await store.close();
  });

  it('forgets the run of a createRun that failed midway, so its no cannot point at a later run', async () => {
    const store = openSqliteStore(file);
    const lost = makeRun();
    // BigInt does not serialize: the node row fails after the run row went in, and both roll back.
    await expect(store.createRun(lost, [makeNode('a', { status: 'RUNNING', input: { n: 1n } as never })])).rejects.toThrow(TypeError);
    expect(await store.getRun(lost.id)).toBeUndefined();
    const next = makeRun();
    await store.createRun(next, []);
    await expectAppError(store.commit({ events: makeEvents(lost.id, 1, 1), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', new RegExp(lost.id));
    expect(await store.readEvents(next.id, 0, 10)).toStrictEqual([]);
    await store.close();
  });

  it('rejects a negative readEvents limit instead of reading everything', async () => {
    const store = openSqliteStore(':memory:');
    await expectAppError(store.readEvents('any', 0, -1), 'INVALID_INPUT', /limit/);
    await store.close();
  });
});
