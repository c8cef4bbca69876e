import { newId } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { compileGraph } from '../graph/compile.ts';
import type { NodeKindRegistry } from '../graph/kinds.ts';
import type { CompiledGraph, GraphSpec } from '../graph/types.ts';
import type { Store } from '../store/types.ts';

/**
 * Where graphs are found by id: code graphs registered in this process (with their handlers),
 * then data graphs from the store, compiled against the node kinds on first use and cached per
 * version.
 */
export class GraphCatalog {
  readonly #store: Store;
  readonly #kinds: NodeKindRegistry;
  readonly #code = new Map<string, CompiledGraph>();
  readonly #compiled = new Map<string, { version: number; graph: CompiledGraph }>();

  constructor(store: Store, kinds: NodeKindRegistry) {
    this.#store = store;
    this.#kinds = kinds;
  }

  get kinds(): NodeKindRegistry {
    return this.#kinds;
  }

  /** Registers a compiled code graph under its id; a second graph with the same id replaces it. */
  register(graph: CompiledGraph): void {
    if (!graph.id) throw new AppError('INVALID_GRAPH', 'a code graph needs an id');
    this.#code.set(graph.id, graph);
  }

  isCodeGraph(id: string): boolean {
    return this.#code.has(id);
  }

  async get(id: string): Promise<CompiledGraph | undefined> {
    const code = this.#code.get(id);
    if (code) return code;
    const record = await this.#store.getGraph(id);
    if (!record) return undefined;
    const cached = this.#compiled.get(id);
    if (cached && cached.version === record.version) return cached.graph;
    const graph = compileGraph({ ...record.spec, id }, { kinds: this.#kinds });
    this.#compiled.set(id, { version: record.version, graph });
    return graph;
  }

  /** Like get, but throws AppError GRAPH_NOT_FOUND naming the graphs there are. */
  async require(id: string): Promise<CompiledGraph> {
    const graph = await this.get(id);
    if (graph) return graph;
    const ids = (await this.list()).map((g) => g.id);
    throw new AppError('GRAPH_NOT_FOUND', `no graph "${id}"; known graphs: ${ids.join(', ') || '(none)'}`, { graphId: id });
  }

  /** Code graphs first (by id), then stored graphs (by id). */
  async list(): Promise<CompiledGraph[]> {
    const code = [...this.#code.values()].sort((a, b) => a.id.localeCompare(b.id));
    const stored: CompiledGraph[] = [];
    for (const record of await this.#store.listGraphs()) {
      if (this.#code.has(record.id)) continue;
      const graph = await this.get(record.id).catch(() => undefined);
      if (graph) stored.push(graph);
    }
    return [...code, ...stored];
  }

  /**
   * Validates a graph given as data and stores it (replacing a stored graph of the same id). Throws
   * AppError INVALID_GRAPH with every problem, or INVALID_INPUT when the id belongs to a code graph.
   */
  async create(input: unknown): Promise<CompiledGraph> {
    const withId = isPlainObject(input) && (input['id'] === undefined || input['id'] === null) ? { ...input, id: newId('graph') } : input;
    const graph = compileGraph(withId, { kinds: this.#kinds });
    if (this.#code.has(graph.id)) throw new AppError('INVALID_INPUT', `graph id "${graph.id}" belongs to a built-in graph; choose another id`);
    const spec: GraphSpec = { ...graph.spec, id: graph.id };
    const record = await this.#store.saveGraph({ id: graph.id, name: graph.name, description: graph.description, spec });
    this.#compiled.set(graph.id, { version: record.version, graph });
    return graph;
  }

  /** True when a stored graph was deleted. Code graphs cannot be deleted (INVALID_INPUT). */
  async delete(id: string): Promise<boolean> {
    if (this.#code.has(id)) throw new AppError('INVALID_INPUT', `graph "${id}" is built in and cannot be deleted`);
    this.#compiled.delete(id);
    return this.#store.deleteGraph(id);
  }
}
