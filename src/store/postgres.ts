import { DatabaseError, Pool, type PoolClient } from 'pg';
import { AppError } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';
import { loadMigrations } from './migrate.ts';
import { checkPage, retentionCutoff } from './page.ts';
import { checkpointData, nodeData, runParams, toCheckpoint, toEvent, toEventData, toGraph, toRun, type EventRow, type GraphRow, type NodeData, type RunRow } from './rows.ts';
import type { Checkpoint, CommitBatch, Store } from './types.ts';

export interface PostgresStoreOptions {
  /**
   * The PostgreSQL schema that holds the tables, created if missing; every pooled connection gets
   * it as its search_path (an `options` parameter in the URL would take its place). Lowercase
   * letters, digits and `_`, at most 63. Default: none, the server's search_path (usually public).
   */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
}

export interface PostgresStore extends Store {
  /** The URL the store was opened with, its password replaced by `***`. */
  readonly url: string;
  readonly schema: string | undefined;
}

/** A run as the writes need it: its key in the other tables (int8, kept as pg's string) and its graph. */
interface RunRef { no: string; graphId: string }

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** The advisory lock that serializes migrating, whichever schema: any constant of our own. */
const MIGRATION_LOCK = 0x666c6f77; // 'flow'
const RUN_COLUMNS = 'id, graph_id, status, priority, data, created_at, updated_at';

/**
 * A whole CommitBatch as one statement, so atomic without a transaction and one round trip: each
 * part is a data-modifying CTE over unnest() of its columns (an empty part inserts nothing). A
 * repeated (run_no, seq) fails it on events_pkey.
 */
const COMMIT = `WITH new_events AS (
    INSERT INTO events (run_no, seq, type, data) SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[])
  ), run_rows AS (
    UPDATE runs SET graph_id = u.graph_id, status = u.status, priority = u.priority, data = u.data, created_at = u.created_at, updated_at = u.updated_at,
      finished_at = u.finished_at
    FROM unnest($5::bigint[], $6::text[], $7::text[], $8::integer[], $9::text[], $10::text[], $11::text[], $12::text[])
      AS u(no, graph_id, status, priority, data, created_at, updated_at, finished_at)
    WHERE runs.no = u.no
  ), node_rows AS (
    INSERT INTO nodes (run_no, node_id, data) SELECT * FROM unnest($13::bigint[], $14::text[], $15::text[])
    ON CONFLICT (run_no, node_id) DO UPDATE SET data = excluded.data
  ), checkpoint_rows AS (
    INSERT INTO checkpoints (run_no, step, data) SELECT * FROM unnest($16::bigint[], $17::integer[], $18::text[])
    ON CONFLICT (run_no, step) DO UPDATE SET data = excluded.data
  ), blob_rows AS (
    INSERT INTO blobs (run_no, ref, data) SELECT * FROM unnest($19::bigint[], $20::text[], $21::text[])
    ON CONFLICT (run_no, ref) DO NOTHING
  ) SELECT 1`;
/**
 * Store.deleteFinishedBefore as one statement, so each run goes whole: the oldest finished runs
 * ($1: before, $2: limit) and every row of theirs. SKIP LOCKED: a run another transaction is
 * writing is left for the next sweep instead of waited for.
 */
const DELETE_EXPIRED = `WITH expired AS (
    SELECT no FROM runs WHERE finished_at < $1 AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')
    ORDER BY finished_at, no LIMIT $2 FOR UPDATE SKIP LOCKED
  ), event_rows AS (
    DELETE FROM events WHERE run_no IN (SELECT no FROM expired)
  ), node_rows AS (
    DELETE FROM nodes WHERE run_no IN (SELECT no FROM expired)
  ), checkpoint_rows AS (
    DELETE FROM checkpoints WHERE run_no IN (SELECT no FROM expired)
  ), blob_rows AS (
    DELETE FROM blobs WHERE run_no IN (SELECT no FROM expired)
  ) DELETE FROM runs WHERE no IN (SELECT no FROM expired)`;
/**
 * Events leave graphId out when it is their run's (see toEventData). Before a run moves to another
 * graph, its events without one ($3: the seqs that have their own) get the old one ($1) appended,
 * keeping their key order.
 */
const KEEP_GRAPH_ID = `UPDATE events SET data = left(data, -1) || CASE WHEN data = '{}' THEN '' ELSE ',' END || '"graphId":' || to_json($1::text)::text || '}'
  WHERE run_no = $2 AND NOT (seq = ANY($3::integer[]))`;

/**
 * Opens a pool on a `postgres://` or `postgresql://` URL as a Store and applies pending migrations
 * of `migrations/postgres` in one transaction that holds an advisory lock, so processes starting
 * at once against one database migrate it once, in turn; each applied file is recorded in
 * `schema_migrations`. Throws AppError INVALID_CONFIG for a bad URL, schema or pool size, for a database
 * migrated by a newer Flowcast, and when the database cannot be reached (naming the URL without its
 * password). The pool is closed on any throw.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const shown = redactPassword(url);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new AppError('INVALID_CONFIG', `PostgreSQL URL must start with postgres:// or postgresql://, got ${JSON.stringify(shown)}`);
  const { schema, poolSize = 10 } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new AppError('INVALID_CONFIG', `schema ${JSON.stringify(schema)} must be lowercase letters, digits and _, not starting with a digit, at most 63 characters`);
  }
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new AppError('INVALID_CONFIG', `poolSize must be an integer of 1 or more, got ${String(poolSize)}`);
  const pool = new Pool({ connectionString: url, max: poolSize, ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}) });
  // An idle connection that the server drops is removed from the pool; the next query opens another.
  pool.on('error', (error) => console.error(`flowcast: idle PostgreSQL connection to ${shown} failed: ${error.message}`));
  try {
    await migrate(pool, schema, shown);
  } catch (error) {
    await pool.end();
    if (error instanceof AppError) throw error;
    // The server's own errors (no such database, authentication failed, …) say what is wrong;
    // the others are the network's.
    const hint = error instanceof DatabaseError ? '' : '; check the URL and that the server is up';
    throw new AppError('INVALID_CONFIG', `cannot open the PostgreSQL store at ${shown}: ${(error as Error).message}${hint}`, {}, { cause: error });
  }
  return createStore(pool, shown, schema);
}

async function migrate(pool: Pool, schema: string | undefined, shown: string): Promise<void> {
  const migrations = loadMigrations('postgres');
  await transaction(pool, async function applyPendingMigrations(client) {
    // Concurrent starters queue here (CREATE … IF NOT EXISTS alone races); the lock ends with the transaction.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
    const current = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
    if (current > migrations.length) {
      throw new AppError('INVALID_CONFIG', `database ${shown}${schema ? ` (schema ${schema})` : ''} is at schema version ${current}, newer than this Flowcast knows (${migrations.length}); upgrade Flowcast or use another database`);
    }
    for (const migration of migrations.slice(current)) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
    }
  });
}

function createStore(pool: Pool, url: string, schema: string | undefined): PostgresStore {
  /** Every run the batch names, looked up in one query; INTERNAL naming the first that createRun never stored. */
  async function requireRuns(batch: CommitBatch): Promise<Map<string, RunRef>> {
    const ids = [...new Set([...batch.events.map((e) => e.runId), ...batch.runs.map((r) => r.id), ...batch.nodes.map((n) => n.runId), ...batch.checkpoints.map((c) => c.runId),
      ...(batch.blobs ?? []).map((b) => b.runId)])];
    const refs = new Map<string, RunRef>();
    if (ids.length === 0) return refs;
    const { rows } = await pool.query<{ id: string; no: string; graph_id: string }>('SELECT id, no, graph_id FROM runs WHERE id = ANY($1::text[])', [ids]);
    for (const row of rows) refs.set(row.id, { no: row.no, graphId: row.graph_id });
    const missing = ids.find((id) => !refs.has(id));
    // INTERNAL: the event log creates every run before it commits anything of it.
    if (missing !== undefined) throw new AppError('INTERNAL', `run ${missing} does not exist; createRun must come before committing its events, nodes or checkpoints`);
    return refs;
  }

  /** Before runs move to another graph: see KEEP_GRAPH_ID. */
  async function keepGraphIds(client: PoolClient, moved: RunRef[]): Promise<void> {
    for (const run of moved) {
      // Which events have their own graphId is for JSON.parse to say: PostgreSQL's json functions
      // refuse \u0000 and lone surrogates, which JSON.stringify writes.
      const { rows } = await client.query<{ seq: number; data: string }>(`SELECT seq, data FROM events WHERE run_no = $1 AND strpos(data, '"graphId"') > 0`, [run.no]);
      const own = rows.filter((row) => Object.hasOwn(JSON.parse(row.data) as object, 'graphId')).map((row) => row.seq);
      await client.query(KEEP_GRAPH_ID, [run.graphId, run.no, own]);
    }
  }

  return {
    url,
    schema,
    async saveGraph(graph) {
      const { rows } = await pool.query<GraphRow>(`INSERT INTO graphs (id, name, description, spec, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, spec = excluded.spec,
          version = graphs.version + 1, updated_at = excluded.updated_at
        RETURNING *`, [graph.id, graph.name, graph.description, JSON.stringify(graph.spec), new Date().toISOString()]);
      if (!rows[0]) throw new AppError('INTERNAL', `saving graph ${graph.id} returned no row`);
      return toGraph(rows[0]);
    },
    async getGraph(id) {
      const { rows } = await pool.query<GraphRow>('SELECT * FROM graphs WHERE id = $1', [id]);
      return rows[0] && toGraph(rows[0]);
    },
    async listGraphs() {
      return (await pool.query<GraphRow>('SELECT * FROM graphs ORDER BY id')).rows.map(toGraph);
    },
    async deleteGraph(id) {
      return ((await pool.query('DELETE FROM graphs WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    async createRun(run, nodes) {
      // One statement, so atomic without a transaction; the last snapshot of a repeated node id counts.
      const unique = [...new Map(nodes.map((n) => [n.nodeId, n])).values()];
      const { rows } = await pool.query(`WITH r AS (
          INSERT INTO runs (id, graph_id, status, priority, data, created_at, updated_at, concurrency_key, idempotency_key, finished_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $11, $12) ON CONFLICT (id) DO NOTHING RETURNING no
        ), n AS (
          INSERT INTO nodes (run_no, node_id, data) SELECT r.no, u.node_id, u.data FROM r, unnest($8::text[], $9::text[]) AS u(node_id, data)
        ) SELECT no FROM r`, [...runParams(run), unique.map((n) => n.nodeId), unique.map((n) => JSON.stringify(nodeData(n))), run.concurrencyKey, run.idempotencyKey, run.finishedAt])
        .catch((error: unknown) => {
          if (error instanceof DatabaseError && error.constraint === 'runs_idempotency_key') {
            throw new AppError('INVALID_INPUT', `idempotencyKey ${JSON.stringify(run.idempotencyKey)} already names another run`);
          }
          throw error;
        });
      if (rows.length === 0) throw new AppError('INVALID_INPUT', `run ${run.id} already exists`);
    },
    async getRun(id) {
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
      return rows[0] && toRun(rows[0]);
    },
    async getNodes(runId) {
      const { rows } = await pool.query<{ node_id: string; data: string }>('SELECT n.node_id, n.data FROM runs r JOIN nodes n ON n.run_no = r.no WHERE r.id = $1 ORDER BY n.node_id', [runId]);
      return rows.map((row) => ({ nodeId: row.node_id, ...(JSON.parse(row.data) as NodeData) }));
    },
    async listRuns(filter, page) {
      checkPage(page);
      const params: unknown[] = [page.first + 1];
      const where: string[] = [];
      // An empty status list, like an absent one, does not filter (as in MemoryStore).
      if (filter.status?.length) where.push(`status = ANY($${params.push(filter.status)}::text[])`);
      if (filter.graphId !== undefined) where.push(`graph_id = $${params.push(filter.graphId)}`);
      if (filter.concurrencyKey !== undefined) where.push(`concurrency_key = $${params.push(filter.concurrencyKey)}`);
      if (filter.idempotencyKey !== undefined) where.push(`idempotency_key = $${params.push(filter.idempotencyKey)}`);
      if (page.after !== undefined) where.push(`id < $${params.push(page.after)}`);
      const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1`, params);
      return { items: rows.slice(0, page.first).map(toRun), hasMore: rows.length > page.first };
    },
    async commit(batch) {
      const refs = await requireRuns(batch);
      if (refs.size === 0) return;
      const ref = (runId: string): RunRef => refs.get(runId)!;
      const moved: RunRef[] = [];
      // Rows repeated within the batch would make one upsert touch a row twice: the last one counts.
      const runs = lastOf(batch.runs, (r) => r.id).map(function runRow(run) {
        const [, graphId, ...rest] = runParams(run);
        if (graphId !== ref(run.id).graphId) moved.push(ref(run.id));
        return [ref(run.id).no, graphId, ...rest, run.finishedAt];
      });
      const params = [
        ...columnsOf(batch.events.map((e) => [ref(e.runId).no, e.seq, e.type, toEventData(e, ref(e.runId).graphId)]), 4),
        ...columnsOf(runs, 8),
        ...columnsOf(lastOf(batch.nodes, (n) => `${n.runId}\n${n.nodeId}`).map((n) => [ref(n.runId).no, n.nodeId, JSON.stringify(nodeData(n))]), 3),
        ...columnsOf(lastOf(batch.checkpoints, (c) => `${c.runId}\n${c.step}`).map((c) => [ref(c.runId).no, c.step, JSON.stringify(checkpointData(c))]), 3),
        ...columnsOf(lastOf(batch.blobs ?? [], (b) => `${b.runId}\n${b.ref}`).map((b) => [ref(b.runId).no, b.ref, b.json]), 3),
      ];
      try {
        if (moved.length === 0) await pool.query(COMMIT, params);
        else {
          await transaction(pool, async function commitAndMove(client) {
            await client.query(COMMIT, params);
            await keepGraphIds(client, moved);
          });
        }
      } catch (error) {
        if (!(error instanceof DatabaseError && error.constraint === 'events_pkey')) throw error;
        // INTERNAL: only the event log assigns seqs, so a repeat means two writers or a bug there.
        const [, no, seq] = /\(run_no, seq\)=\((\d+), (\d+)\)/.exec(error.detail ?? '') ?? [];
        const runId = [...refs].find(([, r]) => r.no === no)?.[0];
        const which = runId !== undefined ? `run ${runId} already has an event with seq ${seq}` : 'an event of this batch repeats a stored (runId, seq)';
        throw new AppError('INTERNAL', `${which}; events are append-only`, {}, { cause: error });
      }
    },
    async readEvents(runId, afterSeq, limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new AppError('INVALID_INPUT', `limit must be an integer of 0 or more, got ${String(limit)}`);
      const { rows } = await pool.query<EventRow & { graph_id: string }>(`SELECT r.graph_id, e.seq, e.type, e.data FROM runs r JOIN events e ON e.run_no = r.no
        WHERE r.id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`, [runId, afterSeq, limit]);
      return rows.map((row) => toEvent(row, runId, row.graph_id));
    },
    async readBlob(runId, ref) {
      const { rows } = await pool.query<{ data: string }>('SELECT b.data FROM runs r JOIN blobs b ON b.run_no = r.no WHERE r.id = $1 AND b.ref = $2', [runId, ref]);
      return rows[0] && (JSON.parse(rows[0].data) as JsonValue);
    },
    async lastSeq(runId) {
      const { rows } = await pool.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE run_no = (SELECT no FROM runs WHERE id = $1)', [runId]);
      return rows[0]?.seq ?? 0;
    },
    async latestCheckpoint(runId): Promise<Checkpoint | undefined> {
      const { rows } = await pool.query<{ step: number; data: string }>('SELECT step, data FROM checkpoints WHERE run_no = (SELECT no FROM runs WHERE id = $1) ORDER BY step DESC LIMIT 1', [runId]);
      return rows[0] && toCheckpoint(runId, rows[0].step, rows[0].data);
    },
    async deleteFinishedBefore(before, limit) {
      return (await pool.query(DELETE_EXPIRED, [retentionCutoff(before, limit), limit])).rowCount ?? 0;
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}

/** Runs `work` in a transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it throws. */
async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is dropped instead of going back to the pool.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Row tuples -> one array per column, the parameters of `SELECT * FROM unnest($1::…[], $2::…[], …)`. */
function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const columns = Array.from({ length: width }, (): unknown[] => []);
  for (const row of rows) for (let i = 0; i < width; i++) columns[i]!.push(row[i]);
  return columns;
}

/** The items in order, but only the last of each key. */
function lastOf<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
