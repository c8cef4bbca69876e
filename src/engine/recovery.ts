import { toAppError } from '../common/errors.ts';
import type { NodeSnapshot, RunSnapshot } from '../events/snapshot.ts';
import { graphHash } from '../graph/hash.ts';
import { initialState } from '../graph/state.ts';
import type { CompiledGraph } from '../graph/types.ts';
import type { Checkpoint, Store } from '../store/types.ts';
import type { GraphCatalog } from './catalog.ts';
import { freshStart, type LoopStart } from './loop.ts';

/** How an unfinished run found at start goes on, or why it cannot. */
export type RecoveryPlan =
  | { ok: true; graph: CompiledGraph; start: LoopStart | undefined }
  | { ok: false; reason: string };

/**
 * Decides how a run that a stopped process left QUEUED, RUNNING or PAUSED is taken up again. It
 * can be only when its graph still exists and has the fingerprint the run started with (graphHash):
 * resuming on a changed graph could find nodes, edges or joins that the checkpoint does not know.
 *
 * - QUEUED: from the beginning (`start` undefined: the run has not started).
 * - RUNNING: from its latest checkpoint (the step in flight runs again, but for the nodes whose
 *   updates the checkpoint holds), or from its initial state when it has none.
 * - PAUSED: from the checkpoint its pause wrote; a PAUSED run without one cannot be resumed.
 *
 * `run.nodes` must be the run's stored node rows: they hold the iteration counters that a
 * checkpoint leaves out (iterationsAt).
 *
 * Never throws for a run's own problems (a graph that no longer compiles is a reason); store
 * errors propagate.
 */
export async function planRecovery(run: RunSnapshot, catalog: GraphCatalog, store: Store): Promise<RecoveryPlan> {
  let graph: CompiledGraph | undefined;
  try {
    graph = await catalog.get(run.graphId);
  } catch (error) {
    return { ok: false, reason: `graph "${run.graphId}" no longer compiles (${toAppError(error).message.split('\n')[0]}); the run cannot go on` };
  }
  if (!graph) return { ok: false, reason: `graph "${run.graphId}" was deleted while the run was unfinished; the run cannot go on` };
  if (run.graphHash === null) return { ok: false, reason: `the run does not record which version of graph "${run.graphId}" it started on, so it cannot be resumed safely` };
  const now = graphHash(graph);
  if (now !== run.graphHash) {
    return { ok: false, reason: `graph "${run.graphId}" changed since the run started (fingerprint ${run.graphHash}, now ${now}); a run only resumes on the graph it started on` };
  }
  const runGraph = run.maxSteps === graph.maxSteps ? graph : { ...graph, maxSteps: run.maxSteps };
  if (run.status === 'QUEUED') return { ok: true, graph: runGraph, start: undefined };
  const checkpoint = await store.latestCheckpoint(run.id);
  if (!checkpoint) {
    if (run.status === 'PAUSED') return { ok: false, reason: 'the run is PAUSED but has no checkpoint to resume from' };
    return { ok: true, graph: runGraph, start: freshStart(runGraph, initialState(runGraph, run.input)) };
  }
  const { runId: _runId, lastSeq: _lastSeq, createdAt: _createdAt, ...start } = checkpoint;
  return { ok: true, graph: runGraph, start: { ...start, iterations: iterationsAt(checkpoint, run.nodes.values()) } };
}

/**
 * Every node's iteration counter at a checkpoint (see Checkpoint.iterations): the counter the
 * checkpoint holds for a node, else the node row's `iteration`. Nodes that never started (0) are
 * left out, as the engine keeps them.
 */
export function iterationsAt(checkpoint: Pick<Checkpoint, 'iterations'>, nodes: Iterable<NodeSnapshot>): Record<string, number> {
  const iterations: Record<string, number> = {};
  for (const node of nodes) if (node.iteration > 0) iterations[node.nodeId] = node.iteration;
  for (const [id, counter] of Object.entries(checkpoint.iterations)) {
    if (counter > 0) iterations[id] = counter;
    else delete iterations[id];
  }
  return iterations;
}
