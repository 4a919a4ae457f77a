import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test-support.js';
import { DATABASE_FILE, openDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';
import { Store } from './store.js';

describe('SQLite database', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.remove());

  it('creates the schema once, in WAL mode, and records the version', () => {
    const db = openDatabase(temp.dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    db.prepare("UPDATE counters SET value = 41 WHERE name = 'display_revision'").run();
    db.close();

    const reopened = openDatabase(temp.dir);
    expect((reopened.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    expect((reopened.prepare("SELECT value FROM counters WHERE name = 'display_revision'").get() as { value: number }).value).toBe(41);
    reopened.close();
  });

  it('refuses a database written by a newer backend', () => {
    openDatabase(temp.dir).close();
    const raw = new Database(path.join(temp.dir, DATABASE_FILE));
    raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(MIGRATIONS.length + 1, new Date().toISOString());
    raw.close();
    expect(() => openDatabase(temp.dir)).toThrow(/newer than this backend knows/);
  });

  it('hands out display revisions in blocks that never overlap, across a restart', () => {
    const db = openDatabase(temp.dir);
    const store = new Store(db);
    const first = store.takeRevisions(3);
    expect(store.takeRevisions(1)).toBe(first + 3);
    expect(() => store.takeRevisions(0)).toThrow(/positive integer/);
    db.close();
    const reopened = openDatabase(temp.dir);
    expect(new Store(reopened).takeRevisions(250)).toBe(first + 4);
    reopened.close();
  });
});
