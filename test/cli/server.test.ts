import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEvent } from '../../src/cli/format.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { cli, closedPort, seqsOf, startCli } from '../utils/cli.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';

/** `flowcast run --server`, `flowcast watch` and their errors, against a real server on 127.0.0.1, stdout not a terminal. */

describe('flowcast with --server', () => {
  let server: TestServer;
  const cwd = mkdtempSync(join(tmpdir(), 'flowcast-cli-server-'));
  const flowcast = (...args: string[]): ReturnType<typeof cli> => cli(args, { cwd });

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  async function storedEvents(runId: string): Promise<RunEvent[]> {
    return server.app.services.store.readEvents(runId, 0, 10_000);
  }

  async function createGraph(input: Record<string, unknown>): Promise<string> {
    const res = await server.gql<{ createGraph: { id?: string; message?: string } }>('mutation ($input: GraphInput!) { createGraph(input: $input) { ... on Graph { id } ... on Error { message } } }', { input });
    if (!res.data?.createGraph.id) throw new Error(`createGraph failed: ${JSON.stringify(res)}`);
    return res.data.createGraph.id;
  }

  async function startRun(graphId: string, input: Record<string, unknown> = {}): Promise<string> {
    const res = await server.gql<{ startRun: { id: string } }>('mutation ($g: ID!, $i: JSON) { startRun(graphId: $g, input: $i) { ... on Run { id } } }', { g: graphId, i: input });
    return res.data!.startRun.id;
  }

  async function until(runId: string, status: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const run = await server.app.services.store.getRun(runId);
      if (run?.status === status) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`run ${runId} never became ${status}`);
  }

  it('run --watch starts the run on the server and prints each event once, in order, as the server stored it, then exits 0', async () => {
    const { code, stdout, stderr } = await flowcast('run', 'fan-out', '--input', '{"value": 3, "speed": 0}', '--server', server.url, '--watch');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(seqsOf(lines)).toEqual(lines.map((_, i) => i + 1));
    expect(lines[0]).toMatch(/^ {3}1 {2}RunQueued +fan-out \{.*"value":3.*\}$/);
    expect(lines.at(-1)).toMatch(/^ +\d+ {2}RunCompleted +in \d+ ms/);
    const runId = /run (run_\w+)/.exec(lines[1]!)![1]!;
    expect(lines).toEqual((await storedEvents(runId)).map(formatEvent));
  });

  it('watch follows a run to its end; a server given by $FLOWCAST_SERVER, as host:port', async () => {
    const graphId = await createGraph({ name: 'slow', entry: 'wait', nodes: [{ id: 'wait', kind: 'delay', config: { ms: 300 } }, { id: 'done', kind: 'noop' }], edges: [{ from: 'wait', to: 'done' }, { from: 'done', to: 'END' }] });
    const runId = await startRun(graphId);
    const { code, stdout, stderr } = await cli(['watch', runId], { cwd, env: { FLOWCAST_SERVER: server.url.replace('http://', '') } });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toEqual((await storedEvents(runId)).map(formatEvent));
    expect(lines.at(-1)).toMatch(/RunCompleted/);
  });

  it('watch --json prints every event as the server stored it, with all its fields: failures, retries, skips, a pause and its resume', async () => {
    const graphId = await createGraph({
      name: 'tour',
      entry: 'flaky',
      state: [{ key: 'n', default: 0 }],
      nodes: [
        { id: 'flaky', kind: 'fail', config: { message: 'once', times: 1 }, retry: { maxAttempts: 2, initialDelayMs: 1 } },
        { id: 'ask', kind: 'interrupt', config: { payload: { question: 'go on?' } } },
        { id: 'big', kind: 'noop' },
        { id: 'small', kind: 'transform', config: { expression: '{"n": n + 1}' } },
      ],
      edges: [{ from: 'flaky', to: 'ask' }, { from: 'ask', to: 'big', when: 'n > 10' }, { from: 'ask', to: 'small', when: 'n <= 10' }, { from: 'big', to: 'END' }, { from: 'small', to: 'END' }],
    });
    const runId = await startRun(graphId);
    await until(runId, 'PAUSED');
    const resumed = await server.gql('mutation ($id: ID!) { resumeRun(id: $id, stateUpdate: {n: 2}, resume: {yes: true}) { __typename } }', { id: runId });
    expect(resumed.data).toEqual({ resumeRun: { __typename: 'Run' } });
    await until(runId, 'COMPLETED');

    const { code, stdout } = await flowcast('watch', runId, '--server', `${server.url}/graphql`, '--json');
    expect(code).toBe(0);
    const printed = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as RunEvent);
    const stored = await storedEvents(runId);
    expect(new Set(stored.map((e) => e.type))).toEqual(new Set(['RunQueued', 'RunStarted', 'NodeStarted', 'NodeFailed', 'NodeCompleted', 'Transition', 'DataFlow', 'Progress', 'RunPaused', 'RunResumed', 'NodeSkipped', 'RunCompleted']));
    expect(printed).toEqual(stored);
  });

  it('watch stops at the pause a run is in (exit 1, saying how to go on), and after a resume follows it past that pause to its end', async () => {
    const graphId = await createGraph({ name: 'ask', entry: 'ask', nodes: [{ id: 'ask', kind: 'interrupt', config: { payload: 'ok?' } }, { id: 'after', kind: 'noop' }], edges: [{ from: 'ask', to: 'after' }, { from: 'after', to: 'END' }] });
    const runId = await startRun(graphId);
    await until(runId, 'PAUSED');

    const paused = await flowcast('watch', runId, '--server', server.url);
    expect(paused.code).toBe(1);
    expect(paused.stdout.trimEnd().split('\n').at(-1)).toMatch(/^ +\d+ {2}RunPaused +node "ask" asked for input \(interrupt\); ask asks "ok\?"$/);
    expect(paused.stderr.trim()).toBe(`flowcast: run ${runId} paused (node "ask" asked for input (interrupt)); resume it on the server (resumeRun), then watch it again: flowcast watch ${runId} --server ${server.url}`);

    await server.gql('mutation ($id: ID!) { resumeRun(id: $id, resume: "yes") { __typename } }', { id: runId });
    const resumed = await flowcast('watch', runId, '--server', server.url);
    expect(resumed.code).toBe(0);
    const lines = resumed.stdout.trimEnd().split('\n');
    expect(lines.some((line) => /RunResumed/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/RunCompleted/);
    expect(seqsOf(lines)).toEqual(lines.map((_, i) => i + 1));
  });

  it('exits 1 and says why when the run fails', async () => {
    const graphId = await createGraph({ name: 'f', entry: 'x', nodes: [{ id: 'x', kind: 'fail', config: { message: 'no luck' } }], edges: [{ from: 'x', to: 'END' }] });
    const { code, stdout, stderr } = await flowcast('run', graphId, '--server', server.url, '--watch');
    expect(code).toBe(1);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/RunFailed +NODE_FAILED: no luck$/);
    expect(stderr.trim()).toMatch(/^flowcast: run run_\w+ failed: no luck$/);
  });

  it('Ctrl-C stops watching with exit 130 and leaves the run going on the server', async () => {
    const graphId = await createGraph({ name: 'long', entry: 'wait', nodes: [{ id: 'wait', kind: 'delay', config: { ms: 2_000 } }], edges: [{ from: 'wait', to: 'END' }] });
    const child = startCli(['run', graphId, '--server', server.url, '--watch'], { cwd });
    await child.waitFor(/NodeStarted +wait/);
    child.signal('SIGINT');
    const { code, stdout, stderr } = await child.done;
    expect(code).toBe(130);
    const runId = /run (run_\w+)/.exec(stdout)![1]!;
    expect(stderr.trim()).toMatch(new RegExp(`^flowcast: stopped watching run ${runId} after seq \\d+; it keeps running on the server; watch it again: flowcast watch ${runId} --server ${server.url}$`));
    await until(runId, 'COMPLETED');
  });

  it.each([
    [['watch', 'run_nope'], () => `flowcast: no run "run_nope" on ${server.url}; flowcast runs --server ${server.url} lists its runs`],
    [['run', 'nope'], () => 'flowcast: no graph "nope"; known graphs: code-review, content-pipeline, fan-out'],
    [['run', 'fan-out', '--input', '{"value": 3'], () => 'flowcast: --input is not valid JSON'],
    [['run', 'fan-out', '--input', '"3"'], () => 'flowcast: run input must be a JSON object, e.g. {"topic": "graphs"}'],
    [['run', 'graph.json'], () => 'flowcast: a graph file runs in-process only; leave out --server, or create the graph on the server (createGraph) and run it by id'],
    [['watch', 'run_x', '--db', 'x.db'], () => 'flowcast: pass either --server (a running server) or --db (a database file), not both'],
  ])('exits 2 with one line saying what to fix for %j', async (args, message) => {
    const { code, stdout, stderr } = await flowcast(...args, '--server', server.url);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toContain(message());
  });

  it('exits 2 saying how to fix it when no server listens there', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['watch', 'run_x', '--server', url], ['run', 'fan-out', '--watch', '--server', url], ['runs', '--server', url]]) {
      const { code, stdout, stderr } = await flowcast(...args);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim()).toBe(`flowcast: cannot reach a Flowcast server at ${url} (ECONNREFUSED); start one with \`npm start\`, or pass --server URL (or set FLOWCAST_SERVER)`);
    }
  });
});
