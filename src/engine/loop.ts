import { yieldToEventLoop } from '../common/async.ts';
import { AppError, toAppError } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import type { RunSnapshot } from '../events/snapshot.ts';
import { DEFAULT_PRIORITY, type EventBody, type NewRunEvent, type RunEvent } from '../events/types.ts';
import { applyUpdate } from '../graph/state.ts';
import { END, type CompiledGraph } from '../graph/types.ts';
import type { EventLog } from '../store/log.ts';
import type { Checkpoint } from '../store/types.ts';
import { joinKey, mapBounded, outgoingIndex, overallProgress, type Outgoing } from './algo.ts';
import { executeNode, type NodeOutcome } from './runner.ts';

export interface LoopOptions {
  log: EventLog;
  /** Nodes run at once within one step. */
  concurrency: number;
  /** How long an aborted step waits for handlers that ignore their signal. */
  graceMs: number;
}

/** Where a run starts: fresh, or from a checkpoint after a restart. */
export interface LoopStart {
  state: JsonObject;
  step: number;
  next: string[];
  iterations: Record<string, number>;
  joins: Record<string, string[]>;
}

// Keyed by the edge list, which a maxSteps override (a spread copy of the graph) shares.
const outgoingCache = new WeakMap<CompiledGraph['edges'], Map<string, Outgoing>>();

/**
 * Drives one run through its supersteps until a terminal event: every node due in a step runs
 * (bounded concurrency), their updates are applied in node-id order when the step ends, then edges,
 * conditions, routers and joins pick the next step. A checkpoint follows every step. Cancel and
 * run timeout arrive through `signal` (reason: AppError CANCELLED or RUN_TIMEOUT).
 *
 * Never throws: whatever goes wrong ends the run FAILED with a RunFailed event.
 */
export async function runLoop(run: RunSnapshot, graph: CompiledGraph, start: LoopStart, signal: AbortSignal, options: LoopOptions): Promise<void> {
  const { log } = options;
  const emit = eventEmitter(log, run);
  const started = performance.now();
  const duration = (): number => Math.round(performance.now() - started);
  let outgoing = outgoingCache.get(graph.edges);
  if (!outgoing) outgoingCache.set(graph.edges, (outgoing = outgoingIndex(graph)));

  let { state, step, next } = start;
  const iterations = { ...start.iterations };
  const joins = new Map(Object.entries(start.joins).map(([k, v]) => [k, new Set(v)]));
  const completed = new Set<string>(Object.keys(iterations));
  let lastYield = performance.now();

  try {
    while (next.length > 0) {
      if (signal.aborted) return endAborted(signal.reason);
      if (step >= graph.maxSteps) {
        emit({ type: 'SystemNotice', level: 'WARN', code: 'MAX_STEPS', nodeId: null, priority: 'HIGH', message: `run reached maxSteps (${graph.maxSteps}) with ${next.join(', ')} still to run` });
        const error = new AppError('MAX_STEPS', `run reached maxSteps (${graph.maxSteps}); raise maxSteps or give the loop an exit condition`);
        emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: duration() });
        return;
      }
      step++;
      const stepStarted = performance.now();
      const frozen = Object.freeze(state);
      const due: Array<{ id: string; iteration: number }> = [];
      for (const id of next) {
        const node = graph.nodes.get(id)!;
        const iteration = (iterations[id] ?? 0) + 1;
        if (node.maxIterations !== undefined && iteration > node.maxIterations) {
          emit({ type: 'SystemNotice', level: 'WARN', code: 'MAX_ITERATIONS', nodeId: id, priority: 'HIGH', message: `node "${id}" reached its maxIterations (${node.maxIterations}) and does not run again` });
          continue;
        }
        iterations[id] = iteration;
        due.push({ id, iteration });
      }

      const outcomes = await mapBounded(due, options.concurrency, ({ id, iteration }) =>
        executeNode(graph.nodes.get(id)!, { runId: run.id, graphId: run.graphId, step, iteration, state: frozen, signal, graceMs: options.graceMs, emit }),
      );
      if (signal.aborted) return endAborted(signal.reason);
      const failed = outcomes.findIndex((o) => !o.ok);
      if (failed >= 0) {
        const outcome = outcomes[failed] as Extract<NodeOutcome, { ok: false }>;
        emit({ type: 'RunFailed', error: outcome.error.toJSON(), nodeId: due[failed]!.id, durationMs: duration() });
        return;
      }

      const updates = due.map((d, i) => {
        const { update, bytes } = outcomes[i] as Extract<NodeOutcome, { ok: true }>;
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
      const pass = (from: string, to: string, bytes: number): void => {
        emit({ type: 'Transition', from, to, step });
        if (to !== END) emit({ type: 'DataFlow', from, to, step, bytes });
      };
      const take = (from: string, to: string, bytes: number): void => {
        pass(from, to, bytes);
        if (to !== END) chosen.add(to);
      };
      for (const { id, bytes } of updates) {
        const out = outgoing.get(id)!;
        for (const edge of out.edges) {
          if (edge.condition && !(await edge.condition.test(state))) {
            notTaken.add(edge.to);
            continue;
          }
          if (edge.from.length === 1) {
            take(id, edge.to, bytes);
            continue;
          }
          // A join: every source passes control along its edge as it arrives; the target is due
          // once all have arrived.
          pass(id, edge.to, bytes);
          const key = joinKey(edge);
          const arrived = joins.get(key) ?? new Set<string>();
          arrived.add(id);
          if (arrived.size < edge.from.length) joins.set(key, arrived);
          else {
            joins.delete(key);
            chosen.add(edge.to);
          }
        }
        for (const router of out.routers) {
          const result = await router.route(state);
          const targets = Array.isArray(result) ? result : [result];
          for (const target of targets) {
            if (!router.targets.includes(target)) {
              throw new AppError('NODE_FAILED', `router after "${id}" returned "${target}", which is not one of its declared targets (${router.targets.join(', ')})`);
            }
            take(id, target, bytes);
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
      log.touch(run);
      // A checkpoint is due after any step that let the event loop run (so a tick flush may have
      // stored its events), before every flush the loop itself starts, and before yielding. Fast
      // steps in between are covered by the next checkpoint: re-running them after a crash is the
      // documented at-least-once. This keeps a 1,000-node chain from copying its counters 1,000 times.
      const now = performance.now();
      const yieldDue = now - lastYield > 5;
      if (now - stepStarted > 1 || yieldDue || log.flushDue()) {
        log.checkpoint(checkpointOf(run, step, state, next, iterations, joins));
        const wait = log.stepDone();
        if (wait) await wait;
      }
      if (yieldDue) {
        // A long run of fast nodes must not starve sockets and timers.
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (signal.aborted) return endAborted(signal.reason);
    emit({ type: 'RunCompleted', finalState: state, durationMs: duration() });
  } catch (thrown) {
    const error = toAppError(thrown);
    emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: duration() });
  }

  function endAborted(reason: unknown): void {
    const error = toAppError(reason, 'CANCELLED');
    if (error.code === 'CANCELLED') emit({ type: 'RunCancelled', reason: error.message, durationMs: duration() });
    else emit({ type: 'RunFailed', error: error.toJSON(), nodeId: null, durationMs: duration() });
  }
}

/** Appends events for one run, filling in run, graph, time and the type's default priority. */
export function eventEmitter(log: EventLog, run: RunSnapshot): (body: EventBody) => RunEvent {
  return function emit(body) {
    return log.append(run, { ...body, runId: run.id, graphId: run.graphId, at: isoNow(), priority: body.priority ?? DEFAULT_PRIORITY[body.type] } as NewRunEvent);
  };
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

function checkpointOf(run: RunSnapshot, step: number, state: JsonObject, next: string[], iterations: Record<string, number>, joins: Map<string, Set<string>>): Checkpoint {
  return {
    runId: run.id,
    step,
    lastSeq: run.lastSeq,
    state,
    next,
    iterations: { ...iterations },
    joins: Object.fromEntries([...joins].map(([k, v]) => [k, [...v].sort()])),
    createdAt: new Date().toISOString(),
  };
}
