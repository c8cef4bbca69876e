import { AppError } from '../common/errors.ts';
import { resolveVisualOptions, visualUpdates, type VisualBatch, type VisualUpdate } from '../events/visual.ts';
import { builder } from './builder.ts';
import { edgesOf } from './graphs.ts';

const KindEnum = builder.enumType('VisualUpdateKind', { values: ['NODE_UPDATE', 'EDGE_UPDATE', 'LAYOUT_UPDATE', 'STYLE_UPDATE', 'COMPLETE_REFRESH'] as const });
const PriorityEnum = builder.enumType('VisualPriority', { values: ['HIGH', 'MEDIUM', 'LOW'] as const });

const VisualUpdateRef = builder.objectRef<VisualUpdate>('VisualUpdate').implement({
  description: 'One change to a canvas: a node, an edge (`from->to`), the layout, or the run style. Colours: pending #9ca3af, running #3b82f6, succeeded #10b981, failed #ef4444, skipped #f59e0b.',
  fields: (t) => ({
    kind: t.field({ type: KindEnum, resolve: (u) => u.kind }),
    targetId: t.exposeString('targetId'),
    priority: t.field({ type: PriorityEnum, resolve: (u) => u.priority }),
    changes: t.expose('changes', { type: 'JSON' }),
  }),
});

const VisualBatchRef = builder.objectRef<VisualBatch>('VisualBatch').implement({
  fields: (t) => ({
    runId: t.exposeID('runId'),
    seq: t.exposeInt('seq', { description: 'The last event reflected in this batch.' }),
    updates: t.field({ type: [VisualUpdateRef], resolve: (b) => b.updates }),
  }),
});

builder.subscriptionFields((t) => ({
  runVisualUpdates: t.field({
    type: VisualBatchRef,
    description:
      'Batched canvas updates for a run. The first batch is a COMPLETE_REFRESH of the current picture (so a late joiner is never stale); then a batch goes out when batchSize updates are pending or batchIntervalMs has passed, at once for HIGH-priority updates (failures, terminal); updates to one target within a batch coalesce to the latest. Completes after the run ends.',
    args: { runId: t.arg.id({ required: true }), batchSize: t.arg.int({ defaultValue: 10 }), batchIntervalMs: t.arg.int({ defaultValue: 100 }) },
    subscribe: async (_root, args, ctx) => {
      const options = resolveVisualOptions({ batchSize: args.batchSize ?? 10, batchIntervalMs: args.batchIntervalMs ?? 100 });
      const runId = String(args.runId);
      // Run row and node rows are written in one transaction, so they agree with run.lastSeq.
      const run = await ctx.store.getRun(runId);
      if (!run) throw new AppError('RUN_NOT_FOUND', `no run "${runId}"`, { runId });
      const nodes = await ctx.store.getNodes(runId);
      const graph = await ctx.catalog.get(run.graphId);
      const edges = graph ? edgesOf(graph).flatMap((e) => e.sources.map((from) => ({ from, to: e.to }))) : [];
      const picture = { runId, status: run.status, progress: run.progress, lastSeq: run.lastSeq, nodes, edges };
      return visualUpdates(picture, ctx.log.stream(runId, { after: run.lastSeq }), options);
    },
    resolve: (batch) => batch,
  }),
}));
