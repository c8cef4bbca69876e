import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { AppError } from '../../src/common/errors.ts';
import type { RunSnapshot } from '../../src/events/snapshot.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { makeEvents, makeNode, makeRun } from './fixtures.ts';
import { expectAppError, runStoreSpec } from './spec.ts';

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
  function withRaw<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
  const appliedMigrations = (): unknown[] => withRaw((db) => db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all());

  it('reads its migration files in version order', () => {
    const migrations = loadMigrations('sqlite');
    expect(migrations.map((m) => [m.version, m.name])).toStrictEqual([[1, 'init']]);
    expect(migrations[0]?.sql).toMatch(/CREATE TABLE events/);
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

  it('puts the file in WAL mode', async () => {
    const store = openSqliteStore(file);
    await store.commit({ events: makeEvents('wal-run', 1, 1), runs: [], nodes: [], checkpoints: [] });
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

  it('rejects a stored event that no longer decodes', async () => {
    const store = openSqliteStore(file);
    await store.commit({ events: makeEvents('bad-run', 1, 2), runs: [], nodes: [], checkpoints: [] });
    withRaw((db) => db.prepare("UPDATE events SET data = json_set(data, '$.priority', 'URGENT') WHERE seq = 2").run());
    expect(await store.readEvents('bad-run', 0, 1)).toHaveLength(1);
    await expectAppError(store.readEvents('bad-run', 0, 10), 'INVALID_INPUT', /priority/);
    await store.close();
  });

  it('stores a run snapshot passed as a record without its nodes map', async () => {
    const store = openSqliteStore(file);
    const run = makeRun();
    const snapshot: RunSnapshot = { ...run, nodes: new Map([['a', makeNode('a')]]) };
    await store.commit({ events: [], runs: [snapshot], nodes: [], checkpoints: [] });
    expect(await store.getRun(run.id)).toStrictEqual(run);
    await store.close();
  });

  it('shares one log between two stores on the same file', async () => {
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    const events = makeEvents('shared-run', 1, 6);
    await a.commit({ events: events.slice(0, 3), runs: [], nodes: [], checkpoints: [] });
    await b.commit({ events: events.slice(3), runs: [], nodes: [], checkpoints: [] });
    expect(await a.readEvents('shared-run', 0, 10)).toStrictEqual(events);
    await expectAppError(a.commit({ events: events.slice(5), runs: [], nodes: [], checkpoints: [] }), 'INTERNAL', /seq 6/);
    await a.close();
    await b.close();
  });

  it('rejects a negative readEvents limit instead of reading everything', async () => {
    const store = openSqliteStore(':memory:');
    await expectAppError(store.readEvents('any', 0, -1), 'INVALID_INPUT', /limit/);
    await store.close();
  });
});
