import { sleep } from '../common/async.ts';
import { AppError } from '../common/errors.ts';
import type { Execute, RunQueue } from './types.ts';

interface Waiting {
  runId: string;
  priority: number;
  order: number;
}

/**
 * The embedded queue: runs wait in process memory, at most `concurrency` execute at once, higher
 * priority first, then in the order they came. A run that throws is logged; the queue goes on.
 */
export class InProcessQueue implements RunQueue {
  readonly #execute: Execute;
  readonly #concurrency: number;
  #waiting: Waiting[] = [];
  readonly #running = new Map<string, Promise<void>>();
  #order = 0;
  #closed = false;

  constructor(execute: Execute, options: { concurrency?: number } = {}) {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new AppError('INVALID_CONFIG', `queue concurrency must be an integer >= 1, got ${concurrency}`);
    this.#execute = execute;
    this.#concurrency = concurrency;
  }

  async enqueue(runId: string, priority: number): Promise<void> {
    if (this.#closed) throw new AppError('INVALID_INPUT', 'the server is shutting down and takes no new runs');
    const entry = { runId, priority, order: this.#order++ };
    // Keep the list sorted: priority descending, then arrival.
    const at = this.#waiting.findIndex((w) => w.priority < priority);
    if (at === -1) this.#waiting.push(entry);
    else this.#waiting.splice(at, 0, entry);
    this.#pump();
  }

  remove(runId: string): boolean {
    const before = this.#waiting.length;
    this.#waiting = this.#waiting.filter((w) => w.runId !== runId);
    return this.#waiting.length < before;
  }

  stats(): { waiting: number; running: number; concurrency: number } {
    return { waiting: this.#waiting.length, running: this.#running.size, concurrency: this.#concurrency };
  }

  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    await Promise.race([Promise.all(this.#running.values()), sleep(graceMs)]);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      const done = this.#execute(next.runId).then(
        () => undefined,
        (error: unknown) => console.error(`flowcast: run ${next.runId} could not execute:`, error),
      ).finally(() => {
        this.#running.delete(next.runId);
        this.#pump();
      });
      this.#running.set(next.runId, done);
    }
  }
}
