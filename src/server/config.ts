import { AppError } from '../common/errors.ts';

/** The server's configuration, read from the environment once at start and validated. */
export interface Config {
  host: string;
  port: number;
  /** SQLite file (`:memory:` keeps nothing). */
  dbPath: string;
  /** Background runs executing at once. */
  workers: number;
  httpAllowlist: string[];
  /** On SIGINT/SIGTERM, how long running runs get to finish before they are cancelled. */
  shutdownGraceMs: number;
  /** Largest WebSocket message accepted, in bytes. */
  wsMaxPayload: number;
  /** Show unexpected error messages to clients (never in production). */
  dev: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * Reads PORT, HOST, FLOWCAST_DB, FLOWCAST_WORKERS, FLOWCAST_HTTP_ALLOWLIST,
 * FLOWCAST_SHUTDOWN_GRACE_MS, FLOWCAST_WS_MAX_PAYLOAD and NODE_ENV. Throws one AppError
 * INVALID_CONFIG naming every bad variable, its value and what it should be.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const config: Config = {
    host: env['HOST']?.trim() || '127.0.0.1',
    port: int('PORT', 4000, 0, 65_535),
    dbPath: env['FLOWCAST_DB']?.trim() || 'data/flowcast.db',
    workers: int('FLOWCAST_WORKERS', 4, 1, 256),
    httpAllowlist: (env['FLOWCAST_HTTP_ALLOWLIST'] ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    shutdownGraceMs: int('FLOWCAST_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    wsMaxPayload: int('FLOWCAST_WS_MAX_PAYLOAD', 1_048_576, 1_024, 104_857_600),
    dev: env['NODE_ENV'] === 'development',
  };
  if (problems.length > 0) throw new AppError('INVALID_CONFIG', `bad configuration: ${problems.join('; ')}`);
  return config;
}
