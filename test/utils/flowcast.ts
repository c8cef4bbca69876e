import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryPubSub } from '../../src/events/pubsub.ts';
import type { RunEvent } from '../../src/events/types.ts';
import { demoGraphs } from '../../src/graph/demos.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { GraphCatalog } from '../../src/engine/catalog.ts';
import { Engine, type EngineOptions } from '../../src/engine/engine.ts';
import { EventLog } from '../../src/store/log.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

export interface TestFlowcast {
  store: Store;
  pubsub: MemoryPubSub;
  log: EventLog;
  catalog: GraphCatalog;
  engine: Engine;
  /** Every event of a run, read back from the store. */
  events(runId: string): Promise<RunEvent[]>;
  close(): Promise<void>;
}

/** An engine on a real SQLite file in a fresh temp dir (or in memory), with the demo graphs. */
export function makeFlowcast(options: { store?: 'sqlite' | 'memory'; engine?: Partial<EngineOptions> } = {}): TestFlowcast & { dir: string | undefined } {
  let dir: string | undefined;
  let store: Store;
  if (options.store === 'memory') store = new MemoryStore();
  else {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-test-'));
    store = openSqliteStore(join(dir, 'flowcast.db'));
  }
  const parts = composeOn(store, options.engine);
  return {
    ...parts,
    dir,
    async close() {
      await parts.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An engine of its own (event log, pub/sub, catalog with the demo graphs) on a given store, as one
 * Flowcast process has. Two of them on two connections to one SQLite file stand for a process that
 * stopped and the one that starts after it. close() shuts the engine down and closes the store.
 */
export function composeOn(store: Store, engine: Partial<EngineOptions> = {}): TestFlowcast {
  const pubsub = new MemoryPubSub();
  const log = new EventLog({ store, pubsub });
  const kinds = defaultKindRegistry();
  const catalog = new GraphCatalog(store, kinds);
  for (const graph of demoGraphs(kinds)) catalog.register(graph);
  const composed = new Engine({ log, catalog, ...engine });
  return {
    store,
    pubsub,
    log,
    catalog,
    engine: composed,
    events: (runId) => store.readEvents(runId, 0, 1_000_000),
    async close() {
      await composed.shutdown();
      await store.close();
    },
  };
}
