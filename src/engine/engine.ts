import { newId } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import { findNonJson, isPlainObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { FINISHED_STATUSES, newNodeSnapshot, toRecord, type Breakpoint, type RunRecord, type RunSnapshot } from '../events/snapshot.ts';
import type { EventBody } from '../events/types.ts';
import { graphHash } from '../graph/hash.ts';
import { applyUpdate, initialState } from '../graph/state.ts';
import type { CompiledGraph } from '../graph/types.ts';
import type { EventLog } from '../store/log.ts';
import { LazyAbort } from './abort.ts';
import type { GraphCatalog } from './catalog.ts';
import { emitEvent, freshStart, runLoop, type LoopStart } from './loop.ts';
import { planRecovery } from './recovery.ts';

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
  /**
   * The run's time limit; past it the run ends FAILED (RUN_TIMEOUT). It bounds each stretch of
   * running (from the start, a resume or a recovery to the next pause or the end): time spent
   * PAUSED does not count. Default none.
   */
  timeoutMs?: number;
  /** Overrides the graph's maxSteps for this run. */
  maxSteps?: number;
  /** Pause before any of these nodes runs (RunPaused, cause BEFORE). Each must be a node of the graph. */
  interruptBefore?: readonly string[];
  /** Pause after the step in which any of these nodes ran (RunPaused, cause AFTER). Each must be a node of the graph. */
  interruptAfter?: readonly string[];
  /**
   * Recorded on the run (1–200 characters). The engine only records them: src/queue/admission.ts
   * applies them (one run at a time per concurrency key; one run per idempotency key).
   */
  concurrencyKey?: string;
  idempotencyKey?: string;
}

/** How a paused run goes on. */
export interface ResumeInput {
  /** Applied to the state with each key's reducer before the run goes on. Default: no change. */
  stateUpdate?: JsonObject | null | undefined;
  /** What `ctx.interrupt()` returns in the interrupted node(s) when they run again. Default null. */
  resume?: JsonValue | undefined;
}

/** What `recover()` did with the unfinished runs it found. */
export interface Recovery {
  /** QUEUED runs and RUNNING runs to resume, oldest first: hand them to the run queue (they need a worker). */
  requeue: Array<{ runId: string; priority: number }>;
  /** PAUSED runs, held again and resumable. */
  paused: string[];
  /** Runs that could not be resumed and ended FAILED (RECOVERY_FAILED, the message says why). */
  failed: string[];
}

/**
 * waiting: created, resumed or recovered, not driving yet (execute() starts it); running: its loop
 * is driving; paused: stopped at a breakpoint or interrupt, holding nothing but memory.
 */
type Phase = 'waiting' | 'running' | 'paused';

interface Active {
  run: RunSnapshot;
  graph: CompiledGraph;
  abort: LazyAbort;
  phase: Phase;
  /** The latest drive; resolves when it ends or pauses. */
  done: Promise<RunRecord> | undefined;
  /** Where the next drive starts; undefined: from the beginning (RunStarted, initial state). */
  start: LoopStart | undefined;
}

/**
 * Creates and executes runs. `createRun` records a run (QUEUED); `execute` drives it to its
 * terminal event or a pause; `run` does both; `resume` lets a paused run go on (execute it again).
 * All events go through the event log, so whatever the engine does is stored before anyone sees
 * it. The engine holds every unfinished run it knows of (paused ones too); `recover` takes up the
 * runs a stopped process left unfinished. The engine knows no transport and no database.
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
    const breakpoints = checkBreakpoints(graph, options);
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
      graphHash: graphHash(graph),
      timeoutMs: options.timeoutMs ?? null,
      breakpoints,
      pause: null,
      concurrencyKey: options.concurrencyKey ?? null,
      idempotencyKey: options.idempotencyKey ?? null,
      nodes: new Map([...graph.nodes.keys()].sort().map((id) => [id, newNodeSnapshot(id)])),
    };
    await this.log.store.createRun(toRecord(run), [...run.nodes.values()]);
    const active: Active = { run, graph: maxSteps === graph.maxSteps ? graph : { ...graph, maxSteps }, abort: new LazyAbort(), phase: 'waiting', done: undefined, start: undefined };
    this.#active.set(run.id, active);
    if (queued) this.#emit(run, { type: 'RunQueued', input: runInput });
    return run;
  }

  /**
   * Drives a created (or resumed, or recovered) run until it ends or pauses; resolves with the run
   * then. Calling it again while it drives returns the same promise; for a paused run it resolves
   * with the run as it is (resume it first). Rejects with AppError RUN_NOT_FOUND when this engine
   * does not hold the run.
   */
  execute(runId: string): Promise<RunRecord> {
    const active = this.#active.get(runId);
    if (!active) return Promise.reject(new AppError('RUN_NOT_FOUND', `run ${runId} is not waiting in this engine`));
    if (active.phase === 'waiting') {
      active.phase = 'running';
      active.done = this.#drive(active);
    }
    return active.done ?? Promise.resolve(toRecord(active.run));
  }

  /** Creates and executes a run; resolves when it has finished (COMPLETED, FAILED or CANCELLED) or paused. */
  async run(graphId: string, input: unknown, options: RunOptions = {}): Promise<RunRecord> {
    const run = await this.createRun(graphId, input, options);
    return this.execute(run.id);
  }

  /** The live snapshot of a run this engine holds, if any. */
  snapshot(runId: string): RunSnapshot | undefined {
    return this.#active.get(runId)?.run;
  }

  /** Ids of the runs this engine holds: queued, waiting, running and paused. */
  activeRunIds(): string[] {
    return [...this.#active.keys()];
  }

  /**
   * Cancels a run this engine holds, whatever its state: a driving one is aborted (its nodes'
   * signals fire) and ends CANCELLED within the grace period, even if a handler ignores its signal;
   * a queued, waiting or paused one ends CANCELLED at once. False when the engine does not hold the
   * run or it has finished.
   */
  async cancel(runId: string, reason = 'cancelled by request'): Promise<boolean> {
    const active = this.#active.get(runId);
    if (!active || FINISHED_STATUSES.includes(active.run.status)) return false;
    if (active.phase === 'running') {
      active.abort.abort(new AppError('CANCELLED', reason));
      await active.done?.catch(() => undefined);
    }
    // Not driving, or the drive paused just before the abort could stop it.
    if (!FINISHED_STATUSES.includes(active.run.status)) {
      this.#active.delete(runId);
      const startedAt = active.run.startedAt === null ? Date.now() : Date.parse(active.run.startedAt);
      this.#emit(active.run, { type: 'RunCancelled', reason, durationMs: Math.max(0, Date.now() - startedAt) });
      await this.log.flush();
    }
    return true;
  }

  /**
   * Lets a PAUSED run go on from where it stopped: applies `stateUpdate` to the state through the
   * reducers, gives the interrupted nodes (if it paused on ctx.interrupt) `resume` as the answer to
   * their interrupt() call, emits RunResumed (status RUNNING) and stores the checkpoint to go on
   * from. A run resumed from a BEFORE breakpoint runs that step without pausing before it again.
   * The run then waits for `execute` (the caller hands it to the run queue). Resolves with the run.
   *
   * Throws AppError RUN_NOT_FOUND (no such run), RUN_NOT_PAUSED (it is not paused; details.status
   * says what it is) or INVALID_INPUT (stateUpdate not a JSON object, resume not JSON, or the run
   * is held by another process).
   */
  async resume(runId: string, input: ResumeInput = {}): Promise<RunSnapshot> {
    const active = await this.#require(runId);
    const { run } = active;
    if (active.phase !== 'paused' || run.status !== 'PAUSED' || !active.start) {
      throw new AppError('RUN_NOT_PAUSED', `run ${runId} is ${run.status}, not PAUSED; only a paused run can be resumed`, { runId, status: run.status });
    }
    const stateUpdate = input.stateUpdate ?? null;
    if (stateUpdate !== null) {
      if (!isPlainObject(stateUpdate)) throw new AppError('INVALID_INPUT', 'stateUpdate must be a JSON object of state keys, e.g. {"approved": true}');
      const bad = findNonJson(stateUpdate, 'stateUpdate');
      if (bad) throw new AppError('INVALID_INPUT', `stateUpdate must be plain JSON; ${bad} is not`);
    }
    const resume = input.resume ?? null;
    const badResume = findNonJson(resume, 'resume');
    if (badResume) throw new AppError('INVALID_INPUT', `resume must be plain JSON; ${badResume} is not`);

    const paused = active.start;
    const pause = run.pause;
    const resumes = { ...paused.resumes };
    for (const { nodeId } of pause?.interrupts ?? []) resumes[nodeId] = [...(resumes[nodeId] ?? []), resume];
    const state = stateUpdate ? applyUpdate(active.graph, paused.state, stateUpdate) : paused.state;
    const start: LoopStart = { ...paused, state, resumes, pastBreakpoints: pause?.cause === 'AFTER' ? paused.pastBreakpoints : true };
    run.state = state;
    this.#emit(run, { type: 'RunResumed', nodeId: pause?.nodeId ?? null, stateUpdate, resume });
    this.log.checkpoint(runId, { runId, lastSeq: run.lastSeq, createdAt: new Date().toISOString(), ...start });
    await this.log.flush();
    active.start = start;
    active.phase = 'waiting';
    active.done = undefined;
    return run;
  }

  /**
   * Sets (`on`) or clears a breakpoint of an unfinished run; it applies from the run's next check
   * (a step about to start, or one just ended). Setting one that is set, or clearing one that is
   * not, changes nothing. Resolves with the run. Throws AppError RUN_NOT_FOUND, or INVALID_INPUT
   * when the node is not in the run's graph or the run has finished.
   */
  async setBreakpoint(runId: string, breakpoint: Breakpoint, on: boolean): Promise<RunSnapshot> {
    const active = await this.#require(runId);
    const { run, graph } = active;
    if (!graph.nodes.has(breakpoint.nodeId)) {
      throw new AppError('INVALID_INPUT', `no node "${breakpoint.nodeId}" in graph "${graph.id}"; use one of: ${[...graph.nodes.keys()].sort().join(', ')}`);
    }
    const others = run.breakpoints.filter((b) => b.nodeId !== breakpoint.nodeId || b.when !== breakpoint.when);
    const next = on ? sortBreakpoints([...others, { nodeId: breakpoint.nodeId, when: breakpoint.when }]) : others;
    if (next.length !== run.breakpoints.length) {
      run.breakpoints = next;
      this.log.touch(run);
      await this.log.flush();
    }
    return run;
  }

  /**
   * Takes up the runs that the store shows unfinished but no engine holds (the process that ran
   * them stopped). Each gets a SystemNotice (code RECOVERY) saying what happened to it, then:
   * QUEUED and RUNNING runs wait for `execute` (returned in `requeue`; a RUNNING one goes on from
   * its latest checkpoint, the step in flight running again, and its seq from the highest stored);
   * PAUSED runs stay PAUSED and can be resumed; a run whose graph was deleted or changed since it
   * started (see planRecovery) ends FAILED with code RECOVERY_FAILED and a message saying why, so
   * no run stays unfinished forever. Call once at start, before taking new runs.
   */
  async recover(): Promise<Recovery> {
    const found: RunRecord[] = [];
    let after: string | undefined;
    do {
      const page = await this.log.store.listRuns({ status: ['QUEUED', 'RUNNING', 'PAUSED'] }, after === undefined ? { first: 100 } : { first: 100, after });
      found.push(...page.items.filter((r) => !this.#active.has(r.id)));
      after = page.hasMore ? page.items.at(-1)?.id : undefined;
    } while (after !== undefined);
    const report: Recovery = { requeue: [], paused: [], failed: [] };
    for (const record of found.reverse()) {
      const nodes = await this.log.store.getNodes(record.id);
      const run: RunSnapshot = { ...record, nodes: new Map(nodes.map((n) => [n.nodeId, n])) };
      // Events after the run row's lastSeq cannot exist (they commit together), but the store is the authority.
      run.lastSeq = Math.max(run.lastSeq, await this.log.store.lastSeq(run.id));
      const notice = (message: string): void => this.#emit(run, { type: 'SystemNotice', level: 'WARN', code: 'RECOVERY', nodeId: null, priority: 'HIGH', message });
      const plan = await planRecovery(run, this.catalog, this.log.store);
      if (!plan.ok) {
        notice(`the server restarted and could not resume this run: ${plan.reason}`);
        this.#emit(run, { type: 'RunFailed', error: { code: 'RECOVERY_FAILED', message: plan.reason }, nodeId: null, durationMs: 0 });
        report.failed.push(run.id);
        continue;
      }
      const active: Active = { run, graph: plan.graph, abort: new LazyAbort(), phase: 'waiting', done: undefined, start: plan.start };
      if (plan.start) {
        run.state = plan.start.state;
        run.step = plan.start.step;
      }
      if (run.status === 'PAUSED') {
        active.phase = 'paused';
        notice(`the server restarted; the run stays PAUSED (${run.pause?.reason ?? 'paused'}) and can be resumed`);
        report.paused.push(run.id);
      } else {
        notice(run.status === 'QUEUED'
          ? 'the server restarted; the run is queued again'
          : `the server restarted; the run goes on from its checkpoint after step ${plan.start?.step ?? 0} (nodes of the step in flight run again)`);
        report.requeue.push({ runId: run.id, priority: run.priority });
      }
      this.#active.set(run.id, active);
    }
    await this.log.flush();
    return report;
  }

  /**
   * Cancels every run it holds but the paused ones, and waits for them to end. Paused runs stay
   * PAUSED in the store: the next process to start takes them up (recover).
   */
  async shutdown(reason = 'server shutting down'): Promise<void> {
    const unpaused = [...this.#active].filter(([, a]) => a.phase !== 'paused').map(([id]) => id);
    await Promise.all(unpaused.map((id) => this.cancel(id, reason)));
    await this.log.flush();
  }

  async #require(runId: string): Promise<Active> {
    const active = this.#active.get(runId);
    if (active) return active;
    const stored = await this.log.store.getRun(runId);
    if (!stored) throw new AppError('RUN_NOT_FOUND', `no run "${runId}"`, { runId });
    if (FINISHED_STATUSES.includes(stored.status)) throw new AppError('RUN_NOT_PAUSED', `run ${runId} already ended ${stored.status}`, { runId, status: stored.status });
    throw new AppError('INVALID_INPUT', `run ${runId} is ${stored.status} but held by another Flowcast process; ask that one`);
  }

  async #drive(active: Active): Promise<RunRecord> {
    const { run, graph, abort } = active;
    const timeoutMs = run.timeoutMs;
    const timer = timeoutMs === null
      ? undefined
      : setTimeout(() => abort.abort(new AppError('RUN_TIMEOUT', `run exceeded its timeoutMs (${timeoutMs} ms)`)), timeoutMs);
    try {
      let start = active.start;
      if (!start) {
        const state = initialState(graph, run.input);
        run.state = state;
        this.#emit(run, { type: 'RunStarted', input: run.input, maxSteps: graph.maxSteps });
        start = freshStart(graph, state);
      }
      const paused = await runLoop(run, graph, start, abort, {
        log: this.log,
        concurrency: this.#concurrency,
        graceMs: this.#graceMs,
      });
      await this.log.flush();
      if (paused) {
        active.start = paused;
        active.phase = 'paused';
      }
      return toRecord(run);
    } finally {
      if (timer) clearTimeout(timer);
      if (active.phase !== 'paused') this.#active.delete(run.id);
    }
  }

  #emit(run: RunSnapshot, body: EventBody): void {
    emitEvent(this.log, run, body);
  }
}

function checkInput(input: unknown): JsonObject {
  if (input === undefined || input === null) return {};
  if (!isPlainObject(input)) throw new AppError('INVALID_INPUT', 'run input must be a JSON object, e.g. {"topic": "graphs"}');
  const bad = findNonJson(input, 'input');
  if (bad) throw new AppError('INVALID_INPUT', `run input must be plain JSON; ${bad} is not`);
  return input;
}

/** The breakpoints of RunOptions, checked against the graph's nodes and sorted. */
function checkBreakpoints(graph: CompiledGraph, options: RunOptions): Breakpoint[] {
  const breakpoints: Breakpoint[] = [];
  for (const [field, when] of [['interruptBefore', 'BEFORE'], ['interruptAfter', 'AFTER']] as const) {
    const ids = options[field] ?? [];
    const unknown = ids.filter((id) => !graph.nodes.has(id));
    if (unknown.length > 0) {
      throw new AppError('INVALID_INPUT', `options.${field} names ${unknown.length > 1 ? 'nodes' : 'a node'} not in graph "${graph.id}": ${unknown.map((id) => `"${id}"`).join(', ')}; use node ids from: ${[...graph.nodes.keys()].sort().join(', ')}`);
    }
    for (const nodeId of new Set(ids)) breakpoints.push({ nodeId, when });
  }
  return sortBreakpoints(breakpoints);
}

function sortBreakpoints(breakpoints: Breakpoint[]): Breakpoint[] {
  return breakpoints.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.when < b.when ? 1 : a.when > b.when ? -1 : 0));
}

function checkOptions(options: RunOptions): void {
  for (const field of ['concurrencyKey', 'idempotencyKey'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > 200)) {
      throw new AppError('INVALID_INPUT', `options.${field} must be a string of 1 to 200 characters`);
    }
  }
  const checks: Array<['priority' | 'timeoutMs' | 'maxSteps', number, number]> = [['priority', -1000, 1000], ['timeoutMs', 1, 86_400_000], ['maxSteps', 1, 100_000]];
  for (const [field, min, max] of checks) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw new AppError('INVALID_INPUT', `options.${field} must be an integer from ${min} to ${max}`);
    }
  }
}
