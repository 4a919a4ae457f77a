import { CSRF_HEADER, SESSION_COOKIE, type Role, type SessionInfo } from '@airpanel/contract';
import { endpoints, type OperationId } from '@airpanel/contract/api';
import type { Backend } from '../backend.js';
import { testApi, type BackendTestApi, type RequestInput, type TestAnswer } from '../test-support.js';

/** A password that passes the strength rules, for test users. */
export const TEST_PASSWORD = 'correct horse battery staple';

/** A manual clock for tests of expiry and lockout: time moves only when the test says so. */
export function manualClock(startMs = Date.parse('2026-06-01T08:00:00Z')): { now(): number; advance(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

export interface TestSession {
  /** The Cookie header to send. */
  cookie: string;
  /** The raw Set-Cookie of the login answer. */
  setCookie: string;
  info: SessionInfo;
}

/** Creates a user directly through the backend's account service. */
export async function addTestUser(backend: Backend, name: string, role: Role, password = TEST_PASSWORD): Promise<void> {
  await backend.accounts.create({ name, role, password });
}

/** Where a login goes: the test API of a backend, or what `testApi` takes (the backend, its URL). */
export type LoginTarget = BackendTestApi | Parameters<typeof testApi>[0];

/** The login operation; the status and body whatever they are. */
export function postLogin(target: LoginTarget, name: string, password: string): Promise<TestAnswer> {
  const api = typeof target === 'function' ? target : testApi(target);
  return api('login', { body: { name, password } });
}

/** Logs in and returns the session; throws when the login is refused. */
export async function login(target: LoginTarget, name: string, password = TEST_PASSWORD): Promise<TestSession> {
  const answer = await postLogin(target, name, password);
  if (answer.status !== 200) throw new Error(`login of ${name} answered ${answer.status}: ${answer.text}`);
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const value = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(setCookie)?.[1];
  if (!value) throw new Error(`login of ${name} set no session cookie: ${setCookie}`);
  return { cookie: `${SESSION_COOKIE}=${value}`, setCookie, info: answer.json as SessionInfo };
}

interface SessionExtras {
  /** The CSRF header of a non-GET request: the session's token (default), none (false), or this string. */
  csrf?: boolean | string;
}

type SessionRequestArgs<K extends OperationId> = undefined extends RequestInput<K>['params']
  ? [input?: RequestInput<K> & SessionExtras]
  : [input: RequestInput<K> & SessionExtras];

/** The API as one session calls it (see `sessionApi`). */
export type SessionTestApi = <K extends OperationId>(operation: K, ...input: SessionRequestArgs<K>) => Promise<TestAnswer>;

/**
 * The API called with a session cookie, as the web app calls it: the CSRF header on every
 * non-GET operation unless the request's `csrf` says otherwise.
 */
export function sessionApi(api: BackendTestApi, session: TestSession): SessionTestApi {
  const send = api as (operation: OperationId, input: RequestInput<OperationId>) => Promise<TestAnswer>;
  return (operation, ...[input]) => {
    const { csrf = true, headers, ...rest } = (input ?? {}) as RequestInput<OperationId> & SessionExtras;
    const sent: Record<string, string> = { cookie: session.cookie };
    if (endpoints[operation].method !== 'GET' && csrf !== false)
      sent[CSRF_HEADER] = typeof csrf === 'string' ? csrf : session.info.csrfToken;
    return send(operation, { ...rest, headers: { ...sent, ...headers } });
  };
}
