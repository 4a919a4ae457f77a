import { CSRF_HEADER, SESSION_COOKIE, type Role, type SessionInfo } from '@airpanel/contract';
import type { Backend } from '../backend.js';

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

export interface SessionAnswer {
  status: number;
  headers: Headers;
  json: unknown;
}

/** Creates a user directly through the backend's account service. */
export async function addTestUser(backend: Backend, name: string, role: Role, password = TEST_PASSWORD): Promise<void> {
  await backend.accounts.create({ name, role, password });
}

/** POST /api/v1/session; the status and body whatever they are. */
export async function postLogin(baseUrl: string, name: string, password: string): Promise<SessionAnswer> {
  const response = await fetch(`${baseUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Logs in and returns the session; throws when the login is refused. */
export async function login(baseUrl: string, name: string, password = TEST_PASSWORD): Promise<TestSession> {
  const answer = await postLogin(baseUrl, name, password);
  if (answer.status !== 200) throw new Error(`login of ${name} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const value = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(setCookie)?.[1];
  if (!value) throw new Error(`login of ${name} set no session cookie: ${setCookie}`);
  return { cookie: `${SESSION_COOKIE}=${value}`, setCookie, info: answer.json as SessionInfo };
}

/**
 * A request made with a session cookie, as the web app makes it: JSON body, and the CSRF
 * header on every non-GET unless `csrf` is false (or a string to send instead).
 */
export async function sessionRequest(
  baseUrl: string,
  session: TestSession,
  method: string,
  path: string,
  options: { body?: unknown; csrf?: boolean | string } = {},
): Promise<SessionAnswer> {
  const headers: Record<string, string> = { cookie: session.cookie };
  const csrf = options.csrf ?? true;
  if (method !== 'GET' && csrf !== false) headers[CSRF_HEADER] = typeof csrf === 'string' ? csrf : session.info.csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}
