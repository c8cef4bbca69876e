import { newId } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import { findNonJson, isPlainObject, type JsonObject } from '../common/json.ts';
import { FINISHED_STATUSES, newNodeSnapshot, toRecord, type RunRecord, type RunSnapshot } from '../events/snapshot.ts';
import type { EventBody } from '../events/types.ts';
import { initialState } from '../graph/state.ts';
import type { CompiledGraph } from '../graph/types.ts';
import type { EventLog } from '../store/log.ts';
import type { GraphCatalog } from './catalog.ts';
import { eventEmitter, runLoop } from './loop.ts';

export interface EngineOptions {
  log: EventLog;
  catalog: GraphCatalog;
  /** Nodes of one run that execute at once within a step. Default 8. */
  nodeConcurrency?: number;
  /** After cancel or a timeout, how long handlers that ignore their signal are waited for. Default 500 ms. */
  abortGraceMs?: number;
}

export interface RunOptions {
  /** Higher runs first when queued. Default 0. */
  priority?: number;
  /** The whole run's time limit; past it the run ends FAILED (RUN_TIMEOUT). Default none. */
  timeoutMs?: number;
  /** Overrides the graph's maxSteps for this run. */
  maxSteps?: number;
}

interface Active {
  run: RunSnapshot;
  graph: CompiledGraph;
  controller: AbortController;
  done: Promise<RunRecord> | undefined;
  timeoutMs: number | undefined;
}

/**
 * Creates and executes runs. `createRun` records a run (QUEUED); `execute` drives it to its
 * terminal event; `run` does both. All events go through the event log, so whatever the engine
 * does is stored before anyone sees it. The engine knows no transport and no database.
 */
export class Engine {
  readonly log: EventLog;
  readonly catalog: GraphCatalog;
  readonly #concurrency: number;
  readonly #graceMs: number;
  readonly #active = new Map<string, Active>();

  constructor(options: EngineOptions) {
    this.log = options.log;
    this.catalog = options.catalog;
    this.#concurrency = options.nodeConcurrency ?? 8;
    this.#graceMs = options.abortGraceMs ?? 500;
  }

  /**
   * Validates the graph id, input and options and records a QUEUED run. With `queued`, a RunQueued
   * event is its seq 1 (a background run); otherwise the run's first event will be RunStarted.
   * Throws AppError GRAPH_NOT_FOUND or INVALID_INPUT.
   */
  async createRun(graphId: string, input: unknown, options: RunOptions = {}, queued = false): Promise<RunSnapshot> {
    checkOptions(options);
    const graph = await this.catalog.require(graphId);
    const runInput = checkInput(input);
    const now = new Date().toISOString();
    const maxSteps = options.maxSteps ?? graph.maxSteps;
    const run: RunSnapshot = {
      id: newId('run'),
      graphId: graph.id,
      status: 'QUEUED',
      input: runInput,
      state: {},
      progress: 0,
      currentNodes: [],
      step: 0,
      maxSteps,
      lastSeq: 0,
      error: null,
      priority: options.priority ?? 0,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      nodes: new Map([...graph.nodes.keys()].sort().map((id) => [id, newNodeSnapshot(id)])),
    };
    await this.log.store.createRun(toRecord(run), [...run.nodes.values()]);
    const active: Active = { run, graph: maxSteps === graph.maxSteps ? graph : { ...graph, maxSteps }, controller: new AbortController(), done: undefined, timeoutMs: options.timeoutMs };
    this.#active.set(run.id, active);
    if (queued) this.#emit(run, { type: 'RunQueued', input: runInput });
    return run;
  }

  /** Runs a created run to its end; resolves with the finished run. Calling it twice returns the same promise. */
  execute(runId: string): Promise<RunRecord> {
    const active = this.#active.get(runId);
    if (!active) return Promise.reject(new AppError('RUN_NOT_FOUND', `run ${runId} is not waiting in this engine`));
    active.done ??= this.#drive(active);
    return active.done;
  }

  /** Creates and executes a run; resolves when it has finished (COMPLETED, FAILED or CANCELLED). */
  async run(graphId: string, input: unknown, options: RunOptions = {}): Promise<RunRecord> {
    const run = await this.createRun(graphId, input, options);
    return this.execute(run.id);
  }

  /** The live snapshot of a run this engine holds, if any. */
  snapshot(runId: string): RunSnapshot | undefined {
    return this.#active.get(runId)?.run;
  }

  /** Ids of the runs this engine holds (queued or running). */
  activeRunIds(): string[] {
    return [...this.#active.keys()];
  }

  /**
   * Cancels a run this engine holds: a running one is aborted (its nodes' signals fire) and ends
   * CANCELLED within the grace period; a queued one ends CANCELLED at once. False when the engine
   * does not hold the run or it has finished.
   */
  async cancel(runId: string, reason = 'cancelled by request'): Promise<boolean> {
    const active = this.#active.get(runId);
    if (!active || FINISHED_STATUSES.includes(active.run.status)) return false;
    const error = new AppError('CANCELLED', reason);
    if (active.done) {
      active.controller.abort(error);
      await active.done;
      return true;
    }
    this.#active.delete(runId);
    this.#emit(active.run, { type: 'RunCancelled', reason, durationMs: 0 });
    await this.log.flush();
    return true;
  }

  /**
   * Ends runs that the store shows unfinished but no engine holds (the process that ran them
   * stopped): each gets a SystemNotice and RunFailed, so no run stays QUEUED or RUNNING forever.
   * Call once at start, before taking new runs. Returns the ids it ended.
   */
  async failInterrupted(reason = 'the server stopped while this run was unfinished; it was not resumed'): Promise<string[]> {
    const ended: string[] = [];
    for (;;) {
      const page = await this.log.store.listRuns({ status: ['QUEUED', 'RUNNING', 'PAUSED'] }, { first: 100 });
      const orphans = page.items.filter((r) => !this.#active.has(r.id));
      if (orphans.length === 0) break;
      for (const record of orphans) {
        const nodes = await this.log.store.getNodes(record.id);
        const run: RunSnapshot = { ...record, nodes: new Map(nodes.map((n) => [n.nodeId, n])) };
        const emit = eventEmitter(this.log, run);
        emit({ type: 'SystemNotice', level: 'WARN', code: 'RECOVERY', nodeId: null, priority: 'HIGH', message: reason });
        emit({ type: 'RunFailed', error: { code: 'INTERNAL', message: reason }, nodeId: null, durationMs: 0 });
        ended.push(record.id);
      }
      await this.log.flush();
    }
    return ended;
  }

  /** Cancels every run it holds and waits for them to end. */
  async shutdown(reason = 'server shutting down'): Promise<void> {
    await Promise.all(this.activeRunIds().map((id) => this.cancel(id, reason)));
    await this.log.flush();
  }

  async #drive(active: Active): Promise<RunRecord> {
    const { run, graph, controller } = active;
    const timer = active.timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new AppError('RUN_TIMEOUT', `run exceeded its timeoutMs (${active.timeoutMs} ms)`)), active.timeoutMs);
    try {
      const state = initialState(graph, run.input);
      run.state = state;
      this.#emit(run, { type: 'RunStarted', input: run.input, maxSteps: graph.maxSteps });
      await runLoop(run, graph, { state, step: 0, next: [graph.entry], iterations: {}, joins: {} }, controller.signal, {
        log: this.log,
        concurrency: this.#concurrency,
        graceMs: this.#graceMs,
      });
      await this.log.flush();
      return toRecord(run);
    } finally {
      if (timer) clearTimeout(timer);
      this.#active.delete(run.id);
    }
  }

  #emit(run: RunSnapshot, body: EventBody): void {
    eventEmitter(this.log, run)(body);
  }
}

function checkInput(input: unknown): JsonObject {
  if (input === undefined || input === null) return {};
  if (!isPlainObject(input)) throw new AppError('INVALID_INPUT', 'run input must be a JSON object, e.g. {"topic": "graphs"}');
  const bad = findNonJson(input, 'input');
  if (bad) throw new AppError('INVALID_INPUT', `run input must be plain JSON; ${bad} is not`);
  return input;
}

function checkOptions(options: RunOptions): void {
  const checks: Array<[keyof RunOptions, number, number]> = [['priority', -1000, 1000], ['timeoutMs', 1, 86_400_000], ['maxSteps', 1, 100_000]];
  for (const [field, min, max] of checks) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw new AppError('INVALID_INPUT', `options.${field} must be an integer from ${min} to ${max}`);
    }
  }
}
