/**
 * Flowcast benchmark suite: `npm run bench [filter]` (= `tsx test/bench/index.ts [filter]`).
 *
 * Runs every benchmark whose name contains the filter (all without one) and prints one plain text
 * table per benchmark. Each benchmark measures its own baseline in the same run and prints the
 * ratio and its target (see the comment at the top of each file):
 *   engine  µs per executed node, Flowcast (memory, SQLite) vs LangGraph.js   (engine.ts)
 *   append  events/s through EventLog into SQLite vs raw better-sqlite3, and into
 *           PostgreSQL vs a raw pg insert when DATABASE_URL is set            (append.ts)
 *   fanout  one run streamed to 1,000 subscribers (ws, sse, latency, idle memory) vs bare ws/http,
 *           server and clients in separate processes                          (fanout.ts)
 *
 * Each benchmark runs in a fresh Node process (this file again, with FLOWCAST_BENCH_CHILD set), so
 * one cannot warm up the JIT or grow the heap for the next: `bench append` alone and a full run
 * print the same kind of numbers. Progress goes to stderr, tables to stdout. engine and append take
 * about 30–40 s on a 2-core machine, fanout about 2½ minutes.
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchAppend } from './append.ts';
import { benchEngine } from './engine.ts';
import { benchFanout } from './fanout.ts';
import { formatTable, runChild, type BenchResult } from './util.ts';

const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  engine: benchEngine,
  append: benchAppend,
  fanout: benchFanout,
};
const CHILD_ENV = 'FLOWCAST_BENCH_CHILD';

/** Runs one benchmark in a child process (see runChild); resolves with its result. */
async function runIsolated(name: string): Promise<BenchResult> {
  return JSON.parse(await runChild(fileURLToPath(import.meta.url), { [CHILD_ENV]: name })) as BenchResult;
}

async function main(): Promise<void> {
  const child = process.env[CHILD_ENV];
  if (child !== undefined) {
    process.stdout.write(JSON.stringify(await BENCHMARKS[child]!()));
    return;
  }
  const filter = process.argv[2];
  const names = Object.keys(BENCHMARKS).filter((name) => filter === undefined || name.includes(filter));
  if (names.length === 0) {
    console.error(`no benchmark matches "${filter}"; benchmarks: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const cpuList = cpus();
  console.log(`Flowcast benchmarks — node ${process.version}, ${cpuList.length} CPUs (${cpuList[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}`);
  const started = performance.now();
  for (const name of names) {
    const t0 = performance.now();
    const result = await runIsolated(name);
    console.log(`\n== ${name}: ${result.title}\n`);
    console.log(formatTable(result.rows));
    console.log('');
    for (const note of result.notes) console.log(note);
    console.log(`(${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
