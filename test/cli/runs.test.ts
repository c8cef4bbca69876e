import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliWorkspace } from '../utils/cli.ts';

/** `flowcast runs`: the table, newest first, and its filters, from a database file and from a server. */

const ROW = /^(run_\w+) +(\S+) +(QUEUED|RUNNING|PAUSED|COMPLETED|FAILED|CANCELLED) +(\d+)% +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|-) +(\S.*)$/;

/** The rows of the table as [id, graph, status, progress], checking the header and the form of every row. */
function table(stdout: string): string[][] {
  const [header, ...lines] = stdout.trimEnd().split('\n');
  expect(header).toMatch(/^ID +GRAPH +STATUS +PROGRESS +STARTED +DURATION$/);
  return lines.map((line) => {
    const match = ROW.exec(line);
    expect(match, line).not.toBeNull();
    return match!.slice(1, 5);
  });
}

describe('flowcast runs', () => {
  const workspace = cliWorkspace('flowcast-cli-runs-');
  const { cwd } = workspace;
  const db = join(cwd, 'runs.db');
  const flowcast = (...args: string[]): ReturnType<typeof cli> => cli(args, { cwd });

  it('lists the runs of a database file newest first, filtered by status and graph', async () => {
    const fail = join(cwd, 'fail.json');
    writeFileSync(fail, JSON.stringify({ id: 'failing', name: 'f', entry: 'x', nodes: [{ id: 'x', kind: 'fail', config: { message: 'no luck' } }], edges: [{ from: 'x', to: 'END' }] }));
    const ids: string[] = [];
    for (const args of [['fan-out', '--input', '{"speed": 0}'], [fail], ['fan-out', '--input', '{"speed": 0}']]) {
      const { stdout } = await flowcast('run', ...args, '--db', db);
      ids.push(/run (run_\w+)/.exec(stdout)![1]!);
    }

    const all = await flowcast('runs', '--db', db);
    expect(all.code).toBe(0);
    expect(table(all.stdout)).toEqual([
      [ids[2], 'fan-out', 'COMPLETED', '100'],
      [ids[1], 'failing', 'FAILED', '0'],
      [ids[0], 'fan-out', 'COMPLETED', '100'],
    ]);
    expect(table((await flowcast('runs', '--db', db, '--status', 'failed')).stdout)).toEqual([[ids[1], 'failing', 'FAILED', '0']]);
    expect(table((await flowcast('runs', '--db', db, '--graph', 'fan-out', '--limit', '1')).stdout).map((row) => row[0])).toEqual([ids[2]]);
    expect(await flowcast('runs', '--db', db, '--graph', 'fan-out', '--status', 'FAILED,CANCELLED')).toEqual({ code: 0, stdout: 'no runs\n', stderr: '' });
    expect(await flowcast('runs', '--db', db, '--status', 'done')).toEqual({ code: 2, stdout: '', stderr: 'flowcast: --status "DONE" is not a run status; use one or more of QUEUED, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED\n' });
  });

  it('lists the runs of a server, with the same filters', async () => {
    const started: string[] = [];
    for (const graphId of ['fan-out', 'nope-not-a-graph', 'content-pipeline']) {
      const res = await workspace.server.gql<{ runGraph: { id?: string } }>('mutation ($g: ID!) { runGraph(graphId: $g, input: {speed: 0}) { ... on Run { id } } }', { g: graphId });
      if (res.data?.runGraph.id) started.push(res.data.runGraph.id);
    }
    const all = await flowcast('runs', '--server', workspace.server.url);
    expect(all.code).toBe(0);
    expect(table(all.stdout)).toEqual([
      [started[1], 'content-pipeline', 'COMPLETED', '100'],
      [started[0], 'fan-out', 'COMPLETED', '100'],
    ]);
    expect(table((await flowcast('runs', '--server', workspace.server.url, '--graph', 'fan-out')).stdout)).toEqual([[started[0], 'fan-out', 'COMPLETED', '100']]);
    expect((await flowcast('runs', '--server', workspace.server.url, '--status', 'running')).stdout).toBe('no runs\n');
  });

  it('is plain when piped, even where CI is set; colours only when FORCE_COLOR asks and NO_COLOR does not forbid', async () => {
    await workspace.server.gql('mutation { runGraph(graphId: "fan-out", input: {speed: 0}) { __typename } }');
    const runs = (env: Record<string, string>): Promise<string> => cli(['runs', '--server', workspace.server.url], { cwd, env }).then((result) => result.stdout);
    const bold = '\u001b[1m';
    expect(await runs({ CI: '1' })).not.toContain('\u001b[');
    table(await runs({ CI: '1', TERM: 'xterm-256color' }));
    expect(await runs({ FORCE_COLOR: '1' })).toMatch(new RegExp(`^\\u001b\\[1mID +GRAPH`));
    expect(await runs({ FORCE_COLOR: '1' })).toContain('\u001b[32mCOMPLETED');
    expect(await runs({ FORCE_COLOR: '0', CI: '1' })).not.toContain(bold);
    expect(await runs({ FORCE_COLOR: '1', NO_COLOR: '1' })).not.toContain(bold);
  });
});
