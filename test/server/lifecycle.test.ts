import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { gqlAt, serveProcess, type ServerProcess } from '../utils/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowcast-life-'));
const db = join(dir, 'flowcast.db');

/** The server in a child process on this file's database. */
function serve(env: Record<string, string> = {}): ServerProcess {
  return serveProcess({ FLOWCAST_DB: db, FLOWCAST_SHUTDOWN_GRACE_MS: '300', ...env });
}

async function gql(url: string, query: string): Promise<Record<string, unknown>> {
  return (await gqlAt(url, query)) as Record<string, unknown>;
}

describe('server lifecycle', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on SIGTERM cancels what is still running, closes sockets and exits 0; the next start finds nothing stuck', async () => {
    const first = serve();
    const url = await first.url;
    const created = (await gql(url, 'mutation { createGraph(input: {id: "slow", name: "slow", entry: "w", nodes: [{id: "w", kind: "delay", config: {ms: 60000}}], edges: [{from: "w", to: "END"}]}) { ... on Graph { id } } }')) as { data: unknown };
    expect(created.data).toEqual({ createGraph: { id: 'slow' } });
    const started = (await gql(url, 'mutation { startRun(graphId: "slow") { ... on Run { id } } }')) as { data: { startRun: { id: string } } };
    const runId = started.data.startRun.id;
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.output()).toContain('SIGTERM, shutting down');
    const store = openSqliteStore(db);
    expect(await store.getRun(runId)).toMatchObject({ status: 'CANCELLED', error: { code: 'CANCELLED', message: 'server shutting down' } });
    await store.close();
  });

  it('ends a run FAILED, with a notice saying why, when its graph was deleted while no server ran', async () => {
    const first = serve();
    const url = await first.url;
    const started = (await gql(url, 'mutation { startRun(graphId: "slow") { ... on Run { id } } }')) as { data: { startRun: { id: string } } };
    const runId = started.data.startRun.id;
    for (let i = 0; i < 100; i++) {
      const polled = (await gql(url, `{ run(id: "${runId}") { nodes { status } } }`)) as { data: { run: { nodes: Array<{ status: string }> } } };
      if (polled.data.run.nodes[0]?.status === 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exit;
    const store = openSqliteStore(db);
    expect(await store.getRun(runId)).toMatchObject({ status: 'RUNNING' });
    expect(await store.deleteGraph('slow')).toBe(true);
    await store.close();

    const second = serve();
    const url2 = await second.url;
    const run = (await gql(url2, `{ run(id: "${runId}") { status error { code message } nodes { status } events(after: 0, first: 100) { nodes { type ... on SystemNotice { code message } } } } }`)) as { data: { run: { status: string; error: unknown; nodes: unknown[]; events: { nodes: Array<{ type: string }> } } } };
    const reason = 'graph "slow" was deleted while the run was unfinished; the run cannot go on';
    expect(run.data.run).toMatchObject({ status: 'FAILED', error: { code: 'RECOVERY_FAILED', message: reason }, nodes: [{ status: 'FAILED' }] });
    expect(run.data.run.events.nodes.slice(-2)).toEqual([
      { type: 'SystemNotice', code: 'RECOVERY', message: `the server restarted and could not resume this run: ${reason}` },
      { type: 'RunFailed' },
    ]);
    expect(second.output()).toContain('took up runs left unfinished by a previous process: 0 resumed or queued again, 0 still paused, 1 failed');
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  });

  it('refuses a bad configuration with a message and exit code 2', async () => {
    const bad = serve({ PORT: 'http' });
    await expect(bad.url).rejects.toThrow('PORT="http" must be an integer from 0 to 65535');
    expect(await bad.exit).toBe(2);
  });

  it('refuses a PostgreSQL it cannot reach with a message and exit code 2, without the password', async () => {
    // Port 1 on loopback: nothing listens there.
    const bad = serve({ DATABASE_URL: 'postgres://flowcast:hunter2@127.0.0.1:1/flowcast' });
    await expect(bad.url).rejects.toThrow('cannot open the PostgreSQL store at postgres://flowcast:***@127.0.0.1:1/flowcast');
    expect(await bad.exit).toBe(2);
    expect(bad.output()).not.toContain('hunter2');
  });
});
