import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { EVENT_TYPES, PAUSE_CAUSES, PRIORITIES, type RunEvent, type RunEventType } from './types.ts';

type FieldKind = 'string' | 'int' | 'number' | 'bool' | 'object' | 'error' | 'string?' | 'int?' | 'object?' | 'json' | 'cause' | 'interrupts';

const BASE: Record<string, FieldKind> = { seq: 'int', runId: 'string', graphId: 'string', at: 'string', type: 'string', priority: 'string' };
const NODE_RUN: Record<string, FieldKind> = { nodeId: 'string', step: 'int', iteration: 'int', attempt: 'int' };

/** Per type, the fields beyond the common ones and what each must be. */
const FIELDS: Record<RunEventType, Record<string, FieldKind>> = {
  RunQueued: { input: 'object' },
  RunStarted: { input: 'object', maxSteps: 'int' },
  NodeStarted: { ...NODE_RUN, input: 'object' },
  // and exactly one of stateUpdate (object) and stateUpdateRef (string): see decodeEvent
  NodeCompleted: { ...NODE_RUN, bytes: 'int', durationMs: 'number' },
  NodeFailed: { ...NODE_RUN, error: 'error', willRetry: 'bool', retryInMs: 'int?', durationMs: 'number' },
  NodeSkipped: { nodeId: 'string', step: 'int', reason: 'string' },
  Transition: { from: 'string', to: 'string', step: 'int' },
  DataFlow: { from: 'string', to: 'string', step: 'int', bytes: 'int' },
  Progress: { percent: 'number', message: 'string?', nodeId: 'string?' },
  SystemNotice: { message: 'string', level: 'string', code: 'string?', nodeId: 'string?' },
  RunPaused: { nodeId: 'string?', reason: 'string', cause: 'cause', interrupts: 'interrupts' },
  RunResumed: { nodeId: 'string?', stateUpdate: 'object?', resume: 'json' },
  RunCompleted: { finalState: 'object', durationMs: 'number' },
  RunFailed: { error: 'error', nodeId: 'string?', durationMs: 'number' },
  RunCancelled: { reason: 'string', durationMs: 'number' },
};

/** Per type, every field to check (the common ones first) with its kind: built once, not per event. */
const CHECKS = {} as Record<RunEventType, ReadonlyArray<[string, FieldKind]>>;
for (const type of EVENT_TYPES) CHECKS[type] = [...Object.entries(BASE), ...Object.entries(FIELDS[type])];

const DESCRIBE: Partial<Record<FieldKind, string>> = {
  json: 'a JSON value',
  cause: `one of ${PAUSE_CAUSES.join(', ')}`,
  interrupts: 'a list of {nodeId, payload}',
};

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'string': return typeof value === 'string';
    case 'int': return Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'bool': return typeof value === 'boolean';
    case 'object': return isPlainObject(value);
    case 'error': return isPlainObject(value) && typeof value['code'] === 'string' && typeof value['message'] === 'string';
    case 'string?': return value === null || typeof value === 'string';
    case 'int?': return value === null || Number.isInteger(value);
    case 'object?': return value === null || isPlainObject(value);
    case 'json': return value !== undefined;
    case 'cause': return PAUSE_CAUSES.includes(value as never);
    case 'interrupts': return Array.isArray(value) && value.every((i) => isPlainObject(i) && typeof i['nodeId'] === 'string' && i['payload'] !== undefined);
  }
}

/**
 * Checks that a value is a well-formed RunEvent (as read back from a store or a pub/sub channel).
 * Throws AppError INVALID_INPUT naming the first bad field.
 */
export function decodeEvent(value: unknown): RunEvent {
  if (!isPlainObject(value)) throw new AppError('INVALID_INPUT', 'event must be an object');
  const type = value['type'] as RunEventType;
  if (!EVENT_TYPES.includes(type)) throw new AppError('INVALID_INPUT', `unknown event type ${JSON.stringify(value['type'])}`);
  if (!PRIORITIES.includes(value['priority'] as never)) throw new AppError('INVALID_INPUT', `event priority must be one of ${PRIORITIES.join(', ')}`);
  const checks = CHECKS[type];
  for (let i = 0; i < checks.length; i++) {
    const [field, kind] = checks[i]!;
    if (!fits(kind, value[field])) throw new AppError('INVALID_INPUT', `${type}.${field} must be ${DESCRIBE[kind] ?? kind.replace('?', ' or null')}`);
  }
  if ((value['seq'] as number) < 1) throw new AppError('INVALID_INPUT', `${type}.seq must be 1 or more`);
  if (type === 'NodeCompleted') {
    const inline = value['stateUpdate'];
    const ref = value['stateUpdateRef'];
    if ((inline === undefined) === (ref === undefined)) throw new AppError('INVALID_INPUT', 'NodeCompleted must have either stateUpdate or stateUpdateRef, not both or neither');
    if (inline !== undefined && !isPlainObject(inline)) throw new AppError('INVALID_INPUT', 'NodeCompleted.stateUpdate must be object');
    if (ref !== undefined && typeof ref !== 'string') throw new AppError('INVALID_INPUT', 'NodeCompleted.stateUpdateRef must be string');
  }
  return value as unknown as RunEvent;
}

/** Parses one JSON-encoded event and validates it. */
export function parseEvent(text: string): RunEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `event is not JSON: ${(error as Error).message}`);
  }
  return decodeEvent(value);
}
