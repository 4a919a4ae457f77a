import { randomBytes } from 'node:crypto';
import { passwordWeakness, type Role, type SessionInfo, type User, type UserCreateBody, type UserUpdateBody } from '@airpanel/contract';
import { hashSecret, type SessionPrincipal } from '../auth.js';
import type { Clock } from '../clock.js';
import { ServiceError, notFound } from '../errors.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { AccountStore, UserRow } from './store.js';

/** How long sessions last and how failed logins are answered. */
export interface AccountPolicy {
  /** A session with no request for this long ends. */
  sessionIdleMs: number;
  /** A session ends this long after login whatever happens. */
  sessionAbsoluteMs: number;
  /** Consecutive wrong passwords for one name that lock it… */
  maxFailedLogins: number;
  /** …for this long (failures older than this are forgotten too). */
  lockoutMs: number;
}

export const DEFAULT_ACCOUNT_POLICY: AccountPolicy = {
  sessionIdleMs: 30 * 60_000,
  sessionAbsoluteMs: 12 * 3_600_000,
  maxFailedLogins: 5,
  lockoutMs: 15 * 60_000,
};

/** A login refused because of repeated failures: answered 429 with Retry-After. */
export class LoginLockedError extends Error {
  constructor(readonly retryAtMs: number) {
    super(`too many failed logins: try again after ${new Date(retryAtMs).toISOString()}`);
    this.name = 'LoginLockedError';
  }
}

export interface OpenedSession {
  /** The cookie's value: shown to the browser once, stored only as its SHA-256. */
  cookieValue: string;
  info: SessionInfo;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Users, logins and sessions. Failed logins are counted per submitted name whether or not a
 * user has it, and an unknown name is checked against a decoy hash: the answers (401, 429)
 * and their timing say nothing about which names exist.
 */
export class AccountService {
  constructor(private readonly deps: { store: AccountStore; clock: Clock; policy: AccountPolicy }) {
    // Made now, so that the first login of an unknown name takes no longer than the others.
    void decoyPasswordHash();
  }

  get policy(): AccountPolicy {
    return this.deps.policy;
  }

  list(): User[] {
    return this.deps.store.users().map((row) => this.publicUser(row));
  }

  get(name: string): User {
    const row = this.deps.store.user(name);
    if (!row) throw notFound('user', name);
    return this.publicUser(row);
  }

  /** The user, or null: for the audit log's before/after. */
  find(name: string): User | null {
    const row = this.deps.store.user(name);
    return row ? this.publicUser(row) : null;
  }

  count(): number {
    return this.deps.store.userCount();
  }

  async create(body: UserCreateBody): Promise<User> {
    refuseWeak(body.password, body.name);
    const now = iso(this.deps.clock.now());
    const row: UserRow = {
      name: body.name,
      role: body.role,
      passwordHash: await hashPassword(body.password),
      disabled: false,
      createdAt: now,
      updatedAt: now,
      lastLoginAt: null,
    };
    if (!this.deps.store.insertUser(row)) throw new ServiceError('conflict', 'conflict', `user "${body.name}" already exists`);
    return this.publicUser(row);
  }

  /** Changes role, disabled, password. Disabling or a new password ends the user's sessions; enabling clears a lockout. */
  async update(name: string, body: UserUpdateBody): Promise<User> {
    if (!this.deps.store.user(name)) throw notFound('user', name);
    if (body.password !== undefined) refuseWeak(body.password, name);
    const passwordHash = body.password !== undefined ? await hashPassword(body.password) : null;
    const { store } = this.deps;
    return store.transaction(() => {
      const current = store.user(name);
      if (!current) throw notFound('user', name);
      const next: UserRow = {
        ...current,
        role: body.role ?? current.role,
        disabled: body.disabled ?? current.disabled,
        passwordHash: passwordHash ?? current.passwordHash,
        updatedAt: iso(this.deps.clock.now()),
      };
      store.updateUser(next);
      if (passwordHash !== null || next.disabled) store.deleteSessionsOf(name);
      if (body.disabled === false) store.clearFailures(name);
      return this.publicUser(next);
    });
  }

  /** Checks a name and password; opens a session, or throws 401 (wrong) / LoginLockedError. */
  async login(name: string, password: string): Promise<OpenedSession> {
    const { store, clock, policy } = this.deps;
    const lockedUntil = store.failures(name)?.lockedUntilMs ?? null;
    if (lockedUntil !== null && lockedUntil > clock.now()) throw new LoginLockedError(lockedUntil);
    const user = store.user(name);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
    const now = clock.now();
    if (!user || user.disabled || !matches) {
      const previous = store.failures(name);
      const recent = previous && now - previous.lastFailureAtMs < policy.lockoutMs ? previous.failures : 0;
      const failures = recent + 1;
      const locks = failures >= policy.maxFailedLogins;
      store.putFailures(name, {
        failures: locks ? 0 : failures,
        lastFailureAtMs: now,
        lockedUntilMs: locks ? now + policy.lockoutMs : null,
      });
      if (locks) throw new LoginLockedError(now + policy.lockoutMs);
      throw new ServiceError('unauthorized', 'login-failed', 'wrong user name or password');
    }
    const cookieValue = randomBytes(32).toString('base64url');
    const session = {
      idHash: hashSecret(cookieValue),
      userName: user.name,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAtMs: now,
      lastSeenAtMs: now,
      expiresAtMs: now + policy.sessionAbsoluteMs,
    };
    store.transaction(() => {
      store.pruneSessions(now, now - policy.sessionIdleMs);
      store.pruneFailures(now - policy.lockoutMs, now);
      store.clearFailures(name);
      store.updateUser({ ...user, lastLoginAt: iso(now) });
      store.insertSession(session);
    });
    return { cookieValue, info: this.sessionInfo(user.name, user.role, session.csrfToken, now, session.expiresAtMs) };
  }

  /** The user of a session cookie's value, moving its idle expiry; null when unknown, expired or the user is disabled. */
  authenticate(cookieValue: string): SessionPrincipal | null {
    const { store, clock, policy } = this.deps;
    const idHash = hashSecret(cookieValue);
    const session = store.session(idHash);
    if (!session) return null;
    const now = clock.now();
    const user = store.user(session.userName);
    if (now >= session.expiresAtMs || now - session.lastSeenAtMs >= policy.sessionIdleMs || !user || user.disabled) {
      store.deleteSession(idHash);
      return null;
    }
    store.touchSession(idHash, now);
    return {
      kind: 'user',
      name: user.name,
      role: user.role,
      session: { idHash, info: this.sessionInfo(user.name, user.role, session.csrfToken, now, session.expiresAtMs) },
    };
  }

  logout(idHash: Buffer): void {
    this.deps.store.deleteSession(idHash);
  }

  private sessionInfo(userName: string, role: Role, csrfToken: string, nowMs: number, absoluteMs: number): SessionInfo {
    return {
      userName,
      role,
      csrfToken,
      idleExpiresAt: iso(Math.min(nowMs + this.deps.policy.sessionIdleMs, absoluteMs)),
      absoluteExpiresAt: iso(absoluteMs),
    };
  }

  private publicUser(row: UserRow): User {
    const lockedUntil = this.deps.store.failures(row.name)?.lockedUntilMs ?? null;
    return {
      name: row.name,
      role: row.role,
      disabled: row.disabled,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      lastLoginAt: row.lastLoginAt,
      lockedUntil: lockedUntil !== null && lockedUntil > this.deps.clock.now() ? iso(lockedUntil) : null,
    };
  }
}

function refuseWeak(password: string, name: string): void {
  const weakness = passwordWeakness(password, name);
  if (weakness) throw new ServiceError('bad-request', 'weak-password', weakness);
}
