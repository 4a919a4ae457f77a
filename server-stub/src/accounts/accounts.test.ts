import { beforeEach, describe, expect, it } from 'vitest';
import type { ContentSet } from '@airpanel/contract';
import type { Backend } from '../backend.js';
import { useTestBackend, type BackendTestApi } from '../test-support.js';
import {
  addTestUser,
  login as loginTo,
  manualClock,
  postLogin as postLoginTo,
  sessionApi,
  TEST_PASSWORD,
  type TestSession,
} from './test-support.js';

const MINUTE = 60_000;

describe('accounts: login, sessions, CSRF, lockout (real backend, SQLite, HTTP on 127.0.0.1)', () => {
  const fixture = useTestBackend();
  let backend: Backend;
  let api: BackendTestApi;
  let clock: ReturnType<typeof manualClock>;
  const login = (name: string, password?: string) => loginTo(api, name, password);
  const postLogin = (name: string, password: string) => postLoginTo(api, name, password);
  const as = (session: TestSession) => sessionApi(api, session);

  beforeEach(async () => {
    clock = manualClock();
    backend = await fixture.start({ clock });
    api = fixture.api;
    await addTestUser(backend, 'olga', 'operator');
  });

  it('logs in with an HttpOnly, SameSite=Strict cookie, shows the session, and logout really ends it', async () => {
    const session = await login('olga');
    expect(session.setCookie).toMatch(/^airpanel_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(session.info).toMatchObject({ userName: 'olga', role: 'operator' });
    expect(session.info.idleExpiresAt).toBe(new Date(clock.now() + 30 * MINUTE).toISOString());
    expect(session.info.absoluteExpiresAt).toBe(new Date(clock.now() + 12 * 60 * MINUTE).toISOString());

    const me = await as(session)('getSession');
    expect(me.status).toBe(200);
    expect(me.json).toEqual(session.info);

    const out = await as(session)('logout');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^airpanel_session=; .*Max-Age=0/);
    // The same cookie, replayed after logout, opens nothing.
    const after = await as(session)('listPanels');
    expect(after.status).toBe(401);
    expect(after.json).toMatchObject({ error: { code: 'session-expired' } });
  });

  it('answers a wrong password and an unknown name alike (401, same message)', async () => {
    const wrong = await postLogin('olga', 'not the password at all');
    const unknown = await postLogin('nobody-here', 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
  });

  it('ends a session idle for 30 minutes, and any session 12 hours after login, with an injected clock', async () => {
    const idle = await login('olga');
    clock.advance(29 * MINUTE);
    expect((await as(idle)('getSession')).status).toBe(200);
    // That request moved the idle expiry.
    clock.advance(29 * MINUTE);
    expect((await as(idle)('listPanels')).status).toBe(200);
    clock.advance(30 * MINUTE);
    expect((await as(idle)('listPanels')).status).toBe(401);

    const busy = await login('olga');
    for (let elapsed = 0; elapsed < 12 * 60 * MINUTE - 20 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect((await as(busy)('listPanels')).status).toBe(200);
    }
    clock.advance(20 * MINUTE);
    expect((await as(busy)('listPanels')).status).toBe(401);
  });

  it('refuses a cookie request that changes something without the CSRF header, or with a wrong one; a bearer request needs none', async () => {
    const session = await login('olga');
    const current = (await as(session)('getContentSet', { params: { contentSetId: 'default-en' } })).json as ContentSet;
    const { id: _id, ...body } = current;
    const params = { contentSetId: 'default-en' };
    for (const csrf of [false, 'x'.repeat(43)] as const) {
      const refused = await as(session)('replaceContentSet', { params, body, csrf });
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: 'csrf' } });
      expect((refused.json as { error: { message: string } }).error.message).toContain('x-csrf-token');
    }
    expect((await as(session)('replaceContentSet', { params, body })).status).toBe(200);
    const bearer = await api('replaceContentSet', { params, body, token: backend.adminToken });
    expect(bearer.status).toBe(200);
  });

  it('locks a name after 5 wrong passwords (429 with Retry-After), even for the right one, until the lockout ends', async () => {
    for (let attempt = 1; attempt <= 4; attempt++) expect((await postLogin('olga', 'wrong password!')).status).toBe(401);
    const fifth = await postLogin('olga', 'wrong password!');
    expect(fifth.status).toBe(429);
    expect(fifth.headers.get('retry-after')).toBe(String(15 * 60));
    expect(fifth.json).toMatchObject({
      error: { code: 'login-locked', details: { retryAt: new Date(clock.now() + 15 * MINUTE).toISOString() } },
    });
    expect((await postLogin('olga', TEST_PASSWORD)).status).toBe(429);
    expect(backend.accounts.get('olga').lockedUntil).not.toBeNull();
    // A name nobody has locks the same way: a lockout tells nothing about which names exist.
    for (let attempt = 1; attempt <= 4; attempt++) await postLogin('ghost', 'wrong password!');
    expect((await postLogin('ghost', 'wrong password!')).status).toBe(429);

    clock.advance(15 * MINUTE);
    expect((await postLogin('olga', TEST_PASSWORD)).status).toBe(200);
  });

  it('ends the sessions of a user who is disabled or whose password changes; a role change applies at the next request', async () => {
    await addTestUser(backend, 'root', 'admin');
    const admin = await login('root');
    const first = await login('olga');
    expect((await as(admin)('updateUser', { params: { userName: 'olga' }, body: { password: 'another long passphrase' } })).status).toBe(
      200,
    );
    expect((await as(first)('listPanels')).status).toBe(401);
    expect((await postLogin('olga', TEST_PASSWORD)).status).toBe(401);

    const second = await login('olga', 'another long passphrase');
    const demoted = await as(admin)('updateUser', { params: { userName: 'olga' }, body: { role: 'viewer' } });
    expect(demoted.json).toMatchObject({ name: 'olga', role: 'viewer', disabled: false });
    const refused = await as(second)('createContentSet', { rawBody: '{}' });
    expect(refused.status).toBe(403);
    expect((refused.json as { error: { message: string } }).error.message).toContain('needs the operator role');

    expect((await as(admin)('updateUser', { params: { userName: 'olga' }, body: { disabled: true } })).status).toBe(200);
    expect((await as(second)('listPanels')).status).toBe(401);
    expect((await postLogin('olga', 'another long passphrase')).status).toBe(401);
  });

  it('creates and lists users for an admin only, refusing weak passwords and taken names', async () => {
    await addTestUser(backend, 'root', 'admin');
    const admin = await login('root');
    const operator = await login('olga');
    const weak = await as(admin)('createUser', { body: { name: 'vic', role: 'viewer', password: 'short' } });
    expect(weak.status).toBe(400);
    const created = await as(admin)('createUser', { body: { name: 'vic', role: 'viewer', password: TEST_PASSWORD } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'vic', role: 'viewer', lastLoginAt: null });
    expect(JSON.stringify(created.json)).not.toContain('scrypt');
    const again = await as(admin)('createUser', { body: { name: 'vic', role: 'viewer', password: TEST_PASSWORD } });
    expect(again.status).toBe(409);
    const listed = await as(admin)('listUsers');
    expect((listed.json as { name: string }[]).map((u) => u.name)).toEqual(['olga', 'root', 'vic']);
    expect((await as(operator)('listUsers')).status).toBe(403);
  });
});
