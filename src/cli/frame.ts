import pc from 'picocolors';
import { applyEvent, newNodeSnapshot, type NodeSnapshot, type NodeStatus, type RunSnapshot, type RunStatus } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';

/**
 * What the live view shows: the run folded from its events by the same `applyEvent` the server uses
 * for `Run.nodes`, so the terminal and the API agree on every node's status, iteration and time.
 */
export class RunPicture {
  readonly run: RunSnapshot;
  /** Node ids in the order they first started; the rest come after, by id. */
  readonly #started: string[] = [];
  /** The run's duration from its terminal event, once it has one. */
  durationMs: number | null = null;
  /** What running nodes last reported with ctx.progress (cleared when they start again). */
  readonly nodeProgress = new Map<string, { percent: number; message: string | null }>();

  constructor(runId: string, graphId: string, nodeIds: readonly string[]) {
    this.run = {
      id: runId, graphId, status: 'QUEUED', input: {}, state: {}, progress: 0, currentNodes: [], step: 0, maxSteps: 0, lastSeq: 0,
      error: null, priority: 0, createdAt: '', startedAt: null, finishedAt: null, updatedAt: '', graphHash: null, timeoutMs: null,
      breakpoints: [], pause: null, concurrencyKey: null, idempotencyKey: null,
      nodes: new Map([...nodeIds].sort().map((id) => [id, newNodeSnapshot(id)])),
    };
  }

  apply(event: RunEvent): void {
    applyEvent(this.run, event);
    if (event.type === 'NodeStarted') {
      if (!this.#started.includes(event.nodeId)) this.#started.push(event.nodeId);
      this.nodeProgress.delete(event.nodeId);
    }
    if (event.type === 'Progress' && event.nodeId !== null) this.nodeProgress.set(event.nodeId, { percent: event.percent, message: event.message });
    if (event.type === 'RunCompleted' || event.type === 'RunFailed' || event.type === 'RunCancelled') this.durationMs = event.durationMs;
    if (event.type === 'NodeStarted' || event.type === 'NodeCompleted' || event.type === 'NodeFailed') this.run.step = Math.max(this.run.step, event.step);
  }

  /** Every node: those that started, in the order they first did, then the others by id. */
  nodes(): NodeSnapshot[] {
    const started = this.#started.map((id) => this.run.nodes.get(id)!);
    const rest = [...this.run.nodes.values()].filter((node) => !this.#started.includes(node.nodeId)).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    return [...started, ...rest];
  }
}

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for what is written to `stream`: on a terminal (not TERM=dumb), or wherever FORCE_COLOR
 * asks for them; never with NO_COLOR or FORCE_COLOR=0. Unlike picocolors' own guess, a CI
 * variable does not turn them on: output piped to a file or another program stays plain.
 */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  const force = env['FORCE_COLOR'];
  const on = 'NO_COLOR' in env ? false : force !== undefined ? force !== '0' && force !== 'false' : stream.isTTY === true && env['TERM'] !== 'dumb';
  return pc.createColors(on);
}

export interface FrameOptions {
  /** Now, in ms since the epoch: running nodes and runs show the time since they started. */
  now: number;
  colors: Colors;
  /** Terminal rows; when the nodes do not fit, finished ones are summed up in one line. Default 24. */
  height?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 30;

/** Milliseconds as people read them: 0.6 ms, 42 ms, 1.3 s, 2m 05s. */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.floor((ms % 60_000) / 1_000)).padStart(2, '0')}s`;
}

/**
 * One frame of the live view: a header (graph, run, status, time), one line per node (status,
 * iteration, attempt, duration, error) and a progress bar. Pure: the same picture and options give
 * the same text. Long lines are left to the terminal (log-update wraps them).
 */
export function renderFrame(picture: RunPicture, options: FrameOptions): string {
  const { now, colors: c } = options;
  const height = Math.max(6, options.height ?? 24);
  const { run } = picture;
  const all = picture.nodes();
  const nameWidth = Math.min(28, Math.max(4, ...all.map((node) => node.nodeId.length)));
  const elapsed = (since: string | null): number | null => (since === null ? null : Math.max(0, now - Date.parse(since)));

  const runTime = picture.durationMs ?? elapsed(run.startedAt);
  const header = `${c.bold(run.graphId)}  ${c.dim(run.id)}  ${paintRun(run.status, c)}${runTime === null ? '' : ` ${c.dim(finished(run.status) ? `in ${formatDuration(runTime)}` : formatDuration(runTime))}`}`;
  const lines = [header];

  const room = height - 3;
  const shown = all.length <= room ? all : pickVisible(all, room - 1);
  for (const node of shown) lines.push(nodeLine(node, nameWidth, now, c, elapsed, picture.nodeProgress.get(node.nodeId)));
  if (shown.length < all.length) lines.push(c.dim(`  … ${summarise(all.filter((node) => !shown.includes(node)))}`));

  const done = all.filter((node) => node.status === 'SUCCEEDED' || node.status === 'SKIPPED' || node.status === 'FAILED').length;
  const percent = Math.max(0, Math.min(100, Math.round(run.progress)));
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const paint = run.status === 'FAILED' || run.status === 'CANCELLED' ? c.red : run.status === 'PAUSED' ? c.yellow : run.status === 'COMPLETED' ? c.green : c.cyan;
  const bar = `${paint('█'.repeat(filled))}${c.dim('░'.repeat(BAR_WIDTH - filled))}`;
  lines.push(`  ${bar} ${String(percent).padStart(3)}%  ${c.dim(`${done}/${all.length} nodes, step ${run.step}`)}`);
  if (run.status === 'PAUSED' && run.pause) lines.push(c.yellow(`  paused: ${run.pause.reason}${run.pause.interrupts.map((i) => `; ${i.nodeId} asks ${JSON.stringify(i.payload)}`).join('')}`));
  if ((run.status === 'FAILED' || run.status === 'CANCELLED') && run.error) lines.push(c.red(`  ${run.error.code}: ${run.error.message}`));
  return lines.join('\n');
}

function nodeLine(node: NodeSnapshot, nameWidth: number, now: number, c: Colors, elapsed: (since: string | null) => number | null, progress: { percent: number; message: string | null } | undefined): string {
  const icon = node.status === 'RUNNING' ? c.cyan(SPINNER[Math.floor(now / 80) % SPINNER.length]!) : paintNode(node.status, ICONS[node.status], c);
  const name = node.nodeId.length > nameWidth ? `${node.nodeId.slice(0, nameWidth - 1)}…` : node.nodeId.padEnd(nameWidth);
  const word = node.status.toLowerCase();
  // Padding outside the colour, so that a line that ends here has no trailing blanks.
  const parts = [`  ${icon} ${name}  ${paintNode(node.status, word, c)}${' '.repeat(11 - word.length)}`];
  parts.push(node.iteration > 0 ? `iter ${String(node.iteration).padEnd(3)}` : ' '.repeat(8));
  const time = node.status === 'RUNNING' ? elapsed(node.startedAt) : node.durationMs;
  parts.push(time === null ? '' : formatDuration(time).padStart(9));
  if (node.attempts > 1) parts.push(c.yellow(`attempt ${node.attempts}`));
  if (node.status === 'RUNNING' && progress) parts.push(c.dim(`${Math.round(progress.percent)}%${progress.message ? ` ${progress.message}` : ''}`));
  // A running node with an error is waiting to retry after it.
  if (node.error && node.status === 'RUNNING') parts.push(c.yellow(`retrying after ${node.error.code}: ${node.error.message}`));
  else if (node.error && node.status !== 'SUCCEEDED') parts.push(c.red(`${node.error.code}: ${node.error.message}`));
  return parts.join(' ').trimEnd();
}

const ICONS: Record<NodeStatus, string> = { PENDING: '·', RUNNING: '▶', SUCCEEDED: '✔', FAILED: '✖', SKIPPED: '↷', INTERRUPTED: '⏸' };

function paintNode(status: NodeStatus, text: string, c: Colors): string {
  switch (status) {
    case 'SUCCEEDED':
      return c.green(text);
    case 'FAILED':
      return c.red(text);
    case 'RUNNING':
      return c.cyan(text);
    case 'INTERRUPTED':
      return c.yellow(text);
    case 'PENDING':
    case 'SKIPPED':
      return c.dim(text);
  }
}

function paintRun(status: RunStatus, c: Colors): string {
  const text = c.bold(status);
  if (status === 'COMPLETED') return c.green(text);
  if (status === 'FAILED' || status === 'CANCELLED') return c.red(text);
  if (status === 'PAUSED') return c.yellow(text);
  return c.cyan(text);
}

function finished(status: RunStatus): boolean {
  return status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED';
}

/** `room` nodes to show when not all fit: every running, failed or interrupted one, then the latest started, then the next pending. */
function pickVisible(all: NodeSnapshot[], room: number): NodeSnapshot[] {
  const urgent = (node: NodeSnapshot): boolean => node.status === 'RUNNING' || node.status === 'FAILED' || node.status === 'INTERRUPTED';
  const keep = new Set(all.filter(urgent).slice(0, room));
  const started = all.filter((node) => node.iteration > 0 && !keep.has(node));
  for (const node of started.reverse()) if (keep.size < room) keep.add(node);
  for (const node of all) if (keep.size < room) keep.add(node);
  return all.filter((node) => keep.has(node));
}

function summarise(hidden: NodeSnapshot[]): string {
  const counts = new Map<NodeStatus, number>();
  for (const node of hidden) counts.set(node.status, (counts.get(node.status) ?? 0) + 1);
  return `${hidden.length} more: ${[...counts].map(([status, n]) => `${n} ${status.toLowerCase()}`).join(', ')}`;
}
