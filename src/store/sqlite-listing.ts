import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * How long a connection leaves the rows it wrote unlisted at most (while its event loop turns):
 * another connection's graph filter and retention sweep miss them for that long.
 */
export const LIST_AFTER_MS = 10;

/**
 * The run rows of one SQLite connection that are not yet in the graph and retention indexes
 * (migration 013). A row goes in with listed = 0, so its commit writes no page of those two
 * indexes; a later transaction sets listed = 1 on all of them at once, when `due` (LIST_AFTER_MS
 * after the first), and before this connection filters by graph or deletes expired runs.
 *
 * For a store that opens the file after this connection's process died, the `unlisted` table
 * holds, while any row is unlisted, the lowest no this connection left so (see repairUnlisted).
 *
 * Used inside the store's write transactions: `begin` at the start of each attempt, then
 * `inserted` / `listAll` as it writes, and `committed` once it has committed. What an attempt
 * noted counts only once it commits, so an attempt that rolls back and runs again writes the
 * owner row again.
 */
export class RunListing {
  readonly #owner = `${process.pid}:${randomUUID()}`;
  readonly #upsertOwner: Database.Statement<[string, number, number]>;
  readonly #deleteOwner: Database.Statement<[string]>;
  readonly #listRange: Database.Statement<[number, number]>;
  readonly #onDue: () => void;
  /** Committed: the lowest and highest no this connection left unlisted (0: none), and the owner row's from_no (0: no row). */
  #lo = 0;
  #hi = 0;
  #ownerFrom = 0;
  /** Of the transaction being written. */
  #txLo = 0;
  #txHi = 0;
  #txOwnerFrom = 0;
  #txListed = false;
  #timer: NodeJS.Timeout | undefined;
  /** The timer has fired while the rows could not be listed at once: the next write lists them. */
  due = false;

  /** `onDue` is called LIST_AFTER_MS after rows were first left unlisted. */
  constructor(db: Database.Database, onDue: () => void) {
    this.#upsertOwner = db.prepare(`INSERT INTO unlisted (owner, pid, from_no) VALUES (?, ?, ?)
      ON CONFLICT (owner) DO UPDATE SET from_no = min(from_no, excluded.from_no)`);
    this.#deleteOwner = db.prepare('DELETE FROM unlisted WHERE owner = ?');
    this.#listRange = db.prepare('UPDATE runs SET listed = 1 WHERE no >= ? AND no <= ? AND listed = 0');
    this.#onDue = onDue;
  }

  /** Rows are unlisted, committed or in the transaction being written. */
  get pending(): boolean {
    return this.#lo !== 0 || this.#txLo !== 0;
  }

  begin(): void {
    this.#txLo = 0;
    this.#txHi = 0;
    this.#txOwnerFrom = 0;
    this.#txListed = false;
  }

  /** In a write transaction: the run row `no` went in unlisted. */
  inserted(no: number): void {
    const from = this.#txOwnerFrom || this.#ownerFrom;
    if (from === 0 || no < from) {
      this.#upsertOwner.run(this.#owner, process.pid, no);
      this.#txOwnerFrom = no;
    }
    if (this.#txLo === 0 || no < this.#txLo) this.#txLo = no;
    if (no > this.#txHi) this.#txHi = no;
  }

  /** In a write transaction, after its inserts: lists every row this connection left unlisted. */
  listAll(): void {
    if (!this.pending) return;
    // 0 means none: the other one is then the lowest.
    const lo = this.#lo === 0 || (this.#txLo !== 0 && this.#txLo < this.#lo) ? this.#txLo : this.#lo;
    this.#listRange.run(lo, Math.max(this.#hi, this.#txHi));
    this.#deleteOwner.run(this.#owner);
    this.#txListed = true;
  }

  /** The transaction committed: what it noted now holds. */
  committed(): void {
    if (this.#txListed) {
      this.#lo = this.#hi = this.#ownerFrom = 0;
      this.due = false;
    } else if (this.#txLo !== 0) {
      if (this.#lo === 0 || this.#txLo < this.#lo) this.#lo = this.#txLo;
      this.#hi = Math.max(this.#hi, this.#txHi);
      if (this.#txOwnerFrom !== 0) this.#ownerFrom = this.#txOwnerFrom;
      this.#timer ??= setTimeout(this.#fire, LIST_AFTER_MS).unref();
    }
    this.begin();
  }

  close(): void {
    clearTimeout(this.#timer);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#lo === 0) return;
    this.due = true;
    this.#onDue();
  };
}

/**
 * At open: lists the rows that connections whose process is gone left unlisted, and forgets those
 * connections. A live process's rows are its own to list (a process id taken again since only
 * keeps a dead one's entry, whose rows are then listed at a later open). In one IMMEDIATE
 * transaction.
 */
export function repairUnlisted(db: Database.Database): void {
  const owners = db.prepare<[], { owner: string; pid: number; from_no: number }>('SELECT owner, pid, from_no FROM unlisted').all();
  const dead = owners.filter(({ pid }) => !processAlive(pid));
  if (dead.length === 0) return;
  const list = db.prepare<[number]>('UPDATE runs SET listed = 1 WHERE no >= ? AND listed = 0');
  const forget = db.prepare<[string]>('DELETE FROM unlisted WHERE owner = ?');
  db.transaction(() => {
    list.run(Math.min(...dead.map((d) => d.from_no)));
    for (const { owner } of dead) forget.run(owner);
  }).immediate();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
