import { toAppError } from '../common/errors.ts';
import { redactPassword } from '../store/postgres.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';

/** `npm start`: serve until SIGINT/SIGTERM, then shut down cleanly and exit 0. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  const url = await app.start();
  const store = config.databaseUrl !== undefined ? `PostgreSQL ${redactPassword(config.databaseUrl)}` : `SQLite ${config.dbPath}`;
  console.log(`flowcast ${app.services.version} serving ${url}/graphql (GraphiQL, graphql-ws), ${url}/graphql/stream (graphql-sse) and the live view at ${url}/; store ${store}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`flowcast: ${signal}, shutting down (up to ${config.shutdownGraceMs} ms for running runs)`);
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('flowcast: shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((thrown: unknown) => {
  const error = toAppError(thrown);
  console.error(`flowcast: ${error.message}`);
  process.exit(error.code === 'INVALID_CONFIG' ? 2 : 1);
});
