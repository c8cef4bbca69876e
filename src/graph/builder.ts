import { AppError } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';
import { compileGraph } from './compile.ts';
import { defineNode, type NodeKindRegistry } from './kinds.ts';
import type { CompiledGraph, EdgeSpec, GraphSpec, NodeHandler, NodeKind, NodeSpec, RetryPolicy, Router, RouterSpec, StateKeySpec } from './types.ts';

export interface NodeOptions {
  config?: JsonValue;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  maxIterations?: number;
}

/**
 * Builds a graph in code. Nothing is checked until `compile()`, which validates everything at
 * once and throws AppError INVALID_GRAPH listing each problem.
 *
 * ```ts
 * const graph = new GraphBuilder({ id: 'hello', name: 'Hello' })
 *   .addNode('greet', (state) => ({ greeting: `hello ${state.name}` }))
 *   .setEntry('greet')
 *   .addEdge('greet', END)
 *   .compile(kinds);
 * ```
 */
export class GraphBuilder {
  readonly #spec: GraphSpec;
  readonly #localKinds = new Map<string, NodeKind>();
  readonly #routers: RouterSpec[] = [];

  constructor(meta: { id: string; name: string; description?: string; state?: StateKeySpec[]; maxSteps?: number }) {
    this.#spec = { ...meta, entry: '', nodes: [], edges: [] };
  }

  /**
   * Adds a node. `run` is a registered kind's name, a NodeKind, or a handler function (which
   * becomes a kind of this graph named `<graph id>.<node id>`).
   */
  addNode(id: string, run: string | NodeKind | NodeHandler, options: NodeOptions = {}): this {
    let kind: string;
    if (typeof run === 'string') kind = run;
    else {
      const nodeKind = typeof run === 'function' ? defineNode({ kind: `${this.#spec.id}.${id}`, run }) : run;
      const existing = this.#localKinds.get(nodeKind.kind);
      if (existing && existing !== nodeKind) throw new AppError('INVALID_GRAPH', `two different node kinds are named "${nodeKind.kind}"`);
      this.#localKinds.set(nodeKind.kind, nodeKind);
      kind = nodeKind.kind;
    }
    const node: NodeSpec = { id, kind, ...options };
    this.#spec.nodes.push(node);
    return this;
  }

  setEntry(id: string): this {
    this.#spec.entry = id;
    return this;
  }

  /** An edge; `from` as a list makes a join. `when` is a JSONata condition over the state. */
  addEdge(from: string | string[], to: string, when?: string): this {
    const edge: EdgeSpec = when === undefined ? { from, to } : { from, to, when };
    this.#spec.edges.push(edge);
    return this;
  }

  /**
   * A conditional edge decided by code: after `from` completes, `route(state)` returns the next
   * node(s), each of which must be in `targets` (END allowed). Targets not chosen get NodeSkipped.
   */
  addConditionalEdges(from: string, route: Router, targets: string[]): this {
    this.#routers.push({ from, targets, route });
    return this;
  }

  compile(kinds: NodeKindRegistry): CompiledGraph {
    return compileGraph(structuredClone(this.#spec), { kinds, localKinds: this.#localKinds, routers: this.#routers });
  }
}
