import type { RunEvent, RunEventType } from '../events/types.ts';
import { toBatchEntry } from './rows.ts';

/**
 * The JSON text of a SQLite event batch: exactly JSON.stringify of the events' toBatchEntry
 * entries, written without building the entries, and for the event shapes the engine emits
 * without JSON.stringify's walk over their keys either.
 *
 * JSON.stringify of a short run's events was the largest single cost of storing it (about 25 µs
 * of a 7-node run's 145 on SQLite, measured): V8 11 (Node 20) looks up and escapes every key of
 * every object it serializes. Each event type's usual shape has a template here instead, with the
 * keys written in as constants. An event takes its template only when its own keys are that
 * shape's keys in that order (checked as it is written), so the text is the same as
 * JSON.stringify's and a replayed event's keys come back in the order the live one had (see
 * restoreEvent). Any other event (another key order, an optional key, a graph other than its
 * run's) is written as JSON.stringify of its entry.
 */
export function stringifyBatch(events: readonly RunEvent[], runGraphId: string): string {
  let text = '[';
  let previousAt: string | undefined;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (i > 0) text += ',';
    text += entryText(event, runGraphId, previousAt);
    previousAt = event.at;
  }
  return text + ']';
}

function entryText(event: RunEvent, runGraphId: string, previousAt: string | undefined): string {
  return templateText(event, runGraphId, previousAt) ?? JSON.stringify(toBatchEntry(event, runGraphId, previousAt));
}

/**
 * The text of `event`'s entry written from its shape's template, or undefined when it has no
 * template (see stringifyBatch): the event's keys are not its type's shape, its graph is not its
 * run's, or a value is one JSON.stringify would leave out.
 */
export function templateText(event: RunEvent, runGraphId: string, previousAt: string | undefined): string | undefined {
  const shape = SHAPES[event.type] as Shape<RunEventType> | undefined;
  if (shape === undefined || event.graphId !== runGraphId || !hasKeys(event, shape.keys)) return undefined;
  omitted = false;
  // An `at` equal to the entry before's is stored as 0 (see toBatchEntry). Not json(): times would fill its cache.
  const at = event.at === previousAt ? '0' : typeof event.at === 'string' ? JSON.stringify(event.at) : json(event.at);
  const text = shape.write(event, at);
  return omitted ? undefined : text;
}

/** One event shape: its own keys in order (those its entry leaves out too) and its entry's text, given its `at` as text. */
interface Shape<T extends RunEventType> {
  keys: readonly string[];
  write(event: Extract<RunEvent, { type: T }>, at: string): string;
}

/** Every shape's keys end so: the emitter adds runId, graphId, at and priority after the body, and the log adds seq. */
function shape<T extends RunEventType>(type: T, body: readonly string[], write: Shape<T>['write']): Shape<T> {
  return { keys: ['type', ...body, 'runId', 'graphId', 'at', 'priority', 'seq'], write };
}

/**
 * The shapes the engine emits, as its emit calls write their bodies. A template's keys must be its
 * shape's keys, in order, without runId, graphId and seq (test/store/batch.test.ts checks each
 * against JSON.stringify). Types left out are rare (pauses, notices, failures of the run) and go
 * through JSON.stringify.
 */
const SHAPES: { readonly [T in RunEventType]?: Shape<T> } = {
  RunQueued: shape('RunQueued', ['input'], (e, at) => `{"type":"RunQueued","input":${json(e.input)},"at":${at},"priority":${json(e.priority)}}`),
  RunStarted: shape('RunStarted', ['input', 'maxSteps'], (e, at) =>
    `{"type":"RunStarted","input":${json(e.input)},"maxSteps":${json(e.maxSteps)},"at":${at},"priority":${json(e.priority)}}`),
  NodeStarted: shape('NodeStarted', ['nodeId', 'step', 'iteration', 'attempt', 'input'], (e, at) =>
    `{"type":"NodeStarted","nodeId":${json(e.nodeId)},"step":${json(e.step)},"iteration":${json(e.iteration)},"attempt":${json(e.attempt)},"input":${json(e.input)},"at":${at},"priority":${json(e.priority)}}`),
  NodeCompleted: shape('NodeCompleted', ['nodeId', 'step', 'iteration', 'attempt', 'stateUpdate', 'bytes', 'durationMs'], (e, at) =>
    `{"type":"NodeCompleted","nodeId":${json(e.nodeId)},"step":${json(e.step)},"iteration":${json(e.iteration)},"attempt":${json(e.attempt)},"stateUpdate":${json(e.stateUpdate)},"bytes":${json(e.bytes)},"durationMs":${json(e.durationMs)},"at":${at},"priority":${json(e.priority)}}`),
  NodeFailed: shape('NodeFailed', ['nodeId', 'step', 'iteration', 'attempt', 'error', 'willRetry', 'retryInMs', 'durationMs'], (e, at) =>
    `{"type":"NodeFailed","nodeId":${json(e.nodeId)},"step":${json(e.step)},"iteration":${json(e.iteration)},"attempt":${json(e.attempt)},"error":${json(e.error)},"willRetry":${json(e.willRetry)},"retryInMs":${json(e.retryInMs)},"durationMs":${json(e.durationMs)},"at":${at},"priority":${json(e.priority)}}`),
  NodeSkipped: shape('NodeSkipped', ['nodeId', 'step', 'reason'], (e, at) =>
    `{"type":"NodeSkipped","nodeId":${json(e.nodeId)},"step":${json(e.step)},"reason":${json(e.reason)},"at":${at},"priority":${json(e.priority)}}`),
  Transition: shape('Transition', ['from', 'to', 'step'], (e, at) =>
    `{"type":"Transition","from":${json(e.from)},"to":${json(e.to)},"step":${json(e.step)},"at":${at},"priority":${json(e.priority)}}`),
  DataFlow: shape('DataFlow', ['from', 'to', 'step', 'bytes'], (e, at) =>
    `{"type":"DataFlow","from":${json(e.from)},"to":${json(e.to)},"step":${json(e.step)},"bytes":${json(e.bytes)},"at":${at},"priority":${json(e.priority)}}`),
  Progress: shape('Progress', ['percent', 'message', 'nodeId'], (e, at) =>
    `{"type":"Progress","percent":${json(e.percent)},"message":${json(e.message)},"nodeId":${json(e.nodeId)},"at":${at},"priority":${json(e.priority)}}`),
  RunCompleted: shape('RunCompleted', ['finalState', 'durationMs'], (e, at) =>
    `{"type":"RunCompleted","finalState":${json(e.finalState)},"durationMs":${json(e.durationMs)},"at":${at},"priority":${json(e.priority)}}`),
  RunFailed: shape('RunFailed', ['error', 'nodeId', 'durationMs'], (e, at) =>
    `{"type":"RunFailed","error":${json(e.error)},"nodeId":${json(e.nodeId)},"durationMs":${json(e.durationMs)},"at":${at},"priority":${json(e.priority)}}`),
  RunCancelled: shape('RunCancelled', ['reason', 'durationMs'], (e, at) =>
    `{"type":"RunCancelled","reason":${json(e.reason)},"durationMs":${json(e.durationMs)},"at":${at},"priority":${json(e.priority)}}`),
};

/** True when `event`'s enumerable keys (own, and any inherited ones, which no event has) are `keys`, in that order. */
function hasKeys(event: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in event) if (key !== keys[i++]) return false;
  return i === keys.length;
}

/** Set by json() when a value is one JSON.stringify leaves out as a property (undefined, a function, a symbol). */
let omitted = false;

/**
 * A property value's JSON text, as JSON.stringify writes it within an object (an object's toJSON is
 * called with key '' instead of the property's name, which no JSON value the engine emits has).
 * Throws what JSON.stringify throws (a BigInt).
 */
function json(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text !== undefined) return text;
  omitted = true;
  return '';
}

/** Short strings repeat (node ids, priorities, messages): their quoted text is kept, up to QUOTED_MAX of them. */
const quoted = new Map<string, string>();
const QUOTED_MAX = 4096;
const QUOTED_LENGTH = 64;

function quote(value: string): string {
  let text = quoted.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    if (value.length <= QUOTED_LENGTH) {
      if (quoted.size >= QUOTED_MAX) quoted.clear();
      quoted.set(value, text);
    }
  }
  return text;
}
