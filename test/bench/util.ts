/**
 * Small helpers shared by the benchmarks: timing (median of repetitions after a timed warm-up, the
 * repetition count chosen from a time budget), temp dirs, and plain aligned text tables.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one benchmark module hands back to index.ts for printing. */
export interface BenchResult {
  title: string;
  /** First row is the header. */
  rows: string[][];
  /** Lines printed under the table (targets, verdicts, method). */
  notes: string[];
}

export interface Sample {
  /** Median milliseconds of one repetition. */
  medianMs: number;
  reps: number;
}

/**
 * Warms up by calling `once` for `warmupMs` (at least `minWarmup` times), then repeats it until
 * `budgetMs` has passed (at least `minReps`, at most `maxReps` times) and returns the median
 * duration of one call. Time-based, so N adapts to the machine and to each shape's size.
 */
export async function measure(once: () => Promise<void>, options: { budgetMs: number; warmupMs: number; minWarmup?: number; minReps?: number; maxReps?: number }): Promise<Sample> {
  const { budgetMs, warmupMs, minWarmup = 2, minReps = 5, maxReps = 5000 } = options;
  const warmStart = performance.now();
  for (let i = 0; i < minWarmup || performance.now() - warmStart < warmupMs; i++) await once();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), reps: times.length };
}

/** What measurePaired gives back per variant. */
export interface PairedSample extends Sample {
  /** The median of each round, in round order. */
  roundMedians: number[];
  /** The mean of every repetition: unlike the median, it counts the rare slow ones (a GC, a WAL checkpoint). */
  meanMs: number;
  /** Time spent in repetitions that took over 10× the median, per repetition: stalls. */
  stallMs: number;
}

/** What measurePaired repeats: `run`, timed, and after each call `after` (if any), not timed. */
export type Variant = (() => Promise<void>) | { run: () => Promise<void>; after: () => Promise<void> };

/**
 * Measures several variants against each other in the same stretch of time: warms each up for
 * `warmupMs`, then runs `rounds` rounds in which every variant repeats for `roundMs` (at least
 * `minReps` times), the order rotating from round to round. Load from outside the benchmark then
 * falls on all variants alike, and `pairedRatio` compares them round by round. A variant's `after`
 * (clean-up between repetitions) counts toward the round's time but not toward its samples.
 */
export async function measurePaired<K extends string>(variants: Record<K, Variant>, options: { rounds: number; roundMs: number; warmupMs: number; minReps?: number }): Promise<Record<K, PairedSample>> {
  const { rounds, roundMs, warmupMs, minReps = 3 } = options;
  const names = Object.keys(variants) as K[];
  const parts = (name: K): { run: () => Promise<void>; after: (() => Promise<void>) | undefined } => {
    const variant = variants[name];
    return typeof variant === 'function' ? { run: variant, after: undefined } : variant;
  };
  for (const name of names) {
    const { run, after } = parts(name);
    const warmStart = performance.now();
    for (let i = 0; i < 2 || performance.now() - warmStart < warmupMs; i++) {
      await run();
      if (after) await after();
    }
  }
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  const roundMedians = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      const { run, after } = parts(name);
      const inRound: number[] = [];
      const start = performance.now();
      while (inRound.length < minReps || performance.now() - start < roundMs) {
        const t0 = performance.now();
        await run();
        inRound.push(performance.now() - t0);
        if (after) await after();
      }
      times.get(name)!.push(...inRound);
      roundMedians.get(name)!.push(median(inRound));
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const all = times.get(name)!;
      const medianMs = median(all);
      const sumOf = (values: number[]): number => values.reduce((sum, t) => sum + t, 0);
      const stallMs = sumOf(all.filter((t) => t > 10 * medianMs)) / all.length;
      return [name, { medianMs, meanMs: sumOf(all) / all.length, stallMs, reps: all.length, roundMedians: roundMedians.get(name)! }];
    }),
  ) as Record<K, PairedSample>;
}

/** The median over rounds of a's round median / b's round median. */
export function pairedRatio(a: PairedSample, b: PairedSample): number {
  return median(a.roundMedians.map((value, round) => value / b.roundMedians[round]!));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A fresh temp dir, removed (with everything in it) after `work` settles. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `flowcast-bench-${prefix}-`));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A number with `digits` decimals and thousands separators, e.g. 123,456.7. */
export function num(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1.23×" */
export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

/** Renders rows as an aligned text table: text columns left-aligned, numeric ones right-aligned. */
export function formatTable(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const numeric = widths.map((_, i) => rows.slice(1).every((row) => /^[\d.,×%-]*$/.test(row[i] ?? '')));
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const [header = [], ...body] = rows;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Runs `file` in a child Node process with this process's flags (so tsx's loader too) and `env`
 * added; resolves with what it wrote to stdout (its stderr goes to ours), rejects when it exits
 * non-zero.
 */
export function runChild(file: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${file} exited with code ${code}`));
      else resolve(out);
    });
  });
}

/** Writes a progress line to stderr so stdout holds only the tables. */
export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}
