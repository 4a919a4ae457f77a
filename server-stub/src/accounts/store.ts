import type { Role } from '@airpanel/contract';
import type { Store } from '../db/store.js';

/** A users row, the password hash included: never sent anywhere as is. */
export interface UserRow {
  name: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export interface SessionRow {
  idHash: Buffer;
  userName: string;
  csrfToken: string;
  createdAtMs: number;
  lastSeenAtMs: number;
  expiresAtMs: number;
}

export interface LoginFailures {
  failures: number;
  lastFailureAtMs: number;
  lockedUntilMs: number | null;
}

interface UserRecord {
  name: string;
  role: string;
  password_hash: string;
  disabled: number;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

function userOf(row: UserRecord): UserRow {
  return {
    name: row.name,
    role: row.role as Role,
    passwordHash: row.password_hash,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
  };
}

/** The SQL of users, sessions and failed logins (tables of migration 3). */
export class AccountStore {
  constructor(private readonly store: Store) {}

  transaction<T>(work: () => T): T {
    return this.store.transaction(work);
  }

  user(name: string): UserRow | null {
    const row = this.store.sql('SELECT * FROM users WHERE name = ?').get(name) as UserRecord | undefined;
    return row ? userOf(row) : null;
  }

  users(): UserRow[] {
    return (this.store.sql('SELECT * FROM users ORDER BY name').all() as UserRecord[]).map(userOf);
  }

  userCount(): number {
    return (this.store.sql('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  /** False when the name is taken. */
  insertUser(user: UserRow): boolean {
    const result = this.store
      .sql(
        `INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at, last_login_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      )
      .run(user.name, user.role, user.passwordHash, user.disabled ? 1 : 0, user.createdAt, user.updatedAt, user.lastLoginAt);
    return result.changes === 1;
  }

  updateUser(user: UserRow): void {
    this.store
      .sql('UPDATE users SET role = ?, password_hash = ?, disabled = ?, updated_at = ?, last_login_at = ? WHERE name = ?')
      .run(user.role, user.passwordHash, user.disabled ? 1 : 0, user.updatedAt, user.lastLoginAt, user.name);
  }

  insertSession(session: SessionRow): void {
    this.store
      .sql(
        `INSERT INTO sessions (id_hash, user_name, csrf_token, created_at_ms, last_seen_at_ms, expires_at_ms)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(session.idHash, session.userName, session.csrfToken, session.createdAtMs, session.lastSeenAtMs, session.expiresAtMs);
  }

  session(idHash: Buffer): SessionRow | null {
    const row = this.store.sql('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as
      | {
          id_hash: Buffer;
          user_name: string;
          csrf_token: string;
          created_at_ms: number;
          last_seen_at_ms: number;
          expires_at_ms: number;
        }
      | undefined;
    if (!row) return null;
    return {
      idHash: row.id_hash,
      userName: row.user_name,
      csrfToken: row.csrf_token,
      createdAtMs: row.created_at_ms,
      lastSeenAtMs: row.last_seen_at_ms,
      expiresAtMs: row.expires_at_ms,
    };
  }

  touchSession(idHash: Buffer, lastSeenAtMs: number): void {
    this.store.sql('UPDATE sessions SET last_seen_at_ms = ? WHERE id_hash = ?').run(lastSeenAtMs, idHash);
  }

  deleteSession(idHash: Buffer): void {
    this.store.sql('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  /** Ends every session of a user; answers how many there were. */
  deleteSessionsOf(userName: string): number {
    return this.store.sql('DELETE FROM sessions WHERE user_name = ?').run(userName).changes;
  }

  /** Removes sessions past their absolute expiry or idle since `idleSinceMs`. */
  pruneSessions(nowMs: number, idleSinceMs: number): void {
    this.store.sql('DELETE FROM sessions WHERE expires_at_ms <= ? OR last_seen_at_ms <= ?').run(nowMs, idleSinceMs);
  }

  failures(name: string): LoginFailures | null {
    const row = this.store.sql('SELECT failures, last_failure_at_ms, locked_until_ms FROM login_failures WHERE name = ?').get(name) as
      { failures: number; last_failure_at_ms: number; locked_until_ms: number | null } | undefined;
    return row ? { failures: row.failures, lastFailureAtMs: row.last_failure_at_ms, lockedUntilMs: row.locked_until_ms } : null;
  }

  putFailures(name: string, failures: LoginFailures): void {
    this.store
      .sql(
        `INSERT INTO login_failures (name, failures, last_failure_at_ms, locked_until_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET failures = excluded.failures, last_failure_at_ms = excluded.last_failure_at_ms,
           locked_until_ms = excluded.locked_until_ms`,
      )
      .run(name, failures.failures, failures.lastFailureAtMs, failures.lockedUntilMs);
  }

  clearFailures(name: string): void {
    this.store.sql('DELETE FROM login_failures WHERE name = ?').run(name);
  }

  /** Forgets failures older than `beforeMs` whose lock (if any) has ended: the table stays small. */
  pruneFailures(beforeMs: number, nowMs: number): void {
    this.store
      .sql('DELETE FROM login_failures WHERE last_failure_at_ms < ? AND (locked_until_ms IS NULL OR locked_until_ms <= ?)')
      .run(beforeMs, nowMs);
  }
}
