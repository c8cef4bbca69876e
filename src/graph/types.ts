import type { Problem } from '../common/errors.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';

/** The name of the virtual node every finished branch leads to. */
export const END = 'END';

/** How a node's update to a state key is combined with the value already there. */
export type Reducer = 'REPLACE' | 'APPEND' | 'MERGE';
export const REDUCERS: readonly Reducer[] = ['REPLACE', 'APPEND', 'MERGE'];

export interface StateKeySpec {
  key: string;
  /** Default REPLACE. APPEND concatenates arrays (a non-array update is appended as one item). MERGE shallow-merges objects. */
  reducer?: Reducer;
  /** The key's value before any input or update. */
  default?: JsonValue;
}

export interface RetryPolicy {
  /** Total attempts including the first; 1 means no retry. */
  maxAttempts: number;
  initialDelayMs: number;
  backoffFactor: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { maxAttempts: 1, initialDelayMs: 100, backoffFactor: 2, maxDelayMs: 10_000 };

/** What a node handler can see and do while it runs. */
export interface NodeContext {
  readonly runId: string;
  readonly graphId: string;
  readonly nodeId: string;
  /** 1 on the node's first run in this run, 2 when a loop brings it back, and so on. */
  readonly iteration: number;
  /** 1 on the first attempt of this iteration, 2 on the first retry, and so on. */
  readonly attempt: number;
  /** Aborted when the run is cancelled or times out, or the node times out. Reason is an AppError. */
  readonly signal: AbortSignal;
  /** Reports this node's progress (0–100) as a Progress event. */
  progress(percent: number, message?: string): void;
  /** Records a message as an INFO SystemNotice for this node. */
  log(message: string): void;
  /** Records a message as a WARN SystemNotice for this node (shown prominently). */
  notice(message: string): void;
  /**
   * Asks for input and pauses the run (human in the loop). The first time, it throws, which ends
   * this attempt; the other nodes of the step finish, then the run pauses: status PAUSED, a
   * RunPaused event with cause INTERRUPT and `payload` (default null). When the run is resumed
   * (`resumeRun(id, resume: value)`), the node runs again from its start and this call returns
   * `value` (null when none was given) instead of throwing. Calls are matched to resume values by
   * their order within the node, so a node may ask several times; code before a call runs again
   * on every resume. Swallowing the throw does not help: the node still counts as interrupted.
   * Throws AppError NODE_FAILED when `payload` is not JSON.
   */
  interrupt(payload?: JsonValue): JsonValue;
}

export type NodeUpdate = JsonObject | undefined | void;

/**
 * A node's work: gets the state as it was at the start of the step (read-only) and returns a
 * partial update, applied with each key's reducer when the step ends. Throwing fails the attempt.
 */
export type NodeHandler = (state: Readonly<JsonObject>, ctx: NodeContext) => NodeUpdate | Promise<NodeUpdate>;

/** A registered kind of node: validates its config and builds a handler from it. */
export interface NodeKind {
  readonly kind: string;
  readonly description: string;
  /** Problems with a node's config; paths are relative to the node (e.g. `config.ms`). Default: any config is fine. */
  validate?(config: JsonValue | undefined): Problem[];
  /** Builds the handler for one node from its validated config. Called once per compile. */
  create(config: JsonValue | undefined): NodeHandler;
}

/** A node as plain data, the shape of the API's NodeInput. */
export interface NodeSpec {
  id: string;
  kind: string;
  config?: JsonValue;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  maxIterations?: number;
}

/**
 * An edge as plain data. `from` may list several nodes: the edge is then a join, and `to` runs
 * once all of them have completed. `when` is a JSONata expression over the state; the edge is
 * taken when it is truthy. `to` may be END.
 */
export interface EdgeSpec {
  from: string | string[];
  to: string;
  when?: string;
}

/** A graph as plain data, the shape of the API's GraphInput. */
export interface GraphSpec {
  id?: string;
  name: string;
  description?: string;
  entry: string;
  state?: StateKeySpec[];
  nodes: NodeSpec[];
  edges: EdgeSpec[];
  /** The most supersteps a run may take (its recursion limit). Default 100. */
  maxSteps?: number;
}

/** A router decides, from the state, which of its declared targets come next. */
export type Router = (state: Readonly<JsonObject>) => string | string[] | Promise<string | string[]>;

export interface RouterSpec {
  from: string;
  /** Every node the router may return (END allowed); used for validation and NodeSkipped. */
  targets: string[];
  route: Router;
}

export interface CompiledNode {
  id: string;
  kind: string;
  config: JsonValue | undefined;
  retry: RetryPolicy;
  timeoutMs: number | undefined;
  /** Undefined for nodes outside loops: they cannot run more than once per trigger path. */
  maxIterations: number | undefined;
  handler: NodeHandler;
}

export interface Condition {
  source: string;
  test(state: Readonly<JsonObject>): Promise<boolean>;
}

export interface CompiledEdge {
  /** Sorted; more than one means a join. */
  from: string[];
  to: string;
  condition: Condition | undefined;
}

/** A validated graph, ready to run. Immutable. */
export interface CompiledGraph {
  id: string;
  name: string;
  description: string;
  entry: string;
  stateKeys: ReadonlyMap<string, Required<Pick<StateKeySpec, 'reducer'>> & StateKeySpec>;
  nodes: ReadonlyMap<string, CompiledNode>;
  edges: readonly CompiledEdge[];
  routers: readonly RouterSpec[];
  maxSteps: number;
  /** The graph as data (routers appear as edges without `when`), for display and storage. */
  spec: GraphSpec;
  /** Defaults applied while compiling (e.g. maxIterations given to loop nodes). */
  warnings: Problem[];
}

export const DEFAULT_MAX_STEPS = 100;
export const DEFAULT_LOOP_MAX_ITERATIONS = 25;
