import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/json.ts';
import type { CompiledGraph } from './types.ts';

// Keyed by the node map, which a maxSteps override (a spread copy of the graph) shares.
const hashes = new WeakMap<CompiledGraph['nodes'], string>();

/**
 * A fingerprint of what a graph does, recorded on each run so that a run is only ever resumed
 * (after a restart) on the graph it started with. Two compiles of the same definition give the same
 * hash; a change to the entry, a node (kind, config, retry, timeout, maxIterations), an edge or its
 * condition, a router's declared targets or a state key's reducer or default changes it. Left out:
 * name, description, maxSteps (a run keeps the maxSteps it started with) and the code of handlers
 * and routers (only their names and declared targets count). 16 hex digits.
 */
export function graphHash(graph: CompiledGraph): string {
  let hash = hashes.get(graph.nodes);
  if (hash === undefined) {
    const shape = {
      id: graph.id,
      entry: graph.entry,
      state: [...graph.stateKeys.values()],
      nodes: [...graph.nodes.values()].map((n) => [n.id, n.kind, n.config ?? null, n.retry, n.timeoutMs ?? null, n.maxIterations ?? null]),
      edges: graph.edges.map((e) => [e.from, e.to, e.condition?.source ?? null]),
      routers: graph.routers.map((r) => [r.from, r.targets]),
    };
    hash = createHash('sha256').update(canonicalJson(shape)).digest('hex').slice(0, 16);
    hashes.set(graph.nodes, hash);
  }
  return hash;
}
