import { Worker } from 'node:worker_threads';

/** How often the checkpointer reads how many WAL frames are pending, in ms. */
const POLL_MS = 10;
/** How long stop() waits for the thread to close its connection before terminating it, in ms. */
const STOP_WAIT_MS = 2000;

export interface WalCheckpointerOptions {
  /** The database file (not ':memory:', not a URI): its WAL index is `${path}-shm`. */
  path: string;
  /** Pending frames at which the thread checkpoints. */
  frames: number;
  busyTimeoutMs: number;
}

/**
 * Copies a SQLite file's write-ahead log into the database from a thread of its own (see
 * wal-worker.js), so that the connection that writes seldom does: run by that connection, a
 * checkpoint of 10,000 frames (SQLite runs one on the commit that passes wal_autocheckpoint) took
 * about 27 ms here, an event-loop stall every 1,500 short runs that cost 15–20% of their mean time.
 * The writer still checkpoints when the log reaches its wal_autocheckpoint, which is what restarts
 * the log from its beginning (a checkpoint beside a busy writer never catches up with it), but by
 * then the thread has copied all but the last few hundred frames: 5–10 ms instead of 27.
 *
 * The thread starts on the first `start()` and holds its own connection; it never keeps the process
 * alive. A failure in it is reported once on stderr and leaves the checkpoints to the writer.
 */
export class WalCheckpointer {
  readonly #options: WalCheckpointerOptions;
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;

  constructor(options: WalCheckpointerOptions) {
    this.#options = options;
  }

  /** Starts the thread unless it runs. */
  start(): void {
    if (this.#worker) return;
    const { path, frames, busyTimeoutMs } = this.#options;
    const worker = new Worker(new URL('./wal-worker.js', import.meta.url), { workerData: { path, frames, pollMs: POLL_MS, busyTimeoutMs } });
    worker.unref();
    const report = (message: string): void => console.error(`flowcast: background WAL checkpoints of ${path} stopped (${message}); the writer checkpoints from now on`);
    worker.on('message', (message: { error?: string }) => {
      if (message.error !== undefined) report(message.error);
    });
    worker.on('error', (error) => report(error.message));
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    this.#worker = worker;
  }

  /** Closes the thread's connection and ends it; resolves once it has exited. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    worker.postMessage('stop');
    const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}
