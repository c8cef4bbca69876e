/** Plain better-sqlite3 connections to a store's file, as an operator or another process would open them. */
import Database from 'better-sqlite3';
import { loadMigrations } from '../../src/store/migrate.ts';

/** Runs `fn` on a plain connection to `file`, closed after. */
export function withRawFile<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Brings a raw connection's empty file to schema `version`, as a Flowcast of that version left it. */
export function migrateTo(db: Database.Database, version: number): void {
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  for (const migration of loadMigrations('sqlite').slice(0, version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, '');
  }
}
