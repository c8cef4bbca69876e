import { AppError } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import { FINISHED_STATUSES, RUN_STATUSES, type NodeSnapshot, type RunRecord } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
import type { RunOptions } from '../engine/engine.ts';
import { builder } from './builder.ts';
import { connectionType, pageSize } from './connection.ts';
import type { Context } from './context.ts';
import { GraphNotFoundError, InvalidInputError, RunNotFoundError, expected } from './errors.ts';
import { RunErrorRef, RunEventRef } from './events.ts';
import { GraphRef } from './graphs.ts';

export const RunStatusEnum = builder.enumType('RunStatus', { values: RUN_STATUSES });
const NodeStatusEnum = builder.enumType('NodeStatus', { values: ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const });

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
    error: t.expose('error', { type: RunErrorRef, nullable: true }),
    createdAt: t.exposeString('createdAt'),
    startedAt: t.exposeString('startedAt', { nullable: true }),
    finishedAt: t.exposeString('finishedAt', { nullable: true }),
    updatedAt: t.exposeString('updatedAt'),
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
    interruptBefore: t.stringList({ description: 'Not available yet: rejected when given.' }),
    interruptAfter: t.stringList({ description: 'Not available yet: rejected when given.' }),
    concurrencyKey: t.string({ description: 'Not available yet: rejected when given.' }),
    onConflict: t.field({ type: ConflictPolicyEnum, description: 'Not available yet: rejected when given.' }),
    idempotencyKey: t.string({ description: 'Not available yet: rejected when given.' }),
  }),
});

type OptionsArg = { priority?: number | null | undefined; timeoutMs?: number | null | undefined; maxSteps?: number | null | undefined } & Record<string, unknown> | null | undefined;

/** RunOptions from the API, refusing the options this server does not implement yet rather than ignoring them. */
export function runOptions(options: OptionsArg): RunOptions {
  const out: RunOptions = {};
  if (!options) return out;
  for (const unsupported of ['interruptBefore', 'interruptAfter', 'concurrencyKey', 'onConflict', 'idempotencyKey']) {
    if (options[unsupported] !== undefined && options[unsupported] !== null) throw new AppError('INVALID_INPUT', `options.${unsupported} is not supported by this server yet; leave it out`);
  }
  if (options.priority != null) out.priority = options.priority;
  if (options.timeoutMs != null) out.timeoutMs = options.timeoutMs;
  if (options.maxSteps != null) out.maxSteps = options.maxSteps;
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
    description: 'Runs a graph and returns the finished run (COMPLETED, FAILED or CANCELLED).',
    errors: { types: [GraphNotFoundError, InvalidInputError], union: { name: 'RunGraphResult' } },
    args: runArgs(t),
    resolve: (_root, args, ctx) => expected(() => ctx.engine.run(String(args.graphId), (args.input ?? {}) as JsonObject, runOptions(args.options))),
  }),
  startRun: t.field({
    type: RunRef,
    description: 'Queues a run and returns it at once (QUEUED or RUNNING); follow it with runEvents or poll run(id).',
    errors: { types: [GraphNotFoundError, InvalidInputError], union: { name: 'StartRunResult' } },
    args: runArgs(t),
    resolve: (_root, args, ctx) =>
      expected(async () => {
        const options = runOptions(args.options);
        const run = await ctx.engine.createRun(String(args.graphId), args.input ?? {}, options, true);
        await ctx.log.flush();
        await ctx.queue.enqueue(run.id, run.priority);
        return (await ctx.store.getRun(run.id))!;
      }),
  }),
  cancelRun: t.field({
    type: RunRef,
    description: 'Cancels a queued or running run; it ends CANCELLED. A finished run is an InvalidInputError.',
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
}));

