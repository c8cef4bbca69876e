import { sleep } from '../common/async.ts';
import { AppError, toAppError } from '../common/errors.ts';
import { findNonJson, isPlainObject, jsonBytes, type JsonObject, type JsonValue } from '../common/json.ts';
import type { EventBody } from '../events/types.ts';
import type { CompiledNode, NodeContext } from '../graph/types.ts';
import { LazyAbort } from './abort.ts';
import { backoffDelay } from './algo.ts';

export interface NodeRun {
  runId: string;
  graphId: string;
  step: number;
  iteration: number;
  /** The state at the start of the step (frozen). */
  state: Readonly<JsonObject>;
  /** The run's abort: cancel and run timeout. */
  abort: LazyAbort;
  /** How long a handler that ignores its signal is waited for after an abort. */
  graceMs: number;
  /** What the node's `ctx.interrupt()` calls return, in order, before one throws (values given on resume). */
  resumes: readonly JsonValue[];
  emit(event: EventBody): void;
  /** Called with the update right after NodeCompleted is emitted (so both reach the same flush). */
  completed(update: JsonObject, bytes: number): void;
}

export type NodeOutcome =
  | { status: 'done'; update: JsonObject; bytes: number }
  | { status: 'failed'; error: AppError; aborted: boolean }
  | { status: 'interrupted'; payload: JsonValue };

/**
 * What `ctx.interrupt()` throws to end the attempt. Handlers should let it pass; the runner treats
 * the node as interrupted even when one does not.
 */
export class NodeInterrupt extends Error {
  override readonly name = 'NodeInterrupt';
  constructor(readonly payload: JsonValue) {
    super('the node asked for input (ctx.interrupt); the run pauses until it is resumed');
  }
}

/**
 * Runs one node for one iteration: every attempt its retry policy allows, each bounded by the
 * node's timeout, with exponential backoff between attempts. Emits NodeStarted, then NodeCompleted
 * or NodeFailed (with willRetry) per attempt. An attempt that calls `ctx.interrupt()` (beyond the
 * resume values it has) ends the node as interrupted, with no further event and no retry: the
 * loop's RunPaused says so. Never throws: failures are outcomes.
 */
export async function executeNode(node: CompiledNode, run: NodeRun): Promise<NodeOutcome> {
  for (let attempt = 1; ; attempt++) {
    run.emit({ type: 'NodeStarted', nodeId: node.id, step: run.step, iteration: run.iteration, attempt, input: run.state as JsonObject });
    const started = performance.now();
    const asked: { payload?: JsonValue } = {};
    try {
      const update = await attemptNode(node, run, attempt, asked);
      if ('payload' in asked) return { status: 'interrupted', payload: asked.payload };
      const bytes = jsonBytes(update);
      run.emit({
        type: 'NodeCompleted',
        nodeId: node.id,
        step: run.step,
        iteration: run.iteration,
        attempt,
        stateUpdate: update,
        bytes,
        durationMs: elapsed(started),
      });
      run.completed(update, bytes);
      return { status: 'done', update, bytes };
    } catch (thrown) {
      const aborted = run.abort.aborted;
      if (!aborted && 'payload' in asked) return { status: 'interrupted', payload: asked.payload };
      const error = aborted ? toAppError(run.abort.reason, 'CANCELLED') : toAppError(thrown, 'NODE_FAILED');
      const willRetry = !aborted && attempt < node.retry.maxAttempts;
      const retryInMs = willRetry ? backoffDelay(node.retry, attempt) : null;
      run.emit({
        type: 'NodeFailed',
        nodeId: node.id,
        step: run.step,
        iteration: run.iteration,
        attempt,
        error: error.toJSON(),
        willRetry,
        retryInMs,
        durationMs: elapsed(started),
      });
      if (!willRetry) return { status: 'failed', error, aborted };
      try {
        await sleep(retryInMs!, run.abort.signal);
      } catch {
        return { status: 'failed', error: toAppError(run.abort.reason, 'CANCELLED'), aborted: true };
      }
    }
  }
}

/** One attempt; sets `asked.payload` when the handler called interrupt() past its resume values. */
async function attemptNode(node: CompiledNode, run: NodeRun, attempt: number, asked: { payload?: JsonValue }): Promise<JsonObject> {
  // Without a node timeout the run's own abort is the node's: nothing to create per node.
  let abort = run.abort;
  let timer: NodeJS.Timeout | undefined;
  let unlink: (() => void) | undefined;
  if (node.timeoutMs !== undefined) {
    const timeoutMs = node.timeoutMs;
    const own = LazyAbort.following(run.abort);
    abort = own.abort;
    unlink = own.unlink;
    timer = setTimeout(function nodeTimeout() {
      own.abort.abort(new AppError('NODE_TIMEOUT', `node "${node.id}" exceeded its timeoutMs (${timeoutMs} ms)`));
    }, timeoutMs);
  }
  const ctx = new AttemptContext(node, run, attempt, abort, asked);
  try {
    let result: unknown = node.handler(run.state, ctx);
    // Only a handler that returns a promise can outlive an abort; a synchronous one is done.
    if (isThenable(result)) result = await untilAborted(Promise.resolve(result), abort, run.graceMs);
    if (abort.aborted) throw abort.reason;
    return checkUpdate(node.id, result);
  } finally {
    if (timer) clearTimeout(timer);
    unlink?.();
  }
}

/**
 * A handler's `ctx`. A class, not an object literal: `signal` is a getter (so the AbortSignal is
 * made only for a handler that reads it, see LazyAbort), and on Node 20 an object literal with a
 * getter takes about 1 µs to create, a class instance about 0.1. Its methods are arrow functions
 * of the instance, so they work destructured (`const { progress } = ctx`) as a literal's did.
 */
class AttemptContext implements NodeContext {
  readonly runId: string;
  readonly graphId: string;
  readonly nodeId: string;
  readonly iteration: number;
  readonly attempt: number;
  readonly progress: NodeContext['progress'];
  readonly log: NodeContext['log'];
  readonly notice: NodeContext['notice'];
  readonly interrupt: NodeContext['interrupt'];
  readonly #abort: LazyAbort;

  constructor(node: CompiledNode, run: NodeRun, attempt: number, abort: LazyAbort, asked: { payload?: JsonValue }) {
    this.runId = run.runId;
    this.graphId = run.graphId;
    this.nodeId = node.id;
    this.iteration = run.iteration;
    this.attempt = attempt;
    this.#abort = abort;
    // Assigned, not declared as fields: esbuild (tsx) would name each arrow with a defineProperty.
    this.progress = (percent, message) => {
      const clamped = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
      run.emit({ type: 'Progress', percent: clamped, message: message ?? null, nodeId: node.id });
    };
    this.log = (message) => {
      run.emit({ type: 'SystemNotice', message: String(message), level: 'INFO', code: 'NODE_LOG', nodeId: node.id, priority: 'LOW' });
    };
    this.notice = (message) => {
      run.emit({ type: 'SystemNotice', message: String(message), level: 'WARN', code: 'NODE_NOTICE', nodeId: node.id, priority: 'HIGH' });
    };
    // interrupt() calls so far in this attempt: the n-th call gets the n-th resume value.
    let calls = 0;
    this.interrupt = (payload = null) => {
      const bad = findNonJson(payload);
      if (bad) throw new AppError('NODE_FAILED', `node "${node.id}" called interrupt() with a payload that is not JSON at ${bad}; pass plain JSON data`);
      const answer = run.resumes[calls++];
      if (answer !== undefined) return answer;
      if (!('payload' in asked)) asked.payload = payload;
      throw new NodeInterrupt(payload);
    };
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

/**
 * Settles with `work`, unless `abort` aborts first: then `work` gets `graceMs` to settle on its
 * own (a handler that honours its signal rejects at once), after which this rejects with the
 * abort's reason and the handler is left behind, its result ignored.
 */
function untilAborted<T>(work: Promise<T>, abort: LazyAbort, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    // Unnamed: a named function here is one more defineProperty per node under tsx (keepNames).
    const stopListening = abort.onAbort(() => {
      timer = setTimeout(() => reject(abort.reason), graceMs);
    });
    work.then(
      (value) => {
        if (timer) clearTimeout(timer);
        stopListening();
        resolve(value);
      },
      (error: unknown) => {
        if (timer) clearTimeout(timer);
        stopListening();
        reject(error);
      },
    );
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function checkUpdate(nodeId: string, result: unknown): JsonObject {
  if (result === undefined || result === null) return {};
  if (!isPlainObject(result)) {
    const what = Array.isArray(result) ? 'an array' : typeof result;
    throw new AppError('NODE_FAILED', `node "${nodeId}" returned ${what}; return an object (a partial state update) or nothing`);
  }
  const bad = findNonJson(result);
  if (bad) throw new AppError('NODE_FAILED', `node "${nodeId}" returned a value that is not JSON at ${bad}; return plain JSON data`);
  return result;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
