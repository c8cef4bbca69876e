import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { compileGraph, validateGraph } from '../../src/graph/compile.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { DEFAULT_LOOP_MAX_ITERATIONS, END } from '../../src/graph/types.ts';

const kinds = defaultKindRegistry();
const problemsOf = (input: unknown) => validateGraph(input, { kinds }).problems;

describe('compile: graphs as data', () => {
  it('compiles a valid graph with defaults', () => {
    const graph = compileGraph({ id: 'g', name: 'G', entry: 'a', nodes: [{ id: 'a', kind: 'noop' }], edges: [{ from: 'a', to: END }] }, { kinds });
    expect(graph).toMatchObject({ id: 'g', maxSteps: 100, entry: 'a', warnings: [] });
    expect(graph.nodes.get('a')).toMatchObject({ retry: { maxAttempts: 1 }, maxIterations: undefined });
  });

  it('reports every problem at once, each with its path and what to do', () => {
    const problems = problemsOf({
      name: '',
      entry: 'missing',
      nodes: [{ id: 'a', kind: 'nosuch' }, { id: 'a', kind: 'noop' }, { id: 'END', kind: 'noop' }, { id: 'd', kind: 'delay', config: { ms: -1 } }],
      edges: [{ from: 'a', to: 'ghost' }, { from: 'ghost2', to: END }, { from: 'a', to: END, when: 'value >' }],
    });
    expect(problems).toEqual([{ path: 'name', message: 'must be a non-empty string' }]);
    const semantic = problemsOf({
      name: 'x',
      entry: 'missing',
      nodes: [{ id: 'a', kind: 'nosuch' }, { id: 'a', kind: 'noop' }, { id: 'END', kind: 'noop' }, { id: 'd', kind: 'delay', config: { ms: -1 } }],
      edges: [{ from: 'a', to: 'ghost' }, { from: 'ghost2', to: END }, { from: 'a', to: END, when: 'value >' }],
    });
    expect(semantic.map((p) => p.path)).toEqual(['nodes[0].kind', 'nodes[1].id', 'nodes[2].id', 'nodes[3].config.ms', 'entry', 'edges[0].to', 'edges[1].from', 'edges[2].when']);
    expect(semantic[0]!.message).toBe('unknown node kind "nosuch"; use one of: delay, fail, http, interrupt, noop, transform');
    expect(semantic[1]!.message).toContain('duplicate node id "a"');
    expect(semantic[2]!.message).toContain('"END" is reserved');
    expect(semantic[5]!.message).toBe('unknown node "ghost"; use one of: a, d, END');
    expect(semantic[7]!.message).toMatch(/^invalid JSONata expression/);
  });

  it('rejects unreachable nodes and nodes with no way to END', () => {
    const problems = problemsOf({
      name: 'x',
      entry: 'a',
      nodes: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }, { id: 'island', kind: 'noop' }, { id: 'loop', kind: 'noop' }],
      edges: [{ from: 'a', to: 'b' }, { from: 'a', to: END }, { from: 'island', to: END }, { from: 'a', to: 'loop' }, { from: 'loop', to: 'loop' }],
    });
    expect(problems).toEqual([
      { path: 'nodes[1]', message: 'node "b" has no outgoing edge; add an edge from it to the next node or to END' },
      { path: 'nodes[2]', message: 'node "island" is unreachable from entry "a"; add an edge to it or remove it' },
      { path: 'nodes[3]', message: 'node "loop" has no path to END (every way out loops back); add an edge from it or a later node to END' },
    ]);
  });

  it('asks for an entry when there is none, and for nodes and edges when they are missing', () => {
    expect(problemsOf({ name: 'x', nodes: [{ id: 'a', kind: 'noop' }], edges: [{ from: 'a', to: END }] })).toEqual([
      { path: 'entry', message: 'no entry node; set entry to the first node to run (one of: a)' },
    ]);
    expect(problemsOf({ name: 'x', entry: 'a' }).map((p) => p.path)).toEqual(['nodes', 'edges']);
    expect(problemsOf('nope')).toEqual([{ path: '', message: 'a graph must be an object with name, entry, nodes and edges' }]);
  });

  it('names unknown fields, which are usually typos', () => {
    expect(problemsOf({ name: 'x', entry: 'a', nodes: [{ id: 'a', kind: 'noop', maxIteration: 3 }], edges: [{ from: 'a', to: END }] })).toEqual([
      { path: 'nodes[0].maxIteration', message: 'unknown field; known fields are id, kind, config, retry, timeoutMs, maxIterations' },
    ]);
  });

  it('gives loop nodes without maxIterations a default bound, with a warning', () => {
    const { graph, warnings } = validateGraph(
      { name: 'x', entry: 'a', nodes: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop', maxIterations: 4 }], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a', when: 'again' }, { from: 'b', to: END }] },
      { kinds },
    );
    expect(graph!.nodes.get('a')!.maxIterations).toBe(DEFAULT_LOOP_MAX_ITERATIONS);
    expect(graph!.nodes.get('b')!.maxIterations).toBe(4);
    expect(warnings).toEqual([{ path: 'nodes[0].maxIterations', message: `node "a" is in a loop without maxIterations; it defaults to ${DEFAULT_LOOP_MAX_ITERATIONS}` }]);
  });

  it('checks state keys, retry policies and join edges', () => {
    const problems = problemsOf({
      name: 'x',
      entry: 'a',
      state: [{ key: 'log', reducer: 'APPEND', default: 'no' }, { key: 'm', reducer: 'SUM' }],
      nodes: [{ id: 'a', kind: 'noop', retry: { maxAttempts: 0, backoffFactor: 0.5 } }],
      edges: [{ from: ['a', 'zz'], to: END }],
    });
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'nodes[0].retry.maxAttempts: must be an integer from 1 to 100',
      'nodes[0].retry.backoffFactor: must be a number from 1 to 100',
      'state[1].reducer: must be one of REPLACE, APPEND, MERGE',
    ]);
    const more = problemsOf({ name: 'x', entry: 'a', state: [{ key: 'log', reducer: 'APPEND', default: 'no' }], nodes: [{ id: 'a', kind: 'noop' }], edges: [{ from: ['a', 'zz'], to: END }] });
    expect(more.map((p) => p.path)).toEqual(['state[0].default', 'edges[0].from']);
  });

  it('throws one AppError INVALID_GRAPH listing the problems', () => {
    let error: unknown;
    try {
      compileGraph({ name: 'x', entry: 'a', nodes: [{ id: 'a', kind: 'transform', config: { expression: '{' } }], edges: [] }, { kinds });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('INVALID_GRAPH');
    expect((error as AppError).details['problems']).toHaveLength(2);
    expect((error as AppError).message).toMatch(/^graph has 2 problems:\nnodes\[0\]\.config\.expression: invalid JSONata expression/);
  });

  it('treats GraphQL-style nulls in optional fields as absent', () => {
    const graph = compileGraph({ id: null, name: 'n', description: null, entry: 'a', maxSteps: null, state: null, nodes: [{ id: 'a', kind: 'noop', config: null, retry: null, timeoutMs: null, maxIterations: null }], edges: [{ from: 'a', to: END, when: null }] }, { kinds });
    expect(graph.nodes.get('a')!.timeoutMs).toBeUndefined();
    expect(graph.edges[0]!.condition).toBeUndefined();
  });
});

describe('GraphBuilder: graphs in code', () => {
  it('builds handlers, joins and routers into a compiled graph', () => {
    const graph = new GraphBuilder({ id: 'code', name: 'Code' })
      .addNode('a', () => ({ x: 1 }))
      .addNode('b', 'noop')
      .addNode('c', 'noop')
      .setEntry('a')
      .addConditionalEdges('a', () => ['b', 'c'], ['b', 'c'])
      .addEdge(['b', 'c'], END)
      .compile(kinds);
    expect([...graph.nodes.keys()]).toEqual(['a', 'b', 'c']);
    expect(graph.nodes.get('a')!.kind).toBe('code.a');
    expect(graph.edges[0]!.from).toEqual(['b', 'c']);
  });

  it('validates router targets like edges', () => {
    expect(() =>
      new GraphBuilder({ id: 'code', name: 'Code' }).addNode('a', () => undefined).setEntry('a').addConditionalEdges('a', () => END, ['nowhere', END]).compile(kinds),
    ).toThrow(/routers\[0\]\.targets: unknown node "nowhere"/);
  });
});
