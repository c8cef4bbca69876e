import pc from 'picocolors';
import { AppError } from '../common/errors.ts';
import { RUN_STATUSES, type RunRecord, type RunStatus } from '../events/snapshot.ts';
import { formatDuration, type Colors } from './frame.ts';

/** What `flowcast runs` shows of a run; a stored RunRecord and the typed client's Run both have it. */
export type RunRow = Pick<RunRecord, 'id' | 'graphId' | 'status' | 'progress' | 'createdAt' | 'startedAt' | 'finishedAt'>;

/** `--status completed,FAILED` → ['COMPLETED', 'FAILED']; throws AppError INVALID_INPUT naming the valid ones. */
export function parseStatuses(values: readonly string[]): RunStatus[] {
  const statuses = values.flatMap((value) => value.split(',')).map((value) => value.trim().toUpperCase()).filter((value) => value !== '');
  for (const status of statuses) {
    if (!(RUN_STATUSES as readonly string[]).includes(status)) throw new AppError('INVALID_INPUT', `--status "${status}" is not a run status; use one or more of ${RUN_STATUSES.join(', ')}`);
  }
  return [...new Set(statuses)] as RunStatus[];
}

/** `--limit`: how many runs to list, 1–1000 (default 20). */
export function parseLimit(value: string | undefined): number {
  if (value === undefined) return 20;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AppError('INVALID_INPUT', `--limit must be a whole number from 1 to 1000, got "${value}"`);
  return limit;
}

/** Local time as 2026-05-01 14:03:22. */
function localTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function paint(status: RunStatus, text: string, c: Colors): string {
  if (status === 'COMPLETED') return c.green(text);
  if (status === 'FAILED' || status === 'CANCELLED') return c.red(text);
  if (status === 'PAUSED') return c.yellow(text);
  return c.cyan(text);
}

/**
 * The table of `flowcast runs`, in the order given (newest first from both the store and the
 * server): id, graph, status, progress, started (local time; "-" while queued) and duration (to
 * now, with "…", for a run that has not finished). Colours only when `colors` has them.
 */
export function formatRuns(runs: readonly RunRow[], now: number, colors: Colors = pc.createColors(false)): string {
  const rows = runs.map((run) => {
    const started = run.startedAt === null ? null : Date.parse(run.startedAt);
    const ended = run.finishedAt === null ? null : Date.parse(run.finishedAt);
    const duration = started === null ? '-' : ended === null ? `${formatDuration(Math.max(0, now - started))}…` : formatDuration(Math.max(0, ended - started));
    return { run, cells: [run.id, run.graphId, run.status, `${Math.round(run.progress)}%`, run.startedAt === null ? '-' : localTime(run.startedAt), duration] };
  });
  const header = ['ID', 'GRAPH', 'STATUS', 'PROGRESS', 'STARTED', 'DURATION'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row.cells[i]!.length)));
  // PROGRESS and DURATION are numbers: right-aligned.
  const align = (cell: string, i: number): string => (i === 3 || i === 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!));
  const lines = [colors.bold(header.map(align).join('  ').trimEnd())];
  for (const { run, cells } of rows) {
    lines.push(cells.map((cell, i) => (i === 2 ? paint(run.status, align(cell, i), colors) : align(cell, i))).join('  ').trimEnd());
  }
  return lines.join('\n');
}
