import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { decodeEvent } from '../events/codec.ts';
import type { Priority, RunEvent, RunEventType } from '../events/types.ts';
import { restoreEvent, toBatchEntry } from './rows.ts';

/**
 * The JSON text of a SQLite event batch: a list with an entry per event.
 *
 * An event of one of the shapes the engine emits is packed (migrations 010 and 011): its entry is
 * a list of its type's code, the values of its shape's body keys in order, its `at` and its
 * priority's code, e.g. `[6,"a","b",1,0,1]` for a Transition of NORMAL priority (see SHAPES and
 * PRIORITY_CODES; entries written before 011 have the type's and the priority's names, e.g.
 * `["Transition","a","b",1,0,"NORMAL"]`, and read back the same). Its keys come back from the shape, in the order the live
 * event had, so a replayed event serializes as the live one did. An event takes its shape only
 * when its own keys are that shape's, in that order (checked as it is written), its priority is
 * one of the four, and none of its values is one JSON leaves out of an object; any other event
 * (another key order, an optional key, a graph other than its run's) is stored as its
 * toBatchEntry object.
 *
 * Why: JSON.stringify of a short run's events as objects was the largest single cost of storing
 * it: V8 11 (Node 20) looks up and escapes every key of every object it writes. A list has no
 * keys, and packed entries are less than half the text, which also halves what reading them back
 * parses. The lists are written by one JSON.stringify of the whole batch, which gives one flat
 * string: writing each entry from a template, as before, took 1.6-1.9x as long on Node 20
 * (51 events of a 10-node chain, measured), most of it in calls per value and in concatenation.
 * Codes instead of names (011) make a short run's batch about 40% shorter (a 10-node chain's:
 * 2,244 characters before). Below about 2,000, two runs' batches share a 4 KiB page, so half the
 * commits add no page to the file: no new leaf in the table's interior page and no change to the
 * database size in page 1, two of the eight pages such a commit wrote.
 */
export function stringifyBatch(events: readonly RunEvent[], runGraphId: string): string {
  const entries: unknown[] = [];
  let previousAt: string | undefined;
  for (const event of events) {
    entries.push(batchEntry(event, runGraphId, previousAt));
    previousAt = event.at;
  }
  return JSON.stringify(entries);
}

/** One stored row of a run's events: the seqs of its first and last, and its text. */
export interface BatchPart { first: number; last: number; text: string }

/**
 * The stored rows of one run's consecutive `events`: one, the text of their batch, unless that
 * passes `maxChars` (large payloads): then parts of at most about `maxChars` characters (an entry
 * larger than that alone), so that a reader never parses much more than it asks for. Every part's
 * first entry has its own `at`, not 0.
 */
export function batchParts(events: readonly RunEvent[], runGraphId: string, maxChars: number): BatchPart[] {
  const text = stringifyBatch(events, runGraphId);
  if (text.length <= maxChars || events.length <= 1) return [{ first: events[0]?.seq ?? 0, last: events.at(-1)?.seq ?? 0, text }];
  const parts: BatchPart[] = [];
  let from = 0;
  let part: string[] = [];
  let chars = 0;
  events.forEach(function splitLargeBatch(event, i) {
    let entry = JSON.stringify(batchEntry(event, runGraphId, events[i - 1]?.at));
    if (part.length > 0 && chars + entry.length > maxChars) {
      parts.push({ first: events[from]!.seq, last: events[i - 1]!.seq, text: `[${part.join(',')}]` });
      from = i;
      part = [];
      chars = 0;
      entry = JSON.stringify(batchEntry(event, runGraphId, undefined));
    }
    part.push(entry);
    chars += entry.length + 1;
  });
  parts.push({ first: events[from]!.seq, last: events.at(-1)!.seq, text: `[${part.join(',')}]` });
  return parts;
}

/** A stored batch's text (migration 006) as its list of entries; AppError INVALID_INPUT when it is not one. */
export function parseBatch(data: string, runId: string, seq: number): unknown[] {
  let entries: unknown;
  try {
    entries = JSON.parse(data);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `events ${runId}#${seq}… are not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries)) throw new AppError('INVALID_INPUT', `events ${runId}#${seq}… must be a JSON list`);
  return entries;
}

/** An event's entry in a batch, before JSON.stringify: its packed list, or else its toBatchEntry object. */
function batchEntry(event: RunEvent, runGraphId: string, previousAt: string | undefined): unknown {
  return packedEntry(event, runGraphId, previousAt) ?? toBatchEntry(event, runGraphId, previousAt);
}

/**
 * `event`'s packed entry (see stringifyBatch), or undefined when it has none: its keys are not its
 * type's shape, its graph is not its run's, or a value is one JSON.stringify would leave out of an
 * object (undefined, a function, a symbol), which in a list it would write as null. An `at` equal
 * to the entry before's is stored as 0 (see toBatchEntry).
 */
export function packedEntry(event: RunEvent, runGraphId: string, previousAt: string | undefined): unknown[] | undefined {
  const shape = SHAPES[event.type] as Shape<RunEventType> | undefined;
  if (shape === undefined || event.graphId !== runGraphId || !hasKeys(event, shape.keys)) return undefined;
  const entry = shape.entry(event, event.at === previousAt ? 0 : event.at, priorityCode(event.priority));
  for (let i = 1; i < entry.length; i++) {
    const value = entry[i];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  }
  return entry;
}

/**
 * One event shape: its type and the code that stands for it in a packed entry, its body keys, its
 * own keys in order (those its entry leaves out too), and its packed entry given its `at` and its
 * priority's code as stored.
 */
interface Shape<T extends RunEventType> {
  type: T;
  code: number;
  body: readonly string[];
  keys: readonly string[];
  entry(event: Extract<RunEvent, { type: T }>, at: unknown, priority: number | undefined): unknown[];
}

/** Every shape's keys end so: the emitter adds runId, graphId, at and priority after the body, and the log adds seq. */
function shape<T extends RunEventType>(type: T, code: number, body: readonly string[], entry: Shape<T>['entry']): Shape<T> {
  return { type, code, body, keys: ['type', ...body, 'runId', 'graphId', 'at', 'priority', 'seq'], entry };
}

/** A priority's code in a packed entry is its index here. Stored: never reorder. */
const PRIORITY_CODES: readonly Priority[] = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];

/** `priority`'s code, or undefined for anything but the four (such an event is stored as an object). */
function priorityCode(priority: unknown): number | undefined {
  switch (priority) {
    case 'LOW': return 0;
    case 'NORMAL': return 1;
    case 'HIGH': return 2;
    case 'CRITICAL': return 3;
    default: return undefined;
  }
}

/**
 * The shapes the engine emits, as its emit calls write their bodies. An entry is its type's code,
 * then its body keys' values in order, then at and the priority's code (test/store/batch.test.ts
 * reads each back). Each is a list literal, not a loop over `body`: reading the keys by name is
 * what keeps writing fast. Types left out are rare (pauses, notices) and are stored as objects.
 * The codes are stored: never change one, and give a new shape the next free one.
 */
const SHAPES: { readonly [T in RunEventType]?: Shape<T> } = {
  RunQueued: shape('RunQueued', 0, ['input'], (e, at, p) => [0, e.input, at, p]),
  RunStarted: shape('RunStarted', 1, ['input', 'maxSteps'], (e, at, p) => [1, e.input, e.maxSteps, at, p]),
  NodeStarted: shape('NodeStarted', 2, ['nodeId', 'step', 'iteration', 'attempt', 'input'], (e, at, p) =>
    [2, e.nodeId, e.step, e.iteration, e.attempt, e.input, at, p]),
  NodeCompleted: shape('NodeCompleted', 3, ['nodeId', 'step', 'iteration', 'attempt', 'stateUpdate', 'bytes', 'durationMs'], (e, at, p) =>
    [3, e.nodeId, e.step, e.iteration, e.attempt, e.stateUpdate, e.bytes, e.durationMs, at, p]),
  NodeFailed: shape('NodeFailed', 4, ['nodeId', 'step', 'iteration', 'attempt', 'error', 'willRetry', 'retryInMs', 'durationMs'], (e, at, p) =>
    [4, e.nodeId, e.step, e.iteration, e.attempt, e.error, e.willRetry, e.retryInMs, e.durationMs, at, p]),
  NodeSkipped: shape('NodeSkipped', 5, ['nodeId', 'step', 'reason'], (e, at, p) => [5, e.nodeId, e.step, e.reason, at, p]),
  Transition: shape('Transition', 6, ['from', 'to', 'step'], (e, at, p) => [6, e.from, e.to, e.step, at, p]),
  DataFlow: shape('DataFlow', 7, ['from', 'to', 'step', 'bytes'], (e, at, p) => [7, e.from, e.to, e.step, e.bytes, at, p]),
  Progress: shape('Progress', 8, ['percent', 'message', 'nodeId'], (e, at, p) => [8, e.percent, e.message, e.nodeId, at, p]),
  RunCompleted: shape('RunCompleted', 9, ['finalState', 'durationMs'], (e, at, p) => [9, e.finalState, e.durationMs, at, p]),
  RunFailed: shape('RunFailed', 10, ['error', 'nodeId', 'durationMs'], (e, at, p) => [10, e.error, e.nodeId, e.durationMs, at, p]),
  RunCancelled: shape('RunCancelled', 11, ['reason', 'durationMs'], (e, at, p) => [11, e.reason, e.durationMs, at, p]),
};

/** The shapes by code. */
const SHAPE_BY_CODE: ReadonlyArray<Shape<RunEventType> | undefined> = (() => {
  const byCode: Array<Shape<RunEventType> | undefined> = [];
  for (const found of Object.values(SHAPES) as Array<Shape<RunEventType>>) byCode[found.code] = found;
  return byCode;
})();

/** True when `event`'s enumerable keys (own, and any inherited ones, which no event has) are `keys`, in that order. */
function hasKeys(event: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in event) if (key !== keys[i++]) return false;
  return i === keys.length;
}

/**
 * A stored batch entry made a whole, validated event (AppError INVALID_INPUT otherwise): a packed
 * one (a list, see stringifyBatch) with its shape's keys in order, an object one by restoreEvent.
 * runId and graphId are the run's, `seq` the entry's, and an `at` of 0 becomes `previousAt`.
 */
export function restoreEntry(entry: unknown, seq: number, runId: string, graphId: string, previousAt: string | undefined): RunEvent {
  if (!Array.isArray(entry)) return restoreEvent(entry, undefined, seq, runId, graphId, previousAt);
  const { type, body } = packedShape(entry, runId, seq);
  const event: Record<string, unknown> = { type };
  for (let i = 0; i < body.length; i++) event[body[i]!] = entry[i + 1];
  event['runId'] = runId;
  event['graphId'] = graphId;
  const at: unknown = entry[body.length + 1];
  if (at === 0 && previousAt === undefined) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} takes its time (at 0) from the event before it, but none comes before it in its batch`);
  event['at'] = at === 0 ? previousAt : at;
  event['priority'] = storedPriority(entry[body.length + 2], runId, seq);
  event['seq'] = seq;
  return decodeEvent(event);
}

/** A stored batch entry's `at` as stored (0: the entry before's), packed or not. */
export function entryAt(entry: unknown): unknown {
  if (Array.isArray(entry)) {
    const shape = shapeOf(entry[0]);
    return shape ? entry[shape.body.length + 1] : undefined;
  }
  return isPlainObject(entry) ? entry['at'] : undefined;
}

/** A stored batch entry as an object entry (toBatchEntry's form), packed or not. */
export function objectEntry(entry: unknown, runId: string, seq: number): Record<string, unknown> {
  if (!Array.isArray(entry)) {
    if (!isPlainObject(entry)) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} must be an object or a list`);
    return entry;
  }
  const { type, body } = packedShape(entry, runId, seq);
  const object: Record<string, unknown> = { type };
  for (let i = 0; i < body.length; i++) object[body[i]!] = entry[i + 1];
  object['at'] = entry[body.length + 1];
  object['priority'] = storedPriority(entry[body.length + 2], runId, seq);
  return object;
}

function packedShape(entry: unknown[], runId: string, seq: number): { type: RunEventType; body: readonly string[] } {
  const shape = shapeOf(entry[0]);
  if (!shape) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} is a list whose first item, ${JSON.stringify(entry[0])}, is neither the code nor the name of a type stored as a list`);
  if (entry.length !== shape.body.length + 3) {
    throw new AppError('INVALID_INPUT', `event ${runId}#${seq} (${shape.type}) must be a list of ${shape.body.length + 3} items (type, ${shape.body.join(', ')}, at, priority), got ${entry.length}`);
  }
  return { type: shape.type, body: shape.body };
}

/** The shape a packed entry's first item names: by code (since migration 011) or by type name (010). */
function shapeOf(first: unknown): Shape<RunEventType> | undefined {
  if (typeof first === 'number') return Number.isInteger(first) ? SHAPE_BY_CODE[first] : undefined;
  return typeof first === 'string' && Object.hasOwn(SHAPES, first) ? (SHAPES[first as RunEventType] as Shape<RunEventType> | undefined) : undefined;
}

/** A packed entry's priority: a code (since migration 011) as its name, a name (010) as it is (decodeEvent checks it). */
function storedPriority(stored: unknown, runId: string, seq: number): unknown {
  if (typeof stored !== 'number') return stored;
  const priority = Number.isInteger(stored) ? PRIORITY_CODES[stored] : undefined;
  if (priority === undefined) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} has priority code ${stored}; codes are 0 to ${PRIORITY_CODES.length - 1} (${PRIORITY_CODES.join(', ')})`);
  return priority;
}
