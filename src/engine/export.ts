import { AppError } from '../common/errors.ts';
import type { NodeSnapshot, RunRecord } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
import type { CompiledGraph, GraphSpec } from '../graph/types.ts';
import { withStateUpdates } from '../store/blobs.ts';
import type { Store } from '../store/types.ts';
import type { GraphCatalog } from './catalog.ts';

/** The `format` of every run export: says what the file is. */
export const RUN_EXPORT_FORMAT = 'flowcast.run-export';
/** The `version` of the export's shape; a change that breaks readers bumps it. */
export const RUN_EXPORT_VERSION = 1;

/** The graph of an exported run. */
export interface ExportedGraph {
  id: string;
  /** `stored`: created over the API or a graph file; `code`: registered in code, handlers not exported. */
  source: 'stored' | 'code';
  /** A stored graph's version at export time (a run does not record which version it ran); null for code. */
  version: number | null;
  /**
   * A stored graph's definition as stored (it can be created again as it is). For a code graph, what
   * of it is data: ids, kinds, configs, retry policies, state keys, edges and conditions.
   */
  spec: GraphSpec;
  /** A code graph's routers (code-decided edges): the source and the nodes it may choose. Empty for stored graphs. */
  routers: Array<{ from: string; targets: string[] }>;
}

/**
 * A whole run as one self-describing JSON document, readable without the server: `format` and
 * `version` say what it is, then the run record, its graph, its node states and every event in seq
 * order, large state updates inline.
 */
export interface RunExport {
  format: typeof RUN_EXPORT_FORMAT;
  version: typeof RUN_EXPORT_VERSION;
  exportedAt: string;
  run: RunRecord;
  /** Null when the graph is neither stored nor registered in code in the exporting process (e.g. deleted since the run). */
  graph: ExportedGraph | null;
  /** Per node, sorted by node id. */
  nodes: NodeSnapshot[];
  /** Every stored event: seq 1, 2, 3 … with no gap. */
  events: RunEvent[];
}

const PAGE = 1_000;

/**
 * Exports a run from the store: finished runs whole; an unfinished run as far as it is stored.
 * Throws AppError RUN_NOT_FOUND (details.runId) for a run the store does not have, which includes
 * one deleted by retention.
 */
export async function exportRun(store: Store, catalog: GraphCatalog, runId: string): Promise<RunExport> {
  const run = await store.getRun(runId);
  if (!run) throw new AppError('RUN_NOT_FOUND', `no run "${runId}"`, { runId });
  const nodes = await store.getNodes(runId);
  const events: RunEvent[] = [];
  for (;;) {
    const page = await store.readEvents(runId, events.length === 0 ? 0 : events[events.length - 1]!.seq, PAGE);
    events.push(...(await withStateUpdates(store, page)));
    if (page.length < PAGE) break;
  }
  return { format: RUN_EXPORT_FORMAT, version: RUN_EXPORT_VERSION, exportedAt: new Date().toISOString(), run, graph: await graphOf(store, catalog, run.graphId), nodes, events };
}

async function graphOf(store: Store, catalog: GraphCatalog, id: string): Promise<ExportedGraph | null> {
  if (catalog.isCodeGraph(id)) {
    const graph = (await catalog.get(id))!;
    return { id, source: 'code', version: null, spec: specOf(graph), routers: graph.routers.map((r) => ({ from: r.from, targets: [...r.targets] })) };
  }
  const record = await store.getGraph(id);
  return record ? { id, source: 'stored', version: record.version, spec: record.spec, routers: [] } : null;
}

/** A compiled graph as plain data, without what is code (handlers, routers). */
function specOf(graph: CompiledGraph): GraphSpec {
  return {
    id: graph.id,
    name: graph.name,
    description: graph.description,
    entry: graph.entry,
    state: [...graph.stateKeys.values()].map((k) => ({ key: k.key, reducer: k.reducer, ...(k.default !== undefined ? { default: k.default } : {}) })),
    nodes: [...graph.nodes.values()].map((n) => ({
      id: n.id,
      kind: n.kind,
      ...(n.config !== undefined ? { config: n.config } : {}),
      retry: { ...n.retry },
      ...(n.timeoutMs !== undefined ? { timeoutMs: n.timeoutMs } : {}),
      ...(n.maxIterations !== undefined ? { maxIterations: n.maxIterations } : {}),
    })),
    edges: graph.edges.map((e) => ({ from: e.from.length === 1 ? e.from[0]! : [...e.from], to: e.to, ...(e.condition ? { when: e.condition.source } : {}) })),
    maxSteps: graph.maxSteps,
  };
}
