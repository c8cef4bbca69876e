/**
 * The graph shapes the engine benchmark runs, described once and built both for Flowcast
 * (engine.ts) and for LangGraph.js (langgraph.ts, in a process of its own).
 */
import { END } from '../../src/graph/types.ts';

/** Runs may take this many steps: more than the longest chain. */
export const MAX_STEPS = 5000;

export interface Shape {
  name: string;
  nodes: string[];
  entry: string;
  /** [from, to]; `from` as a list is a join. END is the string 'END'. */
  edges: Array<[string | string[], string]>;
  /** Also measured on SQLite with walCheckpointFrames 0 (the writer checkpoints), in the same rounds. */
  compareWalThread?: boolean;
}

export function chain(length: number): Shape {
  const nodes = Array.from({ length }, (_, i) => `n${i}`);
  const edges: Shape['edges'] = nodes.slice(1).map((to, i) => [nodes[i]!, to]);
  edges.push([nodes[length - 1]!, END]);
  return { name: `chain-${length}`, nodes, entry: 'n0', edges };
}

export function fanOut(width: number): Shape {
  const branches = Array.from({ length: width }, (_, i) => `b${i}`);
  const edges: Shape['edges'] = branches.map((b) => ['a', b]);
  edges.push([branches, 'join'], ['join', END]);
  return { name: `fanout-${width}`, nodes: ['a', ...branches, 'join'], entry: 'a', edges, compareWalThread: true };
}

/** Every node of every shape: a no-op that writes one key, so there is an update to apply and to store. */
export const noop = (): { n: number } => ({ n: 1 });

/**
 * The shapes in the order the engine benchmark measures them, grouped as it measures Flowcast: the
 * shapes of a group in the same rounds. chain-100 and chain-1000 go together, since their per-node
 * ratio is the linearity target.
 */
export const SHAPE_GROUPS: Shape[][] = [[chain(10)], [chain(100), chain(1000)], [fanOut(5)]];
