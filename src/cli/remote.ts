import WebSocket from 'ws';
import { createFlowcastClient, FlowcastError, type FlowcastClient, type RunEvent as ServerEvent } from '../../client/sdk/index.ts';
import { AppError, type ErrorCode } from '../common/errors.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';
import type { RunEvent } from '../events/types.ts';

/** Where `watch` and `runs` look for a server when neither --server nor $FLOWCAST_SERVER says. */
export const DEFAULT_SERVER = 'http://127.0.0.1:4000';

/** A server the CLI talks to: its GraphQL endpoint and the typed client on it. */
export interface Remote {
  /** What the user gave, normalised (http://host:port), for messages. */
  base: string;
  client: FlowcastClient;
}

/**
 * The GraphQL endpoint of `--server` (or $FLOWCAST_SERVER, or DEFAULT_SERVER): `host:port`,
 * `http://host:port` and `http://host:port/graphql` all mean `http://host:port/graphql`.
 * Throws AppError INVALID_INPUT for anything that is not an http(s) URL.
 */
export function serverEndpoint(given: string | undefined): { base: string; graphql: string } {
  const raw = (given ?? process.env['FLOWCAST_SERVER'] ?? DEFAULT_SERVER).trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new AppError('INVALID_INPUT', `--server "${raw}" is not a URL; pass one like ${DEFAULT_SERVER}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('INVALID_INPUT', `--server "${raw}" must be an http:// or https:// URL, like ${DEFAULT_SERVER}`);
  const path = url.pathname.replace(/\/+$/, '');
  const base = `${url.origin}${path === '/graphql' ? '' : path}`;
  return { base, graphql: `${base}/graphql` };
}

/**
 * The typed client on a server: graphql-ws (the `ws` package: Node 20 has no WebSocket), graphql-sse
 * when a WebSocket cannot connect. A dropped stream is resumed for a few seconds (5 attempts in a
 * row, backoff up to 2 s) before the CLI gives up and says so: a terminal user would rather hear
 * than wait.
 */
export function connect(given: string | undefined): Remote {
  const { base, graphql } = serverEndpoint(given);
  const client = createFlowcastClient({ url: graphql, webSocketImpl: WebSocket, retry: { initialDelayMs: 250, maxDelayMs: 2_000, attempts: 5 } });
  return { base, client };
}

/**
 * What a failure of the client means for the user, as an AppError whose message says what to do:
 * the server cannot be reached (NETWORK), the stream was lost (DISCONNECTED), or the server's own
 * typed error (GRAPH_NOT_FOUND, INVALID_INPUT, RUN_NOT_FOUND, … with its message). Anything else is
 * returned as it is.
 */
export function explainClientError(error: unknown, remote: Remote): unknown {
  if (!(error instanceof FlowcastError)) return error;
  if (error.code === 'NETWORK') {
    return new AppError('INVALID_INPUT', `cannot reach a Flowcast server at ${remote.base} (${rootCause(error)}); start one with \`npm start\`, or pass --server URL (or set FLOWCAST_SERVER)`);
  }
  if (error.code === 'DISCONNECTED') {
    const runId = typeof error.details['runId'] === 'string' ? error.details['runId'] : '<run id>';
    return new AppError('INVALID_INPUT', `lost the connection to ${remote.base} after seq ${String(error.details['after'])} of run ${runId} (${rootCause(error)}); watch it again with: flowcast watch ${runId} --server ${remote.base}`);
  }
  return new AppError(isErrorCode(error.code) ? error.code : 'INVALID_INPUT', error.message);
}

/** The innermost reason: `ECONNREFUSED` rather than "fetch failed". */
function rootCause(error: unknown): string {
  let current: unknown = error;
  let reason = error instanceof Error ? error.message : String(error);
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    if (current instanceof Error && current.message) reason = current.message;
    else if (typeof (current as { reason?: unknown }).reason === 'string' && (current as { reason: string }).reason) reason = (current as { reason: string }).reason;
    current = (current as { cause?: unknown }).cause;
  }
  return reason.replace(/^\[Network\]\s*/, '');
}

const SERVER_CODES: readonly string[] = ['INVALID_INPUT', 'INVALID_GRAPH', 'INVALID_CONFIG', 'GRAPH_NOT_FOUND', 'RUN_NOT_FOUND', 'RUN_NOT_PAUSED'];
function isErrorCode(code: string): code is ErrorCode {
  return SERVER_CODES.includes(code);
}

/**
 * An event as the typed client delivers it, as the event type the rest of the CLI prints and folds
 * (src/events/types.ts). The fields are the same by construction (the schema is made from those
 * types); the JSON scalars come typed `unknown` and the error codes `string`, so they are taken as
 * what the server made them from.
 */
export function fromServerEvent(event: ServerEvent): RunEvent {
  const base = { seq: event.seq, runId: event.runId, graphId: event.graphId, at: event.at, priority: event.priority };
  const object = (value: unknown): JsonObject => value as JsonObject;
  const error = (value: { code: string; message: string }): { code: ErrorCode; message: string } => ({ code: value.code as ErrorCode, message: value.message });
  switch (event.__typename) {
    case 'RunQueued':
      return { ...base, type: 'RunQueued', input: object(event.input) };
    case 'RunStarted':
      return { ...base, type: 'RunStarted', input: object(event.input), maxSteps: event.maxSteps };
    case 'NodeStarted':
      return { ...base, type: 'NodeStarted', nodeId: event.nodeId, step: event.step, iteration: event.iteration, attempt: event.attempt, input: object(event.input) };
    case 'NodeCompleted':
      return { ...base, type: 'NodeCompleted', nodeId: event.nodeId, step: event.step, iteration: event.iteration, attempt: event.attempt, stateUpdate: object(event.stateUpdate), bytes: event.bytes, durationMs: event.durationMs };
    case 'NodeFailed':
      return { ...base, type: 'NodeFailed', nodeId: event.nodeId, step: event.step, iteration: event.iteration, attempt: event.attempt, error: error(event.error), willRetry: event.willRetry, retryInMs: event.retryInMs, durationMs: event.durationMs };
    case 'NodeSkipped':
      return { ...base, type: 'NodeSkipped', nodeId: event.nodeId, step: event.step, reason: event.reason };
    case 'Transition':
      return { ...base, type: 'Transition', from: event.from, to: event.to, step: event.step };
    case 'DataFlow':
      return { ...base, type: 'DataFlow', from: event.from, to: event.to, step: event.step, bytes: event.bytes };
    case 'Progress':
      return { ...base, type: 'Progress', percent: event.percent, message: event.message, nodeId: event.nodeId };
    case 'SystemNotice':
      return { ...base, type: 'SystemNotice', message: event.message, level: event.level, code: event.code, nodeId: event.nodeId };
    case 'RunPaused':
      return { ...base, type: 'RunPaused', nodeId: event.nodeId, reason: event.reason, cause: event.cause, interrupts: event.interrupts.map((i) => ({ nodeId: i.nodeId, payload: i.payload as JsonValue })) };
    case 'RunResumed':
      return { ...base, type: 'RunResumed', nodeId: event.nodeId, stateUpdate: event.stateUpdate === null ? null : object(event.stateUpdate), resume: event.resume as JsonValue };
    case 'RunCompleted':
      return { ...base, type: 'RunCompleted', finalState: object(event.finalState), durationMs: event.durationMs };
    case 'RunFailed':
      return { ...base, type: 'RunFailed', error: error(event.error), nodeId: event.nodeId, durationMs: event.durationMs };
    case 'RunCancelled':
      return { ...base, type: 'RunCancelled', reason: event.reason, durationMs: event.durationMs };
  }
}
