/**
 * The engine benchmark's baseline: LangGraph.js StateGraphs of the shapes in shapes.ts (no
 * checkpointer), median ms per run. Run as a child process by engine.ts (`measureLangGraph`), not
 * in the process that measures Flowcast: importing @langchain/langgraph creates a global
 * AsyncLocalStorage, and its first invoke turns on Node's promise hooks for the whole process,
 * which then made every later await of Flowcast's runs slower (memory 3.1 -> 3.9 µs/node on the
 * 100-node chain, 4.2 -> 5.7 on the 1,000-node one).
 */
import { fileURLToPath } from 'node:url';
import { Annotation, END as LG_END, START as LG_START, StateGraph } from '@langchain/langgraph';
import { END } from '../../src/graph/types.ts';
import { MAX_STEPS, noop, SHAPE_GROUPS, type Shape } from './shapes.ts';
import { measure, progress, runChild, type Sample } from './util.ts';

const CHILD_ENV = 'FLOWCAST_BENCH_LANGGRAPH';

// A reducer (last write wins) rather than a plain LastValue channel, so the five parallel branches
// may all write `n` in one step, as they may in Flowcast.
const LgState = Annotation.Root({ n: Annotation<number>({ reducer: (_old: number, update: number) => update, default: () => 0 }) });

function langGraphRunner(shape: Shape): () => Promise<void> {
  const nodes = shape.nodes.map((id) => [id, noop] as [string, typeof noop]);
  const graph = new StateGraph(LgState).addNode(nodes);
  graph.addEdge(LG_START, shape.entry);
  for (const [from, to] of shape.edges) graph.addEdge(from, to === END ? LG_END : to);
  const app = graph.compile();
  return async () => {
    const out = await app.invoke({ n: 0 }, { recursionLimit: MAX_STEPS });
    if (out.n !== 1) throw new Error(`${shape.name}: LangGraph returned ${JSON.stringify(out)}`);
  };
}

/** Median run time of LangGraph.js per shape name, measured in a child process with `budget` per shape. */
export async function measureLangGraph(budget: { budgetMs: number; warmupMs: number }): Promise<Map<string, Sample>> {
  const out = await runChild(fileURLToPath(import.meta.url), { [CHILD_ENV]: JSON.stringify(budget) });
  return new Map(Object.entries(JSON.parse(out) as Record<string, Sample>));
}

if (process.env[CHILD_ENV] !== undefined) {
  const budget = JSON.parse(process.env[CHILD_ENV]) as { budgetMs: number; warmupMs: number };
  const samples: Record<string, Sample> = {};
  for (const shape of SHAPE_GROUPS.flat()) {
    progress(`${shape.name}: langgraph (in a process of its own)`);
    samples[shape.name] = await measure(langGraphRunner(shape), budget);
  }
  process.stdout.write(JSON.stringify(samples));
}
