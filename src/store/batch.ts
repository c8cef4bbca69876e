import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { decodeEvent } from '../events/codec.ts';
import type { Priority, RunEvent, RunEventType } from '../events/types.ts';
import { ByteReader, ByteWriter, TAG } from './bytes.ts';
import { restoreEvent, toBatchEntry } from './rows.ts';

/**
 * A SQLite event batch: a run's consecutive events, stored as one row.
 *
 * Since migration 012 a batch is binary (written here): a format byte (FORMAT), then an entry per
 * event. An event of one of the shapes the engine emits is packed: its type's code, the values of
 * its shape's body keys in order, its `at` (SAME when it is the entry before's) and its priority's
 * code, each value as bytes.ts writes it. Its keys come back from the shape, in the order the live
 * event had, so a replayed event serializes as the live one did. An event takes its shape only
 * when its own keys are that shape's, in that order (checked as it is written), its priority is
 * one of the four, and none of its values is one JSON leaves out of an object; any other event
 * (another key order, an optional key, a graph other than its run's) is stored as OBJECT and its
 * toBatchEntry object's JSON.
 *
 * Batches written before 012 are JSON text, a list of entries: packed ones are lists (010) of the
 * same items, with the type's and priority's names before 011 (`["Transition","a","b",1,0,"NORMAL"]`)
 * and their codes since (`[6,"a","b",1,0,1]`); the others are objects. parseBatch gives both forms
 * back as such lists and objects.
 *
 * Why: storing a short run's events was the largest cost of storing the run. V8 11 (Node 20) looks
 * up and escapes every key of every object JSON.stringify writes, so packed lists (010) came first;
 * but JSON.stringify still took about 20 ns a value and 60-120 ns a nested list or object, 15-25
 * µs for a 10-node chain's 51 events, a tenth of the run. Written as bytes they took about half
 * that, and the whole SQLite run 0.90x the time (measured paired in one process). Codes (011) and
 * bytes also make the batch short (a 10-node chain's: 2,244 characters as names, 1,379 as codes,
 * about 880 bytes), so more batches share a page and fewer commits add one to the file.
 */

/** The first byte of a binary batch. */
const FORMAT = 1;
/** An entry's first byte for an event stored as its toBatchEntry object (a JSON value follows); packed ones start with their type's code. */
const OBJECT = 0xff;

/** One stored row of a run's events: the seqs of its first and last, and its bytes. */
export interface BatchPart { first: number; last: number; data: Buffer }

const writer = new ByteWriter();

/**
 * The stored rows of one run's consecutive `events`: one, unless its bytes pass `maxBytes` (large
 * payloads): then parts of at most about `maxBytes` (an entry larger than that alone), so that a
 * reader never parses much more than it asks for. Every part's first entry has its own `at`.
 * Throws what JSON.stringify throws for a value JSON cannot hold (a BigInt, a cycle).
 */
export function batchParts(events: readonly RunEvent[], runGraphId: string, maxBytes: number): BatchPart[] {
  const parts: BatchPart[] = [];
  startPart();
  let from = 0;
  let previousAt: string | undefined;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const start = writer.pos;
    writeEntry(event, runGraphId, previousAt);
    if (writer.pos > maxBytes && i > from) {
      // This entry starts the next part, with its own time.
      writer.pos = start;
      parts.push({ first: events[from]!.seq, last: events[i - 1]!.seq, data: writer.take(0) });
      startPart();
      writeEntry(event, runGraphId, undefined);
      from = i;
    }
    previousAt = event.at;
  }
  parts.push({ first: events[from]?.seq ?? 0, last: events.at(-1)?.seq ?? 0, data: writer.take(0) });
  return parts;
}

/** Starts a part: the writer from its beginning, and the format byte. */
function startPart(): void {
  writer.reset();
  writer.byte(FORMAT);
}

/** Writes `event`'s entry: packed when it has its type's shape (see batchParts), else OBJECT. */
function writeEntry(event: RunEvent, runGraphId: string, previousAt: string | undefined): void {
  const shape = SHAPES[event.type] as Shape<RunEventType> | undefined;
  const priority = priorityCode(event.priority);
  if (shape !== undefined && priority !== undefined && event.graphId === runGraphId && hasKeys(event, shape.keys)) {
    const start = writer.pos;
    writer.byte(shape.code);
    if (shape.write(writer, event) && writeAt(event.at, previousAt)) {
      writer.byte(priority);
      return;
    }
    writer.pos = start;
  }
  writer.byte(OBJECT);
  writer.json(toBatchEntry(event, runGraphId, previousAt));
}

/** An entry's `at`: SAME when it is the entry before's; false for a value JSON leaves out. */
function writeAt(at: unknown, previousAt: string | undefined): boolean {
  if (at !== previousAt) return writer.value(at);
  writer.byte(TAG.SAME);
  return true;
}

/**
 * A stored batch as its list of entries: packed ones as lists (type code or name, body values, at,
 * priority code or name), the others as objects. AppError INVALID_INPUT when it is neither JSON
 * text that is a list (before migration 012) nor bytes of this format.
 */
export function parseBatch(data: string | Buffer, runId: string, seq: number): unknown[] {
  if (typeof data !== 'string') return decodeBatch(data, runId, seq);
  let entries: unknown;
  try {
    entries = JSON.parse(data);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `events ${runId}#${seq}… are not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries)) throw new AppError('INVALID_INPUT', `events ${runId}#${seq}… must be a JSON list`);
  return entries;
}

/** A binary batch's entries (see batchParts), packed ones as lists of codes and values. */
function decodeBatch(data: Buffer, runId: string, seq: number): unknown[] {
  const reader = new ByteReader(data, `events ${runId}#${seq}…`);
  const format = reader.byte();
  if (format !== FORMAT) throw new AppError('INVALID_INPUT', `events ${runId}#${seq}… are in format ${format}; this Flowcast reads format ${FORMAT}`);
  const entries: unknown[] = [];
  while (!reader.done) {
    const code = reader.byte();
    if (code === OBJECT) {
      entries.push(reader.value());
      continue;
    }
    const shape = SHAPE_BY_CODE[code];
    if (!shape) throw new AppError('INVALID_INPUT', `event ${runId}#${seq + entries.length} starts with ${code}, which is neither a type's code nor ${OBJECT} (an object)`);
    const entry: unknown[] = [code];
    // The body's values, then `at`; then the priority's code, a bare byte.
    for (let i = 0; i <= shape.body.length; i++) entry.push(reader.value());
    entry.push(reader.byte());
    entries.push(entry);
  }
  return entries;
}

/**
 * One event shape: its type and the code that stands for it in a packed entry, its body keys, its
 * own keys in order (those its entry leaves out too), and how its body values are written.
 */
interface Shape<T extends RunEventType> {
  type: T;
  code: number;
  body: readonly string[];
  keys: readonly string[];
  /** Writes the body values in order; false as soon as one is a value JSON leaves out of an object (see ByteWriter.value). */
  write(writer: ByteWriter, event: Extract<RunEvent, { type: T }>): boolean;
}

/** Every shape's keys end so: the emitter adds runId, graphId, at and priority after the body, and the log adds seq. */
function shape<T extends RunEventType>(type: T, code: number, body: readonly string[], write: Shape<T>['write']): Shape<T> {
  return { type, code, body, keys: ['type', ...body, 'runId', 'graphId', 'at', 'priority', 'seq'], write };
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
 * The shapes the engine emits, as its emit calls write their bodies: each writes its body keys'
 * values in order (test/store/batch.test.ts reads each back). By name, not a loop over `body`:
 * reading the keys by name is what keeps writing fast. Types left out are rare (pauses, notices)
 * and are stored as objects. The codes are stored: never change one, and give a new shape the
 * next free one.
 */
const SHAPES: { readonly [T in RunEventType]?: Shape<T> } = {
  RunQueued: shape('RunQueued', 0, ['input'], (w, e) => w.value(e.input)),
  RunStarted: shape('RunStarted', 1, ['input', 'maxSteps'], (w, e) => w.value(e.input) && w.int(e.maxSteps)),
  NodeStarted: shape('NodeStarted', 2, ['nodeId', 'step', 'iteration', 'attempt', 'input'], (w, e) =>
    w.str(e.nodeId) && w.int(e.step) && w.int(e.iteration) && w.int(e.attempt) && w.value(e.input)),
  NodeCompleted: shape('NodeCompleted', 3, ['nodeId', 'step', 'iteration', 'attempt', 'stateUpdate', 'bytes', 'durationMs'], (w, e) =>
    w.str(e.nodeId) && w.int(e.step) && w.int(e.iteration) && w.int(e.attempt) && w.value(e.stateUpdate) && w.int(e.bytes) && w.value(e.durationMs)),
  NodeFailed: shape('NodeFailed', 4, ['nodeId', 'step', 'iteration', 'attempt', 'error', 'willRetry', 'retryInMs', 'durationMs'], (w, e) =>
    w.str(e.nodeId) && w.int(e.step) && w.int(e.iteration) && w.int(e.attempt) && w.value(e.error) && w.value(e.willRetry) && w.value(e.retryInMs) && w.value(e.durationMs)),
  NodeSkipped: shape('NodeSkipped', 5, ['nodeId', 'step', 'reason'], (w, e) => w.str(e.nodeId) && w.int(e.step) && w.str(e.reason)),
  Transition: shape('Transition', 6, ['from', 'to', 'step'], (w, e) => w.str(e.from) && w.str(e.to) && w.int(e.step)),
  DataFlow: shape('DataFlow', 7, ['from', 'to', 'step', 'bytes'], (w, e) => w.str(e.from) && w.str(e.to) && w.int(e.step) && w.int(e.bytes)),
  Progress: shape('Progress', 8, ['percent', 'message', 'nodeId'], (w, e) => w.int(e.percent) && w.str(e.message) && w.str(e.nodeId)),
  RunCompleted: shape('RunCompleted', 9, ['finalState', 'durationMs'], (w, e) => w.value(e.finalState) && w.value(e.durationMs)),
  RunFailed: shape('RunFailed', 10, ['error', 'nodeId', 'durationMs'], (w, e) => w.value(e.error) && w.str(e.nodeId) && w.value(e.durationMs)),
  RunCancelled: shape('RunCancelled', 11, ['reason', 'durationMs'], (w, e) => w.str(e.reason) && w.value(e.durationMs)),
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
