import { Client } from 'pg';

let count = 0;

/**
 * A schema name no other test (in this process or another) uses, for `openPostgresStore(url,
 * { schema })`: each test or benchmark keeps its tables apart and drops them after with dropSchema.
 */
export function freshSchema(prefix = 'flowcast_test'): string {
  count += 1;
  return `${prefix}_${process.pid}_${count}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Runs `fn` on a plain connection of its own (search_path `schema` when given), as an operator would. */
export async function withClient<T>(url: string, schema: string | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a schema made by a test and everything in it; no error when it does not exist. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await withClient(url, undefined, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
