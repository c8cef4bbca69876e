import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'flowcast-life-'));
const db = join(dir, 'flowcast.db');

/** `npm start`'s entry point in a child process; resolves with its URL once it listens. */
function serve(env: Record<string, string> = {}): { child: ChildProcess; url: Promise<string>; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', FLOWCAST_DB: db, FLOWCAST_SHUTDOWN_GRACE_MS: '300', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += String(chunk);
      const match = /serving (http:\/\/[^\s]+)\/graphql /.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => reject(new Error(`server exited before listening:\n${output}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, output: () => output, exit };
}

async function gql(url: string, query: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await response.json()) as Record<string, unknown>;
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

  it('ends a run that a killed process left RUNNING, with a notice, when the next server starts', async () => {
    const first = serve();
    const url = await first.url;
    const started = (await gql(url, 'mutation { startRun(graphId: "slow") { ... on Run { id } } }')) as { data: { startRun: { id: string } } };
    const runId = started.data.startRun.id;
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.child.kill('SIGKILL');
    await first.exit;
    const second = serve();
    const url2 = await second.url;
    const run = (await gql(url2, `{ run(id: "${runId}") { status error { code message } events(after: 0, first: 100) { nodes { type } } } }`)) as { data: { run: { status: string; events: { nodes: Array<{ type: string }> } } } };
    expect(run.data.run.status).toBe('FAILED');
    expect(run.data.run.events.nodes.slice(-2).map((e) => e.type)).toEqual(['SystemNotice', 'RunFailed']);
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  });

  it('refuses a bad configuration with a message and exit code 2', async () => {
    const bad = serve({ PORT: 'http' });
    await expect(bad.url).rejects.toThrow('PORT="http" must be an integer from 0 to 65535');
    expect(await bad.exit).toBe(2);
  });
});
