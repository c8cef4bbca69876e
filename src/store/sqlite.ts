import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';
import { FINISHED_STATUSES, foldNodes, newNodeSnapshot, toRecord, type NodeSnapshot, type RunRecord, type RunStatus } from '../events/snapshot.ts';
import { loadMigrations } from './migrate.ts';
import { WalCheckpointer } from './wal.ts';
import { SqliteEvents } from './sqlite-events.ts';
import { repairUnlisted, RunListing } from './sqlite-listing.ts';
import { groupByRun, multiRowStatement, RefLookup, type RunRef } from './sqlite-parts.ts';
import { checkpointData, nodeData, nodeJson, nodesJson, runParams, toGraph, toRun, toCheckpoint, type GraphRow, type NodeData, type RunParams, type RunRow } from './rows.ts';
import { byCodePoint, checkPage, retentionCutoff } from './page.ts';
import type { CommitBatch, NodeRow, Page, PageRequest, RunFilter, Store } from './types.ts';

export interface SqliteStoreOptions {
  /** How long a statement waits for another connection's write lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * WAL frames not yet in the database at which a thread of the store's copies them there (see
   * WalCheckpointer), once the store has committed WAL_THREAD_AFTER_COMMITS times. Default 1000; 0
   * leaves every checkpoint to the writing connection. Files only, not ':memory:' or URIs.
   */
  walCheckpointFrames?: number;
}

export interface SqliteStore extends Store {
  /** The path the store was opened with (may be ':memory:'). */
  readonly path: string;
}

type InsertRunParams = [...RunParams, nodes: string, foldSeq: number | null, concurrencyKey: string | null, idempotencyKey: string | null, finishedAt: string | null];
type UpdateRunParams = [status: RunStatus, priority: number, data: string, createdAt: string, updatedAt: string, finishedAt: string | null, no: number];
interface ListParams { status?: string; graphId?: string; concurrencyKey?: string; idempotencyKey?: string; after?: string; limit: number }

/**
 * WAL pages after which a commit checkpoints (copies them into the database file and syncs both),
 * which lets the next commit write the log from its beginning again: about 40 MB. A checkpoint's
 * syncs cost the same however much it copies, and a page written by many commits (a run row, the
 * last page of the events) is copied once, so with SQLite's default of 1000 checkpoints took a
 * large share of a write-heavy log's time. A file's WAL checkpoint thread (walCheckpointFrames)
 * copies most of the pages before that, so that this commit copies only the last ones.
 */
const WAL_AUTOCHECKPOINT = 10_000;
/** Commits after which a file's store starts its WAL checkpoint thread: one that writes little needs none. */
const WAL_THREAD_AFTER_COMMITS = 100;
/**
 * How long a transaction that createRun began may stay open with no commit ending it (see
 * createRun): about the log's longest wait before a commit. Short, because until it ends no
 * checkpoint can copy the frames committed after its snapshot.
 */
const OPEN_TRANSACTION_MS = 5;
/** Rows per multi-row INSERT of node rows. */
const CHUNK = 64;
/**
 * A run's nodes are kept as the fold of its events (see foldedRuns) only while its last seq is at
 * most this: reading them reads and folds every event, about 1.2 µs each here, so at most some 12 ms.
 */
const FOLD_MAX_SEQ = 10_000;
/** runRefs starts over when it holds this many runs. */
const RUN_REF_CACHE = 50_000;
const RUN_COLUMNS = 'id, graph_id, status, priority, data, created_at, updated_at';

/**
 * A run as createRun was called: a copy of its record, and its nodes serialized then (the engine
 * goes on changing its snapshots). The record is serialized when the run is first written, which
 * for a short run is with the record the commit carries, so never (see insertRunRows); createRun
 * checks that its input and state can be.
 */
interface Creation {
  record: RunRecord;
  /** Node id -> its NodeData as JSON, or null for a node as newNodeSnapshot makes it; the last snapshot of a repeated id counts. */
  nodes: Map<string, string | null>;
  /** Every node createRun was given is as newNodeSnapshot makes it (a condition of keeping the nodes as a fold, see insertRunRows). */
  untouched: boolean;
}

/**
 * Opens (creating it and its parent directories if needed) a SQLite database file as a Store, or
 * an in-memory one for ':memory:'. Sets WAL journaling, synchronous NORMAL, a checkpoint every
 * WAL_AUTOCHECKPOINT pages (instead of 1000, and after 100 commits mostly done by a thread, see
 * walCheckpointFrames) and a busy timeout, then applies pending migrations of
 * `migrations/sqlite` in one IMMEDIATE transaction, recording each in `schema_migrations`. Throws AppError INVALID_CONFIG when the file was migrated by a newer
 * Flowcast (it knows more migrations than this build has). The connection is closed on any throw.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const frames = options.walCheckpointFrames ?? 1000;
  if (!Number.isInteger(frames) || frames < 0) throw new AppError('INVALID_CONFIG', `walCheckpointFrames must be an integer of 0 or more, got ${String(frames)}`);
  const isFile = path !== '' && path !== ':memory:' && !path.startsWith('file:');
  if (isFile) mkdirSync(dirname(resolve(path)), { recursive: true });
  // `timeout` is SQLite's busy_timeout; better-sqlite3 rejects a negative or fractional one.
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
    migrate(db, path);
    repairUnlisted(db);
    return createStore(db, path, isFile && frames > 0 ? new WalCheckpointer({ path: resolve(path), frames, busyTimeoutMs }) : undefined);
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

function createStore(db: Database.Database, path: string, walCheckpointer: WalCheckpointer | undefined): SqliteStore {
  const saveGraph = db.prepare<Record<string, string>, GraphRow>(`INSERT INTO graphs (id, name, description, spec, version, created_at, updated_at)
    VALUES (@id, @name, @description, @spec, 1, @now, @now)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, spec = excluded.spec,
      version = graphs.version + 1, updated_at = excluded.updated_at
    RETURNING *`);
  const getGraph = db.prepare<[string], GraphRow>('SELECT * FROM graphs WHERE id = ?');
  const listGraphs = db.prepare<[], GraphRow>('SELECT * FROM graphs ORDER BY id');
  const deleteGraph = db.prepare<[string]>('DELETE FROM graphs WHERE id = ?');
  const insertRun = db.prepare<InsertRunParams>(`INSERT INTO runs (id, graph_id, status, priority, data, created_at, updated_at, pending, nodes, fold_seq, concurrency_key, idempotency_key, finished_at, listed)
    VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING`);
  const findIdempotent = db.prepare<[string], { id: string }>('SELECT id FROM runs WHERE idempotency_key = ?');
  const updateRun = db.prepare<UpdateRunParams>('UPDATE runs SET status = ?, priority = ?, data = ?, created_at = ?, updated_at = ?, finished_at = ? WHERE no = ?');
  // Apart from updateRun because a column in a SET rewrites its index entries even when its value
  // stays, and a run's graph practically never changes.
  const moveRun = db.prepare<[string, number]>('UPDATE runs SET graph_id = ? WHERE no = ?');
  const findRun = db.prepare<[string], { no: number; graph_id: string; fold_seq: number | null }>('SELECT no, graph_id, fold_seq FROM runs WHERE id = ?');
  const setFoldSeq = db.prepare<[number, number]>('UPDATE runs SET fold_seq = ? WHERE no = ?');
  const unfold = db.prepare<[string, number]>('UPDATE runs SET nodes = ?, fold_seq = NULL WHERE no = ?');
  const getRun = db.prepare<[string], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`);
  // A run's nodes: those in its row (`pending` before migration 005, `nodes` since), and its node rows, which win.
  const getRunNodes = db.prepare<[string], { no: number; graph_id: string; pending: string; nodes: string | null; fold_seq: number | null }>('SELECT no, graph_id, pending, nodes, fold_seq FROM runs WHERE id = ?');
  const getNodeRows = db.prepare<[number], { node_id: string; data: string }>('SELECT node_id, data FROM nodes WHERE run_no = ?');
  const events = new SqliteEvents(db);
  const lastSeq = db.prepare<[string], { seq: number | null }>(`SELECT (SELECT last_seq FROM events WHERE key >= r.no << 32 AND key < (r.no + 1) << 32 ORDER BY key DESC LIMIT 1) AS seq
    FROM runs r WHERE r.id = ?`);
  const upsertCheckpoint = db.prepare<[number, number, string]>(`INSERT INTO checkpoints (run_no, step, data) VALUES (?, ?, ?)
    ON CONFLICT (run_no, step) DO UPDATE SET data = excluded.data`);
  const latestCheckpoint = db.prepare<[string], { step: number; data: string }>(`SELECT step, data FROM checkpoints
    WHERE run_no = (SELECT no FROM runs WHERE id = ?) ORDER BY step DESC LIMIT 1`);
  const findExpired = db.prepare<[string, number], { no: number; id: string }>(`SELECT no, id FROM runs
    WHERE finished_at < ? AND status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND listed = 1 ORDER BY finished_at, no LIMIT ?`);
  // DO NOTHING: a blob is named by its content, so one already stored is the same.
  const insertBlob = db.prepare<[number, string, string]>('INSERT INTO blobs (run_no, ref, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const readBlob = db.prepare<[string, string], { data: string }>('SELECT b.data FROM runs r JOIN blobs b ON b.run_no = r.no WHERE r.id = ? AND b.ref = ?');
  const deleteRunRows = [
    db.prepare<{ no: number }>('DELETE FROM events WHERE key >= @no << 32 AND key < (@no + 1) << 32'),
    ...['nodes', 'checkpoints', 'blobs'].map((table) => db.prepare<{ no: number }>(`DELETE FROM ${table} WHERE run_no = @no`)),
    db.prepare<{ no: number }>('DELETE FROM runs WHERE no = @no'),
  ];
  // One statement per filter shape (at most 8), prepared on first use; the status list is bound as JSON.
  // An empty status list, like an absent one, does not filter (as in MemoryStore).
  const listStatements = new Map<string, Database.Statement<ListParams, RunRow>>();
  // Node rows go in as multi-row INSERTs of up to CHUNK rows: one statement call per chunk instead
  // of per row is most of the cost of a write-heavy run.
  const upsertNodes = multiRowStatement(db, 'INSERT INTO nodes (run_no, node_id, data)', '(?, ?, ?)', 'ON CONFLICT (run_no, node_id) DO UPDATE SET data = excluded.data');

  // Run id -> its no and graph_id. Only committed runs go in, and only finished runs are deleted
  // (which forgets them), so an entry stays right (but for graph_id, which a commit can change: a
  // failed commit clears it all). A run deleted by another connection may leave an entry behind,
  // whose no SQLite can give to a new run; but nothing commits for a finished run.
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
    return remember(id, { no: row.no, graphId: row.graph_id, foldSeq: row.fold_seq });
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

  function prepareCreation(run: RunRecord, nodes: NodeSnapshot[]): Creation {
    const packed = new Map<string, string | null>();
    let untouched = true;
    for (const node of nodes) {
      const json = nodeJson(node);
      packed.set(node.nodeId, json);
      if (json !== null) untouched = false;
    }
    // What JSON.stringify throws on (a BigInt, a cycle) fails createRun, not the commit that writes the run.
    if (!isEmptyObject(run.input)) JSON.stringify(run.input);
    if (!isEmptyObject(run.state)) JSON.stringify(run.state);
    return { record: toRecord(run), nodes: packed, untouched };
  }

  /**
   * Inserts a created run's row with its nodes in it (no node rows). Within a commit, `latest` is
   * the batch's record of the run, `rows` its node rows and `lastSeq` the seq of its last event in
   * the commit, so the row goes in as it ends that commit: one insert instead of an insert, an
   * update and node rows. A run whose nodes the batch says are the fold of its events (`folded`)
   * and were created untouched keeps only its node ids (see migration 008 and foldedRuns).
   */
  function insertRunRows(creation: Creation, latest?: RunRecord, rows?: NodeRow[], lastSeq?: number, folded = false): RunRef {
    const record = latest ?? creation.record;
    const [id, graphId, status, priority, data, createdAt, updatedAt] = runParams(record);
    let packed: string;
    let foldSeq: number | null = null;
    if (folded && creation.untouched && (lastSeq ?? 0) <= FOLD_MAX_SEQ) {
      packed = JSON.stringify([...creation.nodes.keys()]);
      foldSeq = lastSeq ?? 0;
    } else {
      let nodes = creation.nodes;
      if (rows) {
        nodes = new Map(nodes);
        for (const row of rows) nodes.set(row.nodeId, JSON.stringify(nodeData(row)));
      }
      packed = nodesJson(nodes);
    }
    const { concurrencyKey, idempotencyKey } = creation.record;
    const result = insertRun.run(id, graphId, status, priority, data, createdAt, updatedAt, packed, foldSeq, concurrencyKey, idempotencyKey, record.finishedAt);
    if (result.changes === 0) throw new AppError('INVALID_INPUT', `run ${id} already exists`);
    const no = Number(result.lastInsertRowid);
    listing.inserted(no);
    return { no, graphId, foldSeq };
  }

  /**
   * The runs, among those a commit writes to that were created before it, whose nodes the store
   * keeps as the fold of their events: their node ids in the run row and fold_seq, the seq of
   * their last event, with no node rows. So a long run's commits write no node rows at all, as a
   * short run's single commit does not (migration 008); 1,000 node rows were a third of a
   * 1,000-node chain's time. A run stays so while every commit names it `folded` (the event log
   * does while it appended every event of the run and stored no update apart): such commits skip
   * its rows and move fold_seq to their last event. The first commit that writes rows or events
   * for it without naming it, or past FOLD_MAX_SEQ, first writes its nodes, folded, into the run
   * row, and sets fold_seq to NULL: rows and events after fold_seq are not in the fold.
   */
  function foldedRuns(batch: CommitBatch, refOf: (runId: string) => RunRef, fresh: ReadonlyMap<string, RunRef>, written: ReadonlyMap<string, number>): Set<string> {
    const keep = new Set<string>();
    for (const runId of written.keys()) checkFolded(runId, batch, refOf(runId), fresh, written, keep);
    for (const node of batch.nodes) checkFolded(node.runId, batch, refOf(node.runId), fresh, written, keep);
    return keep;
  }

  /** One run of foldedRuns: kept folded (added to `keep`, its fold_seq moved on) or unfolded. */
  function checkFolded(runId: string, batch: CommitBatch, ref: RunRef, fresh: ReadonlyMap<string, RunRef>, written: ReadonlyMap<string, number>, keep: Set<string>): void {
    if (fresh.has(runId) || keep.has(runId) || ref.foldSeq === null) return;
    const last = written.get(runId);
    if (batch.folded?.has(runId) && (last ?? 0) <= FOLD_MAX_SEQ) {
      keep.add(runId);
      if (last !== undefined) setFoldSeq.run((ref.foldSeq = last), ref.no);
    } else {
      unfold.run(foldedNodesJson(runId, ref.foldSeq), ref.no);
      ref.foldSeq = null;
    }
  }

  /** A folded run's nodes (its row's `nodes` being their ids), as its events up to `foldSeq` give them. */
  function foldedNodes(run: { no: number; graph_id: string; nodes: string | null }, runId: string, foldSeq: number): Map<string, NodeSnapshot> {
    return foldNodes(JSON.parse(run.nodes ?? '[]') as string[], events.read(run, runId, 0, Number.POSITIVE_INFINITY, foldSeq));
  }

  /** A folded run's nodes, as the run row keeps them when not folded: node id -> NodeData. */
  function foldedNodesJson(runId: string, foldSeq: number): string {
    const row = getRunNodes.get(runId);
    const nodes = row ? foldedNodes(row, runId, foldSeq) : new Map<string, NodeSnapshot>();
    return nodesJson(new Map(Array.from(nodes.values(), (node) => [node.nodeId, nodeJson(node)])));
  }

  /*
   * createRun does not write at once: a run is created to be run, and its first events follow
   * within the tick, so its rows go into that commit's transaction (one WAL commit per run, not
   * two). Every other method writes pending creations first, so this store's own readers never
   * miss a run; another connection sees it once anything is written or read here.
   *
   * createRun also begins that transaction and looks the id up in it, and the commit that writes
   * the run ends it: a look-up on its own was a read transaction of its own, locking and unlocking
   * a read mark of the -shm file again. A short run now takes 6 fcntl calls instead of 8, and its
   * SQLite variant of the engine bench about 2.5% less time.
   * The transaction is DEFERRED: until the commit it only reads, so it holds no lock that another
   * connection's writer would wait for. If one commits meanwhile, the first write here fails with
   * SQLITE_BUSY_SNAPSHOT and is made again in a transaction of its own (the insert's ON CONFLICT
   * still rejects an id that has been taken since). If no commit has ended it within
   * OPEN_TRANSACTION_MS (the log commits on the turn of the event loop it was given events),
   * `closer` settles it.
   */
  const creations = new Map<string, Creation>();
  let commits = 0;
  const beginReading = db.prepare('BEGIN');
  const beginWriting = db.prepare('BEGIN IMMEDIATE');
  const commitOpen = db.prepare('COMMIT');
  const rollbackOpen = db.prepare('ROLLBACK');
  /** A transaction that createRun began is open (holding only a snapshot until something writes). */
  let open = false;
  let closer: NodeJS.Timeout | undefined;
  /** Run rows not yet in the graph and retention indexes (migration 013), listed later, many at once. */
  const listing = new RunListing(db, listSoon);

  /** The listing timer fired: lists now, unless createRun's transaction is open, whose write lists them instead. */
  function listSoon(): void {
    if (open) return;
    try {
      listNow();
    } catch {
      // Still due: the next write lists them.
    }
  }

  /** Lists this connection's unlisted rows in a transaction of their own. */
  function listNow(): void {
    if (listing.pending) writeAndCommit(() => listing.listAll());
  }

  /** Begins the transaction that the next write (or `closer`) commits, unless one is open. */
  function openTransaction(): void {
    if (open) return;
    beginReading.run();
    open = true;
    if (closer) closer.refresh();
    else closer = setTimeout(settleQuietly, OPEN_TRANSACTION_MS).unref();
  }

  /**
   * Runs `write` in the open transaction, or in one of its own, and commits; rolls back on a
   * throw. `write` must write before it changes anything in memory: a stale snapshot fails its
   * first write, and then it runs again.
   */
  function writeAndCommit<T>(write: () => T): T {
    const wasOpen = open;
    if (!open) beginWriting.run();
    open = false;
    listing.begin();
    try {
      const result = write();
      commitOpen.run();
      listing.committed();
      return result;
    } catch (error) {
      // SQLite itself rolls back on some errors (a full disk, a busy COMMIT).
      if (db.inTransaction) rollbackOpen.run();
      if (wasOpen && error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY_SNAPSHOT') return writeAndCommit(write);
      throw error;
    }
  }

  /** Writes the pending creations and ends the open transaction; refs are remembered only once committed. */
  function settle(): void {
    if (creations.size > 0) {
      const created = writeAndCommit(() => {
        const refs = [...creations].map(([id, creation]): [string, RunRef] => [id, insertRunRows(creation)]);
        if (listing.due) listing.listAll();
        return refs;
      });
      creations.clear();
      for (const [id, ref] of created) remember(id, ref);
    } else if (open && listing.due) {
      writeAndCommit(() => listing.listAll());
    } else if (open) {
      open = false;
      commitOpen.run();
    }
  }

  /** `closer`'s settle: a failure leaves the creations pending for the next call that writes, which throws it. */
  function settleQuietly(): void {
    try {
      settle();
    } catch {
      // Rolled back by writeAndCommit; the creations are still pending.
    }
  }

  /** Writes a batch (not committing it); returns the refs of the runs it created that have not finished (a finished run commits nothing more). */
  function writeBatch(batch: CommitBatch): Array<[string, RunRef]> {
    const fresh = new Map<string, RunRef>();
    const unfinished: Array<[string, RunRef]> = [];
    if (creations.size > 0) {
      const latest = new Map<string, RunRecord>();
      for (const run of batch.runs) if (creations.has(run.id)) latest.set(run.id, run);
      const rows = groupByRun(batch.nodes, creations);
      // Only a created run's last seq of the commit is needed (fold_seq), not its events: found
      // from the end, where a batch of one run has it first.
      const lastSeqs = new Map<string, number>();
      for (let i = batch.events.length - 1; i >= 0 && lastSeqs.size < creations.size; i--) {
        const { runId, seq } = batch.events[i]!;
        if (creations.has(runId) && !lastSeqs.has(runId)) lastSeqs.set(runId, seq);
      }
      for (const [id, creation] of creations) {
        const record = latest.get(id);
        const ref = insertRunRows(creation, record, rows.get(id), lastSeqs.get(id), batch.folded?.has(id));
        fresh.set(id, ref);
        if (!FINISHED_STATUSES.includes((record ?? creation.record).status)) unfinished.push([id, ref]);
      }
    }
    const refs = new RefLookup(fresh, requireRun);
    // Bound, not an arrow: under tsx (esbuild keepNames) every named closure costs a defineProperty each time it is made.
    const refOf = refs.get.bind(refs);
    const written = events.write(batch.events, refOf, fresh);
    const folded = foldedRuns(batch, refOf, fresh, written);
    for (const run of batch.runs) {
      // A run created in this commit went in as the batch left it.
      if (fresh.has(run.id)) continue;
      const target = refOf(run.id);
      const [, graphId, status, priority, data, createdAt, updatedAt] = runParams(run);
      if (graphId !== target.graphId) {
        const stored = findRun.get(run.id)?.graph_id;
        if (stored !== undefined && stored !== graphId) {
          events.keepGraphId(stored, target.no);
          moveRun.run(graphId, target.no);
        }
        target.graphId = graphId;
      }
      updateRun.run(status, priority, data, createdAt, updatedAt, run.finishedAt, target.no);
    }
    // A created run's nodes went into its row, and a folded run's are its events.
    const kept = fresh.size === 0 && folded.size === 0 ? batch.nodes : batch.nodes.filter((node) => !fresh.has(node.runId) && !folded.has(node.runId));
    writeNodes(kept.map((node) => ({ no: refOf(node.runId).no, node })));
    for (const cp of batch.checkpoints) upsertCheckpoint.run(refOf(cp.runId).no, cp.step, JSON.stringify(checkpointData(cp)));
    for (const blob of batch.blobs ?? []) insertBlob.run(refOf(blob.runId).no, blob.ref, blob.json);
    if (listing.due) listing.listAll();
    return unfinished;
  }

  const deleteExpiredTx = db.transaction(function deleteExpiredTx(before: string, limit: number): string[] {
    const expired = findExpired.all(before, limit);
    for (const { no } of expired) for (const remove of deleteRunRows) remove.run({ no });
    return expired.map((run) => run.id);
  });

  function listStatement(filter: RunFilter, after: string | undefined): Database.Statement<ListParams, RunRow> {
    const where = [
      filter.status?.length ? 'status IN (SELECT value FROM json_each(@status))' : '',
      // Lets SQLite use runs_status, which leaves COMPLETED runs out (migration 009).
      filter.status?.length && !filter.status.includes('COMPLETED') ? "status <> 'COMPLETED'" : '',
      // listed = 1 lets SQLite use runs_graph_id (migration 013); this connection's rows are listed first.
      filter.graphId !== undefined ? 'graph_id = @graphId AND listed = 1' : '',
      filter.concurrencyKey !== undefined ? 'concurrency_key = @concurrencyKey' : '',
      filter.idempotencyKey !== undefined ? 'idempotency_key = @idempotencyKey' : '',
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
      openTransaction();
      try {
        if (creations.has(run.id) || findRun.get(run.id)) throw new AppError('INVALID_INPUT', `run ${run.id} already exists`);
        // Checked now, not at the commit that writes it: a failing creation would fail that commit.
        const key = run.idempotencyKey;
        if (key !== null && (findIdempotent.get(key) || [...creations.values()].some((c) => c.record.idempotencyKey === key))) {
          throw new AppError('INVALID_INPUT', `idempotencyKey ${JSON.stringify(key)} already names another run`);
        }
        creations.set(run.id, prepareCreation(run, nodes));
      } catch (error) {
        if (creations.size === 0) settle();
        throw error;
      }
    },
    async getRun(id) {
      settle();
      const row = getRun.get(id);
      return row && toRun(row);
    },
    async getNodes(runId) {
      settle();
      const run = getRunNodes.get(runId);
      if (!run) return [];
      const byId = new Map<string, NodeSnapshot>();
      for (const nodeId of JSON.parse(run.pending) as string[]) byId.set(nodeId, newNodeSnapshot(nodeId));
      if (run.fold_seq !== null) {
        for (const node of foldedNodes(run, runId, run.fold_seq).values()) byId.set(node.nodeId, node);
      } else if (run.nodes !== null) {
        for (const [nodeId, data] of Object.entries(JSON.parse(run.nodes) as Record<string, NodeData | null>)) byId.set(nodeId, data === null ? newNodeSnapshot(nodeId) : { nodeId, ...data });
      }
      for (const row of getNodeRows.all(run.no)) byId.set(row.node_id, { nodeId: row.node_id, ...(JSON.parse(row.data) as NodeData) });
      return [...byId.values()].sort((a, b) => byCodePoint(a.nodeId, b.nodeId));
    },
    async listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>> {
      settle();
      if (filter.graphId !== undefined) listNow();
      checkPage(page);
      const { first, after } = page;
      const params: ListParams = { limit: first + 1 };
      if (filter.status?.length) params.status = JSON.stringify(filter.status);
      if (filter.graphId !== undefined) params.graphId = filter.graphId;
      if (filter.concurrencyKey !== undefined) params.concurrencyKey = filter.concurrencyKey;
      if (filter.idempotencyKey !== undefined) params.idempotencyKey = filter.idempotencyKey;
      if (after !== undefined) params.after = after;
      const rows = listStatement(filter, after).all(params);
      return { items: rows.slice(0, first).map(toRun), hasMore: rows.length > first };
    },
    async commit(batch) {
      try {
        const created = writeAndCommit(() => writeBatch(batch));
        // Remembered only once committed: a rolled-back insert's no may be given to another run.
        creations.clear();
        for (const [id, ref] of created) remember(id, ref);
        if (++commits === WAL_THREAD_AFTER_COMMITS) walCheckpointer?.start();
      } catch (error) {
        // The transaction rolled back, but a graph_id change may already be in runRefs.
        runRefs.clear();
        throw error;
      }
    },
    async readEvents(runId, afterSeq, limit) {
      settle();
      if (!Number.isInteger(limit) || limit < 0) throw new AppError('INVALID_INPUT', `limit must be an integer of 0 or more, got ${String(limit)}`);
      if (!Number.isInteger(afterSeq)) throw new AppError('INVALID_INPUT', `afterSeq must be an integer, got ${String(afterSeq)}`);
      // graph_id from the row, not runRefs: another connection may have changed it.
      const run = findRun.get(runId);
      if (!run || limit === 0) return [];
      return events.read(run, runId, afterSeq, limit);
    },
    async readBlob(runId, ref) {
      settle();
      const row = readBlob.get(runId, ref);
      return row && (JSON.parse(row.data) as JsonValue);
    },
    async lastSeq(runId) {
      settle();
      return lastSeq.get(runId)?.seq ?? 0;
    },
    async latestCheckpoint(runId) {
      settle();
      const row = latestCheckpoint.get(runId);
      return row && toCheckpoint(runId, row.step, row.data);
    },
    async deleteFinishedBefore(before, limit) {
      const cutoff = retentionCutoff(before, limit);
      settle();
      listNow();
      // IMMEDIATE: it reads before it writes, and another connection may write in between.
      const ids = deleteExpiredTx.immediate(cutoff, limit);
      for (const id of ids) runRefs.delete(id);
      return ids.length;
    },
    async close() {
      try {
        clearTimeout(closer);
        settle();
        listNow();
      } finally {
        listing.close();
        // First, so that this connection is the file's last and removes the WAL as it closes.
        await walCheckpointer?.stop();
        db.close();
      }
    },
  };
}

/** True for an object with no enumerable key, such as the `{}` most runs start with. */
function isEmptyObject(value: object): boolean {
  for (const _key in value) return false;
  return true;
}
