/**
 * Background runs: a queue hands created runs to an executor with bounded concurrency, highest
 * priority first, then first come first served. The in-process queue and the BullMQ adapter
 * implement this interface.
 */
export interface RunQueue {
  /** Queues a created run; resolves once it is accepted (not when it finishes). */
  enqueue(runId: string, priority: number): Promise<void>;
  /** Removes a run that is still waiting; true when it was waiting. Running runs are the engine's to cancel. */
  remove(runId: string): boolean;
  /** Runs waiting and running now. */
  stats(): { waiting: number; running: number; concurrency: number };
  /** Stops taking runs; resolves when the running ones have finished or `graceMs` passed. */
  close(graceMs: number): Promise<void>;
}

export type Execute = (runId: string) => Promise<unknown>;
