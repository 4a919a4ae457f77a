import { ApiCallError } from '@airpanel/contract/api';
import { api, setCsrfToken } from './api.js';
import { setSession } from './session.js';

/** Asks the backend whether the session cookie still names a session (on load, after a 401). */
export async function loadSession(): Promise<void> {
  try {
    const info = await api.call('getSession');
    setCsrfToken(info.csrfToken);
    setSession(info);
  } catch (error) {
    setCsrfToken(null);
    setSession(null);
    if (!(error instanceof ApiCallError && error.status === 401)) throw error;
  }
}

export type LoginOutcome = { ok: true } | { ok: false; message: string; retryAt: Date | null };

/** Logs in; a refusal comes back as what to tell the person (wrong password, locked until when). */
export async function logIn(name: string, password: string, now = () => Date.now()): Promise<LoginOutcome> {
  try {
    const info = await api.call('login', { body: { name, password } });
    setCsrfToken(info.csrfToken);
    setSession(info);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    if (error.status === 401) return { ok: false, message: 'Wrong user name or password.', retryAt: null };
    if (error.status === 429) {
      return { ok: false, message: 'Too many failed logins: this account is locked for a while.', retryAt: lockedUntil(error, now) };
    }
    if (error.kind === 'transport') return { ok: false, message: 'The backend did not answer. Try again.', retryAt: null };
    return { ok: false, message: error.serverError?.message ?? error.message, retryAt: null };
  }
}

/** Ends the session on the backend, then here (also when the backend had already ended it). */
export async function logOut(): Promise<void> {
  try {
    await api.call('logout');
  } catch (error) {
    if (!(error instanceof ApiCallError && error.status === 401)) throw error;
  } finally {
    setCsrfToken(null);
    setSession(null);
  }
}

/** When the lock ends, from the refusal's details (`retryAt`, or `retryAfterSeconds` from now). */
function lockedUntil(error: ApiCallError, now: () => number): Date | null {
  const details = error.serverError?.details as { retryAt?: unknown; retryAfterSeconds?: unknown } | undefined;
  if (typeof details?.retryAt === 'string' && !Number.isNaN(Date.parse(details.retryAt))) return new Date(details.retryAt);
  if (typeof details?.retryAfterSeconds === 'number') return new Date(now() + details.retryAfterSeconds * 1000);
  return null;
}
