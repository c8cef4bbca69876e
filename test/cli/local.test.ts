import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatEvent } from '../../src/cli/format.ts';
import { newNodeSnapshot, type RunRecord } from '../../src/events/snapshot.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { cli, seqsOf, startCli } from '../utils/cli.ts';

/** `flowcast run --watch` in process and `flowcast watch --db`, on a SQLite file, stdout not a terminal. */

describe('flowcast on a local database file', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'flowcast-cli-local-'));
  const db = join(cwd, 'local.db');
  const flowcast = (...args: string[]): ReturnType<typeof cli> => cli(args, { cwd });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  function graphFile(name: string, graph: Record<string, unknown>): string {
    const file = join(cwd, `${name}.json`);
    writeFileSync(file, JSON.stringify(graph));
    return file;
  }

  async function stored(runId: string): Promise<string[]> {
    const store = openSqliteStore(db);
    try {
      return (await store.readEvents(runId, 0, 10_000)).map(formatEvent);
    } finally {
      await store.close();
    }
  }

  it('run --watch runs in process and, off a terminal, prints each stored event once, in order, ending with RunCompleted; watch --db prints the same again', async () => {
    const run = await flowcast('run', 'fan-out', '--input', '{"value": 3, "speed": 0}', '--db', db, '--watch');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(seqsOf(lines)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.at(-1)).toMatch(/^ +\d+ {2}RunCompleted/);
    const runId = /run (run_\w+)/.exec(lines[0]!)![1]!;
    expect(lines).toEqual(await stored(runId));

    const watched = await flowcast('watch', runId, '--db', db);
    expect(watched).toEqual({ code: 0, stdout: run.stdout, stderr: '' });
  });

  it('watch --db shows a paused run up to its pause and exits 1; a failed one to its end and exits 1', async () => {
    const ask = graphFile('ask', { name: 'ask', entry: 'ask', nodes: [{ id: 'ask', kind: 'interrupt', config: { payload: 'ok?' } }], edges: [{ from: 'ask', to: 'END' }] });
    const paused = await flowcast('run', ask, '--db', db);
    const pausedId = /run (run_\w+)/.exec(paused.stdout)![1]!;
    const watchedPause = await flowcast('watch', pausedId, '--db', db);
    expect(watchedPause.code).toBe(1);
    expect(watchedPause.stdout).toBe(paused.stdout);
    expect(watchedPause.stderr.trim()).toBe(`flowcast: run ${pausedId} paused (node "ask" asked for input (interrupt)); a server started on this database can resume it (resumeRun)`);

    const fail = graphFile('fail', { name: 'f', entry: 'x', nodes: [{ id: 'x', kind: 'fail', config: { message: 'no luck' } }], edges: [{ from: 'x', to: 'END' }] });
    const failed = await flowcast('run', fail, '--db', db, '--watch');
    expect(failed.code).toBe(1);
    const failedId = /run (run_\w+)/.exec(failed.stdout)![1]!;
    const watchedFailure = await flowcast('watch', failedId, '--db', db);
    expect(watchedFailure).toEqual({ code: 1, stdout: failed.stdout, stderr: `flowcast: run ${failedId} failed: no luck\n` });
  });

  it('watch --db says a running run needs its server, and names an unknown run or a missing file (exit 2, creating nothing)', async () => {
    const other = join(cwd, 'other.db');
    const store = openSqliteStore(other);
    const now = new Date().toISOString();
    const running: RunRecord = {
      id: 'run_busy', graphId: 'fan-out', status: 'RUNNING', input: {}, state: {}, progress: 10, currentNodes: ['start'], step: 0, maxSteps: 100, lastSeq: 0, error: null,
      priority: 0, createdAt: now, startedAt: now, finishedAt: null, updatedAt: now, graphHash: null, timeoutMs: null, breakpoints: [], pause: null, concurrencyKey: null, idempotencyKey: null,
    };
    await store.createRun(running, [newNodeSnapshot('start')]);
    await store.close();

    const busy = await flowcast('watch', 'run_busy', '--db', other);
    expect(busy).toEqual({ code: 2, stdout: '', stderr: `flowcast: run run_busy is RUNNING in ${other}, and a database file has no live events; watch it on the server that runs it: flowcast watch run_busy --server <url>\n` });
    const unknown = await flowcast('watch', 'run_nope', '--db', other);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: `flowcast: no run "run_nope" in ${other}; flowcast runs --db ${other} lists its runs\n` });
    const missing = await flowcast('watch', 'run_nope', '--db', 'typo.db');
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'flowcast: no database file typo.db; pass the file a server or flowcast run wrote (default ./data/flowcast.db)\n' });
    expect(existsSync(join(cwd, 'typo.db'))).toBe(false);
  });

  it('Ctrl-C cancels a run in process: it ends CANCELLED in the database, and the command exits 1', async () => {
    const slow = graphFile('slow', { name: 'slow', entry: 'wait', nodes: [{ id: 'wait', kind: 'delay', config: { ms: 30_000 } }], edges: [{ from: 'wait', to: 'END' }] });
    const child = startCli(['run', slow, '--db', db, '--watch'], { cwd });
    await child.waitFor(/NodeStarted +wait/);
    child.signal('SIGINT');
    const { code, stdout, stderr } = await child.done;
    expect(code).toBe(1);
    const runId = /run (run_\w+)/.exec(stdout)![1]!;
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^ +\d+ {2}RunCancelled +cancelled from the terminal \(Ctrl-C\)$/);
    expect(stderr).toBe(`flowcast: run ${runId} cancelled: cancelled from the terminal (Ctrl-C)\n`);
    const store = openSqliteStore(db);
    expect((await store.getRun(runId))?.status).toBe('CANCELLED');
    await store.close();
  });

  it.each([
    [['watch'], 'flowcast: watch needs a run id, e.g. flowcast watch run_…; flowcast runs lists them (flowcast --help shows usage)'],
    [['graphs', '--watch'], 'flowcast: graphs does not take --watch (flowcast --help shows usage)'],
    [['runs', 'extra'], 'flowcast: unexpected argument "extra" (flowcast --help shows usage)'],
  ])('exits 2 with one line saying what to fix for %j', async (args, message) => {
    const { code, stdout, stderr } = await flowcast(...args);
    expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });
});
