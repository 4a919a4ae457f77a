import { SESSION_COOKIE } from '@airpanel/contract';

/** The session cookie's value in a Cookie header, or null when it has none (or one that cannot be ours). */
export function sessionCookieValue(header: string | undefined): string | null {
  if (!header || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    // Our values are 43 base64url characters; anything else is nobody's session.
    return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : null;
  }
  return null;
}

/**
 * The Set-Cookie of a new session: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), Path=/ (the web app and the API), Secure when served over HTTPS.
 * Max-Age is the absolute lifetime; the idle expiry is enforced by the backend.
 */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie that removes the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
