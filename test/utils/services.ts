/** Variables that point tests at a service of the machine. */
export type ServiceVariable = 'DATABASE_URL' | 'REDIS_URL';

const NAMES: Record<ServiceVariable, string> = { DATABASE_URL: 'PostgreSQL', REDIS_URL: 'Redis' };

/**
 * The URL of the service named by `variable`, for test files that need it; use the result with
 * `describe.skipIf(url === undefined)`. When the variable is unset or blank, prints (once per
 * call) why `what` is skipped and returns undefined, unless FLOWCAST_REQUIRE_SERVICES=1 (CI):
 * then it throws, which fails the test file that called it at load time.
 */
export function requireService(variable: ServiceVariable, what: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const url = env[variable]?.trim();
  if (url) return url;
  const reason = `${NAMES[variable]} is not configured: set ${variable}, e.g. ${example(variable)}`;
  if (env['FLOWCAST_REQUIRE_SERVICES'] === '1') throw new Error(`cannot run ${what}: ${reason} (FLOWCAST_REQUIRE_SERVICES=1 makes a missing service an error instead of a skip)`);
  console.warn(`skipping ${what}: ${reason}`);
  return undefined;
}

function example(variable: ServiceVariable): string {
  return variable === 'DATABASE_URL' ? 'postgres://postgres@127.0.0.1:5432/test' : 'redis://127.0.0.1:6379';
}
