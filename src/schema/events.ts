import { EVENT_TYPES, PAUSE_CAUSES, PRIORITIES, type Interrupt, type RunEvent, type RunEventType } from '../events/types.ts';
import type { SerializedError } from '../common/errors.ts';
import { loadStateUpdate } from '../store/blobs.ts';
import { builder } from './builder.ts';

/** The event types of the run event protocol (README "Run event protocol"), one GraphQL type each. */

export const RunEventTypeEnum = builder.enumType('RunEventType', { values: EVENT_TYPES });
export const PriorityEnum = builder.enumType('Priority', { values: PRIORITIES });
export const NoticeLevelEnum = builder.enumType('NoticeLevel', { values: ['INFO', 'WARN'] as const });
export const PauseCauseEnum = builder.enumType('PauseCause', {
  description: 'Why a run paused: a breakpoint before or after a node, or a node that called ctx.interrupt().',
  values: PAUSE_CAUSES,
});

export const InterruptRef = builder.objectRef<Interrupt>('Interrupt').implement({
  description: 'A node that asked for input with ctx.interrupt(payload); it runs again when the run is resumed, and gets the resume value.',
  fields: (t) => ({ nodeId: t.exposeString('nodeId'), payload: t.field({ type: 'JSON', nullable: true, resolve: (i) => i.payload }) }),
});

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
  stateUpdate: t.field({
    type: 'JSON',
    description: 'The update the node returned. One larger than the server\'s threshold (see stateUpdateBytes) is stored apart from the event and loaded only when this field is selected.',
    // Inline updates resolve synchronously, so most events still execute without a promise.
    resolve: (e, _args, ctx) => e.stateUpdate ?? loadStateUpdate(ctx.store, e),
  }),
  stateUpdateBytes: t.int({ description: 'UTF-8 size of the JSON state update: what selecting stateUpdate costs.', resolve: (e) => e.bytes }),
  bytes: t.exposeInt('bytes', { description: 'UTF-8 size of the JSON state update (the same as stateUpdateBytes).' }),
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
eventType('RunPaused', 'The run stopped at a breakpoint or interrupt (status PAUSED) until resumeRun or cancelRun.', (t) => ({
  nodeId: t.exposeString('nodeId', { nullable: true, description: 'The node paused at (the first by id when several are).' }),
  reason: t.exposeString('reason'),
  cause: t.field({ type: PauseCauseEnum, resolve: (e) => e.cause }),
  interrupts: t.field({ type: [InterruptRef], description: 'With cause INTERRUPT, each interrupted node and what it asks for; else empty.', resolve: (e) => e.interrupts }),
}));
eventType('RunResumed', 'A paused run goes on (status RUNNING).', (t) => ({
  nodeId: t.exposeString('nodeId', { nullable: true }),
  stateUpdate: t.field({ type: 'JSON', nullable: true, description: 'The state edit applied through the reducers, if any.', resolve: (e) => e.stateUpdate }),
  resume: t.field({ type: 'JSON', nullable: true, description: 'What the interrupted node(s) get from ctx.interrupt().', resolve: (e) => e.resume }),
}));
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
