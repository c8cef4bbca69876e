import { AppError, formatProblems, type Problem } from '../common/errors.ts';
import { findNonJson, isPlainObject, type JsonValue } from '../common/json.ts';
import { isTruthy, parseExpression } from './expression.ts';
import type { NodeKindRegistry } from './kinds.ts';
import {
  DEFAULT_LOOP_MAX_ITERATIONS,
  DEFAULT_MAX_STEPS,
  DEFAULT_RETRY,
  END,
  REDUCERS,
  type CompiledEdge,
  type CompiledGraph,
  type CompiledNode,
  type EdgeSpec,
  type GraphSpec,
  type NodeKind,
  type NodeSpec,
  type Reducer,
  type RetryPolicy,
  type RouterSpec,
  type StateKeySpec,
} from './types.ts';

export const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const ID_RULE = 'must start with a letter or _, then letters, digits, _, . or -, at most 64 characters';
const RESERVED = new Set([END, 'START']);

export interface CompileOptions {
  /** The registered kinds data graphs may name. */
  kinds: NodeKindRegistry;
  /** Kinds defined by a code graph itself; looked up before `kinds`. */
  localKinds?: ReadonlyMap<string, NodeKind>;
  /** Code routers (conditional edges with a function). */
  routers?: readonly RouterSpec[];
}

export interface Validation {
  problems: Problem[];
  warnings: Problem[];
  graph: CompiledGraph | undefined;
}

/**
 * Validates a graph given as data (anything: it may come straight from a request or a file) and
 * compiles it. Throws AppError INVALID_GRAPH whose `details.problems` lists every problem with its
 * path and what to fix.
 */
export function compileGraph(input: unknown, options: CompileOptions): CompiledGraph {
  const { problems, graph } = validateGraph(input, options);
  if (!graph) {
    const head = problems.length === 1 ? 'graph is invalid' : `graph has ${problems.length} problems`;
    throw new AppError('INVALID_GRAPH', `${head}:\n${formatProblems(problems)}`, { problems });
  }
  return graph;
}

/** Like compileGraph, but returns the problems instead of throwing. */
export function validateGraph(input: unknown, options: CompileOptions): Validation {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const spec = checkShape(input, problems);
  if (!spec) return { problems, warnings, graph: undefined };
  const routers = options.routers ?? [];

  const nodes = new Map<string, CompiledNode>();
  const nodeIndex = new Map<string, number>();
  spec.nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    if (!ID_PATTERN.test(node.id) || RESERVED.has(node.id)) {
      problems.push({ path: `${path}.id`, message: RESERVED.has(node.id) ? `"${node.id}" is reserved; rename the node` : `"${node.id}" ${ID_RULE}` });
      return;
    }
    if (nodeIndex.has(node.id)) {
      problems.push({ path: `${path}.id`, message: `duplicate node id "${node.id}" (also nodes[${nodeIndex.get(node.id)}]); give each node its own id` });
      return;
    }
    nodeIndex.set(node.id, i);
    const kind = options.localKinds?.get(node.kind) ?? options.kinds.get(node.kind);
    if (!kind) {
      const known = options.kinds.list().map((k) => k.kind).join(', ');
      problems.push({ path: `${path}.kind`, message: `unknown node kind "${node.kind}"; use one of: ${known}` });
      return;
    }
    const configProblems = kind.validate?.(node.config) ?? [];
    for (const p of configProblems) problems.push({ path: `${path}.${p.path}`, message: p.message });
    const retry = { ...DEFAULT_RETRY, ...node.retry } satisfies RetryPolicy;
    if (retry.initialDelayMs > retry.maxDelayMs) {
      problems.push({ path: `${path}.retry.initialDelayMs`, message: `must not exceed maxDelayMs (${retry.maxDelayMs})` });
    }
    if (configProblems.length > 0) return;
    nodes.set(node.id, {
      id: node.id,
      kind: node.kind,
      config: node.config,
      retry,
      timeoutMs: node.timeoutMs,
      maxIterations: node.maxIterations,
      handler: kind.create(node.config),
    });
  });

  const stateKeys = new Map<string, StateKeySpec & { reducer: Reducer }>();
  (spec.state ?? []).forEach((key, i) => {
    const path = `state[${i}]`;
    if (stateKeys.has(key.key)) problems.push({ path: `${path}.key`, message: `duplicate state key "${key.key}"` });
    const reducer = key.reducer ?? 'REPLACE';
    if (reducer === 'APPEND' && key.default !== undefined && !Array.isArray(key.default)) {
      problems.push({ path: `${path}.default`, message: 'an APPEND key needs an array default (or none)' });
    }
    if (reducer === 'MERGE' && key.default !== undefined && !isPlainObject(key.default)) {
      problems.push({ path: `${path}.default`, message: 'a MERGE key needs an object default (or none)' });
    }
    stateKeys.set(key.key, { ...key, reducer });
  });

  const known = (id: string): boolean => nodeIndex.has(id);
  const hint = (id: string): string => {
    const ids = [...nodeIndex.keys()];
    return `unknown node "${id}"; use one of: ${[...ids, END].join(', ')}`;
  };

  // Path problems are only meaningful once the entry and every edge are sound.
  const beforeWiring = problems.length;
  if (spec.entry === '') problems.push({ path: 'entry', message: `no entry node; set entry to the first node to run (one of: ${[...nodeIndex.keys()].join(', ')})` });
  else if (!known(spec.entry)) problems.push({ path: 'entry', message: hint(spec.entry).replace(`, ${END}`, '') });

  const edges: CompiledEdge[] = [];
  const successors = new Map<string, Set<string>>();
  const link = (from: string, to: string): void => {
    let set = successors.get(from);
    if (!set) successors.set(from, (set = new Set()));
    set.add(to);
  };
  const seenEdges = new Set<string>();
  spec.edges.forEach((edge, i) => {
    const path = `edges[${i}]`;
    const from = [...new Set(Array.isArray(edge.from) ? edge.from : [edge.from])].sort();
    let ok = true;
    for (const f of from) {
      if (f === END) {
        problems.push({ path: `${path}.from`, message: 'an edge cannot start at END' });
        ok = false;
      } else if (!known(f)) {
        problems.push({ path: `${path}.from`, message: hint(f).replace(`, ${END}`, '') });
        ok = false;
      }
    }
    if (from.length === 0) {
      problems.push({ path: `${path}.from`, message: 'needs at least one node' });
      ok = false;
    }
    if (edge.to !== END && !known(edge.to)) {
      problems.push({ path: `${path}.to`, message: hint(edge.to) });
      ok = false;
    }
    let condition: CompiledEdge['condition'];
    if (edge.when !== undefined) {
      const parsed = parseExpression(edge.when);
      if (!parsed.ok) {
        problems.push({ path: `${path}.when`, message: parsed.error });
        ok = false;
      } else {
        const expression = parsed.expression;
        condition = { source: edge.when, test: async (state) => isTruthy(await expression.evaluate(state)) };
      }
    }
    const key = `${from.join('&')}->${edge.to}?${edge.when ?? ''}`;
    if (seenEdges.has(key)) {
      problems.push({ path, message: `duplicate edge ${from.join(' & ')} -> ${edge.to}; remove one` });
      ok = false;
    }
    seenEdges.add(key);
    if (!ok) return;
    for (const f of from) link(f, edge.to);
    edges.push({ from, to: edge.to, condition });
  });

  routers.forEach((router, i) => {
    const path = `routers[${i}]`;
    if (!known(router.from)) problems.push({ path: `${path}.from`, message: hint(router.from).replace(`, ${END}`, '') });
    if (router.targets.length === 0) problems.push({ path: `${path}.targets`, message: 'list every node the router may return' });
    for (const t of router.targets) {
      if (t !== END && !known(t)) problems.push({ path: `${path}.targets`, message: hint(t) });
      else link(router.from, t);
    }
  });

  if (problems.length === beforeWiring) checkPaths(spec, successors, nodeIndex, problems);
  if (problems.length > 0) return { problems, warnings, graph: undefined };

  for (const id of nodesInCycles([...nodeIndex.keys()], successors)) {
    const node = nodes.get(id)!;
    if (node.maxIterations === undefined) {
      node.maxIterations = DEFAULT_LOOP_MAX_ITERATIONS;
      warnings.push({ path: `nodes[${nodeIndex.get(id)}].maxIterations`, message: `node "${id}" is in a loop without maxIterations; it defaults to ${DEFAULT_LOOP_MAX_ITERATIONS}` });
    }
  }

  const graph: CompiledGraph = {
    id: spec.id ?? '',
    name: spec.name,
    description: spec.description ?? '',
    entry: spec.entry,
    stateKeys,
    nodes,
    edges,
    routers,
    maxSteps: spec.maxSteps ?? DEFAULT_MAX_STEPS,
    spec,
    warnings,
  };
  return { problems, warnings, graph };
}

/** Every node must be reachable from the entry and must have a way to END. */
function checkPaths(spec: GraphSpec, successors: Map<string, Set<string>>, nodeIndex: Map<string, number>, problems: Problem[]): void {
  const reachable = walk([spec.entry], (id) => successors.get(id) ?? []);
  const predecessors = new Map<string, string[]>();
  for (const [from, tos] of successors) for (const to of tos) predecessors.set(to, [...(predecessors.get(to) ?? []), from]);
  const reachesEnd = walk([END], (id) => predecessors.get(id) ?? []);
  for (const [id, i] of nodeIndex) {
    if (!reachable.has(id)) {
      problems.push({ path: `nodes[${i}]`, message: `node "${id}" is unreachable from entry "${spec.entry}"; add an edge to it or remove it` });
    } else if (!reachesEnd.has(id)) {
      const out = successors.get(id);
      problems.push({
        path: `nodes[${i}]`,
        message: out && out.size > 0
          ? `node "${id}" has no path to END (every way out loops back); add an edge from it or a later node to END`
          : `node "${id}" has no outgoing edge; add an edge from it to the next node or to END`,
      });
    }
  }
}

function walk(start: string[], next: (id: string) => Iterable<string>): Set<string> {
  const seen = new Set(start);
  const queue = [...start];
  while (queue.length > 0) {
    for (const n of next(queue.pop()!)) {
      if (!seen.has(n)) {
        seen.add(n);
        queue.push(n);
      }
    }
  }
  return seen;
}

/** Nodes on some cycle (Tarjan's strongly connected components, iterative). */
function nodesInCycles(ids: string[], successors: Map<string, Set<string>>): string[] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[] = [];
  for (const root of ids) {
    if (index.has(root)) continue;
    const work: Array<{ id: string; it: Iterator<string> }> = [];
    const enter = (id: string): void => {
      index.set(id, counter);
      low.set(id, counter++);
      stack.push(id);
      onStack.add(id);
      work.push({ id, it: (successors.get(id) ?? new Set<string>()).values() });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const step = frame.it.next();
      if (!step.done) {
        const w = step.value;
        if (w === END) continue;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.id);
        const selfLoop = successors.get(frame.id)?.has(frame.id) ?? false;
        if (component.length > 1 || selfLoop) result.push(...component);
      }
    }
  }
  return result;
}

const GRAPH_FIELDS = ['id', 'name', 'description', 'entry', 'state', 'nodes', 'edges', 'maxSteps'];
const NODE_FIELDS = ['id', 'kind', 'config', 'retry', 'timeoutMs', 'maxIterations'];
const RETRY_FIELDS = ['maxAttempts', 'initialDelayMs', 'backoffFactor', 'maxDelayMs'];
const EDGE_FIELDS = ['from', 'to', 'when'];
const STATE_FIELDS = ['key', 'reducer', 'default'];

/** Checks the plain-data shape; returns the typed spec, or undefined after recording problems. */
function checkShape(input: unknown, problems: Problem[]): GraphSpec | undefined {
  if (!isPlainObject(input)) {
    problems.push({ path: '', message: 'a graph must be an object with name, entry, nodes and edges' });
    return undefined;
  }
  const before = problems.length;
  unknownFields(input, GRAPH_FIELDS, '', problems);
  const name = input['name'];
  if (typeof name !== 'string' || name.trim() === '') problems.push({ path: 'name', message: 'must be a non-empty string' });
  const id = input['id'];
  if (id !== undefined && id !== null && (typeof id !== 'string' || !ID_PATTERN.test(id))) problems.push({ path: 'id', message: ID_RULE });
  optionalString(input, 'description', '', problems);
  const entry = input['entry'];
  if (entry !== undefined && typeof entry !== 'string') problems.push({ path: 'entry', message: 'must be the id of the first node' });
  optionalInt(input, 'maxSteps', 1, 100_000, '', problems);

  const nodes = input['nodes'];
  if (!Array.isArray(nodes) || nodes.length === 0) problems.push({ path: 'nodes', message: 'must be a non-empty list of nodes' });
  else nodes.forEach((node, i) => checkNode(node, `nodes[${i}]`, problems));
  const edges = input['edges'];
  if (!Array.isArray(edges)) problems.push({ path: 'edges', message: 'must be a list of edges (use [] for none)' });
  else edges.forEach((edge, i) => checkEdge(edge, `edges[${i}]`, problems));
  const state = input['state'];
  if (state !== undefined && state !== null && !Array.isArray(state)) problems.push({ path: 'state', message: 'must be a list of state keys' });
  else if (Array.isArray(state)) state.forEach((key, i) => checkStateKey(key, `state[${i}]`, problems));
  if (problems.length > before) return undefined;
  const spec = stripNulls(input) as unknown as GraphSpec;
  return { ...spec, entry: (entry as string | undefined) ?? '' };
}

function checkNode(node: unknown, path: string, problems: Problem[]): void {
  if (!isPlainObject(node)) {
    problems.push({ path, message: 'a node must be an object with id and kind' });
    return;
  }
  unknownFields(node, NODE_FIELDS, path, problems);
  if (typeof node['id'] !== 'string') problems.push({ path: `${path}.id`, message: 'must be a string' });
  if (typeof node['kind'] !== 'string') problems.push({ path: `${path}.kind`, message: 'must be the name of a node kind' });
  if (node['config'] !== undefined) {
    const bad = findNonJson(node['config'], `${path}.config`);
    if (bad) problems.push({ path: bad, message: 'must be plain JSON' });
  }
  optionalInt(node, 'timeoutMs', 1, 86_400_000, path, problems);
  optionalInt(node, 'maxIterations', 1, 100_000, path, problems);
  const retry = node['retry'];
  if (retry === undefined || retry === null) return;
  if (!isPlainObject(retry)) {
    problems.push({ path: `${path}.retry`, message: 'must be an object' });
    return;
  }
  const rpath = `${path}.retry`;
  unknownFields(retry, RETRY_FIELDS, rpath, problems);
  optionalInt(retry, 'maxAttempts', 1, 100, rpath, problems);
  optionalInt(retry, 'initialDelayMs', 0, 3_600_000, rpath, problems);
  optionalInt(retry, 'maxDelayMs', 0, 3_600_000, rpath, problems);
  const factor = retry['backoffFactor'];
  if (factor !== undefined && factor !== null && (typeof factor !== 'number' || !(factor >= 1 && factor <= 100))) {
    problems.push({ path: `${rpath}.backoffFactor`, message: 'must be a number from 1 to 100' });
  }
}

function checkEdge(edge: unknown, path: string, problems: Problem[]): void {
  if (!isPlainObject(edge)) {
    problems.push({ path, message: 'an edge must be an object with from and to' });
    return;
  }
  unknownFields(edge, EDGE_FIELDS, path, problems);
  const from = edge['from'];
  const fromOk = typeof from === 'string' || (Array.isArray(from) && from.every((f) => typeof f === 'string'));
  if (!fromOk) problems.push({ path: `${path}.from`, message: 'must be a node id, or a list of node ids for a join' });
  if (typeof edge['to'] !== 'string') problems.push({ path: `${path}.to`, message: `must be a node id or ${END}` });
  optionalString(edge, 'when', path, problems);
}

function checkStateKey(key: unknown, path: string, problems: Problem[]): void {
  if (!isPlainObject(key)) {
    problems.push({ path, message: 'a state key must be an object with key and reducer' });
    return;
  }
  unknownFields(key, STATE_FIELDS, path, problems);
  if (typeof key['key'] !== 'string' || key['key'] === '') problems.push({ path: `${path}.key`, message: 'must be a non-empty string' });
  const reducer = key['reducer'];
  if (reducer !== undefined && reducer !== null && !REDUCERS.includes(reducer as Reducer)) {
    problems.push({ path: `${path}.reducer`, message: `must be one of ${REDUCERS.join(', ')}` });
  }
  if (key['default'] !== undefined) {
    const bad = findNonJson(key['default'], `${path}.default`);
    if (bad) problems.push({ path: bad, message: 'must be plain JSON' });
  }
}

function unknownFields(object: Record<string, unknown>, fields: string[], path: string, problems: Problem[]): void {
  for (const key of Object.keys(object)) {
    if (!fields.includes(key)) problems.push({ path: path ? `${path}.${key}` : key, message: `unknown field; known fields are ${fields.join(', ')}` });
  }
}

function optionalString(object: Record<string, unknown>, field: string, path: string, problems: Problem[]): void {
  const v = object[field];
  if (v !== undefined && v !== null && typeof v !== 'string') problems.push({ path: path ? `${path}.${field}` : field, message: 'must be a string' });
}

function optionalInt(object: Record<string, unknown>, field: string, min: number, max: number, path: string, problems: Problem[]): void {
  const v = object[field];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push({ path: path ? `${path}.${field}` : field, message: `must be an integer from ${min} to ${max}` });
  }
}

/** GraphQL inputs send null for omitted optional fields; treat null as absent (but keep nulls inside config/default values). */
function stripNulls(spec: Record<string, JsonValue>): Record<string, JsonValue> {
  const strip = (o: Record<string, JsonValue>): Record<string, JsonValue> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
  const out = strip(spec);
  if (Array.isArray(out['nodes'])) out['nodes'] = (out['nodes'] as Array<Record<string, JsonValue>>).map((n) => {
    const node = strip(n);
    if (isPlainObject(node['retry'])) node['retry'] = strip(node['retry']);
    return node;
  });
  if (Array.isArray(out['edges'])) out['edges'] = (out['edges'] as Array<Record<string, JsonValue>>).map(strip);
  if (Array.isArray(out['state'])) out['state'] = (out['state'] as Array<Record<string, JsonValue>>).map((k) => {
    const key = strip(k);
    if (k['default'] === null) key['default'] = null;
    return key;
  });
  return out;
}

export type { EdgeSpec, NodeSpec };
