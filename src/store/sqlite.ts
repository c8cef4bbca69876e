import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../common/errors.ts';
import { isPlainObject } from '../common/json.ts';
import { decodeEvent } from '../events/codec.ts';
import { newNodeSnapshot, type NodeSnapshot, type RunRecord, type RunStatus } from '../events/snapshot.ts';
import type { RunEvent } from '../events/types.ts';
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
type InsertRunParams = [...RunParams, pending: string];
type UpdateRunParams = [status: RunStatus, priority: number, data: string, createdAt: string, updatedAt: string, no: number];
interface GraphRow { id: string; name: string; description: string; spec: string; version: number; created_at: string; updated_at: string }
interface RunRow { id: string; graph_id: string; status: RunStatus; priority: number; data: string; created_at: string; updated_at: string }
interface EventRow { seq: number; type: string; data: string }
interface ListParams { status?: string; graphId?: string; after?: string; limit: number }
/** A stored run as the writes need it: its key in the other tables and its graph. */
interface RunRef { no: number; graphId: string }

/**
 * WAL pages after which a commit checkpoints (copies them into the database file and syncs both):
 * about 40 MB. A checkpoint's syncs cost the same however much it copies, and a page written by
 * many commits (a run row, the last page of the events) is copied once, so with SQLite's default
 * of 1000 checkpoints took a large share of a write-heavy log's time.
 */
const WAL_AUTOCHECKPOINT = 10_000;
/** Rows per multi-row INSERT of events or node rows. */
const CHUNK = 64;
/** runRefs starts over when it holds this many runs. */
const RUN_REF_CACHE = 50_000;
const RUN_COLUMNS = 'id, graph_id, status, priority, data, created_at, updated_at';
const UNTOUCHED = nodeData(newNodeSnapshot(''));
const UNTOUCHED_KEYS = Object.keys(UNTOUCHED) as Array<keyof NodeData>;

/**
 * Opens (creating it and its parent directories if needed) a SQLite database file as a Store, or
 * an in-memory one for ':memory:'. Sets WAL journaling, synchronous NORMAL, a checkpoint every
 * WAL_AUTOCHECKPOINT pages (instead of 1000) and a busy timeout, then applies pending migrations of
 * `migrations/sqlite` in one IMMEDIATE transaction, recording each in `schema_migrations`. Throws AppError INVALID_CONFIG when the file was migrated by a newer
 * Flowcast (it knows more migrations than this build has). The connection is closed on any throw.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (path !== '' && path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(resolve(path)), { recursive: true });
  // `timeout` is SQLite's busy_timeout; better-sqlite3 rejects a negative or fractional one.
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
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
  const insertRun = db.prepare<InsertRunParams>(`INSERT INTO runs (id, graph_id, status, priority, data, created_at, updated_at, pending)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);
  const updateRun = db.prepare<UpdateRunParams>('UPDATE runs SET status = ?, priority = ?, data = ?, created_at = ?, updated_at = ? WHERE no = ?');
  // Apart from updateRun because a column in a SET rewrites its index entries even when its value
  // stays, and a run's graph practically never changes.
  const moveRun = db.prepare<[string, number]>('UPDATE runs SET graph_id = ? WHERE no = ?');
  const findRun = db.prepare<[string], { no: number; graph_id: string }>('SELECT no, graph_id FROM runs WHERE id = ?');
  const getRun = db.prepare<[string], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`);
  // Node rows, plus a NULL-data row for each node listed PENDING at createRun that has no row
  // since; sorted by SQLite (BINARY: code-point order), like every other listing.
  const getNodes = db.prepare<{ id: string }, { node_id: string; data: string | null }>(`SELECT n.node_id, n.data FROM runs r JOIN nodes n ON n.run_no = r.no WHERE r.id = @id
    UNION ALL
    SELECT p.value, NULL FROM runs r, json_each(r.pending) p WHERE r.id = @id
      AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.run_no = r.no AND n.node_id = p.value)
    ORDER BY 1`);
  // DO NOTHING + a changes check instead of catching SQLITE_CONSTRAINT: never overwrites, and says which event.
  const findEvent = db.prepare<[number, number], { seq: number }>('SELECT seq FROM events WHERE run_no = ? AND seq = ?');
  const readEvents = db.prepare<[number, number, number], EventRow>('SELECT seq, type, data FROM events WHERE run_no = ? AND seq > ? ORDER BY seq LIMIT ?');
  const lastSeq = db.prepare<[string], { seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE run_no = (SELECT no FROM runs WHERE id = ?)');
  // Events leave graphId out when it is their run's (see toEventData): before a run's graph_id
  // changes, those events get the old one written in.
  const keepGraphId = db.prepare<[string, number]>("UPDATE events SET data = json_set(data, '$.graphId', ?) WHERE run_no = ? AND json_type(data, '$.graphId') IS NULL");
  const upsertCheckpoint = db.prepare<[number, number, string]>(`INSERT INTO checkpoints (run_no, step, data) VALUES (?, ?, ?)
    ON CONFLICT (run_no, step) DO UPDATE SET data = excluded.data`);
  const latestCheckpoint = db.prepare<[string], { step: number; data: string }>(`SELECT step, data FROM checkpoints
    WHERE run_no = (SELECT no FROM runs WHERE id = ?) ORDER BY step DESC LIMIT 1`);
  // One statement per filter shape (at most 8), prepared on first use; the status list is bound as JSON.
  // An empty status list, like an absent one, does not filter (as in MemoryStore).
  const listStatements = new Map<string, Database.Statement<ListParams, RunRow>>();
  // Events and node rows go in as multi-row INSERTs of up to CHUNK rows: one statement call per
  // chunk instead of per row is most of the cost of a write-heavy run.
  const insertEvents = multiRowStatement(db, 'INSERT INTO events (run_no, seq, type, data)', '(?, ?, ?, ?)', 'ON CONFLICT DO NOTHING');
  const upsertNodes = multiRowStatement(db, 'INSERT INTO nodes (run_no, node_id, data)', '(?, ?, ?)', 'ON CONFLICT (run_no, node_id) DO UPDATE SET data = excluded.data');

  // Run id -> its no and graph_id. Only committed runs go in, and runs are never deleted, so an
  // entry stays right (but for graph_id, which a commit can change: a failed commit clears it all).
  const runRefs = new Map<string, RunRef>();
  function remember(id: string, ref: RunRef): RunRef {
    if (runRefs.size >= RUN_REF_CACHE) runRefs.clear();
    runRefs.set(id, ref);
    return ref;
  }
  function requireRun(id: string): RunRef {
    const cached = runRefs.get(id);
    if (cached) return cached;
    const row = findRun.get(id);
    // INTERNAL: the event log creates every run before it commits anything of it.
    if (!row) throw new AppError('INTERNAL', `run ${id} does not exist; createRun must come before committing its events, nodes or checkpoints`);
    return remember(id, { no: row.no, graphId: row.graph_id });
  }

  function writeNodes(rows: ReadonlyArray<{ no: number; node: NodeSnapshot }>): void {
    for (let start = 0; start < rows.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, rows.length);
      const params: unknown[] = [];
      for (let i = start; i < end; i++) {
        const { no, node } = rows[i]!;
        params.push(no, node.nodeId, JSON.stringify(nodeData(node)));
      }
      upsertNodes(end - start).run(params);
    }
  }

  const createRunTx = db.transaction(function createRunTx(run: RunRecord, nodes: NodeSnapshot[]): RunRef {
    // Untouched PENDING nodes (most of them, at creation) are only listed in the run row; the
    // others get node rows. The last snapshot of a repeated node id counts.
    const pending: string[] = [];
    const touched: NodeSnapshot[] = [];
    for (const node of new Map(nodes.map((n) => [n.nodeId, n])).values()) {
      if (isUntouched(node)) pending.push(node.nodeId);
      else touched.push(node);
    }
    const [, graphId, status, priority, data, createdAt, updatedAt] = runParams(run);
    const result = insertRun.run(run.id, graphId, status, priority, data, createdAt, updatedAt, JSON.stringify(pending));
    if (result.changes === 0) throw new AppError('INVALID_INPUT', `run ${run.id} already exists`);
    const no = Number(result.lastInsertRowid);
    writeNodes(touched.map((node) => ({ no, node })));
    return { no, graphId };
  });

  const commitTx = db.transaction(function commitTx(batch: CommitBatch) {
    // A batch holds long runs of one run's events: look its ref up once per run of them.
    let lastId: string | undefined;
    let last: RunRef | undefined;
    const refOf = (runId: string): RunRef => {
      if (runId !== lastId || !last) {
        last = requireRun(runId);
        lastId = runId;
      }
      return last;
    };
    const { events } = batch;
    for (let start = 0; start < events.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, events.length);
      const params: unknown[] = [];
      for (let i = start; i < end; i++) {
        const event = events[i]!;
        const run = refOf(event.runId);
        params.push(run.no, event.seq, event.type, toEventData(event, run.graphId));
      }
      if (insertEvents(end - start).run(params).changes !== end - start) {
        // INTERNAL: only the event log assigns seqs, so a repeat means two writers or a bug there.
        const chunk = events.slice(start, end);
        const taken = chunk.find((event) => findEvent.get(refOf(event.runId).no, event.seq) !== undefined) ?? chunk[0]!;
        throw new AppError('INTERNAL', `run ${taken.runId} already has an event with seq ${taken.seq}; events are append-only`);
      }
    }
    for (const run of batch.runs) {
      const target = refOf(run.id);
      const [, graphId, status, priority, data, createdAt, updatedAt] = runParams(run);
      if (graphId !== target.graphId) {
        const stored = findRun.get(run.id)?.graph_id;
        if (stored !== undefined && stored !== graphId) {
          keepGraphId.run(stored, target.no);
          moveRun.run(graphId, target.no);
        }
        target.graphId = graphId;
      }
      updateRun.run(status, priority, data, createdAt, updatedAt, target.no);
    }
    writeNodes(batch.nodes.map((node) => ({ no: refOf(node.runId).no, node })));
    for (const cp of batch.checkpoints) upsertCheckpoint.run(refOf(cp.runId).no, cp.step, JSON.stringify(checkpointData(cp)));
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
      statement = db.prepare<ListParams, RunRow>(`SELECT ${RUN_COLUMNS} FROM runs ${key ? `WHERE ${key}` : ''} ORDER BY id DESC LIMIT @limit`);
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
      // Remembered only once committed: a rolled-back insert's no may be given to another run.
      remember(run.id, createRunTx(run, nodes));
    },
    async getRun(id) {
      const row = getRun.get(id);
      return row && toRun(row);
    },
    async getNodes(runId) {
      return getNodes.all({ id: runId }).map((row) => (row.data === null ? newNodeSnapshot(row.node_id) : { nodeId: row.node_id, ...(JSON.parse(row.data) as NodeData) }));
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
      try {
        commitTx(batch);
      } catch (error) {
        // The transaction rolled back, but a graph_id change may already be in runRefs.
        runRefs.clear();
        throw error;
      }
    },
    async readEvents(runId, afterSeq, limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new AppError('INVALID_INPUT', `limit must be an integer of 0 or more, got ${String(limit)}`);
      // graph_id from the row, not runRefs: another connection may have changed it.
      const run = findRun.get(runId);
      if (!run) return [];
      return readEvents.all(run.no, afterSeq, limit).map((row) => toEvent(row, runId, run.graph_id));
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

/** `rows` -> a prepared `head VALUES tuple, tuple, … tail` of that many tuples, each prepared on first use. */
function multiRowStatement(db: Database.Database, head: string, tuple: string, tail: string): (rows: number) => Database.Statement<unknown[]> {
  const statements = new Map<number, Database.Statement<unknown[]>>();
  return function statementFor(rows) {
    let statement = statements.get(rows);
    if (!statement) {
      statement = db.prepare<unknown[]>(`${head} VALUES ${Array(rows).fill(tuple).join(', ')} ${tail}`);
      statements.set(rows, statement);
    }
    return statement;
  };
}

/**
 * An event's `data` column: the event without the fields kept elsewhere (runId, seq, type), and
 * without graphId when it is the run's (as every event the engine writes has it).
 */
function toEventData(event: RunEvent, runGraphId: string): string {
  const { runId: _runId, seq: _seq, type: _type, graphId, ...data } = event;
  if (graphId !== runGraphId) (data as Record<string, unknown>)['graphId'] = graphId;
  return JSON.stringify(data);
}

/**
 * A stored event made whole again and validated. The keys come back in the order the engine's
 * emitter gives them (type first, runId and graphId just before at, seq last), so a replayed event
 * serializes to the same JSON as the live one did.
 */
function toEvent(row: EventRow, runId: string, graphId: string): RunEvent {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch (error) {
    throw new AppError('INVALID_INPUT', `event ${runId}#${row.seq} is not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(data)) throw new AppError('INVALID_INPUT', `event ${runId}#${row.seq} must be an object`);
  const event: Record<string, unknown> = { type: row.type };
  for (const key of Object.keys(data)) {
    if (key === 'at') {
      event['runId'] = runId;
      event['graphId'] = graphId;
    }
    // An assignment to '__proto__' would set the prototype instead of adding the key.
    if (key === '__proto__') Object.defineProperty(event, key, { value: data[key], enumerable: true, writable: true, configurable: true });
    else event[key] = data[key];
  }
  event['runId'] = runId;
  event['graphId'] ??= graphId;
  event['seq'] = row.seq;
  return decodeEvent(event);
}

/** True for a node exactly as newNodeSnapshot makes it, which createRun stores as just its id. */
function isUntouched(node: NodeSnapshot): boolean {
  const data = nodeData(node);
  return UNTOUCHED_KEYS.every((key) => data[key] === UNTOUCHED[key]);
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
