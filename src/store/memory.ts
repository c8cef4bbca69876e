import { AppError } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';
import { copyNode, FINISHED_STATUSES, type NodeSnapshot, type RunRecord } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
import type { Checkpoint, CommitBatch, GraphRecord, Page, PageRequest, RunFilter, Store } from './types.ts';
import { byCodePoint, checkPage, retentionCutoff } from './page.ts';

/**
 * A Store in process memory: nothing survives the process. For tests and for measuring the
 * engine without I/O. Passes the same contract suite as the database adapters. Runs and nodes are
 * copied shallowly on the way in and out (their JSON values are never mutated: state updates make
 * new objects); committed events are kept by reference; graphs are cloned deeply.
 */
export class MemoryStore implements Store {
  readonly #graphs = new Map<string, GraphRecord>();
  readonly #runs = new Map<string, RunRecord>();
  readonly #nodes = new Map<string, Map<string, NodeSnapshot>>();
  readonly #events = new Map<string, RunEvent[]>();
  readonly #checkpoints = new Map<string, Checkpoint>();
  /** Run id -> ref -> JSON text. */
  readonly #blobs = new Map<string, Map<string, string>>();

  async saveGraph(graph: Omit<GraphRecord, 'version' | 'createdAt' | 'updatedAt'>): Promise<GraphRecord> {
    const now = new Date().toISOString();
    const old = this.#graphs.get(graph.id);
    const record: GraphRecord = structuredClone({ ...graph, version: (old?.version ?? 0) + 1, createdAt: old?.createdAt ?? now, updatedAt: now });
    this.#graphs.set(graph.id, record);
    return structuredClone(record);
  }

  async getGraph(id: string): Promise<GraphRecord | undefined> {
    const g = this.#graphs.get(id);
    return g && structuredClone(g);
  }

  async listGraphs(): Promise<GraphRecord[]> {
    return [...this.#graphs.values()].sort((a, b) => byCodePoint(a.id, b.id)).map((g) => structuredClone(g));
  }

  async deleteGraph(id: string): Promise<boolean> {
    return this.#graphs.delete(id);
  }

  async createRun(run: RunRecord, nodes: NodeSnapshot[]): Promise<void> {
    if (this.#runs.has(run.id)) throw new AppError('INVALID_INPUT', `run ${run.id} already exists`);
    if (run.idempotencyKey !== null && [...this.#runs.values()].some((r) => r.idempotencyKey === run.idempotencyKey)) {
      throw new AppError('INVALID_INPUT', `idempotencyKey ${JSON.stringify(run.idempotencyKey)} already names another run`);
    }
    this.#runs.set(run.id, { ...run });
    this.#nodes.set(run.id, new Map(nodes.map((n) => [n.nodeId, copyNode(n)])));
    this.#events.set(run.id, []);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const r = this.#runs.get(id);
    return r && { ...r };
  }

  async getNodes(runId: string): Promise<NodeSnapshot[]> {
    return [...(this.#nodes.get(runId)?.values() ?? [])].sort((a, b) => byCodePoint(a.nodeId, b.nodeId)).map(copyNode);
  }

  async listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>> {
    checkPage(page);
    const matches = [...this.#runs.values()]
      .filter((r) => (!filter.status || filter.status.length === 0 || filter.status.includes(r.status)) && (!filter.graphId || r.graphId === filter.graphId))
      .filter((r) => (filter.concurrencyKey === undefined || r.concurrencyKey === filter.concurrencyKey) && (filter.idempotencyKey === undefined || r.idempotencyKey === filter.idempotencyKey))
      .filter((r) => page.after === undefined || r.id < page.after)
      .sort((a, b) => byCodePoint(b.id, a.id));
    return { items: matches.slice(0, page.first).map((r) => ({ ...r })), hasMore: matches.length > page.first };
  }

  async commit(batch: CommitBatch): Promise<void> {
    // Check everything first so a bad batch changes nothing.
    const next = new Map<string, number>();
    for (const event of batch.events) {
      this.#mustExist(event.runId);
      const last = next.get(event.runId) ?? this.#lastSeqOf(event.runId);
      // Seqs are stored gapless and ascending, so anything at or below the last one is a repeat.
      if (event.seq <= last) {
        throw new AppError('INTERNAL', `event ${event.runId}#${event.seq} already exists`);
      }
      next.set(event.runId, event.seq);
    }
    for (const run of batch.runs) this.#mustExist(run.id);
    for (const node of batch.nodes) this.#mustExist(node.runId);
    for (const checkpoint of batch.checkpoints) this.#mustExist(checkpoint.runId);
    for (const blob of batch.blobs ?? []) this.#mustExist(blob.runId);
    for (const event of batch.events) {
      let list = this.#events.get(event.runId);
      if (!list) this.#events.set(event.runId, (list = []));
      list.push(event);
    }
    for (const run of batch.runs) this.#runs.set(run.id, run);
    for (const row of batch.nodes) {
      let nodes = this.#nodes.get(row.runId);
      if (!nodes) this.#nodes.set(row.runId, (nodes = new Map()));
      nodes.set(row.nodeId, copyNode(row));
    }
    for (const checkpoint of batch.checkpoints) {
      const old = this.#checkpoints.get(checkpoint.runId);
      if (!old || old.step <= checkpoint.step) this.#checkpoints.set(checkpoint.runId, checkpoint);
    }
    for (const { runId, ref, json } of batch.blobs ?? []) {
      let blobs = this.#blobs.get(runId);
      if (!blobs) this.#blobs.set(runId, (blobs = new Map()));
      if (!blobs.has(ref)) blobs.set(ref, json);
    }
  }

  async readBlob(runId: string, ref: string): Promise<JsonValue | undefined> {
    const json = this.#blobs.get(runId)?.get(ref);
    return json === undefined ? undefined : (JSON.parse(json) as JsonValue);
  }

  async readEvents(runId: string, afterSeq: number, limit: number): Promise<RunEvent[]> {
    if (limit < 0) throw new AppError('INVALID_INPUT', `limit must be 0 or more, got ${limit}`);
    const list = this.#events.get(runId) ?? [];
    // Seqs are gapless from 1, so seq n sits at index n - 1.
    return list.slice(Math.max(0, afterSeq), Math.max(0, afterSeq) + limit);
  }

  async lastSeq(runId: string): Promise<number> {
    return this.#lastSeqOf(runId);
  }

  async latestCheckpoint(runId: string): Promise<Checkpoint | undefined> {
    const c = this.#checkpoints.get(runId);
    return c && structuredClone(c);
  }

  async deleteFinishedBefore(before: string, limit: number): Promise<number> {
    const cutoff = retentionCutoff(before, limit);
    const expired = [...this.#runs.values()]
      .filter((r) => FINISHED_STATUSES.includes(r.status) && r.finishedAt !== null && r.finishedAt < cutoff)
      .sort((a, b) => byCodePoint(a.finishedAt!, b.finishedAt!))
      .slice(0, limit);
    for (const { id } of expired) {
      this.#runs.delete(id);
      this.#nodes.delete(id);
      this.#events.delete(id);
      this.#checkpoints.delete(id);
      this.#blobs.delete(id);
    }
    return expired.length;
  }

  async close(): Promise<void> {}

  /** INTERNAL: the event log creates every run before it commits anything of it. */
  #mustExist(runId: string): void {
    if (!this.#runs.has(runId)) throw new AppError('INTERNAL', `run ${runId} does not exist; createRun must come before committing its events, nodes or checkpoints`);
  }

  #lastSeqOf(runId: string): number {
    const list = this.#events.get(runId);
    return list && list.length > 0 ? list[list.length - 1]!.seq : 0;
  }
}
