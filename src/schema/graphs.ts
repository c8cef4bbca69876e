import type { JsonValue } from '../common/json.ts';
import { END, REDUCERS, type CompiledGraph, type CompiledNode, type NodeKind } from '../graph/types.ts';
import { builder } from './builder.ts';
import { connectionType, pageSize } from './connection.ts';
import { GraphNotFoundError, GraphProblem, InvalidGraphError, InvalidInputError, expected } from './errors.ts';

export const ReducerEnum = builder.enumType('Reducer', { values: REDUCERS });
const EdgeKindEnum = builder.enumType('EdgeKind', {
  values: { STATIC: { description: 'Always taken.' }, CONDITION: { description: 'Taken when its JSONata `when` is truthy.' }, ROUTER: { description: 'Chosen by a code router.' } } as const,
});

interface EdgeView { sources: string[]; to: string; when: string | null; kind: 'STATIC' | 'CONDITION' | 'ROUTER' }

export function edgesOf(graph: CompiledGraph): EdgeView[] {
  return [
    ...graph.edges.map((e): EdgeView => ({ sources: e.from, to: e.to, when: e.condition?.source ?? null, kind: e.condition ? 'CONDITION' : 'STATIC' })),
    ...graph.routers.flatMap((r) => r.targets.map((to): EdgeView => ({ sources: [r.from], to, when: null, kind: 'ROUTER' }))),
  ];
}

const RetryPolicyRef = builder.objectRef<CompiledNode['retry']>('RetryPolicy').implement({
  fields: (t) => ({
    maxAttempts: t.exposeInt('maxAttempts'),
    initialDelayMs: t.exposeInt('initialDelayMs'),
    backoffFactor: t.exposeFloat('backoffFactor'),
    maxDelayMs: t.exposeInt('maxDelayMs'),
  }),
});

const GraphNodeRef = builder.objectRef<CompiledNode>('GraphNode').implement({
  description: 'A node of a graph definition.',
  fields: (t) => ({
    id: t.exposeString('id'),
    kind: t.exposeString('kind'),
    config: t.field({ type: 'JSON', nullable: true, resolve: (n) => n.config ?? null }),
    retry: t.expose('retry', { type: RetryPolicyRef }),
    timeoutMs: t.exposeInt('timeoutMs', { nullable: true }),
    maxIterations: t.exposeInt('maxIterations', { nullable: true }),
  }),
});

const GraphEdgeRef = builder.objectRef<EdgeView>('GraphEdge').implement({
  description: 'An edge; several sources make a join (the target waits for all of them).',
  fields: (t) => ({
    from: t.string({ description: 'The first source (all sources are in `sources`).', resolve: (e) => e.sources[0] ?? '' }),
    sources: t.exposeStringList('sources'),
    to: t.exposeString('to', { description: `A node id or ${END}.` }),
    when: t.exposeString('when', { nullable: true }),
    kind: t.field({ type: EdgeKindEnum, resolve: (e) => e.kind }),
  }),
});

const StateKeyRef = builder.objectRef<{ key: string; reducer: (typeof REDUCERS)[number]; default?: JsonValue }>('StateKey').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    reducer: t.field({ type: ReducerEnum, resolve: (k) => k.reducer }),
    default: t.field({ type: 'JSON', nullable: true, resolve: (k) => k.default ?? null }),
  }),
});

export const GraphRef = builder.objectRef<CompiledGraph>('Graph').implement({
  description: 'A validated workflow graph.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    entry: t.exposeString('entry'),
    maxSteps: t.exposeInt('maxSteps'),
    builtIn: t.boolean({ description: 'Defined in code (and so not deletable).', resolve: (g, _args, ctx) => ctx.catalog.isCodeGraph(g.id) }),
    nodes: t.field({ type: [GraphNodeRef], resolve: (g) => [...g.nodes.values()] }),
    edges: t.field({ type: [GraphEdgeRef], resolve: edgesOf }),
    state: t.field({ type: [StateKeyRef], resolve: (g) => [...g.stateKeys.values()] }),
    warnings: t.field({ type: [GraphProblem], description: 'Defaults applied while compiling.', resolve: (g) => g.warnings }),
  }),
});

const NodeKindRef = builder.objectRef<NodeKind>('NodeKind').implement({
  fields: (t) => ({ kind: t.exposeString('kind'), description: t.exposeString('description') }),
});

const GraphConnection = connectionType('Graph', GraphRef);

const StateKeyInput = builder.inputType('StateKeyInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    reducer: t.field({ type: ReducerEnum, defaultValue: 'REPLACE' }),
    default: t.field({ type: 'JSON' }),
  }),
});
const RetryInput = builder.inputType('RetryInput', {
  fields: (t) => ({ maxAttempts: t.int(), initialDelayMs: t.int(), backoffFactor: t.float(), maxDelayMs: t.int() }),
});
const NodeInput = builder.inputType('NodeInput', {
  fields: (t) => ({
    id: t.string({ required: true }),
    kind: t.string({ required: true }),
    config: t.field({ type: 'JSON' }),
    retry: t.field({ type: RetryInput }),
    timeoutMs: t.int(),
    maxIterations: t.int(),
  }),
});
const EdgeInput = builder.inputType('EdgeInput', {
  fields: (t) => ({
    from: t.string({ required: true, description: 'The source node. For a join, the first of several (see `join`).' }),
    join: t.stringList({ description: 'More sources: the target then runs once `from` and all of these have completed.' }),
    to: t.string({ required: true, description: `A node id or ${END}.` }),
    when: t.string({ description: 'A JSONata expression over the state; the edge is taken when it is truthy.' }),
  }),
});
const GraphInput = builder.inputType('GraphInput', {
  fields: (t) => ({
    id: t.id({ description: 'Default: a new id. Saving an existing id replaces that graph.' }),
    name: t.string({ required: true }),
    description: t.string(),
    entry: t.string({ required: true }),
    state: t.field({ type: [StateKeyInput] }),
    nodes: t.field({ type: [NodeInput], required: true }),
    edges: t.field({ type: [EdgeInput], required: true }),
    maxSteps: t.int(),
  }),
});

const DeletedGraph = builder.objectRef<{ id: string }>('DeletedGraph').implement({ fields: (t) => ({ id: t.exposeID('id') }) });

builder.queryFields((t) => ({
  graphs: t.field({
    type: GraphConnection,
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const first = pageSize(args.first, 100);
      const all = await ctx.catalog.list();
      const start = args.after ? all.findIndex((g) => g.id === args.after) + 1 : 0;
      return { items: all.slice(start, start + first), hasMore: all.length > start + first, cursorOf: (g: CompiledGraph) => g.id };
    },
  }),
  graph: t.field({ type: GraphRef, nullable: true, args: { id: t.arg.id({ required: true }) }, resolve: (_root, args, ctx) => ctx.catalog.get(String(args.id)) }),
  nodeKinds: t.field({ type: [NodeKindRef], resolve: (_root, _args, ctx) => ctx.catalog.kinds.list() }),
}));

builder.mutationFields((t) => ({
  createGraph: t.field({
    type: GraphRef,
    description: 'Validates and stores a graph. Every problem comes back at once in InvalidGraphError.problems.',
    errors: { types: [InvalidGraphError, InvalidInputError], union: { name: 'CreateGraphResult' } },
    args: { input: t.arg({ type: GraphInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      expected(() =>
        ctx.catalog.create({
          ...input,
          edges: input.edges.map(({ join, from, ...edge }) => ({ ...edge, from: join && join.length > 0 ? [from, ...join] : from })),
        }),
      ),
  }),
  deleteGraph: t.field({
    type: DeletedGraph,
    errors: { types: [GraphNotFoundError, InvalidInputError], union: { name: 'DeleteGraphResult' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      expected(async () => {
        const id = String(args.id);
        if (!(await ctx.catalog.delete(id))) throw new GraphNotFoundError(`no stored graph "${id}"`, id);
        return { id };
      }),
  }),
}));
