import { fileURLToPath } from 'node:url';
import { AppError } from '../common/errors.ts';
import { redactPassword } from '../store/postgres.ts';

/** The server's configuration, read from the environment once at start and validated. */
export interface Config {
  host: string;
  port: number;
  /** SQLite file (`:memory:` keeps nothing); not used when `databaseUrl` is set. */
  dbPath: string;
  /** PostgreSQL URL (postgres:// or postgresql://): when set, the store is PostgreSQL instead of SQLite. */
  databaseUrl: string | undefined;
  /** Background runs executing at once. */
  workers: number;
  httpAllowlist: string[];
  /** On SIGINT/SIGTERM, how long running runs get to finish before they are cancelled. */
  shutdownGraceMs: number;
  /** Largest WebSocket message accepted, in bytes. */
  wsMaxPayload: number;
  /** How long a finished run is kept after it finished, in ms; null keeps runs forever. */
  retentionMs: number | null;
  /** Time between retention sweeps, in ms: a tenth of retentionMs, from 100 ms to 1 h. */
  retentionSweepMs: number;
  /** State updates larger than this (UTF-8 JSON bytes) are stored once, apart from their event. */
  largePayloadBytes: number;
  /** Show unexpected error messages to clients (never in production). */
  dev: boolean;
  /** The built live view served at `/`: dist/web of this package (built by npm install, npm start or npm run build:web). */
  webDir: string;
}

const WEB_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

type Env = Record<string, string | undefined>;

const DAY_MS = 86_400_000;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };
const DURATION = /^(\d+)\s*(ms|s|m|h|d)?$/;
/** Runs are kept at least this long: a shorter retention is more likely a typo than a wish. */
const MIN_RETENTION_MS = 1000;
const MAX_RETENTION_MS = 36_500 * DAY_MS;

/**
 * Reads PORT, HOST, FLOWCAST_DB, DATABASE_URL, FLOWCAST_WORKERS, FLOWCAST_HTTP_ALLOWLIST,
 * FLOWCAST_SHUTDOWN_GRACE_MS, FLOWCAST_WS_MAX_PAYLOAD, FLOWCAST_RETENTION,
 * FLOWCAST_LARGE_PAYLOAD_BYTES and NODE_ENV. Throws one AppError
 * INVALID_CONFIG naming every bad variable, its value (a URL's password hidden) and what it
 * should be. A blank variable counts as unset.
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
  const databaseUrl = (raw: string | undefined): string | undefined => {
    const url = raw?.trim();
    if (!url) return undefined;
    if (!/^postgres(ql)?:\/\/./.test(url) || !URL.canParse(url)) {
      problems.push(`DATABASE_URL=${JSON.stringify(redactPassword(url))} must be a PostgreSQL URL starting with postgres:// or postgresql://, e.g. postgres://user:password@127.0.0.1:5432/flowcast`);
      return undefined;
    }
    return url;
  };
  /** A duration: digits and a unit (ms, s, m, h, d; none means ms), or `off`. Default 7d. */
  const retention = (raw: string | undefined): number | null => {
    const text = raw?.trim().toLowerCase();
    if (!text) return 7 * DAY_MS;
    if (text === 'off') return null;
    const match = DURATION.exec(text);
    const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? 'ms']! : Number.NaN;
    if (!(ms >= MIN_RETENTION_MS && ms <= MAX_RETENTION_MS)) {
      problems.push(`FLOWCAST_RETENTION=${JSON.stringify(raw)} must be a duration from 1s to 36500d, such as 7d, 12h, 30m, 90s or 5000 (ms), or off to keep finished runs forever`);
      return 7 * DAY_MS;
    }
    return ms;
  };
  const retentionMs = retention(env['FLOWCAST_RETENTION']);
  const config: Config = {
    host: env['HOST']?.trim() || '127.0.0.1',
    port: int('PORT', 4000, 0, 65_535),
    dbPath: env['FLOWCAST_DB']?.trim() || 'data/flowcast.db',
    databaseUrl: databaseUrl(env['DATABASE_URL']),
    workers: int('FLOWCAST_WORKERS', 4, 1, 256),
    httpAllowlist: (env['FLOWCAST_HTTP_ALLOWLIST'] ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    shutdownGraceMs: int('FLOWCAST_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    wsMaxPayload: int('FLOWCAST_WS_MAX_PAYLOAD', 1_048_576, 1_024, 104_857_600),
    retentionMs,
    retentionSweepMs: Math.min(3_600_000, Math.max(100, Math.round((retentionMs ?? 0) / 10))),
    largePayloadBytes: int('FLOWCAST_LARGE_PAYLOAD_BYTES', 262_144, 1_024, 1_073_741_824),
    dev: env['NODE_ENV'] === 'development',
    webDir: WEB_DIR,
  };
  if (problems.length > 0) throw new AppError('INVALID_CONFIG', `bad configuration: ${problems.join('; ')}`);
  return config;
}
