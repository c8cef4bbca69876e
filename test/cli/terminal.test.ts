import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliInTerminal, cliWorkspace, finalFrame, scriptUnavailable } from '../utils/cli.ts';

/**
 * The live view on a real pseudo-terminal (util-linux `script`): what stays on the screen when the
 * run has ended is its final frame, with every node, its status and a full progress bar.
 */

const noTerminal = scriptUnavailable();
if (noTerminal) console.warn(`skipping the live view tests: ${noTerminal}`);

const FULL_BAR = `${'█'.repeat(30)} 100%`;

describe.skipIf(noTerminal !== undefined)('the live view in a terminal', () => {
  const workspace = cliWorkspace('flowcast-cli-tty-');
  const { cwd } = workspace;
  const db = join(cwd, 'tty.db');

  it('run --watch --server ends with every node succeeded, in the order they started, and a full bar', async () => {
    const { code, stdout } = await cliInTerminal(['run', 'fan-out', '--input', '{"value": 3, "speed": 0}', '--server', workspace.server.url, '--watch'], { cwd });
    expect(code).toBe(0);
    const frame = finalFrame(stdout, /^fan-out {2}run_\w+ {2}COMPLETED in /);
    expect(frame.slice(1, -1).map((line) => line.trim().split(/\s+/).slice(0, 5).join(' '))).toEqual([
      '✔ start succeeded iter 1',
      '✔ branch_a succeeded iter 1',
      '✔ branch_b succeeded iter 1',
      '✔ branch_c succeeded iter 1',
      '✔ branch_c_refine succeeded iter 1',
      '✔ join succeeded iter 1',
    ]);
    expect(frame.at(-1)).toBe(`  ${FULL_BAR}  6/6 nodes, step 4`);
    // The line-per-event output is for pipes only.
    expect(stdout).not.toMatch(/NodeStarted/);
  });

  it('run --watch in process shows skipped branches, and watch --db of a failed run shows where it failed', async () => {
    const branchy = join(cwd, 'branchy.json');
    writeFileSync(branchy, JSON.stringify({
      id: 'branchy', name: 'branchy', entry: 'check',
      nodes: [{ id: 'check', kind: 'noop' }, { id: 'big', kind: 'noop' }, { id: 'small', kind: 'delay', config: { ms: 50 } }],
      edges: [{ from: 'check', to: 'big', when: 'value > 10' }, { from: 'check', to: 'small', when: 'value <= 10' }, { from: 'big', to: 'END' }, { from: 'small', to: 'END' }],
    }));
    const ran = await cliInTerminal(['run', branchy, '--input', '{"value": 3}', '--db', db, '--watch'], { cwd });
    expect(ran.code).toBe(0);
    const frame = finalFrame(ran.stdout, /^branchy {2}run_\w+ {2}COMPLETED in /);
    expect(frame.slice(1, -1).map((line) => line.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual(['✔ check succeeded', '✔ small succeeded', '↷ big skipped']);
    expect(frame.at(-1)).toBe(`  ${FULL_BAR}  3/3 nodes, step 2`);

    const failing = join(cwd, 'failing.json');
    writeFileSync(failing, JSON.stringify({ id: 'failing', name: 'failing', entry: 'x', nodes: [{ id: 'x', kind: 'fail', config: { message: 'no luck' } }, { id: 'y', kind: 'noop' }], edges: [{ from: 'x', to: 'y' }, { from: 'y', to: 'END' }] }));
    const failed = await cli(['run', failing, '--db', db], { cwd });
    const runId = /run (run_\w+)/.exec(failed.stdout)![1]!;
    const watched = await cliInTerminal(['watch', runId, '--db', db], { cwd });
    expect(watched.code).toBe(1);
    expect(finalFrame(watched.stdout, /^failing {2}run_\w+ {2}FAILED in /)).toEqual([
      expect.stringMatching(/^failing {2}run_\w+ {2}FAILED in \d/),
      expect.stringMatching(/^ {2}✖ x +failed +iter 1 +\d+\.\d ms NODE_FAILED: no luck$/),
      '  · y     pending',
      `  ${'░'.repeat(30)}   0%  1/2 nodes, step 1`,
      '  NODE_FAILED: no luck',
      `flowcast: run ${runId} failed: no luck`,
    ]);
  });
});
