import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.ts';

/** The `flowcast` command and helpers to run it as a user would: a child process, stdout not a terminal unless under `script`. */

const bin = join(import.meta.dirname, '../../src/cli/bin.js');

/**
 * For a describe block of CLI tests: a temp dir to run the command in (`cwd`) and a test server
 * started before the block's tests; after them the server is stopped and the dir removed. Read
 * `server` in tests and hooks, not while the block is being collected.
 */
export function cliWorkspace(prefix: string): { cwd: string; readonly server: TestServer } {
  const cwd = mkdtempSync(join(tmpdir(), prefix));
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });
  return {
    cwd,
    get server(): TestServer {
      if (!server) throw new Error('the test server starts in beforeAll; read it in a test');
      return server;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  /** Resolves once stdout has printed something matching `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

/**
 * Starts `flowcast ...args` in `cwd`. The environment is this process's without DATABASE_URL,
 * FLOWCAST_SERVER (a test says which store and server it means), FORCE_COLOR and NO_COLOR (a test
 * says whether it wants colours), plus `env`.
 */
export function startCli(args: string[], options: { cwd: string; env?: Record<string, string> }): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve(): void }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += String(chunk);
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(stdout)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stdout)) return resolve();
        watchers.push({ pattern, resolve });
        void done.then(() => reject(new Error(`flowcast exited before printing ${pattern}:\n${stdout}\n${stderr}`)));
      }),
    signal: (signal) => void child.kill(signal),
    done,
  };
}

/** Runs `flowcast ...args` to its end. */
export function cli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return startCli(args, options).done;
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['DATABASE_URL', 'FLOWCAST_SERVER', 'FORCE_COLOR', 'NO_COLOR']) if (!(name in extra)) delete env[name];
  return env;
}

/** Why `script` (util-linux) cannot give a pseudo-terminal here, or undefined when it can. */
export function scriptUnavailable(): string | undefined {
  const probe = spawnSync('script', ['-qfec', 'test -t 1', '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (probe.error) return `\`script\` (util-linux) is not installed: ${probe.error.message}`;
  if (probe.status !== 0) return `\`script -qfec\` did not give the command a terminal (exit ${probe.status}): ${String(probe.stderr).trim()}`;
  return undefined;
}

/**
 * Runs `flowcast ...args` with stdout on a pseudo-terminal (`script -qfec CMD /dev/null`), as in a
 * terminal window; stdout and stderr both come out on the terminal, so `stdout` holds both.
 */
export function cliInTerminal(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  const command = [process.execPath, bin, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The last frame the live view drew, as plain text: the lines from the last header (the line that
 * starts with `header`) on, without colours, cursor moves or the terminal's carriage returns.
 * log-update redraws a whole frame whenever its first line changes, and the header changes when
 * the run ends, so the last header starts the final frame.
 */
export function finalFrame(terminalOutput: string, header: RegExp): string[] {
  const lines = stripVTControlCharacters(terminalOutput).replace(/\r/g, '').split('\n');
  let start = -1;
  lines.forEach((line, i) => {
    if (header.test(line)) start = i;
  });
  if (start < 0) throw new Error(`no frame with a header matching ${header} in:\n${terminalOutput}`);
  return lines.slice(start).filter((line) => line.trim() !== '');
}

/** A 127.0.0.1 port that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The seqs at the start of each event line (`  12  NodeStarted …`). */
export function seqsOf(lines: readonly string[]): number[] {
  return lines.map((line) => Number(/^\s*(\d+)\s/.exec(line)?.[1] ?? NaN));
}
