import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, toAppError } from '../common/errors.ts';
import { parseJson } from '../common/json.ts';
import { createServices } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { formatEvent } from './format.ts';

const USAGE = `usage:
  flowcast run <graph-id | graph.json> [--input '<json>'] [--db <path>] [--json]
      runs a graph in-process and prints each event as a line; exit 0 when it completes
  flowcast graphs [--db <path>]      lists the graphs you can run
  flowcast demo [--db <path>]        runs every demo graph

  --db defaults to $FLOWCAST_DB or ./data/flowcast.db (":memory:" keeps nothing)`;

/** Exit codes: 0 completed, 1 the run failed or was cancelled, 2 bad usage or input. */
async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { input: { type: 'string', short: 'i' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, target, ...extra] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (extra.length > 0) return usage(`unexpected argument "${extra[0]}"`);
  const config = { ...loadConfig(), ...(values.db ? { dbPath: values.db } : {}) };
  const compose = (): ReturnType<typeof createServices> => createServices(config);

  switch (command) {
    case 'run': {
      if (!target) return usage('run needs a graph id or a graph file, e.g. flowcast run fan-out');
      let input: unknown = {};
      if (values.input !== undefined) {
        const result = parseJson(values.input);
        if (!result.ok) return usage(`--input is not valid JSON (${result.error}); pass an object, e.g. --input '{"value": 3}'`);
        input = result.value;
      }
      const app = compose();
      try {
        const graphId = target.endsWith('.json') ? (await app.catalog.create(readGraphFile(target))).id : target;
        return await runAndPrint(app, graphId, input, values.json ?? false);
      } finally {
        await app.close();
      }
    }
    case 'graphs': {
      const app = compose();
      try {
        for (const graph of await app.catalog.list()) console.log(`${graph.id.padEnd(20)} ${graph.name} — ${graph.description}`);
        return 0;
      } finally {
        await app.close();
      }
    }
    case 'demo': {
      const app = compose();
      try {
        const inputs: Record<string, unknown> = {
          'code-review': { code: 'function parse(s) { if (!s) return null; for (const c of s) { if (c === "{") return c; } return s && s.trim(); }\nconst add = (a, b) => a + b;', threshold: 90, max_iterations: 3 },
          'content-pipeline': { topic: 'live workflow graphs' },
          'fan-out': { value: 3 },
        };
        let worst = 0;
        for (const [graphId, input] of Object.entries(inputs)) {
          console.log(`\n== ${graphId}`);
          worst = Math.max(worst, await runAndPrint(app, graphId, input, values.json ?? false));
        }
        return worst;
      } finally {
        await app.close();
      }
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}

async function runAndPrint(app: ReturnType<typeof createServices>, graphId: string, input: unknown, json: boolean): Promise<number> {
  const run = await app.engine.createRun(graphId, input);
  const stream = app.log.stream(run.id);
  const done = app.engine.execute(run.id);
  for await (const event of stream) console.log(json ? JSON.stringify(event) : formatEvent(event));
  const result = await done;
  if (result.status === 'COMPLETED') return 0;
  console.error(`flowcast: run ${result.id} ${result.status.toLowerCase()}: ${result.error?.message ?? ''}`);
  return 1;
}

function readGraphFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('INVALID_INPUT', `cannot read graph file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new AppError('INVALID_INPUT', `graph file ${path} is not valid JSON: ${parsed.error}`);
  return parsed.value;
}

function usage(message: string): number {
  console.error(`flowcast: ${message} (flowcast --help shows usage)`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (thrown: unknown) => {
    const error = toAppError(thrown);
    const lines = error.code === 'INVALID_GRAPH' ? error.message.replace(/\n/g, '; ') : error.message;
    console.error(`flowcast: ${lines}`);
    process.exitCode = error.code === 'INTERNAL' ? 1 : 2;
  },
);
