import type { NodeSnapshot, RunRecord } from '../../src/events/snapshot.ts';
import { DEFAULT_PRIORITY, type NodeCompleted, type RunEvent, type RunEventType } from '../../src/events/types.ts';
import type { JsonObject } from '../../src/common/json.ts';
import { storeApart } from '../../src/store/blobs.ts';
import type { Checkpoint, NodeRow, StoredBlob } from '../../src/store/types.ts';

let counter = 0;
const process36 = Math.random().toString(36).slice(2, 8);

/**
 * A fresh id that sorts after every id made before it, in this process and (as long as clocks
 * agree) in others: time, then a counter, then randomness. Lets the store spec run against a
 * shared database and still know its runs are the newest.
 */
export function newId(prefix: string): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${counter.toString(36).padStart(5, '0')}_${process36}`;
}

const AT = '2025-01-02T03:04:05.678Z';

/** A QUEUED run with nested JSON in input and state; override any field. */
export function makeRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: newId('run'),
    graphId: 'graph-fixture',
    status: 'QUEUED',
    input: { topic: 'café ☕', nested: { list: [1, 2.5, 'three', null, { deep: true }] } },
    state: { topic: 'café ☕', count: 0, tags: [] },
    progress: 0,
    currentNodes: [],
    step: 0,
    maxSteps: 100,
    lastSeq: 0,
    error: null,
    priority: 0,
    createdAt: AT,
    startedAt: null,
    finishedAt: null,
    updatedAt: AT,
    graphHash: '0123456789abcdef',
    timeoutMs: null,
    breakpoints: [],
    pause: null,
    concurrencyKey: null,
    idempotencyKey: null,
    ...overrides,
  };
}

/** A PENDING node snapshot; override any field. */
export function makeNode(nodeId: string, overrides: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return { nodeId, status: 'PENDING', iteration: 0, attempts: 0, startedAt: null, finishedAt: null, durationMs: null, input: null, output: null, error: null, ...overrides };
}

/** A node row for CommitBatch.nodes. */
export function makeNodeRow(runId: string, nodeId: string, overrides: Partial<NodeSnapshot> = {}): NodeRow {
  return { runId, ...makeNode(nodeId, overrides) };
}

export function makeCheckpoint(runId: string, step: number, overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    runId,
    step,
    lastSeq: step * 10,
    state: { step, history: [{ step, ok: true }] },
    next: ['b', 'c'],
    iterations: { a: step, b: 1 },
    joins: { 'b+c->d': ['b'] },
    writes: { b: { update: { done: ['b'], nested: { ok: true } }, bytes: 40 } },
    resumes: { c: [{ approved: true }, null, 'ü'] },
    pastBreakpoints: step % 2 === 1,
    createdAt: AT,
    ...overrides,
  };
}

/**
 * A valid event of the given type (default NodeCompleted, with stateUpdate {x: seq}) that
 * decodeEvent accepts. Values derive from seq so that events differ from each other.
 */
export function makeEvent(runId: string, seq: number, type: RunEventType = 'NodeCompleted', graphId = 'graph-fixture'): RunEvent {
  const base = { runId, seq, graphId, at: new Date(Date.parse(AT) + seq).toISOString(), priority: DEFAULT_PRIORITY[type] };
  const node = { nodeId: `n${seq % 7}`, step: seq, iteration: 1, attempt: 1 };
  const error = { code: 'NODE_FAILED' as const, message: `boom ${seq}` };
  switch (type) {
    case 'RunQueued': return { ...base, type, input: { seq } };
    case 'RunStarted': return { ...base, type, input: { seq }, maxSteps: 100 };
    case 'NodeStarted': return { ...base, type, ...node, input: { seq, nested: { a: [seq] } } };
    case 'NodeCompleted': return { ...base, type, ...node, stateUpdate: { x: seq }, bytes: 8, durationMs: 1.5 };
    case 'NodeFailed': return { ...base, type, ...node, error, willRetry: true, retryInMs: 100, durationMs: 2 };
    case 'NodeSkipped': return { ...base, type, nodeId: node.nodeId, step: seq, reason: 'branch not taken' };
    case 'Transition': return { ...base, type, from: 'a', to: 'b', step: seq };
    case 'DataFlow': return { ...base, type, from: 'a', to: 'b', step: seq, bytes: 42 };
    case 'Progress': return { ...base, type, percent: 12.5, message: null, nodeId: null };
    case 'SystemNotice': return { ...base, type, message: 'hello', level: 'WARN', code: null, nodeId: node.nodeId };
    case 'RunPaused': return { ...base, type, nodeId: node.nodeId, reason: 'waiting for approval', cause: 'INTERRUPT', interrupts: [{ nodeId: node.nodeId, payload: { question: 'ok?', options: [1, null] } }, { nodeId: 'z', payload: null }] };
    case 'RunResumed': return { ...base, type, nodeId: node.nodeId, stateUpdate: seq % 2 === 0 ? null : { approved: true }, resume: [seq, 'yes'] };
    case 'RunCompleted': return { ...base, type, finalState: { x: seq, list: [1, { y: 'z' }] }, durationMs: 10 };
    case 'RunFailed': return { ...base, type, error, nodeId: 'a', durationMs: 10 };
    case 'RunCancelled': return { ...base, type, reason: 'user asked', durationMs: 10 };
  }
}

/**
 * `event` with its keys in the order the engine's emitter gives them (body, then runId, graphId,
 * at, priority, seq), with `body` laid over its own: the order SQLite packs (src/store/batch.ts).
 */
export function inEngineOrder(event: RunEvent, body: Record<string, unknown> = {}): RunEvent {
  const { runId, graphId, at, priority, seq, type, ...rest } = event;
  return { type, ...rest, ...body, runId, graphId, at, priority, seq } as unknown as RunEvent;
}

/** Events from..to (inclusive) of one run. */
export function makeEvents(runId: string, from: number, to: number): RunEvent[] {
  const events: RunEvent[] = [];
  for (let seq = from; seq <= to; seq++) events.push(makeEvent(runId, seq));
  return events;
}

/**
 * A NodeCompleted whose update (default: nested JSON with non-ASCII text) is stored apart, as
 * the event log stores a large one: the event with stateUpdateRef, and the blob it refers to.
 */
export function makeStoredApart(runId: string, seq: number, update: JsonObject = { text: `ü ☕ \u0000 "${seq}"`, list: [1, 2.5, null, { deep: [true] }] }): { event: NodeCompleted; blob: StoredBlob } {
  const event = makeEvent(runId, seq, 'NodeCompleted') as NodeCompleted;
  return storeApart({ ...event, bytes: Buffer.byteLength(JSON.stringify(update)) }, update);
}
