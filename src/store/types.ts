import type { JsonObject, JsonValue } from '../common/json.ts';
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

/** A node's completed update within a step that has not ended yet. */
export interface NodeWrite {
  update: JsonObject;
  /** UTF-8 size of the JSON update. */
  bytes: number;
}

/**
 * What the engine needs to take a run up again after the step it last finished (`step`): after a
 * restart, or when a paused run is resumed. The next step runs `next`, except the nodes in `writes`,
 * whose updates are reused.
 */
export interface Checkpoint {
  runId: string;
  /** Supersteps completed when the checkpoint was taken. */
  step: number;
  /** The seq of the last event written before the checkpoint. */
  lastSeq: number;
  state: JsonObject;
  /** Nodes the next step runs, sorted. */
  next: string[];
  /**
   * Iteration counters (how many times a node has started an iteration) at the checkpoint, for the
   * nodes of `next` only, 0 for one that never started: the step in flight may have raised their
   * node rows already. Every other node's counter is its node row's `iteration`, which the same
   * commits keep up to date, so a checkpoint does not repeat a counter per node of the graph
   * (see iterationsAt in engine/recovery.ts). Checkpoints written before this rule hold every
   * counter, which the same reading gives back.
   */
  iterations: Record<string, number>;
  /** Join edges waiting for more sources: edge key -> sources already completed. */
  joins: Record<string, string[]>;
  /** Nodes of the next step that already completed (before a crash or an interrupt elsewhere in the step): node id -> its update. */
  writes: Record<string, NodeWrite>;
  /** Values given on resume to nodes of the next step that called `ctx.interrupt()`: node id -> values in call order. */
  resumes: Record<string, JsonValue[]>;
  /** The next step has passed its interruptBefore breakpoints (it began, or was resumed from them): it does not pause before them again. */
  pastBreakpoints: boolean;
  createdAt: string;
}

export interface NodeRow extends NodeSnapshot {
  runId: string;
}

/** A large payload of a run's event, stored once apart from the event (see NodeCompleted.stateUpdateRef). */
export interface StoredBlob {
  runId: string;
  /** The key events refer to it by: 'sha256:' and the hex SHA-256 of `json`. */
  ref: string;
  /** The payload as JSON text. */
  json: string;
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
  /** Payloads the batch's events refer to; one already stored (same runId and ref) is kept as it is. */
  blobs?: StoredBlob[];
  /**
   * Runs whose nodes, as this batch leaves them (its node rows, and the nodes it has none for as
   * they were), are exactly what folding every event the run has, up to this batch's last, into
   * the nodes it was created with gives (foldNodes). A store may then keep just the node ids and
   * rebuild the snapshots from the events when asked. The event log names, in every commit, the
   * runs whose every event it appended, from the first, and none of whose updates it stored apart.
   * Optional; a store may ignore it and write the batch's node rows.
   */
  folded?: ReadonlySet<string>;
}

export interface RunFilter {
  /** Runs in any of these statuses; absent or empty: any status. */
  status?: readonly RunStatus[];
  graphId?: string;
  /** Runs started with this RunOptions.concurrencyKey. */
  concurrencyKey?: string;
  /** The run started with this RunOptions.idempotencyKey (at most one: the stores keep it unique). */
  idempotencyKey?: string;
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

  /**
   * Inserts a new run with its node rows; throws AppError INVALID_INPUT if the id exists, or if
   * its idempotencyKey is another run's.
   */
  createRun(run: RunRecord, nodes: NodeSnapshot[]): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Node rows of a run, sorted by node id. */
  getNodes(runId: string): Promise<NodeSnapshot[]>;
  /** Newest first (by id, which sorts by creation time). */
  listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>>;

  /**
   * Writes a batch in one transaction: all of it or none of it. An event whose (runId, seq) is
   * already stored fails the whole batch with AppError INTERNAL: only the event log assigns seqs,
   * so a repeat means two writers for one run. So does an event, run row, node row, checkpoint or blob of
   * a run that createRun never stored (the message names the run): the event log creates every
   * run before it commits anything of it. Blobs are written with the batch, in the same
   * transaction, so an event is never stored without the payload it refers to.
   */
  commit(batch: CommitBatch): Promise<void>;
  /** Events with seq > afterSeq, in seq order, at most `limit` (>= 0; negative is INVALID_INPUT). */
  readEvents(runId: string, afterSeq: number, limit: number): Promise<RunEvent[]>;
  /** A stored payload of a run, parsed; undefined when the run or the ref is unknown. */
  readBlob(runId: string, ref: string): Promise<JsonValue | undefined>;
  /** The highest stored seq of a run, 0 when it has none. */
  lastSeq(runId: string): Promise<number>;
  latestCheckpoint(runId: string): Promise<Checkpoint | undefined>;

  /**
   * Deletes finished runs (COMPLETED, FAILED or CANCELLED) whose finishedAt is before `before`, with
   * their node rows, events, blobs and checkpoints, oldest finished first, at most `limit` of them, each
   * whole or not at all. Returns how many it deleted: fewer than `limit` means none is left.
   * Unfinished runs are never deleted, whatever their finishedAt. `before` is an ISO-8601 time
   * and `limit` an integer from 1 to 10,000, else AppError INVALID_INPUT.
   */
  deleteFinishedBefore(before: string, limit: number): Promise<number>;

  close(): Promise<void>;
}
