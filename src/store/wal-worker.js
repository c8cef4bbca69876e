// @ts-check
/**
 * The SQLite store's WAL checkpointer, run as a worker thread by src/store/wal.ts (plain JavaScript
 * so that it loads as it is, under tsx, vitest or bare node alike).
 *
 * With its own connection to the store's file, it copies the frames of the write-ahead log into
 * the database (a PASSIVE checkpoint: it never blocks the writer) whenever `frames` of them are not
 * yet copied, so that the writing thread seldom has to. It learns how many are pending from the
 * wal-index header in the `-shm` file, read every `pollMs` (mxFrame - nBackfill, see
 * https://sqlite.org/walformat.html): one small read, not a checkpoint attempt that would sync.
 *
 * Messages: in, 'stop' (close the connection and exit); out, { error } when a checkpoint or a read
 * failed, after which it does nothing until stopped.
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string, frames: number, pollMs: number, busyTimeoutMs: number }} */
const { path, frames, pollMs, busyTimeoutMs } = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

// Offsets in the wal-index (the -shm file), whose fields are in the machine's byte order.
const MX_FRAME = 16;
const N_BACKFILL = 96;
const header = Buffer.alloc(N_BACKFILL + 4);
const read32 = endianness() === 'LE' ? (/** @type {number} */ at) => header.readUInt32LE(at) : (/** @type {number} */ at) => header.readUInt32BE(at);

const db = new Database(path, { timeout: busyTimeoutMs, fileMustExist: true });
db.pragma('synchronous = NORMAL');
const shm = openSync(`${path}-shm`, 'r');

const timer = setInterval(function checkpointWhenDue() {
  try {
    if (readSync(shm, header, 0, header.length, 0) < header.length) return;
    // After the writer restarts the log, mxFrame starts again from 0 and nBackfill is 0.
    if (read32(MX_FRAME) - read32(N_BACKFILL) >= frames) db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    clearInterval(timer);
    port.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}, pollMs);

port.on('message', function stop(message) {
  if (message !== 'stop') return;
  clearInterval(timer);
  closeSync(shm);
  db.close();
  port.close();
});
