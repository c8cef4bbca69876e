import { yieldToEventLoop } from '../common/async.ts';
import { AppError, toAppError } from '../common/errors.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';
import type { BreakpointWhen, RunSnapshot } from '../events/snapshot.ts';
import { DEFAULT_PRIORITY, type EventBody, type Interrupt, type NewRunEvent, type PauseCause, type RunEvent } from '../events/types.ts';
import { applyUpdate } from '../graph/state.ts';
import { END, type CompiledGraph } from '../graph/types.ts';
import type { EventLog } from '../store/log.ts';
import type { Checkpoint, NodeWrite } from '../store/types.ts';
import type { LazyAbort } from './abort.ts';
import { joinKey, mapBounded, outgoingIndex, overallProgress, type Outgoing } from './algo.ts';
import { executeNode, type NodeOutcome } from './runner.ts';

export interface LoopOptions {
  log: EventLog;
  /** Nodes run at once within one step. */
  concurrency: number;
  /** How long an aborted step waits for handlers that ignore their signal. */
  graceMs: number;
}

/**
 * Where a run starts: fresh (freshStart), where it paused, or from a checkpoint after a restart.
 * Unlike a Checkpoint's, its `iterations` holds every node's counter (recovery adds those of the
 * node rows: iterationsAt).
 */
export type LoopStart = Omit<Checkpoint, 'runId' | 'lastSeq' | 'createdAt'>;

/** A run's start before its first step. */
export function freshStart(graph: CompiledGraph, state: JsonObject): LoopStart {
  return { state, step: 0, next: [graph.entry], iterations: {}, joins: {}, writes: {}, resumes: {}, pastBreakpoints: false };
}

// Keyed by the edge list, which a maxSteps override (a spread copy of the graph) shares.
const outgoingCache = new WeakMap<CompiledGraph['edges'], Map<string, Outgoing>>();

/**
 * Drives one run through its supersteps until a terminal event or a pause: every node due in a
 * step runs (bounded concurrency), their updates are applied in node-id order when the step ends,
 * then edges, conditions, routers and joins pick the next step. Cancel and run timeout arrive
 * through `abort` (reason: AppError CANCELLED or RUN_TIMEOUT).
 *
 * Checkpoints: the event log takes one whenever it flushes, of the latest step boundary (see
 * Boundary), so the stored checkpoint never lags the stored events by more than the step in flight.
 *
 * Pauses: before a step in which a node with a BEFORE breakpoint would run (unless the step has
 * passed its breakpoints already), after a step in which a node with an AFTER breakpoint ran, and
 * after a step in which a node called `ctx.interrupt()` (the step's completed updates are kept in
 * the checkpoint, and only the interrupted nodes run again). Breakpoints are read from
 * `run.breakpoints` at every step, so changes apply from the next check. A pause emits RunPaused,
 * queues the checkpoint to resume from, and returns it (as a LoopStart); call runLoop with it
 * (after the RunResumed event) to go on.
 *
 * Never throws: whatever goes wrong ends the run FAILED with a RunFailed event. Resolves with the
 * start to resume from when the run paused, undefined when it ended.
 *
 * It creates no named closure per run or step (the helpers below take what they need): under tsx,
 * whose esbuild keeps names, each one costs a defineProperty, and they came to 7% of a short run.
 */
export async function runLoop(run: RunSnapshot, graph: CompiledGraph, start: LoopStart, abort: LazyAbort, options: LoopOptions): Promise<LoopStart | undefined> {
  const { log } = options;
  const emit = eventEmitter(log, run);
  const started = performance.now();
  let outgoing = outgoingCache.get(graph.edges);
  if (!outgoing) outgoingCache.set(graph.edges, (outgoing = outgoingIndex(graph)));

  let { state, step, next } = start;
  const iterations = new Map(Object.entries(start.iterations));
  const joins = new Map(Object.entries(start.joins).map(([k, v]) => [k, new Set(v)]));
  const completed = new Set<string>(iterations.keys());
  const boundary = new Boundary(run.id, start, iterations, run.lastSeq);
  const materialize = boundary.materialize.bind(boundary);
  const loop: LoopRun = { log, run, abort, emit, started, boundary, materialize };
  log.checkpoint(run.id, materialize);
  let lastYield = performance.now();

  try {
    while (next.length > 0) {
      if (abort.aborted) return endAborted(loop);
      if (step >= graph.maxSteps) {
        emit({ type: 'SystemNotice', level: 'WARN', code: 'MAX_STEPS', nodeId: null, priority: 'HIGH', message: `run reached maxSteps (${graph.maxSteps}) with ${next.join(', ')} still to run` });
        const error = new AppError('MAX_STEPS', `run reached maxSteps (${graph.maxSteps}); raise maxSteps or give the loop an exit condition`);
        emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: sinceMs(started) });
        return undefined;
      }
      const due: Array<{ id: string; iteration: number }> = [];
      const spent: string[] = [];
      for (const id of next) {
        const node = graph.nodes.get(id)!;
        const iteration = (iterations.get(id) ?? 0) + 1;
        if (node.maxIterations !== undefined && iteration > node.maxIterations) spent.push(id);
        else due.push({ id, iteration });
      }
      if (!boundary.pastBreakpoints) {
        const before = breakpointsAt(run, due, 'BEFORE');
        if (before.length > 0) return pause(loop, 'BEFORE', before, []);
        boundary.pastBreakpoints = true;
      }
      for (const id of spent) {
        const node = graph.nodes.get(id)!;
        emit({ type: 'SystemNotice', level: 'WARN', code: 'MAX_ITERATIONS', nodeId: id, priority: 'HIGH', message: `node "${id}" reached its maxIterations (${node.maxIterations}) and does not run again` });
      }
      step++;
      const frozen = Object.freeze(state);
      for (const { id, iteration } of due) boundary.count(id, iteration);

      const outcomes = await mapBounded(due, options.concurrency, ({ id, iteration }) => {
        const written = boundary.writes.get(id);
        if (written) return Promise.resolve<NodeOutcome>({ status: 'done', ...written });
        return executeNode(graph.nodes.get(id)!, {
          runId: run.id, graphId: run.graphId, step, iteration, state: frozen, abort, graceMs: options.graceMs, emit,
          resumes: boundary.resumes.get(id) ?? NO_RESUMES,
          completed(update, bytes) {
            boundary.writes.set(id, { update, bytes });
          },
        });
      });
      if (abort.aborted) return endAborted(loop);
      const failed = outcomes.findIndex((o) => o.status === 'failed');
      if (failed >= 0) {
        const outcome = outcomes[failed] as Extract<NodeOutcome, { status: 'failed' }>;
        emit({ type: 'RunFailed', error: outcome.error.toJSON(), nodeId: due[failed]!.id, durationMs: sinceMs(started) });
        return undefined;
      }
      const interrupts: Interrupt[] = [];
      outcomes.forEach((o, i) => {
        if (o.status === 'interrupted') interrupts.push({ nodeId: due[i]!.id, payload: o.payload });
      });
      // The step does not end: the checkpoint stays at the boundary before it, with the updates of
      // the nodes that completed, and the interrupted ones run again on resume.
      if (interrupts.length > 0) return pause(loop, 'INTERRUPT', interrupts.map((i) => i.nodeId), interrupts);

      const updates = due.map((d, i) => {
        const { update, bytes } = outcomes[i] as Extract<NodeOutcome, { status: 'done' }>;
        return { id: d.id, update, bytes };
      });
      for (const { id, update } of updates) {
        state = applyUpdate(graph, state, update);
        completed.add(id);
      }
      run.state = state;
      run.step = step;

      const chosen = new Set<string>();
      const notTaken = new Set<string>();
      for (const { id, bytes } of updates) {
        const out = outgoing.get(id)!;
        for (const edge of out.edges) {
          if (edge.condition && !(await edge.condition.test(state))) {
            notTaken.add(edge.to);
            continue;
          }
          passAlong(emit, id, edge.to, step, bytes);
          if (edge.from.length === 1) {
            if (edge.to !== END) chosen.add(edge.to);
            continue;
          }
          // A join: every source passes control along its edge as it arrives; the target is due
          // once all have arrived.
          const key = joinKey(edge);
          const arrived = joins.get(key) ?? new Set<string>();
          arrived.add(id);
          if (arrived.size < edge.from.length) joins.set(key, arrived);
          else {
            joins.delete(key);
            if (edge.to !== END) chosen.add(edge.to);
          }
        }
        for (const router of out.routers) {
          const result = await router.route(state);
          const targets = Array.isArray(result) ? result : [result];
          for (const target of targets) {
            if (!router.targets.includes(target)) {
              throw new AppError('NODE_FAILED', `router after "${id}" returned "${target}", which is not one of its declared targets (${router.targets.join(', ')})`);
            }
            passAlong(emit, id, target, step, bytes);
            if (target !== END) chosen.add(target);
          }
          for (const target of router.targets) if (!targets.includes(target)) notTaken.add(target);
        }
      }
      for (const id of [...notTaken].sort()) {
        if (id !== END && !chosen.has(id)) emit({ type: 'NodeSkipped', nodeId: id, step, reason: 'branch not taken' });
      }
      // Overall progress in steps of 5%: enough for a progress bar, without an event per node of a long chain.
      const percent = overallProgress(completed, graph.nodes.size);
      if (Math.floor(percent / 5) !== Math.floor(run.progress / 5)) emit({ type: 'Progress', percent, message: `step ${step} done`, nodeId: null });

      next = [...chosen].sort();
      boundary.reached(step, state, next, joins, run.lastSeq);
      log.checkpoint(run.id, materialize);
      log.touch(run);
      const after = breakpointsAt(run, due, 'AFTER');
      if (after.length > 0) return pause(loop, 'AFTER', after, []);
      const wait = log.stepDone();
      if (wait) await wait;
      if (performance.now() - lastYield > 5) {
        // A long run of fast nodes must not starve sockets and timers.
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (abort.aborted) return endAborted(loop);
    emit({ type: 'RunCompleted', finalState: state, durationMs: sinceMs(started) });
  } catch (thrown) {
    const error = toAppError(thrown);
    emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: sinceMs(started) });
  }
  return undefined;
}

/** Appends an event of one run: see eventEmitter. */
export type Emit = (body: EventBody) => RunEvent;

/** Whole milliseconds since `started` (a performance.now()). */
function sinceMs(started: number): number {
  return Math.round(performance.now() - started);
}

/** Control passes from `from` to `to` with an update of `bytes`: Transition, and DataFlow unless `to` is END. */
function passAlong(emit: Emit, from: string, to: string, step: number, bytes: number): void {
  emit({ type: 'Transition', from, to, step });
  if (to !== END) emit({ type: 'DataFlow', from, to, step, bytes });
}

/** What runLoop's helpers need of the run it drives: made once per call, so that they need no closures. */
interface LoopRun {
  log: EventLog;
  run: RunSnapshot;
  abort: LazyAbort;
  emit: Emit;
  /** performance.now() when the loop started. */
  started: number;
  boundary: Boundary;
  /** boundary.materialize, bound: what the log calls for the run's checkpoint. */
  materialize: () => Checkpoint;
}

/** Ends an aborted run: RunCancelled for a cancel, RunFailed for a timeout or anything else. */
function endAborted({ abort, emit, started }: LoopRun): undefined {
  const error = toAppError(abort.reason, 'CANCELLED');
  if (error.code === 'CANCELLED') emit({ type: 'RunCancelled', reason: error.message, durationMs: sinceMs(started) });
  else emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: sinceMs(started) });
  return undefined;
}

/** Pauses the run at its boundary (RunPaused, and the checkpoint to go on from); ends it instead when it was aborted. */
function pause(loop: LoopRun, cause: PauseCause, nodeIds: string[], interrupts: Interrupt[]): LoopStart | undefined {
  const { log, run, abort, emit, boundary } = loop;
  if (abort.aborted) return endAborted(loop);
  emit({ type: 'RunPaused', nodeId: nodeIds[0] ?? null, reason: pauseReason(cause, nodeIds), cause, interrupts });
  boundary.lastSeq = run.lastSeq;
  log.checkpoint(run.id, loop.materialize);
  return boundary.start();
}

const NO_RESUMES: readonly JsonValue[] = Object.freeze([]);
/** A step's answers to interrupts, by node id: none, as after every step boundary. */
const NO_RESUME_MAP: ReadonlyMap<string, JsonValue[]> = new Map();
const NONE: string[] = [];

/** The ids of `due` that have a breakpoint `when`. */
function breakpointsAt(run: RunSnapshot, due: ReadonlyArray<{ id: string }>, when: BreakpointWhen): string[] {
  if (run.breakpoints.length === 0) return NONE;
  return due.filter((d) => run.breakpoints.some((b) => b.nodeId === d.id && b.when === when)).map((d) => d.id);
}

function pauseReason(cause: PauseCause, nodeIds: string[]): string {
  const nodes = nodeIds.map((id) => `"${id}"`).join(', ');
  switch (cause) {
    case 'BEFORE': return `breakpoint before ${nodeIds.length > 1 ? 'nodes' : 'node'} ${nodes}`;
    case 'AFTER': return `breakpoint after ${nodeIds.length > 1 ? 'nodes' : 'node'} ${nodes}`;
    case 'INTERRUPT': return `${nodeIds.length > 1 ? 'nodes' : 'node'} ${nodes} asked for input (interrupt)`;
  }
}

/**
 * The run's latest step boundary: what a checkpoint holds, kept up to date by the loop and turned
 * into a Checkpoint only when the event log flushes (`materialize`). The loop's iteration counters
 * are shared, not copied at every step: the counters a step in flight has raised are noted with
 * their old values and put back where a checkpoint or a pause needs them. So the stored checkpoint
 * is always the latest boundary, consistent with the events stored with it (the events after its
 * lastSeq all belong to the step in flight).
 */
class Boundary {
  step: number;
  state: JsonObject;
  next: string[];
  joins: Record<string, string[]>;
  lastSeq: number;
  /**
   * Updates of nodes of the next step that have completed. A Map: a node id added as a key to a
   * fresh `{}` at every step becomes one more hidden-class transition of V8's shared empty-object
   * map, and past a thousand or so of them every such add in the process slows down.
   */
  readonly writes: Map<string, NodeWrite>;
  resumes: ReadonlyMap<string, JsonValue[]>;
  pastBreakpoints: boolean;
  readonly #runId: string;
  /**
   * Iteration counters by node id, shared with the loop. A Map, like `writes` and `resumes`: read
   * by node id from a plain object, each node of a 1,000-node chain cost more than one of a
   * 100-node chain (chain-1000/chain-100 per node in memory 1.37-1.50 before, 1.33-1.40 after, paired).
   */
  readonly #iterations: Map<string, number>;
  /** Counters raised since the boundary, with their values before. */
  #raised: Array<[string, number | undefined]> = [];
  #createdAt = isoNow();

  constructor(runId: string, start: LoopStart, iterations: Map<string, number>, lastSeq: number) {
    this.#runId = runId;
    this.#iterations = iterations;
    this.step = start.step;
    this.state = start.state;
    this.next = start.next;
    this.joins = start.joins;
    this.lastSeq = lastSeq;
    this.writes = new Map(Object.entries(start.writes));
    this.resumes = new Map(Object.entries(start.resumes));
    this.pastBreakpoints = start.pastBreakpoints;
  }

  /** Raises a node's iteration counter for the step starting now. */
  count(id: string, iteration: number): void {
    this.#raised.push([id, this.#iterations.get(id)]);
    this.#iterations.set(id, iteration);
  }

  /** A step has ended: this is the new boundary. */
  reached(step: number, state: JsonObject, next: string[], joins: Map<string, Set<string>>, lastSeq: number): void {
    this.step = step;
    this.state = state;
    this.next = next;
    this.joins = joins.size === 0 ? {} : Object.fromEntries([...joins].map(([k, v]) => [k, [...v].sort()]));
    this.lastSeq = lastSeq;
    this.writes.clear();
    this.resumes = NO_RESUME_MAP;
    this.pastBreakpoints = false;
    this.#raised = [];
    this.#createdAt = isoNow();
  }

  /** Where to go on from in this process (after a pause): the boundary, with every counter as it was at it. */
  start(): LoopStart {
    const iterations = Object.fromEntries(this.#iterations);
    this.#rollBack(iterations, true);
    return this.#at(iterations);
  }

  /**
   * The boundary as a Checkpoint: its counters only for the nodes of `next` (see
   * Checkpoint.iterations), the rest being in the node rows. So a checkpoint costs the width of a
   * step, not the size of the graph: copying every counter at each flush made long chains slower
   * per node than short ones.
   */
  materialize(): Checkpoint {
    const iterations: Record<string, number> = {};
    for (const id of this.next) iterations[id] = this.#iterations.get(id) ?? 0;
    this.#rollBack(iterations, false);
    return { runId: this.#runId, lastSeq: this.lastSeq, createdAt: this.#createdAt, ...this.#at(iterations) };
  }

  /** Puts back the counters the step in flight raised (only nodes of `next` are): as absent, or as 0. */
  #rollBack(iterations: Record<string, number>, deleteNew: boolean): void {
    for (let i = this.#raised.length - 1; i >= 0; i--) {
      const [id, before] = this.#raised[i]!;
      if (before !== undefined) iterations[id] = before;
      else if (deleteNew) delete iterations[id];
      else iterations[id] = 0;
    }
  }

  #at(iterations: Record<string, number>): LoopStart {
    return { step: this.step, state: this.state, next: this.next, iterations, joins: this.joins, writes: Object.fromEntries(this.writes), resumes: Object.fromEntries(this.resumes), pastBreakpoints: this.pastBreakpoints };
  }
}

/**
 * Appends events for one run, filling in run, graph, time and the type's default priority. The
 * body becomes the event: pass a fresh object, which is completed in place and then owned by the log.
 */
export function eventEmitter(log: EventLog, run: RunSnapshot): Emit {
  // Unnamed (see runLoop): emitEvent names the work in stack traces.
  return (body) => emitEvent(log, run, body);
}

/** Appends one event of `run` (see eventEmitter). */
export function emitEvent(log: EventLog, run: RunSnapshot, body: EventBody): RunEvent {
  // In place, not spread into a new object: a spread over a dozen event shapes is megamorphic and
  // takes V8's slow path, about 1 µs per event here, a tenth of a node's whole cost. The keys end
  // in the same order either way, so the stored JSON is the same.
  const event = body as Partial<Pick<NewRunEvent, 'runId' | 'graphId' | 'at' | 'priority'>> & EventBody;
  event.runId = run.id;
  event.graphId = run.graphId;
  event.at = isoNow();
  event.priority = body.priority ?? DEFAULT_PRIORITY[body.type];
  return log.append(run, event as NewRunEvent);
}

let lastMs = 0;
let lastIso = '';
/** new Date().toISOString(), formatted once per millisecond: events come many per ms. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
