import { AppError } from '../common/errors.ts';
import { liveEvents } from '../events/live.ts';
import type { RunEvent } from '../events/types.ts';
import { builder } from './builder.ts';
import { PriorityEnum, RunEventRef, RunEventTypeEnum } from './events.ts';
import { runOptions, RunOptionsInput } from './runs.ts';

/**
 * The live side of the API. Every stream ends after the run's terminal event; a stream that falls
 * too far behind ends with an error whose message (and extensions.resumeAfter) says the seq to
 * resubscribe after.
 */

const EventFilter = builder.inputType('EventFilter', {
  fields: (t) => ({
    graphId: t.string(),
    types: t.field({ type: [RunEventTypeEnum] }),
    minPriority: t.field({ type: PriorityEnum, description: 'Only events of this priority or higher. Default LOW (all).' }),
  }),
});

const identity = (event: RunEvent): RunEvent => event;

builder.subscriptionFields((t) => ({
  runExecution: t.field({
    type: RunEventRef,
    description: 'Starts a run of the graph and streams all its events from seq 1; completes after the terminal event. The run goes on if the subscriber leaves (reattach with runEvents).',
    args: { graphId: t.arg.id({ required: true }), input: t.arg({ type: 'JSON' }), options: t.arg({ type: RunOptionsInput }) },
    subscribe: async (_root, args, ctx) => {
      const run = await ctx.engine.createRun(String(args.graphId), args.input ?? {}, runOptions(args.options));
      const stream = ctx.log.stream(run.id);
      ctx.engine.execute(run.id).catch((error: unknown) => console.error(`flowcast: run ${run.id} could not execute:`, error));
      return stream;
    },
    resolve: identity,
  }),
  runEvents: t.field({
    type: RunEventRef,
    description: "Attaches to a run: its stored events with seq > after, then live ones, with no gap and no duplicate; completes after the terminal event (at once, after the replay, for a finished run).",
    args: {
      runId: t.arg.id({ required: true }),
      after: t.arg.int({ defaultValue: 0, description: 'The last seq the client has; 0 for everything.' }),
      types: t.arg({ type: [RunEventTypeEnum], description: 'Only these types (the cursor still moves past the others).' }),
    },
    subscribe: async (_root, args, ctx) => {
      const runId = String(args.runId);
      if (!(await ctx.store.getRun(runId))) throw new AppError('RUN_NOT_FOUND', `no run "${runId}"`, { runId });
      return ctx.log.stream(runId, { after: args.after ?? 0, ...(args.types ? { types: args.types } : {}) });
    },
    resolve: identity,
  }),
  events: t.field({
    type: RunEventRef,
    description: 'Live events of every run (no replay), filtered by graph, type and minimum priority.',
    args: { filter: t.arg({ type: EventFilter }) },
    subscribe: (_root, args, ctx) =>
      liveEvents(ctx.pubsub, {
        ...(args.filter?.graphId ? { graphId: args.filter.graphId } : {}),
        ...(args.filter?.types ? { types: args.filter.types } : {}),
        ...(args.filter?.minPriority ? { minPriority: args.filter.minPriority } : {}),
      }),
    resolve: identity,
  }),
}));
