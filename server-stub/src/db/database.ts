import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations.js';

export const DATABASE_FILE = 'airpanel.sqlite';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the backend's SQLite database in `dataDir` and brings its
 * schema up to date. WAL lets readers run while one write is in progress; `synchronous =
 * NORMAL` in WAL mode still never corrupts the database, and loses at most the last
 * transactions on power loss, not on a process crash.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, DATABASE_FILE));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Applies every migration newer than the database's version, each in its own transaction. */
export function migrate(db: Db): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const current = row.version ?? 0;
  const latest = MIGRATIONS.length;
  if (current > latest) {
    throw new Error(`the database has schema version ${current}, newer than this backend knows (${latest}); run a newer backend`);
  }
  for (let version = current + 1; version <= latest; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]!);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, new Date().toISOString());
    })();
  }
  return latest;
}
