import { sleep } from '../common/async.ts';
import { AppError, toAppError } from '../common/errors.ts';
import { findNonJson, isPlainObject, jsonBytes, type JsonObject } from '../common/json.ts';
import type { EventBody } from '../events/types.ts';
import type { CompiledNode, NodeContext } from '../graph/types.ts';
import { backoffDelay } from './algo.ts';

export interface NodeRun {
  runId: string;
  graphId: string;
  step: number;
  iteration: number;
  /** The state at the start of the step (frozen). */
  state: Readonly<JsonObject>;
  /** The run's signal: cancel and run timeout. */
  signal: AbortSignal;
  /** How long a handler that ignores its signal is waited for after an abort. */
  graceMs: number;
  emit(event: EventBody): void;
}

export type NodeOutcome =
  | { ok: true; update: JsonObject; bytes: number }
  | { ok: false; error: AppError; aborted: boolean };

/**
 * Runs one node for one iteration: every attempt its retry policy allows, each bounded by the
 * node's timeout, with exponential backoff between attempts. Emits NodeStarted, then NodeCompleted
 * or NodeFailed (with willRetry) per attempt. Never throws: failures are outcomes.
 */
export async function executeNode(node: CompiledNode, run: NodeRun): Promise<NodeOutcome> {
  for (let attempt = 1; ; attempt++) {
    run.emit({ type: 'NodeStarted', nodeId: node.id, step: run.step, iteration: run.iteration, attempt, input: run.state as JsonObject });
    const started = performance.now();
    try {
      const update = await attemptNode(node, run, attempt);
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
      return { ok: true, update, bytes };
    } catch (thrown) {
      const aborted = run.signal.aborted;
      const error = aborted ? toAppError(run.signal.reason, 'CANCELLED') : toAppError(thrown, 'NODE_FAILED');
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
      if (!willRetry) return { ok: false, error, aborted };
      try {
        await sleep(retryInMs!, run.signal);
      } catch {
        return { ok: false, error: toAppError(run.signal.reason, 'CANCELLED'), aborted: true };
      }
    }
  }
}

async function attemptNode(node: CompiledNode, run: NodeRun, attempt: number): Promise<JsonObject> {
  // Without a node timeout the run's own signal is the node's: no controller to create per node.
  let signal = run.signal;
  let timer: NodeJS.Timeout | undefined;
  let unlink: (() => void) | undefined;
  if (node.timeoutMs !== undefined) {
    const controller = new AbortController();
    const timeoutMs = node.timeoutMs;
    const onRunAbort = (): void => controller.abort(run.signal.reason);
    if (run.signal.aborted) onRunAbort();
    else run.signal.addEventListener('abort', onRunAbort, { once: true });
    unlink = () => run.signal.removeEventListener('abort', onRunAbort);
    timer = setTimeout(function nodeTimeout() {
      controller.abort(new AppError('NODE_TIMEOUT', `node "${node.id}" exceeded its timeoutMs (${timeoutMs} ms)`));
    }, timeoutMs);
    signal = controller.signal;
  }
  const ctx: NodeContext = {
    runId: run.runId,
    graphId: run.graphId,
    nodeId: node.id,
    iteration: run.iteration,
    attempt,
    signal,
    progress(percent, message) {
      const clamped = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
      run.emit({ type: 'Progress', percent: clamped, message: message ?? null, nodeId: node.id });
    },
    log(message) {
      run.emit({ type: 'SystemNotice', message: String(message), level: 'INFO', code: 'NODE_LOG', nodeId: node.id, priority: 'LOW' });
    },
    notice(message) {
      run.emit({ type: 'SystemNotice', message: String(message), level: 'WARN', code: 'NODE_NOTICE', nodeId: node.id, priority: 'HIGH' });
    },
  };
  try {
    let result: unknown = node.handler(run.state, ctx);
    // Only a handler that returns a promise can outlive an abort; a synchronous one is done.
    if (isThenable(result)) result = await untilAborted(Promise.resolve(result), signal, run.graceMs);
    if (signal.aborted) throw signal.reason;
    return checkUpdate(node.id, result);
  } finally {
    if (timer) clearTimeout(timer);
    unlink?.();
  }
}

/**
 * Settles with `work`, unless `signal` aborts first: then `work` gets `graceMs` to settle on its
 * own (a handler that honours its signal rejects at once), after which this rejects with the
 * signal's reason and the handler is left behind, its result ignored.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => reject(signal.reason), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
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
