import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { decodeEvent } from '../events/codec.ts';
import type { NodeSnapshot, RunRecord, RunStatus } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
import type { GraphSpec } from '../graph/types.ts';
import type { Checkpoint, GraphRecord } from './types.ts';

/**
 * How the SQL stores (SQLite and PostgreSQL) lay records out in rows: the same columns and the
 * same JSON `data` text in both, so one set of pickers and builders serves them.
 */

export type RunData = Omit<RunRecord, 'id' | 'graphId' | 'status' | 'priority' | 'createdAt' | 'updatedAt'>;
export type NodeData = Omit<NodeSnapshot, 'nodeId'>;
export type CheckpointData = Omit<Checkpoint, 'runId' | 'step'>;
export type RunParams = [id: string, graphId: string, status: RunStatus, priority: number, data: string, createdAt: string, updatedAt: string];
export interface GraphRow { id: string; name: string; description: string; spec: string; version: number; created_at: string; updated_at: string }
export interface RunRow { id: string; graph_id: string; status: RunStatus; priority: number; data: string; created_at: string; updated_at: string }
export interface EventRow { seq: number; type: string; data: string }

/**
 * An event's `data` column (PostgreSQL, and SQLite before its migration 006): the event without
 * the fields kept elsewhere (type as well as those toBatchEntry leaves out).
 */
export function toEventData(event: RunEvent, runGraphId: string): string {
  const data = toBatchEntry(event, runGraphId, undefined);
  delete data['type'];
  return JSON.stringify(data);
}

/**
 * An event as one entry of a SQLite event batch (a JSON list), before serializing: the event
 * without the fields kept elsewhere (runId, seq), without graphId when it is the run's (as every
 * event the engine writes has it), and with `at` 0 when it is `previousAt`, the time of the entry
 * before it in the batch: most events of a fast step share their millisecond. Keys stay in the
 * event's order, so restoreEvent can give them back in it.
 */
export function toBatchEntry(event: RunEvent, runGraphId: string, previousAt: string | undefined): Record<string, unknown> {
  const { runId: _runId, seq: _seq, graphId, ...data } = event;
  const entry = data as Record<string, unknown>;
  if (data.at === previousAt) entry['at'] = 0;
  if (graphId !== runGraphId) entry['graphId'] = graphId;
  return entry;
}

/**
 * A stored event made whole again and validated. The keys come back in the order the engine's
 * emitter gives them (type first, runId and graphId just before at, seq last), so a replayed event
 * serializes to the same JSON as the live one did.
 */
export function toEvent(row: EventRow, runId: string, graphId: string): RunEvent {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `event ${runId}#${row.seq} is not JSON: ${(error as Error).message}`);
  }
  return restoreEvent(data, row.type, row.seq, runId, graphId, undefined);
}

/**
 * `fields` (an event's stored JSON, parsed) made a whole, validated event: `type` first when it
 * is stored apart (else `fields` holds it, first), runId and graphId put back, seq last; an `at`
 * of 0 (see toBatchEntry) becomes `previousAt`.
 */
export function restoreEvent(fields: unknown, type: string | undefined, seq: number, runId: string, graphId: string, previousAt: string | undefined): RunEvent {
  if (!isPlainObject(fields)) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} must be an object`);
  const data = fields;
  const event: Record<string, unknown> = type === undefined ? {} : { type };
  for (const key of Object.keys(data)) {
    if (key === 'at') {
      event['runId'] = runId;
      event['graphId'] = graphId;
      if (data[key] === 0) {
        if (previousAt === undefined) throw new AppError('INVALID_INPUT', `event ${runId}#${seq} takes its time (at 0) from the event before it, but none comes before it in its batch`);
        event['at'] = previousAt;
        continue;
      }
    }
    // An assignment to '__proto__' would set the prototype instead of adding the key.
    if (key === '__proto__') Object.defineProperty(event, key, { value: data[key], enumerable: true, writable: true, configurable: true });
    else event[key] = data[key];
  }
  event['runId'] = runId;
  event['graphId'] ??= graphId;
  event['seq'] = seq;
  return decodeEvent(event);
}

// The pickers below list every stored field, so a field added to a type fails to compile here
// instead of being silently dropped, and extra runtime properties (e.g. a snapshot's `nodes` Map) are not stored.
export function runParams(r: RunRecord): RunParams {
  const data: RunData = { input: r.input, state: r.state, progress: r.progress, currentNodes: r.currentNodes, step: r.step, maxSteps: r.maxSteps,
    lastSeq: r.lastSeq, error: r.error, startedAt: r.startedAt, finishedAt: r.finishedAt, graphHash: r.graphHash, timeoutMs: r.timeoutMs,
    breakpoints: r.breakpoints, pause: r.pause, concurrencyKey: r.concurrencyKey, idempotencyKey: r.idempotencyKey };
  return [r.id, r.graphId, r.status, r.priority, JSON.stringify(data), r.createdAt, r.updatedAt];
}

export function nodeData(n: NodeSnapshot): NodeData {
  return { status: n.status, iteration: n.iteration, attempts: n.attempts, startedAt: n.startedAt, finishedAt: n.finishedAt,
    durationMs: n.durationMs, input: n.input, output: n.output, error: n.error };
}

export function checkpointData(c: Checkpoint): CheckpointData {
  return { lastSeq: c.lastSeq, state: c.state, next: c.next, iterations: c.iterations, joins: c.joins, writes: c.writes, resumes: c.resumes,
    pastBreakpoints: c.pastBreakpoints, createdAt: c.createdAt };
}

// Rows written before a field existed get its neutral value.
const RUN_DEFAULTS: Pick<RunData, 'graphHash' | 'timeoutMs' | 'breakpoints' | 'pause' | 'concurrencyKey' | 'idempotencyKey'> = {
  graphHash: null, timeoutMs: null, breakpoints: [], pause: null, concurrencyKey: null, idempotencyKey: null,
};
const CHECKPOINT_DEFAULTS: Pick<CheckpointData, 'writes' | 'resumes' | 'pastBreakpoints'> = { writes: {}, resumes: {}, pastBreakpoints: false };

/** A stored checkpoint row made whole again. */
export function toCheckpoint(runId: string, step: number, data: string): Checkpoint {
  return { runId, step, ...CHECKPOINT_DEFAULTS, ...(JSON.parse(data) as CheckpointData) };
}

export function toRun(row: RunRow): RunRecord {
  const data = JSON.parse(row.data) as RunData;
  return { id: row.id, graphId: row.graph_id, status: row.status, ...RUN_DEFAULTS, ...data, priority: row.priority, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function toGraph(row: GraphRow): GraphRecord {
  return { id: row.id, name: row.name, description: row.description, spec: JSON.parse(row.spec) as GraphSpec, version: row.version,
    createdAt: row.created_at, updatedAt: row.updated_at };
}

/**
 * A node's entry in a SQLite run row's `nodes` (migration 005): its NodeData as JSON, or null for a
 * node exactly as newNodeSnapshot makes it, which is stored as just its id.
 */
export function nodeJson(node: NodeSnapshot): string | null {
  return isUntouched(node) ? null : JSON.stringify(nodeData(node));
}

/**
 * True when every field of `n` is as newNodeSnapshot makes it (test/store/rows.test.ts changes each
 * field in turn). Field by field: a loop over the keys reading `n[key]` took about 0.7 µs a node
 * on Node 20, a tenth of a short run's createRun.
 */
export function isUntouched(n: NodeSnapshot): boolean {
  return n.status === 'PENDING' && n.iteration === 0 && n.attempts === 0 && n.startedAt === null && n.finishedAt === null
    && n.durationMs === null && n.input === null && n.output === null && n.error === null;
}

/** A SQLite run row's `nodes` from node id -> its nodeJson. */
export function nodesJson(nodes: ReadonlyMap<string, string | null>): string {
  return `{${Array.from(nodes, ([nodeId, json]) => `${JSON.stringify(nodeId)}:${json ?? 'null'}`).join(',')}}`;
}
