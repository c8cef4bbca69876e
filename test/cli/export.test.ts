import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunExport } from '../../src/engine/export.ts';
import type { SqliteStore } from '../../src/store/sqlite.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

const bin = join(import.meta.dirname, '../../src/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'flowcast-cli-export-'));

async function flowcast(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // DATABASE_URL blank: --db names the SQLite file anyway, and no test here needs PostgreSQL.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: dir, timeout: 20_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DATABASE_URL: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('flowcast export', () => {
  let s: TestServer;
  let db = '';
  let run: { id: string; state: object; lastSeq: number };
  beforeAll(async () => {
    s = await startTestServer();
    db = (s.app.services.store as SqliteStore).path;
    const { data } = await s.gql<{ runGraph: { id: string; status: string; state: object; lastSeq: number } }>('mutation { runGraph(graphId: "content-pipeline", input: {topic: "exports", speed: 0}) { ... on Run { id status state lastSeq } } }');
    expect(data!.runGraph.status).toBe('COMPLETED');
    run = data!.runGraph;
  });
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a run the server ran to a file that holds every event and the final state, and exits 0', async () => {
    const file = join(dir, 'run.json');
    const { code, stdout, stderr } = await flowcast('export', run.id, file, '--db', db);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`wrote run ${run.id} (COMPLETED, ${run.lastSeq} events) to ${file}`);
    const document = JSON.parse(readFileSync(file, 'utf8')) as RunExport;
    expect(document).toMatchObject({ format: 'flowcast.run-export', version: 1, run: { id: run.id, status: 'COMPLETED', state: run.state }, graph: { id: 'content-pipeline', source: 'code' } });
    expect(document.events.map((e) => e.seq)).toStrictEqual(Array.from({ length: run.lastSeq }, (_, i) => i + 1));
    expect(document.events.at(-1)).toMatchObject({ type: 'RunCompleted', finalState: run.state });
    // The same document the API gives, but for when it was made.
    const api = await s.gql<{ exportRun: { document: RunExport } }>('query($id: ID!) { exportRun(id: $id) { ... on RunExport { document } } }', { id: run.id });
    expect({ ...document, exportedAt: '' }).toStrictEqual({ ...api.data!.exportRun.document, exportedAt: '' });
  });

  it('writes to stdout without a file', async () => {
    const { code, stdout } = await flowcast('export', run.id, '--db', db);
    expect(code).toBe(0);
    const document = JSON.parse(stdout) as RunExport;
    expect(document.run.id).toBe(run.id);
    expect(document.events).toHaveLength(run.lastSeq);
  });

  it.each([
    [['export', 'run_nope'], 'flowcast: no run "run_nope"'],
    [['export'], 'flowcast: export needs a run id'],
    [['export', 'run_nope', 'a.json', 'b.json'], 'flowcast: unexpected argument "b.json"'],
  ])('exits 2 with one line saying what to fix for %j', async (args, message) => {
    const { code, stdout, stderr } = await flowcast(...args, '--db', db);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });

  it('exits 2 for a --db file that does not exist, without creating it', async () => {
    const missing = join(dir, 'missing.db');
    const { code, stderr } = await flowcast('export', run.id, '--db', missing);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`flowcast: no database file ${missing}; pass the file a server or flowcast run wrote (default ./data/flowcast.db)`);
    expect(existsSync(missing)).toBe(false);
  });

  it('exits 2 when it cannot write the file', async () => {
    const { code, stderr } = await flowcast('export', run.id, join(dir, 'no', 'such', 'dir', 'run.json'), '--db', db);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^flowcast: cannot write .*run\.json: ENOENT$/);
  });
});
