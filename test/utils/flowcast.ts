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
export function makeFlowcast(options: { store?: 'sqlite' | 'memory'; engine?: Partial<EngineOptions> } = {}): TestFlowcast {
  let dir: string | undefined;
  let store: Store;
  if (options.store === 'memory') store = new MemoryStore();
  else {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-test-'));
    store = openSqliteStore(join(dir, 'flowcast.db'));
  }
  const pubsub = new MemoryPubSub();
  const log = new EventLog({ store, pubsub });
  const kinds = defaultKindRegistry();
  const catalog = new GraphCatalog(store, kinds);
  for (const graph of demoGraphs(kinds)) catalog.register(graph);
  const engine = new Engine({ log, catalog, ...options.engine });
  return {
    store,
    pubsub,
    log,
    catalog,
    engine,
    events: (runId) => store.readEvents(runId, 0, 1_000_000),
    async close() {
      await engine.shutdown();
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
