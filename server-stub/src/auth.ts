import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Role, SessionInfo } from '@airpanel/contract';
import { writeFileAtomicSync } from '@airpanel/node-support/atomic-file';

/**
 * Credentials. Panel API keys and the generated admin token are 32 random bytes (256 bits)
 * each. For secrets of that entropy a single SHA-256 is a sound way to store them: a slow
 * password hash (scrypt, argon2) exists to make guessing low-entropy human passwords
 * expensive, and nobody can guess 2^256 keys. Comparing digests with timingSafeEqual keeps
 * the comparison time independent of where the digests differ. Being fast also matters:
 * the display route and the broker's CONNECT check hash on every call.
 */

export const ADMIN_TOKEN_FILE = 'admin-token';
/** A configured admin token shorter than this is refused (it would be guessable). */
export const ADMIN_TOKEN_MIN_LENGTH = 24;

export function generateSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function generatePanelKey(): string {
  return generateSecret('apk_');
}

/** SHA-256 of the secret's UTF-8 bytes, by the one-shot crypto.hash (no Hash object per call). */
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AdminTokenSource {
  token: string;
  /** Where the token was read from or written to; null when it came from the configuration. */
  file: string | null;
  generated: boolean;
}

/**
 * The admin token: the configured one if any, else the one stored in the data dir, else a
 * new one written there with mode 0600 (readable by the backend's user only).
 */
export function loadAdminToken(dataDir: string, configured: string | undefined): AdminTokenSource {
  if (configured !== undefined && configured !== '') {
    if (configured.length < ADMIN_TOKEN_MIN_LENGTH) {
      throw new Error(`the admin token (AIRPANEL_ADMIN_TOKEN / adminToken) must have at least ${ADMIN_TOKEN_MIN_LENGTH} characters`);
    }
    return { token: configured, file: null, generated: false };
  }
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`);
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < ADMIN_TOKEN_MIN_LENGTH) throw new Error(`${file} holds no valid admin token; delete it to generate a new one`);
    return { token, file, generated: false };
  }
  const token = generateSecret('apadm_');
  writeFileAtomicSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file, generated: true };
}

/** The bearer token of an Authorization header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+([\x21-\x7e]{1,512})[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}

/** A user, by the session cookie (its session: for the CSRF check and `GET /session`) or by one of its API tokens (session null). */
export interface UserPrincipal {
  kind: 'user';
  name: string;
  role: Role;
  session: { idHash: Buffer; info: SessionInfo } | null;
}
export type SessionPrincipal = UserPrincipal & { session: NonNullable<UserPrincipal['session']> };

/** Who a request's credentials name: the admin token (role admin), a panel's key, or a user's session. */
export type Principal = { kind: 'admin' } | { kind: 'panel'; panelId: string } | UserPrincipal;
