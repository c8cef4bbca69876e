import type Database from 'better-sqlite3';
import { AppError } from '../common/errors.ts';
import type { RunEvent } from '../events/types.ts';
import { batchParts, entryAt, objectEntry, parseBatch, restoreEntry } from './batch.ts';
import type { RunRef } from './sqlite-parts.ts';
import type { CommitBatch } from './types.ts';

/** The highest seq an event can have: batch keys are (run_no << 32) | seq. */
const MAX_SEQ = 2 ** 32 - 1;
/** Events per stored batch of a run's events. */
const EVENTS_PER_BATCH = 64;
/** A batch of events whose bytes pass this many is split into parts of at most about this many (batchParts). */
const BATCH_BYTES = 64 * 1024;

/** Consecutive events of one run, gathered by write to be stored as one batch. */
interface OpenBatch { no: number; graphId: string; first: number; last: number; events: RunEvent[] }

/**
 * The SQLite store's events: stored in batches, a row per run and stretch of consecutive seqs
 * (migration 006), keyed by (run_no << 32) | seq (007), their entries packed (010, 011; see
 * batch.ts), as bytes since 012. Prepares its statements on the store's connection; its methods run inside the
 * store's transactions.
 */
export class SqliteEvents {
  readonly #readBatches: Database.Statement<{ no: number; from: number }, { seq: number; data: string | Buffer }>;
  readonly #lastSeqOf: Database.Statement<{ no: number }, { last_seq: number }>;
  readonly #insertBatch: Database.Statement<[number, number, number, number, number, Buffer]>;
  readonly #runBatches: Database.Statement<{ no: number }, { key: number; seq: number; data: string | Buffer }>;
  readonly #rewriteBatch: Database.Statement<[string, number]>;

  constructor(db: Database.Database) {
    // Events are stored in batches (migration 006) keyed by (run_no << 32) | seq (migration 007), so a
    // run's batches are the keys from its no << 32 up to (no + 1) << 32. The one holding the event
    // after `from - 1` is the last to start at or before `from` (below 2^32, see read); then
    // every later one of the run.
    this.#readBatches = db.prepare(`SELECT seq, data FROM events
      WHERE key >= coalesce((SELECT max(key) FROM events WHERE key BETWEEN @no << 32 AND (@no << 32) | @from), @no << 32) AND key < (@no + 1) << 32
      ORDER BY key`);
    this.#lastSeqOf = db.prepare('SELECT last_seq FROM events WHERE key >= @no << 32 AND key < (@no + 1) << 32 ORDER BY key DESC LIMIT 1');
    // (no, seq) twice: better-sqlite3 has no numbered parameters, and named ones cost an object per row.
    this.#insertBatch = db.prepare('INSERT INTO events (key, run_no, seq, last_seq, data) VALUES ((? << 32) | ?, ?, ?, ?, ?)');
    this.#runBatches = db.prepare('SELECT key, seq, data FROM events WHERE key >= @no << 32 AND key < (@no + 1) << 32');
    this.#rewriteBatch = db.prepare('UPDATE events SET data = ? WHERE key = ?');
  }

  /**
   * Events leave graphId out when it is their run's (see toBatchEntry): before a run's graph_id
   * changes, those of its events get the old one written in.
   */
  keepGraphId(graphId: string, no: number): void {
    for (const batch of this.#runBatches.all({ no })) {
      const entries = parseBatch(batch.data, `run #${no}`, batch.seq).map((entry, i) => objectEntry(entry, `run #${no}`, batch.seq + i));
      for (const entry of entries) entry['graphId'] ??= graphId;
      this.#rewriteBatch.run(JSON.stringify(entries), batch.key);
    }
  }

  /**
   * Writes a commit's events: each run's as batches of consecutive seqs, each after every event
   * the run already has (AppError INTERNAL otherwise: only the event log assigns seqs, so a
   * repeat means two writers or a bug there). Returns each run's last seq written.
   */
  write(events: CommitBatch['events'], refOf: (runId: string) => RunRef, fresh: ReadonlyMap<string, RunRef>): Map<string, number> {
    const open = new Map<string, OpenBatch>();
    const written = new Map<string, number>();
    let current: OpenBatch | undefined;
    let currentId = '';
    for (const event of events) {
      // A batch holds long stretches of one run's consecutive events: those go straight on.
      if (current && event.runId === currentId && event.seq === current.last + 1 && current.events.length < EVENTS_PER_BATCH && event.seq <= MAX_SEQ) {
        current.events.push(event);
        current.last = event.seq;
        continue;
      }
      const run = refOf(event.runId);
      let batch = open.get(event.runId);
      // A run created in this commit has no events yet.
      const last = batch ? batch.last : (written.get(event.runId) ?? (fresh.has(event.runId) ? 0 : (this.#lastSeqOf.get({ no: run.no })?.last_seq ?? 0)));
      if (event.seq <= last) throw new AppError('INTERNAL', `run ${event.runId} already has an event with seq ${event.seq}; events are append-only`);
      if (event.seq > MAX_SEQ) throw new AppError('INTERNAL', `run ${event.runId} has an event with seq ${event.seq}; this store keeps at most ${MAX_SEQ} events per run`);
      if (batch && (event.seq !== batch.last + 1 || batch.events.length >= EVENTS_PER_BATCH)) {
        this.#close(event.runId, batch, open, written);
        batch = undefined;
      }
      if (!batch) open.set(event.runId, (batch = { no: run.no, graphId: run.graphId, first: event.seq, last: event.seq, events: [] }));
      batch.events.push(event);
      batch.last = event.seq;
      current = batch;
      currentId = event.runId;
    }
    for (const [runId, batch] of open) this.#close(runId, batch, open, written);
    return written;
  }

  /** Stores an open batch of a run's events (see write). */
  #close(runId: string, batch: OpenBatch, open: Map<string, OpenBatch>, written: Map<string, number>): void {
    for (const part of batchParts(batch.events, batch.graphId, BATCH_BYTES)) this.#insertBatch.run(batch.no, part.first, batch.no, part.first, part.last, part.data);
    written.set(runId, batch.last);
    open.delete(runId);
  }

  /** Up to `limit` of a stored run's events with seq > `afterSeq` (and at most `lastSeq`), in seq order. */
  read(run: { no: number; graph_id: string }, runId: string, afterSeq: number, limit: number, lastSeq = MAX_SEQ): RunEvent[] {
    const events: RunEvent[] = [];
    if (afterSeq >= MAX_SEQ) return events;
    for (const batch of this.#readBatches.iterate({ no: run.no, from: Math.max(afterSeq + 1, 0) })) {
      const entries = parseBatch(batch.data, runId, batch.seq);
      // An entry's `at` of 0 is the one of the entry before it (see toBatchEntry).
      let at: string | undefined;
      for (let i = 0; i < entries.length; i++) {
        if (batch.seq + i <= afterSeq) {
          const stored = entryAt(entries[i]);
          if (typeof stored === 'string') at = stored;
          continue;
        }
        if (batch.seq + i > lastSeq) return events;
        const event = restoreEntry(entries[i], batch.seq + i, runId, run.graph_id, at);
        at = event.at;
        events.push(event);
        // Leaving the loop early resets the statement.
        if (events.length === limit) return events;
      }
    }
    return events;
  }
}
