import { exportRun, RUN_EXPORT_FORMAT, type RunExport } from '../engine/export.ts';
import { builder } from './builder.ts';
import { RunNotFoundError, expected } from './errors.ts';

const RunExportRef = builder.objectRef<RunExport>('RunExport').implement({
  description: 'A whole run as one self-describing JSON document (`document`), readable without the server.',
  fields: (t) => ({
    format: t.exposeString('format', { description: `What the document is: always "${RUN_EXPORT_FORMAT}".` }),
    version: t.exposeInt('version', { description: "The version of the document's shape." }),
    eventCount: t.int({ description: 'Events in the document: seq 1 to eventCount.', resolve: (e) => e.events.length }),
    document: t.field({
      type: 'JSON',
      description: '{format, version, exportedAt, run, graph, nodes, events}: the run record, its graph (a stored graph as stored; of a code graph, its ids, kinds and edges), node states and every event in seq order with state updates inline. Save it as it is.',
      resolve: (e) => e,
    }),
  }),
});

builder.queryFields((t) => ({
  exportRun: t.field({
    type: RunExportRef,
    description: 'Exports a run whole (an unfinished one as far as it is stored). An unknown run, or one deleted by retention, is a RunNotFoundError.',
    errors: { types: [RunNotFoundError], union: { name: 'ExportRunResult' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => expected(() => exportRun(ctx.store, ctx.catalog, String(args.id))),
  }),
}));
