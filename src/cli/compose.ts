import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GraphCatalog } from '../engine/catalog.ts';
import { Engine } from '../engine/engine.ts';
import { MemoryPubSub } from '../events/pubsub.ts';
import { demoGraphs } from '../graph/demos.ts';
import { defaultKindRegistry } from '../graph/kinds.ts';
import { EventLog } from '../store/log.ts';
import { openSqliteStore } from '../store/sqlite.ts';

/** The embedded setup for in-process commands: SQLite file, memory pub/sub, demo graphs. */
export function compose(dbPath: string) {
  if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
  const store = openSqliteStore(dbPath);
  const pubsub = new MemoryPubSub();
  const log = new EventLog({ store, pubsub });
  const allowlist = (process.env['FLOWCAST_HTTP_ALLOWLIST'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const kinds = defaultKindRegistry({ httpAllowlist: allowlist });
  const catalog = new GraphCatalog(store, kinds);
  for (const graph of demoGraphs(kinds)) catalog.register(graph);
  const engine = new Engine({ log, catalog });
  return {
    store,
    log,
    catalog,
    engine,
    async close(): Promise<void> {
      await engine.shutdown();
      await store.close();
    },
  };
}
