import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import type { RunStatus } from '../../src/events/snapshot.ts';
import { RetentionSweeper } from '../../src/store/retention.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import { makeEvents, makeRun } from './fixtures.ts';

const NOW = Date.parse('2030-06-15T12:00:00.000Z');
const HOUR = 3_600_000;
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

describe('RetentionSweeper', () => {
  let dir = '';
  let store: SqliteStore;
  const sweepers: RetentionSweeper[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-retention-'));
    store = openSqliteStore(join(dir, 'flowcast.db'));
  });
  afterEach(async () => {
    await Promise.all(sweepers.splice(0).map((sweeper) => sweeper.stop()));
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  function sweeper(options: Partial<ConstructorParameters<typeof RetentionSweeper>[1]> = {}): RetentionSweeper {
    const made = new RetentionSweeper(store, { retentionMs: 24 * HOUR, intervalMs: 3_600_000, now: () => NOW, ...options });
    sweepers.push(made);
    return made;
  }
  async function run(status: RunStatus, finishedAt: string | null): Promise<string> {
    const record = makeRun({ status, finishedAt, lastSeq: 2 });
    await store.createRun(record, []);
    await store.commit({ events: makeEvents(record.id, 1, 2), runs: [], nodes: [], checkpoints: [] });
    return record.id;
  }
  const present = async (ids: string[]): Promise<boolean[]> => Promise.all(ids.map(async (id) => (await store.getRun(id)) !== undefined));

  it('deletes, in batches, the finished runs older than the retention and keeps the rest', async () => {
    const old = [];
    for (let i = 0; i < 7; i++) old.push(await run(i % 2 === 0 ? 'COMPLETED' : 'FAILED', ago(25 * HOUR + i)));
    const kept = [await run('CANCELLED', ago(23 * HOUR)), await run('RUNNING', null), await run('PAUSED', ago(48 * HOUR))];
    const swept: Array<[number, string]> = [];
    const deleted = await sweeper({ batchSize: 3, onSwept: (n, cutoff) => swept.push([n, cutoff]) }).sweep();
    expect(deleted).toBe(7);
    expect(swept).toStrictEqual([[7, ago(24 * HOUR)]]);
    expect(await present(old)).toStrictEqual(old.map(() => false));
    expect(await present(kept)).toStrictEqual([true, true, true]);
    expect(await store.readEvents(old[0]!, 0, 10)).toStrictEqual([]);
    expect(await store.readEvents(kept[0]!, 0, 10)).toHaveLength(2);
  });

  it('sweeps once started, again after each interval, and never after stop', async () => {
    let now = NOW;
    const sweeps: number[] = [];
    const sweeping = sweeper({ intervalMs: 20, now: () => now, onSwept: (n) => sweeps.push(n) });
    const first = await run('COMPLETED', ago(25 * HOUR));
    sweeping.start();
    await waitFor(async () => (await present([first]))[0] === false);
    // Finished within the retention: kept until the clock moves past it.
    const second = await run('COMPLETED', ago(HOUR));
    await sleep(100);
    expect(await present([second])).toStrictEqual([true]);
    now += 24 * HOUR;
    await waitFor(async () => (await present([second]))[0] === false);
    expect(sweeps).toStrictEqual([1, 1]);

    await sweeping.stop();
    const third = await run('COMPLETED', ago(100 * HOUR));
    await sleep(100);
    expect(await present([third])).toStrictEqual([true]);
  });

  it('reports a failed sweep and keeps its schedule', async () => {
    const errors: unknown[] = [];
    const sweeping = sweeper({ intervalMs: 10, onError: (error) => errors.push(error) });
    await store.close();
    sweeping.start();
    await waitFor(async () => errors.length >= 2);
    expect(String(errors[0])).toMatch(/database connection is not open/);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
