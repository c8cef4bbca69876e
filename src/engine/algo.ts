import type { CompiledEdge, CompiledGraph, RetryPolicy, RouterSpec } from '../graph/types.ts';

/** Pure helpers of the superstep algorithm: no I/O, no time, no events. */

/** The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. */
export function backoffDelay(retry: RetryPolicy, attempt: number): number {
  return Math.min(retry.maxDelayMs, Math.round(retry.initialDelayMs * retry.backoffFactor ** (attempt - 1)));
}

/** A join edge's key in checkpoints. */
export function joinKey(edge: CompiledEdge): string {
  return `${edge.from.join('&')}->${edge.to}`;
}

export interface Outgoing {
  edges: CompiledEdge[];
  routers: RouterSpec[];
}

/** For each node, the edges and routers leaving it, in declaration order. Computed once per graph. */
export function outgoingIndex(graph: CompiledGraph): Map<string, Outgoing> {
  const index = new Map<string, Outgoing>();
  const at = (id: string): Outgoing => {
    let out = index.get(id);
    if (!out) index.set(id, (out = { edges: [], routers: [] }));
    return out;
  };
  for (const id of graph.nodes.keys()) at(id);
  for (const edge of graph.edges) for (const from of edge.from) at(from).edges.push(edge);
  for (const router of graph.routers) at(router.from).routers.push(router);
  return index;
}

/** Overall progress: the share of the graph's nodes that have completed at least once. */
export function overallProgress(completed: ReadonlySet<string>, total: number): number {
  return total === 0 ? 100 : Math.floor((100 * completed.size) / total);
}

/**
 * Runs `work` over `items` with at most `limit` in flight; resolves with results in item order.
 * Rejects as soon as one `work` rejects (the others go on, their results dropped).
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 1) return [await work(items[0]!)];
  // A step no wider than the limit (the usual one) needs no queue.
  if (items.length <= limit) return Promise.all(items.map((item) => work(item)));
  const queue: WorkQueue<T, R> = { items, work, next: 0, results: new Array<R>(items.length) };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < limit; i++) workers.push(drain(queue));
  await Promise.all(workers);
  return queue.results;
}

interface WorkQueue<T, R> {
  readonly items: readonly T[];
  readonly work: (item: T) => Promise<R>;
  next: number;
  readonly results: R[];
}

/** One of mapBounded's workers: takes the next item until none is left. A module function, so a step creates no named closure (see runLoop). */
async function drain<T, R>(queue: WorkQueue<T, R>): Promise<void> {
  while (queue.next < queue.items.length) {
    const i = queue.next++;
    queue.results[i] = await queue.work(queue.items[i]!);
  }
}
