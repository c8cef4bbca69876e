import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../common/errors.ts';
import { parseEvent } from '../events/codec.ts';
import type { NodeSnapshot, RunRecord, RunStatus } from '../events/snapshot.ts';
import type { GraphSpec } from '../graph/types.ts';
import { loadMigrations } from './migrate.ts';
import { checkPage } from './page.ts';
import type { Checkpoint, CommitBatch, GraphRecord, Page, PageRequest, RunFilter, Store } from './types.ts';

export interface SqliteStoreOptions {
  /** How long a statement waits for another connection's write lock before failing. Default 5000. */
  busyTimeoutMs?: number;
}

export interface SqliteStore extends Store {
  /** The path the store was opened with (may be ':memory:'). */
  readonly path: string;
}

type RunData = Omit<RunRecord, 'id' | 'graphId' | 'status' | 'priority' | 'createdAt' | 'updatedAt'>;
type NodeData = Omit<NodeSnapshot, 'nodeId'>;
type CheckpointData = Omit<Checkpoint, 'runId' | 'step'>;
type RunParams = [id: string, graphId: string, status: RunStatus, priority: number, data: string, createdAt: string, updatedAt: string];
interface GraphRow { id: string; name: string; description: string; spec: string; version: number; created_at: string; updated_at: string }
interface RunRow { id: string; graph_id: string; status: RunStatus; priority: number; data: string; created_at: string; updated_at: string }
interface ListParams { status?: string; graphId?: string; after?: string; limit: number }

const EVENT_CHUNK = 64;
const RUN_COLUMNS = '(id, graph_id, status, priority, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)';

/**
 * Opens (creating it and its parent directories if needed) a SQLite database file as a Store, or
 * an in-memory one for ':memory:'. Sets WAL journaling, synchronous NORMAL and a busy timeout, then
 * applies pending migrations of `migrations/sqlite` in one IMMEDIATE transaction, recording each in
 * `schema_migrations`. Throws AppError INVALID_CONFIG when the file was migrated by a newer
 * Flowcast (it knows more migrations than this build has). The connection is closed on any throw.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (path !== '' && path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(resolve(path)), { recursive: true });
  // `timeout` is SQLite's busy_timeout; better-sqlite3 rejects a negative or fractional one.
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, path);
    return createStore(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database, path: string): void {
  const migrations = loadMigrations('sqlite');
  db.transaction(function applyPendingMigrations() {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
    const current = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get()?.v ?? 0;
    if (current > migrations.length) {
      throw new AppError('INVALID_CONFIG', `database ${path} is at schema version ${current}, newer than this Flowcast knows (${migrations.length}); upgrade Flowcast or use another database file`);
    }
    const record = db.prepare<[number, string, string]>('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of migrations.slice(current)) {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    }
  }).immediate();
}

function createStore(db: Database.Database, path: string): SqliteStore {
  const saveGraph = db.prepare<Record<string, string>, GraphRow>(`INSERT INTO graphs (id, name, description, spec, version, created_at, updated_at)
    VALUES (@id, @name, @description, @spec, 1, @now, @now)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, spec = excluded.spec,
      version = graphs.version + 1, updated_at = excluded.updated_at
    RETURNING *`);
  const getGraph = db.prepare<[string], GraphRow>('SELECT * FROM graphs WHERE id = ?');
  const listGraphs = db.prepare<[], GraphRow>('SELECT * FROM graphs ORDER BY id');
  const deleteGraph = db.prepare<[string]>('DELETE FROM graphs WHERE id = ?');
  const insertRun = db.prepare<RunParams>(`INSERT INTO runs ${RUN_COLUMNS} ON CONFLICT (id) DO NOTHING`);
  const upsertRun = db.prepare<RunParams>(`INSERT INTO runs ${RUN_COLUMNS} ON CONFLICT (id) DO UPDATE SET graph_id = excluded.graph_id,
    status = excluded.status, priority = excluded.priority, data = excluded.data, created_at = excluded.created_at, updated_at = excluded.updated_at`);
  const getRun = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
  const upsertNode = db.prepare<[string, string, string]>(`INSERT INTO nodes (run_id, node_id, data) VALUES (?, ?, ?)
    ON CONFLICT (run_id, node_id) DO UPDATE SET data = excluded.data`);
  const getNodes = db.prepare<[string], { node_id: string; data: string }>('SELECT node_id, data FROM nodes WHERE run_id = ? ORDER BY node_id');
  // DO NOTHING + a changes check instead of catching SQLITE_CONSTRAINT: never overwrites, and says which event.
  const findEvent = db.prepare<[string, number], { seq: number }>('SELECT seq FROM events WHERE run_id = ? AND seq = ?');
  const readEvents = db.prepare<[string, number, number], { data: string }>('SELECT data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?');
  const lastSeq = db.prepare<[string], { seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE run_id = ?');
  const upsertCheckpoint = db.prepare<[string, number, string]>(`INSERT INTO checkpoints (run_id, step, data) VALUES (?, ?, ?)
    ON CONFLICT (run_id, step) DO UPDATE SET data = excluded.data`);
  const latestCheckpoint = db.prepare<[string], { step: number; data: string }>('SELECT step, data FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1');
  // One statement per filter shape (at most 8), prepared on first use; the status list is bound as JSON.
  // An empty status list, like an absent one, does not filter (as in MemoryStore).
  const listStatements = new Map<string, Database.Statement<ListParams, RunRow>>();

  const createRunTx = db.transaction(function createRunTx(run: RunRecord, nodes: NodeSnapshot[]) {
    if (insertRun.run(...runParams(run)).changes === 0) throw new AppError('INVALID_INPUT', `run ${run.id} already exists`);
    for (const node of nodes) upsertNode.run(run.id, node.nodeId, JSON.stringify(nodeData(node)));
  });
  // Events go in as multi-row INSERTs of up to EVENT_CHUNK rows: one statement call per chunk
  // instead of per event is most of the cost of a write-heavy run.
  const insertEvents = new Map<number, Database.Statement<unknown[]>>();
  const insertEventsOf = (rows: number): Database.Statement<unknown[]> => {
    let statement = insertEvents.get(rows);
    if (!statement) {
      statement = db.prepare<unknown[]>(`INSERT INTO events (run_id, seq, type, data) VALUES ${Array(rows).fill('(?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`);
      insertEvents.set(rows, statement);
    }
    return statement;
  };
  const commitTx = db.transaction(function commitTx(batch: CommitBatch) {
    for (let start = 0; start < batch.events.length; start += EVENT_CHUNK) {
      const chunk = batch.events.slice(start, start + EVENT_CHUNK);
      const params: unknown[] = [];
      for (const event of chunk) params.push(event.runId, event.seq, event.type, JSON.stringify(event));
      if (insertEventsOf(chunk.length).run(params).changes !== chunk.length) {
        // INTERNAL: only the event log assigns seqs, so a repeat means two writers or a bug there.
        const taken = chunk.find((event) => findEvent.get(event.runId, event.seq) !== undefined) ?? chunk[0]!;
        throw new AppError('INTERNAL', `run ${taken.runId} already has an event with seq ${taken.seq}; events are append-only`);
      }
    }
    for (const run of batch.runs) upsertRun.run(...runParams(run));
    for (const node of batch.nodes) upsertNode.run(node.runId, node.nodeId, JSON.stringify(nodeData(node)));
    for (const cp of batch.checkpoints) upsertCheckpoint.run(cp.runId, cp.step, JSON.stringify(checkpointData(cp)));
  });

  function listStatement(filter: RunFilter, after: string | undefined): Database.Statement<ListParams, RunRow> {
    const where = [
      filter.status?.length ? 'status IN (SELECT value FROM json_each(@status))' : '',
      filter.graphId !== undefined ? 'graph_id = @graphId' : '',
      after !== undefined ? 'id < @after' : '',
    ].filter(Boolean);
    const key = where.join(' AND ');
    let statement = listStatements.get(key);
    if (!statement) {
      statement = db.prepare<ListParams, RunRow>(`SELECT * FROM runs ${key ? `WHERE ${key}` : ''} ORDER BY id DESC LIMIT @limit`);
      listStatements.set(key, statement);
    }
    return statement;
  }

  return {
    path,
    async saveGraph(graph) {
      const now = new Date().toISOString();
      const row = saveGraph.get({ id: graph.id, name: graph.name, description: graph.description, spec: JSON.stringify(graph.spec), now });
      if (!row) throw new AppError('INTERNAL', `saving graph ${graph.id} returned no row`);
      return toGraph(row);
    },
    async getGraph(id) {
      const row = getGraph.get(id);
      return row && toGraph(row);
    },
    async listGraphs() {
      return listGraphs.all().map(toGraph);
    },
    async deleteGraph(id) {
      return deleteGraph.run(id).changes > 0;
    },
    async createRun(run, nodes) {
      createRunTx(run, nodes);
    },
    async getRun(id) {
      const row = getRun.get(id);
      return row && toRun(row);
    },
    async getNodes(runId) {
      return getNodes.all(runId).map((row) => ({ nodeId: row.node_id, ...(JSON.parse(row.data) as NodeData) }));
    },
    async listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>> {
      checkPage(page);
      const { first, after } = page;
      const params: ListParams = { limit: first + 1 };
      if (filter.status?.length) params.status = JSON.stringify(filter.status);
      if (filter.graphId !== undefined) params.graphId = filter.graphId;
      if (after !== undefined) params.after = after;
      const rows = listStatement(filter, after).all(params);
      return { items: rows.slice(0, first).map(toRun), hasMore: rows.length > first };
    },
    async commit(batch) {
      commitTx(batch);
    },
    async readEvents(runId, afterSeq, limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new AppError('INVALID_INPUT', `limit must be an integer of 0 or more, got ${String(limit)}`);
      return readEvents.all(runId, afterSeq, limit).map((row) => parseEvent(row.data));
    },
    async lastSeq(runId) {
      return lastSeq.get(runId)?.seq ?? 0;
    },
    async latestCheckpoint(runId) {
      const row = latestCheckpoint.get(runId);
      return row && { runId, step: row.step, ...(JSON.parse(row.data) as CheckpointData) };
    },
    async close() {
      db.close();
    },
  };
}

// The pickers below list every stored field, so a field added to a type fails to compile here
// instead of being silently dropped, and extra runtime properties (e.g. a snapshot's `nodes` Map) are not stored.
function runParams(r: RunRecord): RunParams {
  const data: RunData = { input: r.input, state: r.state, progress: r.progress, currentNodes: r.currentNodes, step: r.step, maxSteps: r.maxSteps,
    lastSeq: r.lastSeq, error: r.error, startedAt: r.startedAt, finishedAt: r.finishedAt };
  return [r.id, r.graphId, r.status, r.priority, JSON.stringify(data), r.createdAt, r.updatedAt];
}

function nodeData(n: NodeSnapshot): NodeData {
  return { status: n.status, iteration: n.iteration, attempts: n.attempts, startedAt: n.startedAt, finishedAt: n.finishedAt,
    durationMs: n.durationMs, input: n.input, output: n.output, error: n.error };
}

function checkpointData(c: Checkpoint): CheckpointData {
  return { lastSeq: c.lastSeq, state: c.state, next: c.next, iterations: c.iterations, joins: c.joins, createdAt: c.createdAt };
}

function toRun(row: RunRow): RunRecord {
  const data = JSON.parse(row.data) as RunData;
  return { id: row.id, graphId: row.graph_id, status: row.status, ...data, priority: row.priority, createdAt: row.created_at, updatedAt: row.updated_at };
}

function toGraph(row: GraphRow): GraphRecord {
  return { id: row.id, name: row.name, description: row.description, spec: JSON.parse(row.spec) as GraphSpec, version: row.version,
    createdAt: row.created_at, updatedAt: row.updated_at };
}
