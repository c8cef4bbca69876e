import { readdirSync, readFileSync } from 'node:fs';
import { AppError } from '../common/errors.ts';

export type Dialect = 'sqlite' | 'postgres';

/** One schema migration file, `migrations/<dialect>/NNN_name.sql`. */
export interface Migration {
  /** NNN as a number: 1, 2, 3 … with no gaps. */
  version: number;
  /** The part after `NNN_`, without `.sql`. */
  name: string;
  sql: string;
}

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * Reads the migrations of a dialect from `src/store/migrations/<dialect>/`, sorted by version.
 * Files not ending in `.sql` are ignored. Throws AppError INVALID_CONFIG when a `.sql` file is not
 * named `NNN_name.sql` (lowercase) or when the versions are not exactly 1..n, so that a misnamed
 * or missing file can never be skipped silently. Reads synchronously; call it once at open.
 */
export function loadMigrations(dialect: Dialect): Migration[] {
  const dir = new URL(`./migrations/${dialect}/`, import.meta.url);
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    const match = FILE_NAME.exec(file);
    if (!match) {
      throw new AppError('INVALID_CONFIG', `migration file ${dialect}/${file} must be named NNN_name.sql, e.g. 002_add_index.sql`);
    }
    const [, version = '', name = ''] = match;
    migrations.push({ version: Number(version), name, sql: readFileSync(new URL(file, dir), 'utf8') });
  }
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach(function checkNoGap(migration, index) {
    if (migration.version !== index + 1) {
      throw new AppError('INVALID_CONFIG', `migrations/${dialect} must be numbered 001, 002, … without gaps or repeats; found ${String(migration.version).padStart(3, '0')} at position ${index + 1}`);
    }
  });
  return migrations;
}
