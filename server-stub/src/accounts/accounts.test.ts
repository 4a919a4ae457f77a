import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContentSet } from '@airpanel/contract';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend } from '../test-support.js';
import { addTestUser, login, manualClock, postLogin, sessionRequest, TEST_PASSWORD } from './test-support.js';

const MINUTE = 60_000;

describe('accounts: login, sessions, CSRF, lockout (real backend, SQLite, HTTP on 127.0.0.1)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let backend: Backend;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    temp = makeTempDir();
    clock = manualClock();
    backend = await startTestBackend(temp.dir, { clock });
    await addTestUser(backend, 'olga', 'operator');
  });
  afterEach(async () => {
    await backend.close();
    temp.remove();
  });

  it('logs in with an HttpOnly, SameSite=Strict cookie, shows the session, and logout really ends it', async () => {
    const session = await login(backend.url, 'olga');
    expect(session.setCookie).toMatch(/^airpanel_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(session.info).toMatchObject({ userName: 'olga', role: 'operator' });
    expect(session.info.idleExpiresAt).toBe(new Date(clock.now() + 30 * MINUTE).toISOString());
    expect(session.info.absoluteExpiresAt).toBe(new Date(clock.now() + 12 * 60 * MINUTE).toISOString());

    const me = await sessionRequest(backend.url, session, 'GET', '/api/v1/session');
    expect(me.status).toBe(200);
    expect(me.json).toEqual(session.info);

    const out = await sessionRequest(backend.url, session, 'DELETE', '/api/v1/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^airpanel_session=; .*Max-Age=0/);
    // The same cookie, replayed after logout, opens nothing.
    const after = await sessionRequest(backend.url, session, 'GET', '/api/v1/panels');
    expect(after.status).toBe(401);
    expect(after.json).toMatchObject({ error: { code: 'session-expired' } });
  });

  it('answers a wrong password and an unknown name alike (401, same message)', async () => {
    const wrong = await postLogin(backend.url, 'olga', 'not the password at all');
    const unknown = await postLogin(backend.url, 'nobody-here', 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
  });

  it('ends a session idle for 30 minutes, and any session 12 hours after login, with an injected clock', async () => {
    const idle = await login(backend.url, 'olga');
    clock.advance(29 * MINUTE);
    expect((await sessionRequest(backend.url, idle, 'GET', '/api/v1/session')).status).toBe(200);
    // That request moved the idle expiry.
    clock.advance(29 * MINUTE);
    expect((await sessionRequest(backend.url, idle, 'GET', '/api/v1/panels')).status).toBe(200);
    clock.advance(30 * MINUTE);
    expect((await sessionRequest(backend.url, idle, 'GET', '/api/v1/panels')).status).toBe(401);

    const busy = await login(backend.url, 'olga');
    for (let elapsed = 0; elapsed < 12 * 60 * MINUTE - 20 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect((await sessionRequest(backend.url, busy, 'GET', '/api/v1/panels')).status).toBe(200);
    }
    clock.advance(20 * MINUTE);
    expect((await sessionRequest(backend.url, busy, 'GET', '/api/v1/panels')).status).toBe(401);
  });

  it('refuses a cookie request that changes something without the CSRF header, or with a wrong one; a bearer request needs none', async () => {
    const session = await login(backend.url, 'olga');
    const current = (await sessionRequest(backend.url, session, 'GET', '/api/v1/content-sets/default-en')).json as ContentSet;
    const { id: _id, ...body } = current;
    const path = '/api/v1/content-sets/default-en';
    for (const csrf of [false, 'x'.repeat(43)] as const) {
      const refused = await sessionRequest(backend.url, session, 'PUT', path, { body, csrf });
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: 'csrf' } });
      expect((refused.json as { error: { message: string } }).error.message).toContain('x-csrf-token');
    }
    expect((await sessionRequest(backend.url, session, 'PUT', path, { body })).status).toBe(200);
    const bearer = await fetch(`${backend.url}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(bearer.status).toBe(200);
  });

  it('locks a name after 5 wrong passwords (429 with Retry-After), even for the right one, until the lockout ends', async () => {
    for (let attempt = 1; attempt <= 4; attempt++) expect((await postLogin(backend.url, 'olga', 'wrong password!')).status).toBe(401);
    const fifth = await postLogin(backend.url, 'olga', 'wrong password!');
    expect(fifth.status).toBe(429);
    expect(fifth.headers.get('retry-after')).toBe(String(15 * 60));
    expect(fifth.json).toMatchObject({
      error: { code: 'login-locked', details: { retryAt: new Date(clock.now() + 15 * MINUTE).toISOString() } },
    });
    expect((await postLogin(backend.url, 'olga', TEST_PASSWORD)).status).toBe(429);
    expect(backend.accounts.get('olga').lockedUntil).not.toBeNull();
    // A name nobody has locks the same way: a lockout tells nothing about which names exist.
    for (let attempt = 1; attempt <= 4; attempt++) await postLogin(backend.url, 'ghost', 'wrong password!');
    expect((await postLogin(backend.url, 'ghost', 'wrong password!')).status).toBe(429);

    clock.advance(15 * MINUTE);
    expect((await postLogin(backend.url, 'olga', TEST_PASSWORD)).status).toBe(200);
  });

  it('ends the sessions of a user who is disabled or whose password changes; a role change applies at the next request', async () => {
    await addTestUser(backend, 'root', 'admin');
    const admin = await login(backend.url, 'root');
    const first = await login(backend.url, 'olga');
    expect(
      (await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/olga', { body: { password: 'another long passphrase' } })).status,
    ).toBe(200);
    expect((await sessionRequest(backend.url, first, 'GET', '/api/v1/panels')).status).toBe(401);
    expect((await postLogin(backend.url, 'olga', TEST_PASSWORD)).status).toBe(401);

    const second = await login(backend.url, 'olga', 'another long passphrase');
    const demoted = await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/olga', { body: { role: 'viewer' } });
    expect(demoted.json).toMatchObject({ name: 'olga', role: 'viewer', disabled: false });
    const refused = await sessionRequest(backend.url, second, 'POST', '/api/v1/content-sets', { body: {} });
    expect(refused.status).toBe(403);
    expect((refused.json as { error: { message: string } }).error.message).toContain('needs the operator role');

    expect((await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/olga', { body: { disabled: true } })).status).toBe(200);
    expect((await sessionRequest(backend.url, second, 'GET', '/api/v1/panels')).status).toBe(401);
    expect((await postLogin(backend.url, 'olga', 'another long passphrase')).status).toBe(401);
  });

  it('creates and lists users for an admin only, refusing weak passwords and taken names', async () => {
    await addTestUser(backend, 'root', 'admin');
    const admin = await login(backend.url, 'root');
    const operator = await login(backend.url, 'olga');
    const weak = await sessionRequest(backend.url, admin, 'POST', '/api/v1/users', {
      body: { name: 'vic', role: 'viewer', password: 'short' },
    });
    expect(weak.status).toBe(400);
    const created = await sessionRequest(backend.url, admin, 'POST', '/api/v1/users', {
      body: { name: 'vic', role: 'viewer', password: TEST_PASSWORD },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'vic', role: 'viewer', lastLoginAt: null });
    expect(JSON.stringify(created.json)).not.toContain('scrypt');
    const again = await sessionRequest(backend.url, admin, 'POST', '/api/v1/users', {
      body: { name: 'vic', role: 'viewer', password: TEST_PASSWORD },
    });
    expect(again.status).toBe(409);
    const listed = await sessionRequest(backend.url, admin, 'GET', '/api/v1/users');
    expect((listed.json as { name: string }[]).map((u) => u.name)).toEqual(['olga', 'root', 'vic']);
    expect((await sessionRequest(backend.url, operator, 'GET', '/api/v1/users')).status).toBe(403);
  });
});
