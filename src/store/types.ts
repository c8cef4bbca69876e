import type { JsonObject } from '../common/json.ts';
import type { GraphSpec } from '../graph/types.ts';
import type { NodeSnapshot, RunRecord, RunStatus } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';

/** A graph created over the API (data graphs); code graphs live in the process's registry. */
export interface GraphRecord {
  id: string;
  name: string;
  description: string;
  spec: GraphSpec;
  /** Starts at 1; bumped by each save of the same id. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What the engine needs to take a run up again after the step it last finished. */
export interface Checkpoint {
  runId: string;
  /** Supersteps completed when the checkpoint was taken. */
  step: number;
  /** The seq of the last event written before the checkpoint. */
  lastSeq: number;
  state: JsonObject;
  /** Nodes the next step runs, sorted. */
  next: string[];
  /** How many times each node has started an iteration. */
  iterations: Record<string, number>;
  /** Join edges waiting for more sources: edge key -> sources already completed. */
  joins: Record<string, string[]>;
  createdAt: string;
}

export interface NodeRow extends NodeSnapshot {
  runId: string;
}

/** Everything one flush of the event log writes, atomically. Every run it names must exist (createRun). */
export interface CommitBatch {
  /** New events; (runId, seq) must not exist yet. */
  events: RunEvent[];
  /** Updates of run rows (by id), replacing every field. */
  runs: RunRecord[];
  /** Upserts of node rows (by runId, nodeId). */
  nodes: NodeRow[];
  /** New checkpoints (by runId, step; the same step replaces). */
  checkpoints: Checkpoint[];
}

export interface RunFilter {
  /** Runs in any of these statuses; absent or empty: any status. */
  status?: readonly RunStatus[];
  graphId?: string;
}

export interface PageRequest {
  /** At most this many items (1–1000). */
  first: number;
  /** Cursor: the id of the last item of the previous page. */
  after?: string;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/**
 * Durable state of graphs, runs, node states, events and checkpoints. Every adapter passes
 * test/store/spec.ts (`runStoreSpec`). All methods are async so that networked databases fit.
 * Ids sort by plain code-point order (SQLite's BINARY, PostgreSQL's COLLATE "C"). Stores keep the
 * fields of the declared types only.
 */
export interface Store {
  /** Upserts a graph: inserts with version 1, or replaces and bumps version. */
  saveGraph(graph: Omit<GraphRecord, 'version' | 'createdAt' | 'updatedAt'>): Promise<GraphRecord>;
  getGraph(id: string): Promise<GraphRecord | undefined>;
  /** By id. */
  listGraphs(): Promise<GraphRecord[]>;
  /** True when the graph existed. */
  deleteGraph(id: string): Promise<boolean>;

  /** Inserts a new run with its node rows; throws AppError INVALID_INPUT if the id exists. */
  createRun(run: RunRecord, nodes: NodeSnapshot[]): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Node rows of a run, sorted by node id. */
  getNodes(runId: string): Promise<NodeSnapshot[]>;
  /** Newest first (by id, which sorts by creation time). */
  listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>>;

  /**
   * Writes a batch in one transaction: all of it or none of it. An event whose (runId, seq) is
   * already stored fails the whole batch with AppError INTERNAL: only the event log assigns seqs,
   * so a repeat means two writers for one run. So does an event, run row, node row or checkpoint of
   * a run that createRun never stored (the message names the run): the event log creates every
   * run before it commits anything of it.
   */
  commit(batch: CommitBatch): Promise<void>;
  /** Events with seq > afterSeq, in seq order, at most `limit` (>= 0; negative is INVALID_INPUT). */
  readEvents(runId: string, afterSeq: number, limit: number): Promise<RunEvent[]>;
  /** The highest stored seq of a run, 0 when it has none. */
  lastSeq(runId: string): Promise<number>;
  latestCheckpoint(runId: string): Promise<Checkpoint | undefined>;

  close(): Promise<void>;
}
