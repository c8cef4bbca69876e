import type { Engine } from '../engine/engine.ts';
import type { GraphCatalog } from '../engine/catalog.ts';
import type { PubSub } from '../events/pubsub.ts';
import type { EventLog } from '../store/log.ts';
import type { Store } from '../store/types.ts';
import type { Admission } from '../queue/admission.ts';
import type { RunQueue } from '../queue/types.ts';

/** What every resolver can reach. Built once by the server; the schema does no I/O of its own. */
export interface Services {
  engine: Engine;
  catalog: GraphCatalog;
  log: EventLog;
  store: Store;
  pubsub: PubSub;
  queue: RunQueue;
  /** startRun goes through it: run policies (concurrency and idempotency keys) in front of the queue. */
  admission: Admission;
  /** When the process started (ms since epoch), for health. */
  startedAt: number;
  version: string;
}

export type Context = Services;
