import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../src/cli/bin.js');
const dir = mkdtempSync(join(tmpdir(), 'flowcast-cli-'));
const db = join(dir, 'cli.db');

async function flowcast(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: dir, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('flowcast run', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a demo, prints one line per event, and exits 0', async () => {
    const { code, stdout, stderr } = await flowcast('run', 'fan-out', '--input', '{"value": 3, "speed": 0}', '--db', db);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {3}1 {2}RunStarted +fan-out run run_\w+ \(maxSteps 100\)/);
    expect(lines.at(-1)).toMatch(/^ +\d+ {2}RunCompleted/);
    expect(lines.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(lines.map((_, i) => i + 1));
    expect(stdout).toContain('NodeCompleted join');
  });

  it('prints JSON lines with --json', async () => {
    const { code, stdout } = await flowcast('run', 'fan-out', '--input', '{"speed": 0}', '--db', ':memory:', '--json');
    expect(code).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
    expect(events.at(-1)).toMatchObject({ type: 'RunCompleted', seq: events.length });
  });

  it('runs a graph file and exits 1 with the error when the run fails', async () => {
    const file = join(dir, 'failing.json');
    writeFileSync(file, JSON.stringify({ name: 'f', entry: 'x', nodes: [{ id: 'x', kind: 'fail', config: { message: 'no luck' } }], edges: [{ from: 'x', to: 'END' }] }));
    const { code, stdout, stderr } = await flowcast('run', file, '--db', db);
    expect(code).toBe(1);
    expect(stdout).toMatch(/RunFailed +NODE_FAILED: no luck/);
    expect(stderr.trim()).toMatch(/^flowcast: run run_\w+ failed: no luck$/);
  });

  it('stops at a pause, says the run stays PAUSED in the database, and exits 1', async () => {
    const file = join(dir, 'ask.json');
    writeFileSync(file, JSON.stringify({ name: 'ask', entry: 'ask', nodes: [{ id: 'ask', kind: 'interrupt', config: { payload: 'ok?' } }], edges: [{ from: 'ask', to: 'END' }] }));
    const { code, stdout, stderr } = await flowcast('run', file, '--db', db);
    expect(code).toBe(1);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^ +\d+ {2}RunPaused +node "ask" asked for input \(interrupt\); ask asks "ok\?"$/);
    expect(stderr.trim()).toMatch(/^flowcast: run run_\w+ paused \(node "ask" asked for input \(interrupt\)\); it stays PAUSED in the database, and a server started on it can resume it \(resumeRun\)$/);
  });

  it('prints a large state update as its size, and whole with --json', async () => {
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ name: 'big', entry: 'b', nodes: [{ id: 'b', kind: 'transform', config: { expression: '{"big": $pad("", 300000, "x")}' } }], edges: [{ from: 'b', to: 'END' }] }));
    const text = await flowcast('run', file, '--db', db);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/NodeCompleted b in [\d.]+ ms -> \(300010 B, stored apart\)/);
    const json = await flowcast('run', file, '--db', db, '--json');
    const completed = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stateUpdate?: { big: string }; stateUpdateRef?: string }).find((e) => e.type === 'NodeCompleted');
    expect(completed?.stateUpdate?.big).toHaveLength(300_000);
    expect(completed).not.toHaveProperty('stateUpdateRef');
  });

  it.each([
    [['run', 'nope'], 'flowcast: no graph "nope"; known graphs: code-review, content-pipeline, fan-out'],
    [['run', 'fan-out', '--input', '{bad'], 'flowcast: --input is not valid JSON'],
    [['run', 'fan-out', '--input', '[1]'], 'flowcast: run input must be a JSON object'],
    [['run', 'missing.json'], 'flowcast: cannot read graph file missing.json: ENOENT'],
    [['frobnicate'], 'flowcast: unknown command "frobnicate"'],
  ])('gives one line saying what to fix for %j', async (args, message) => {
    const { code, stdout, stderr } = await flowcast(...args, '--db', db);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });

  it('reports every problem of an invalid graph file on one line', async () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify({ name: 'bad', entry: 'a', nodes: [{ id: 'a', kind: 'nosuch' }], edges: [{ from: 'a', to: 'ghost' }] }));
    const { code, stderr } = await flowcast('run', file, '--db', db);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('flowcast: graph has 2 problems:; nodes[0].kind: unknown node kind "nosuch"; use one of: delay, fail, http, interrupt, noop, transform; edges[0].to: unknown node "ghost"; use one of: a, END');
  });
});
