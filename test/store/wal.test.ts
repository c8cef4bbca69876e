import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite.ts';
import { makeEvents, makeRun } from './fixtures.ts';
import { expectAppError } from './spec.ts';

describe('SQLite WAL checkpoint thread', () => {
  let dir = '';
  let file = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-wal-'));
    file = join(dir, 'flowcast.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Commits the run's events `from`..`to`, one commit each. */
  async function commitEach(store: SqliteStore, runId: string, from: number, to: number): Promise<void> {
    for (const event of makeEvents(runId, from, to)) await store.commit({ events: [event], runs: [], nodes: [], checkpoints: [] });
  }

  /** A store on the file with one run, given `commits` commits of one event each. */
  async function storeWithCommits(commits: number, options: SqliteStoreOptions): Promise<{ store: SqliteStore; runId: string }> {
    const store = openSqliteStore(file, options);
    const run = makeRun();
    await store.createRun(run, []);
    await commitEach(store, run.id, 1, commits);
    return { store, runId: run.id };
  }

  /** The database file's size: it grows only when a checkpoint copies pages from the WAL into it. */
  const fileSize = (): number => statSync(file).size;

  async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
    for (const start = Date.now(); Date.now() - start < ms; await sleep(10)) if (condition()) return true;
    return condition();
  }

  it('copies the WAL into the database from a thread once the store has committed 100 times, long before the writer would', async () => {
    const { store, runId } = await storeWithCommits(99, { walCheckpointFrames: 20 });
    const before = fileSize();
    // 99 commits: no thread yet, and far from the writer's own checkpoint (10,000 pages).
    await sleep(100);
    expect(fileSize()).toBe(before);

    await commitEach(store, runId, 100, 150);
    expect(await waitFor(() => fileSize() > before, 5000)).toBe(true);
    // Everything is still there, for this connection and for another one.
    expect((await store.readEvents(runId, 0, 1000)).map((e) => e.seq)).toStrictEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare<[], { n: number }>('SELECT max(last_seq) AS n FROM events').get()?.n).toBe(150);
    raw.close();
    await store.close();
  });

  it('starts no thread with walCheckpointFrames 0: the WAL stays out of the database until the writer checkpoints', async () => {
    const { store } = await storeWithCommits(150, { walCheckpointFrames: 0 });
    const before = fileSize();
    await sleep(300);
    expect(fileSize()).toBe(before);
    await store.close();
  });

  it('stops the thread before closing, so that the store is the last connection and removes the WAL', async () => {
    const { store } = await storeWithCommits(150, { walCheckpointFrames: 20 });
    expect(existsSync(`${file}-wal`)).toBe(true);
    // The thread holds a connection once it has checkpointed.
    const before = fileSize();
    expect(await waitFor(() => fileSize() > before, 5000)).toBe(true);
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
  });

  it('says once on stderr when the thread cannot work, and the store goes on without it', async () => {
    const said: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void said.push(args.join(' ')));
    try {
      const { store, runId } = await storeWithCommits(99, { walCheckpointFrames: 20 });
      // The store's connection keeps its open file; the thread's, opened from the path, finds none.
      renameSync(file, `${file}.moved`);
      await commitEach(store, runId, 100, 101);
      expect(await waitFor(() => said.length > 0, 5000)).toBe(true);
      await sleep(50);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/^flowcast: background WAL checkpoints of .*flowcast\.db stopped \(.+\); the writer checkpoints from now on$/);
      await commitEach(store, runId, 102, 102);
      expect(await store.readEvents(runId, 0, 1000)).toHaveLength(102);
      await store.close();
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects a walCheckpointFrames that is not an integer of 0 or more with INVALID_CONFIG', async () => {
    for (const frames of [-1, 1.5, Number.NaN]) {
      await expectAppError(Promise.resolve().then(() => openSqliteStore(file, { walCheckpointFrames: frames })), 'INVALID_CONFIG', /walCheckpointFrames must be an integer of 0 or more/);
    }
    expect(existsSync(file)).toBe(false);
  });
});
