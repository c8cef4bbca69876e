import { AppError } from '../common/errors.ts';
import { isPlainObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { FINISHED_STATUSES, NODE_STATUSES, RUN_STATUSES, type Breakpoint, type NodeSnapshot, type RunPause, type RunRecord } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
import type { RunOptions } from '../engine/engine.ts';
import type { ConflictPolicy, StartOptions } from '../queue/admission.ts';
import { builder } from './builder.ts';
import { connectionType, pageSize } from './connection.ts';
import type { Context } from './context.ts';
import { ConcurrencyConflictError, GraphNotFoundError, InvalidInputError, RunNotFoundError, RunNotPausedError, expected } from './errors.ts';
import { InterruptRef, PauseCauseEnum, RunErrorRef, RunEventRef } from './events.ts';
import { GraphRef } from './graphs.ts';

export const RunStatusEnum = builder.enumType('RunStatus', { values: RUN_STATUSES });
const NodeStatusEnum = builder.enumType('NodeStatus', { values: NODE_STATUSES });
const BreakpointWhenEnum = builder.enumType('BreakpointWhen', {
  values: { BEFORE: { description: 'Pause before the node runs.' }, AFTER: { description: 'Pause after the step in which the node ran.' } } as const,
});

const BreakpointRef = builder.objectRef<Breakpoint>('Breakpoint').implement({
  fields: (t) => ({ nodeId: t.exposeString('nodeId'), when: t.field({ type: BreakpointWhenEnum, resolve: (b) => b.when }) }),
});

const RunPauseRef = builder.objectRef<RunPause>('RunPause').implement({
  description: 'Where and why a PAUSED run stopped. Go on with resumeRun, or end it with cancelRun.',
  fields: (t) => ({
    cause: t.field({ type: PauseCauseEnum, resolve: (p) => p.cause }),
    nodeId: t.exposeString('nodeId', { nullable: true, description: 'The node paused at (the first by id when several are).' }),
    reason: t.exposeString('reason'),
    interrupts: t.field({ type: [InterruptRef], description: 'With cause INTERRUPT: each interrupted node and what it asks for.', resolve: (p) => p.interrupts }),
    at: t.exposeString('at', { description: 'When it paused (ISO-8601).' }),
  }),
});

const RunNodeRef = builder.objectRef<NodeSnapshot>('RunNode').implement({
  description: "One node's picture within a run: its latest iteration and attempt.",
  fields: (t) => ({
    nodeId: t.exposeString('nodeId'),
    status: t.field({ type: NodeStatusEnum, resolve: (n) => n.status }),
    iteration: t.exposeInt('iteration', { description: 'Times the node has started (0 = never).' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts within the latest iteration.' }),
    startedAt: t.exposeString('startedAt', { nullable: true }),
    finishedAt: t.exposeString('finishedAt', { nullable: true }),
    durationMs: t.exposeFloat('durationMs', { nullable: true }),
    input: t.expose('input', { type: 'JSON', nullable: true }),
    output: t.expose('output', { type: 'JSON', nullable: true }),
    error: t.expose('error', { type: RunErrorRef, nullable: true }),
  }),
});

const EventConnection = connectionType('RunEvent', RunEventRef);

/** A run as the engine holds it right now, else as last stored. */
async function nodesOf(run: RunRecord, ctx: Context): Promise<NodeSnapshot[]> {
  const live = ctx.engine.snapshot(run.id);
  if (live) return [...live.nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  return ctx.store.getNodes(run.id);
}

export const RunRef = builder.objectRef<RunRecord>('Run').implement({
  description: 'One execution of a graph.',
  fields: (t) => ({
    id: t.exposeID('id'),
    graphId: t.exposeString('graphId'),
    graph: t.field({ type: GraphRef, nullable: true, description: 'Null when the graph has been deleted since.', resolve: (r, _a, ctx) => ctx.catalog.get(r.graphId) }),
    status: t.field({ type: RunStatusEnum, resolve: (r) => r.status }),
    input: t.expose('input', { type: 'JSON' }),
    state: t.expose('state', { type: 'JSON', description: 'The state after the latest completed step (the final state once COMPLETED).' }),
    progress: t.exposeFloat('progress', { description: 'Overall progress, 0–100.' }),
    currentNodes: t.exposeStringList('currentNodes'),
    step: t.exposeInt('step', { description: 'Supersteps completed.' }),
    maxSteps: t.exposeInt('maxSteps'),
    lastSeq: t.exposeInt('lastSeq', { description: 'The seq of the latest stored event: subscribe with after: lastSeq to follow on.' }),
    priority: t.exposeInt('priority'),
    concurrencyKey: t.exposeString('concurrencyKey', { nullable: true, description: 'Runs with the same key run one at a time (startRun options).' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true, description: 'startRun with this key again returns this run.' }),
    error: t.expose('error', { type: RunErrorRef, nullable: true }),
    createdAt: t.exposeString('createdAt'),
    startedAt: t.exposeString('startedAt', { nullable: true }),
    finishedAt: t.exposeString('finishedAt', { nullable: true }),
    updatedAt: t.exposeString('updatedAt'),
    breakpoints: t.field({ type: [BreakpointRef], description: 'Where the run pauses: RunOptions.interruptBefore/After, then setBreakpoint and clearBreakpoint.', resolve: (r) => r.breakpoints }),
    pause: t.field({ type: RunPauseRef, nullable: true, description: 'Set while the run is PAUSED.', resolve: (r) => r.pause }),
    nodes: t.field({ type: [RunNodeRef], resolve: (r, _args, ctx) => nodesOf(r, ctx) }),
    events: t.field({
      type: EventConnection,
      description: 'Stored events with seq > after, in seq order.',
      args: { after: t.arg.int({ defaultValue: 0 }), first: t.arg.int({ defaultValue: 100 }) },
      resolve: async (run, args, ctx) => {
        const after = args.after ?? 0;
        if (after < 0) throw new AppError('INVALID_INPUT', `after must be a seq (>= 0), got ${after}`);
        const first = pageSize(args.first, 100);
        const events = await ctx.store.readEvents(run.id, after, first + 1);
        return { items: events.slice(0, first), hasMore: events.length > first, cursorOf: (e: RunEvent) => String(e.seq) };
      },
    }),
  }),
});

const RunConnection = connectionType('Run', RunRef);

export const RunFilter = builder.inputType('RunFilter', {
  fields: (t) => ({ status: t.field({ type: [RunStatusEnum] }), graphId: t.string() }),
});

const ConflictPolicyEnum = builder.enumType('ConflictPolicy', { values: ['REJECT', 'ENQUEUE', 'CANCEL_PREVIOUS'] as const });

export const RunOptionsInput = builder.inputType('RunOptions', {
  fields: (t) => ({
    priority: t.int({ description: 'Higher runs first when queued. Default 0 (-1000..1000).' }),
    timeoutMs: t.int({ description: 'The whole run must finish within this; else it ends FAILED (RUN_TIMEOUT).' }),
    maxSteps: t.int({ description: "Overrides the graph's maxSteps for this run." }),
    interruptBefore: t.stringList({ description: 'Node ids: the run pauses (PAUSED, RunPaused cause BEFORE) before any of them runs. Each must be a node of the graph.' }),
    interruptAfter: t.stringList({ description: 'Node ids: the run pauses (RunPaused cause AFTER) after the step in which any of them ran. Each must be a node of the graph.' }),
    concurrencyKey: t.string({
      description: 'startRun only. Runs with the same key (1-200 characters) run one at a time, oldest first; a key is held from creation until the run ends (PAUSED included). See onConflict.',
    }),
    onConflict: t.field({
      type: ConflictPolicyEnum,
      description: 'startRun only, with concurrencyKey: what to do when the key is held. REJECT (default): a ConcurrencyConflictError naming the holder. ENQUEUE: queue this run behind it. CANCEL_PREVIOUS: cancel the unfinished runs with the key, then start.',
    }),
    idempotencyKey: t.string({
      description: 'startRun only. Starting again with the same key (1-200 characters) returns the run it started, as long as that run is kept, instead of another; the same key with another graph or input is an InvalidInputError.',
    }),
  }),
});

type Maybe<T> = T | null | undefined;
type OptionsArg = {
  priority?: Maybe<number>; timeoutMs?: Maybe<number>; maxSteps?: Maybe<number>; interruptBefore?: Maybe<string[]>; interruptAfter?: Maybe<string[]>;
  concurrencyKey?: Maybe<string>; onConflict?: Maybe<ConflictPolicy>; idempotencyKey?: Maybe<string>;
} | null | undefined;

/** StartOptions from the API: RunOptions plus the run policies, which only background runs have. */
export function startOptions(options: OptionsArg): StartOptions {
  const out: StartOptions = runOptions(options, true);
  if (options?.concurrencyKey != null) out.concurrencyKey = options.concurrencyKey;
  if (options?.onConflict != null) out.onConflict = options.onConflict;
  if (options?.idempotencyKey != null) out.idempotencyKey = options.idempotencyKey;
  return out;
}

/** RunOptions from the API. Run policies (keys, onConflict) are refused unless `policies`: they apply to startRun only. */
export function runOptions(options: OptionsArg, policies = false): RunOptions {
  const out: RunOptions = {};
  if (!options) return out;
  for (const policy of ['concurrencyKey', 'onConflict', 'idempotencyKey'] as const) {
    if (!policies && options[policy] != null) throw new AppError('INVALID_INPUT', `options.${policy} applies to background runs only: use startRun, or leave it out`);
  }
  if (options.priority != null) out.priority = options.priority;
  if (options.timeoutMs != null) out.timeoutMs = options.timeoutMs;
  if (options.maxSteps != null) out.maxSteps = options.maxSteps;
  if (options.interruptBefore != null) out.interruptBefore = options.interruptBefore;
  if (options.interruptAfter != null) out.interruptAfter = options.interruptAfter;
  return out;
}

async function requireRun(ctx: Context, id: string): Promise<RunRecord> {
  const run = await ctx.store.getRun(id);
  if (!run) throw new RunNotFoundError(`no run "${id}"`, id);
  return run;
}

const runArgs = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({
  graphId: t.arg.id({ required: true }),
  input: t.arg({ type: 'JSON' }),
  options: t.arg({ type: RunOptionsInput }),
});

builder.queryFields((t) => ({
  runs: t.field({
    type: RunConnection,
    description: 'Runs, newest first.',
    args: { filter: t.arg({ type: RunFilter }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const page = await ctx.store.listRuns(
        { ...(args.filter?.status ? { status: args.filter.status } : {}), ...(args.filter?.graphId ? { graphId: args.filter.graphId } : {}) },
        { first: pageSize(args.first, 50), ...(args.after ? { after: args.after } : {}) },
      );
      return { items: page.items, hasMore: page.hasMore, cursorOf: (r: RunRecord) => r.id };
    },
  }),
  run: t.field({ type: RunRef, nullable: true, args: { id: t.arg.id({ required: true }) }, resolve: (_root, args, ctx) => ctx.store.getRun(String(args.id)) }),
}));

builder.mutationFields((t) => ({
  runGraph: t.field({
    type: RunRef,
    description: 'Runs a graph and returns the run once it has finished (COMPLETED, FAILED or CANCELLED) or paused (PAUSED, at a breakpoint or interrupt).',
    errors: { types: [GraphNotFoundError, InvalidInputError], union: { name: 'RunGraphResult' } },
    args: runArgs(t),
    resolve: (_root, args, ctx) => expected(() => ctx.engine.run(String(args.graphId), (args.input ?? {}) as JsonObject, runOptions(args.options))),
  }),
  startRun: t.field({
    type: RunRef,
    description: 'Queues a run and returns it at once (QUEUED or RUNNING); follow it with runEvents or poll run(id).',
    errors: { types: [GraphNotFoundError, InvalidInputError, ConcurrencyConflictError], union: { name: 'StartRunResult' } },
    args: runArgs(t),
    resolve: (_root, args, ctx) =>
      expected(async () => {
        const input = args.input ?? {};
        if (!isPlainObject(input)) throw new AppError('INVALID_INPUT', 'run input must be a JSON object, e.g. {"topic": "graphs"}');
        return (await ctx.admission.start(String(args.graphId), input, startOptions(args.options))).run;
      }),
  }),
  cancelRun: t.field({
    type: RunRef,
    description: 'Cancels a queued, running or paused run; it ends CANCELLED (a running one within the abort grace period, even if a node ignores its signal). A finished run is an InvalidInputError.',
    errors: { types: [RunNotFoundError, InvalidInputError], union: { name: 'CancelRunResult' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      expected(async () => {
        const id = String(args.id);
        const run = await requireRun(ctx, id);
        if (FINISHED_STATUSES.includes(run.status)) throw new InvalidInputError(`run ${id} already ended ${run.status}; there is nothing to cancel`);
        ctx.queue.remove(id);
        if (!(await ctx.engine.cancel(id))) throw new InvalidInputError(`run ${id} is not held by this server; it cannot be cancelled here`);
        return (await ctx.store.getRun(id))!;
      }),
  }),
  resumeRun: t.field({
    type: RunRef,
    description:
      'Lets a PAUSED run go on from where it stopped: stateUpdate is applied to the state through the reducers, and nodes that paused with ctx.interrupt() run again and get resume as its return value. Emits RunResumed; the run is RUNNING again (it waits for a worker like a started run) and is returned at once.',
    errors: { types: [RunNotFoundError, RunNotPausedError, InvalidInputError], union: { name: 'ResumeRunResult' } },
    args: { id: t.arg.id({ required: true }), stateUpdate: t.arg({ type: 'JSON' }), resume: t.arg({ type: 'JSON' }) },
    resolve: (_root, args, ctx) =>
      expected(async () => {
        const run = await ctx.engine.resume(String(args.id), { stateUpdate: args.stateUpdate as JsonObject | null | undefined, resume: args.resume as JsonValue | null | undefined });
        await ctx.queue.enqueue(run.id, run.priority);
        return (await ctx.store.getRun(run.id))!;
      }),
  }),
  setBreakpoint: t.field({
    type: RunRef,
    description: 'Adds a breakpoint to an unfinished run: it pauses before (BEFORE) or after (AFTER) the node, from its next step on. Setting one that is set changes nothing.',
    errors: { types: [RunNotFoundError, InvalidInputError], union: { name: 'SetBreakpointResult' } },
    args: breakpointArgs(t),
    resolve: (_root, args, ctx) => expected(() => changeBreakpoint(ctx, args, true)),
  }),
  clearBreakpoint: t.field({
    type: RunRef,
    description: 'Removes a breakpoint from an unfinished run. Clearing one that is not set changes nothing.',
    errors: { types: [RunNotFoundError, InvalidInputError], union: { name: 'ClearBreakpointResult' } },
    args: breakpointArgs(t),
    resolve: (_root, args, ctx) => expected(() => changeBreakpoint(ctx, args, false)),
  }),
}));

function breakpointArgs(t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) {
  return {
    runId: t.arg.id({ required: true }),
    nodeId: t.arg.string({ required: true }),
    when: t.arg({ type: BreakpointWhenEnum, required: true }),
  };
}

async function changeBreakpoint(ctx: Context, args: { runId: string | number; nodeId: string; when: Breakpoint['when'] }, on: boolean): Promise<RunRecord> {
  const id = String(args.runId);
  try {
    await ctx.engine.setBreakpoint(id, { nodeId: args.nodeId, when: args.when }, on);
  } catch (error) {
    // A finished run cannot pause any more: that is bad input here, not a RunNotPausedError.
    if (error instanceof AppError && error.code === 'RUN_NOT_PAUSED') throw new InvalidInputError(`${error.message}; breakpoints apply only to unfinished runs`);
    throw error;
  }
  return (await ctx.store.getRun(id))!;
}
