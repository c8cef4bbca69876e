import { toAppError } from '../common/errors.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';

/** `npm start`: serve until SIGINT/SIGTERM, then shut down cleanly and exit 0. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = createApp(config);
  const url = await app.start();
  console.log(`flowcast ${app.services.version} serving ${url}/graphql (GraphiQL, graphql-ws) and ${url}/graphql/stream (graphql-sse); store ${config.dbPath}`);
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
