import { randomBytes } from 'node:crypto';
import type { ApiToken, ApiTokenCreateBody, ApiTokenIssue } from '@airpanel/contract';
import { generateSecret, hashSecret, type UserPrincipal } from '../auth.js';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { notFound } from '../errors.js';
import type { AccountStore } from './store.js';

/** A use is written back at most this often: a script calling in a loop does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;
const DAY_MS = 86_400_000;

interface TokenRow {
  id: string;
  user_name: string;
  label: string;
  created_at: string;
  last_used_at_ms: number | null;
  expires_at_ms: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tokenOf(row: TokenRow): ApiToken {
  return {
    id: row.id,
    userName: row.user_name,
    label: row.label,
    createdAt: row.created_at,
    lastUsedAt: iso(row.last_used_at_ms),
    expiresAt: iso(row.expires_at_ms),
  };
}

/**
 * Users' API tokens: 32 random bytes each (`aput_…`), stored as SHA-256 like panel keys (a
 * secret of that entropy needs no slow hash). A token acts with its user's current role and
 * is refused while the user is disabled or after its expiry.
 */
export class ApiTokenService {
  constructor(private readonly deps: { store: Store; accounts: AccountStore; clock: Clock }) {}

  list(userName: string): ApiToken[] {
    if (!this.deps.accounts.user(userName)) throw notFound('user', userName);
    return (this.deps.store.sql('SELECT * FROM api_tokens WHERE user_name = ? ORDER BY created_at, id').all(userName) as TokenRow[]).map(
      tokenOf,
    );
  }

  create(userName: string, body: ApiTokenCreateBody): ApiTokenIssue {
    if (!this.deps.accounts.user(userName)) throw notFound('user', userName);
    const now = this.deps.clock.now();
    const token = generateSecret('aput_');
    const row: TokenRow = {
      id: `tok_${randomBytes(6).toString('hex')}`,
      user_name: userName,
      label: body.label,
      created_at: new Date(now).toISOString(),
      last_used_at_ms: null,
      expires_at_ms: body.expiresInDays === undefined ? null : now + body.expiresInDays * DAY_MS,
    };
    this.deps.store
      .sql(
        `INSERT INTO api_tokens (id, token_hash, user_name, label, created_at, last_used_at_ms, expires_at_ms)
         VALUES (?, ?, ?, ?, ?, NULL, ?)`,
      )
      .run(row.id, hashSecret(token), row.user_name, row.label, row.created_at, row.expires_at_ms);
    return { ...tokenOf(row), token };
  }

  delete(userName: string, tokenId: string): void {
    const { changes } = this.deps.store.sql('DELETE FROM api_tokens WHERE id = ? AND user_name = ?').run(tokenId, userName);
    if (changes === 0) throw notFound('API token', tokenId);
  }

  /** The user a bearer token belongs to, or null (unknown, expired, user disabled). */
  authenticate(token: string): UserPrincipal | null {
    if (!token.startsWith('aput_')) return null;
    const row = this.deps.store.sql('SELECT * FROM api_tokens WHERE token_hash = ?').get(hashSecret(token)) as TokenRow | undefined;
    if (!row) return null;
    const now = this.deps.clock.now();
    if (row.expires_at_ms !== null && now >= row.expires_at_ms) return null;
    const user = this.deps.accounts.user(row.user_name);
    if (!user || user.disabled) return null;
    if (row.last_used_at_ms === null || now - row.last_used_at_ms >= LAST_USED_RESOLUTION_MS)
      this.deps.store.sql('UPDATE api_tokens SET last_used_at_ms = ? WHERE id = ?').run(now, row.id);
    return { kind: 'user', name: user.name, role: user.role, session: null };
  }
}
