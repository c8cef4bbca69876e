import { EVENT_TYPES, PRIORITIES, type RunEvent, type RunEventType } from '../events/types.ts';
import type { SerializedError } from '../common/errors.ts';
import { builder } from './builder.ts';

/** The event types of the run event protocol (README "Run event protocol"), one GraphQL type each. */

export const RunEventTypeEnum = builder.enumType('RunEventType', { values: EVENT_TYPES });
export const PriorityEnum = builder.enumType('Priority', { values: PRIORITIES });
export const NoticeLevelEnum = builder.enumType('NoticeLevel', { values: ['INFO', 'WARN'] as const });

export const RunErrorRef = builder.objectRef<SerializedError>('RunError').implement({
  description: 'Why a node or run failed: a code from a closed set and a readable message.',
  fields: (t) => ({ code: t.exposeString('code'), message: t.exposeString('message') }),
});

export const RunEventRef = builder.interfaceRef<RunEvent>('RunEvent').implement({
  description: 'One event of a run. seq is 1, 2, 3 … per run with no gap; the terminal event is last.',
  resolveType: (event) => event.type,
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    runId: t.exposeID('runId'),
    graphId: t.exposeString('graphId'),
    at: t.exposeString('at', { description: 'ISO-8601 time the engine recorded the event.' }),
    type: t.field({ type: RunEventTypeEnum, resolve: (e) => e.type }),
    priority: t.field({ type: PriorityEnum, resolve: (e) => e.priority }),
  }),
});

type Of<T extends RunEventType> = Extract<RunEvent, { type: T }>;
type Fields<T extends RunEventType> = Parameters<Parameters<ReturnType<typeof builder.objectRef<Of<T>>>['implement']>[0]['fields'] & object>[0];

function eventType<T extends RunEventType>(type: T, description: string, fields: (t: Fields<T>) => Record<string, unknown>): void {
  builder.objectRef<Of<T>>(type).implement({
    description,
    interfaces: [RunEventRef],
    isTypeOf: (value) => (value as RunEvent).type === type,
    // Each domain type adds its own fields on top of the interface's.
    fields: fields as never,
  });
}

eventType('RunQueued', 'A background run was accepted.', (t) => ({ input: t.expose('input', { type: 'JSON' }) }));
eventType('RunStarted', 'The first step begins.', (t) => ({ input: t.expose('input', { type: 'JSON' }), maxSteps: t.exposeInt('maxSteps') }));
eventType('NodeStarted', 'An attempt of a node begins.', (t) => ({
  nodeId: t.exposeString('nodeId'),
  step: t.exposeInt('step'),
  iteration: t.exposeInt('iteration'),
  attempt: t.exposeInt('attempt'),
  input: t.expose('input', { type: 'JSON', description: 'The state the node sees.' }),
}));
eventType('NodeCompleted', 'A node attempt returned.', (t) => ({
  nodeId: t.exposeString('nodeId'),
  step: t.exposeInt('step'),
  iteration: t.exposeInt('iteration'),
  attempt: t.exposeInt('attempt'),
  stateUpdate: t.expose('stateUpdate', { type: 'JSON' }),
  bytes: t.exposeInt('bytes', { description: 'UTF-8 size of the JSON state update.' }),
  durationMs: t.exposeFloat('durationMs'),
}));
eventType('NodeFailed', 'A node attempt threw or timed out.', (t) => ({
  nodeId: t.exposeString('nodeId'),
  step: t.exposeInt('step'),
  iteration: t.exposeInt('iteration'),
  attempt: t.exposeInt('attempt'),
  error: t.expose('error', { type: RunErrorRef }),
  willRetry: t.exposeBoolean('willRetry'),
  retryInMs: t.exposeInt('retryInMs', { nullable: true }),
  durationMs: t.exposeFloat('durationMs'),
}));
eventType('NodeSkipped', 'A conditional branch was not taken.', (t) => ({
  nodeId: t.exposeString('nodeId'),
  step: t.exposeInt('step'),
  reason: t.exposeString('reason'),
}));
eventType('Transition', 'Control passed along an edge (to may be END).', (t) => ({
  from: t.exposeString('from'),
  to: t.exposeString('to'),
  step: t.exposeInt('step'),
}));
eventType('DataFlow', "The source's update flowed to the next node.", (t) => ({
  from: t.exposeString('from'),
  to: t.exposeString('to'),
  step: t.exposeInt('step'),
  bytes: t.exposeInt('bytes'),
}));
eventType('Progress', 'Overall progress (nodeId null) or progress a node reported.', (t) => ({
  percent: t.exposeFloat('percent'),
  message: t.exposeString('message', { nullable: true }),
  nodeId: t.exposeString('nodeId', { nullable: true }),
}));
eventType('SystemNotice', 'An engine notice (max iterations, max steps, …) or a node log line.', (t) => ({
  message: t.exposeString('message'),
  level: t.field({ type: NoticeLevelEnum, resolve: (e) => e.level }),
  code: t.exposeString('code', { nullable: true }),
  nodeId: t.exposeString('nodeId', { nullable: true }),
}));
eventType('RunPaused', 'The run stopped at a breakpoint or interrupt.', (t) => ({
  nodeId: t.exposeString('nodeId', { nullable: true }),
  reason: t.exposeString('reason'),
}));
eventType('RunResumed', 'A paused run goes on.', (t) => ({ nodeId: t.exposeString('nodeId', { nullable: true }) }));
eventType('RunCompleted', 'Terminal: the run finished.', (t) => ({
  finalState: t.expose('finalState', { type: 'JSON' }),
  durationMs: t.exposeFloat('durationMs'),
}));
eventType('RunFailed', 'Terminal: the run failed.', (t) => ({
  error: t.expose('error', { type: RunErrorRef }),
  nodeId: t.exposeString('nodeId', { nullable: true }),
  durationMs: t.exposeFloat('durationMs'),
}));
eventType('RunCancelled', 'Terminal: the run was cancelled.', (t) => ({
  reason: t.exposeString('reason'),
  durationMs: t.exposeFloat('durationMs'),
}));
