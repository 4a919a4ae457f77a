import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken, ApiTokenIssue, AuditEntry } from '@airpanel/contract';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend } from '../test-support.js';
import { addTestUser, login, manualClock, sessionRequest, type TestSession } from './test-support.js';

describe("users' API tokens (real backend, SQLite, HTTP)", () => {
  const temp = makeTempDir();
  const clock = manualClock();
  let backend: Backend;
  let admin: TestSession;

  beforeAll(async () => {
    backend = await startTestBackend(temp.dir, { clock });
    await addTestUser(backend, 'root', 'admin');
    await addTestUser(backend, 'ci-bot', 'operator');
    admin = await login(backend.url, 'root');
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  const withToken = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${backend.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const makeToken = async (body: unknown) => {
    const answer = await sessionRequest(backend.url, admin, 'POST', '/api/v1/users/ci-bot/api-tokens', { body });
    expect(answer.status).toBe(201);
    return answer.json as ApiTokenIssue;
  };

  it("acts with its user's role, without a CSRF header, and is shown once", async () => {
    const issued = await makeToken({ label: 'deploy script' });
    expect(issued).toMatchObject({ userName: 'ci-bot', label: 'deploy script', expiresAt: null, lastUsedAt: null });
    expect(issued.token).toMatch(/^aput_[A-Za-z0-9_-]{43}$/);

    const content = await withToken(issued.token, 'GET', '/api/v1/content-sets/default-en');
    expect(content.status).toBe(200);
    const { id: _id, ...body } = content.json as { id: string };
    expect((await withToken(issued.token, 'PUT', '/api/v1/content-sets/default-en', body)).status).toBe(200);
    const promote = await withToken(issued.token, 'POST', '/api/v1/releases', {});
    expect(promote.status).toBe(403);
    expect(promote.json).toMatchObject({ error: { details: { requiredRole: 'release-manager', role: 'operator' } } });
    // The token has no session to show.
    expect((await withToken(issued.token, 'GET', '/api/v1/session')).status).toBe(401);

    const listed = (await sessionRequest(backend.url, admin, 'GET', '/api/v1/users/ci-bot/api-tokens')).json as ApiToken[];
    expect(listed).toEqual(
      [{ ...issued, token: undefined, lastUsedAt: new Date(clock.now()).toISOString() }].map(({ token: _t, ...t }) => t),
    );
    const audit = (await sessionRequest(backend.url, admin, 'GET', '/api/v1/audit?user=ci-bot&objectType=content-set'))
      .json as AuditEntry[];
    expect(audit[0]).toMatchObject({ action: 'replaceContentSet', actor: { kind: 'user', name: 'ci-bot' } });
    const everything = JSON.stringify((await sessionRequest(backend.url, admin, 'GET', '/api/v1/audit?limit=500')).json);
    expect(everything).not.toContain(issued.token);
  });

  it('is refused once deleted, after its expiry, and while its user is disabled', async () => {
    const deleted = await makeToken({ label: 'to delete' });
    expect((await sessionRequest(backend.url, admin, 'DELETE', `/api/v1/users/ci-bot/api-tokens/${deleted.id}`)).status).toBe(204);
    const refused = await withToken(deleted.token, 'GET', '/api/v1/panels');
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: { code: 'unauthorized' } });

    const expiring = await makeToken({ label: 'one day', expiresInDays: 1 });
    expect((await withToken(expiring.token, 'GET', '/api/v1/panels')).status).toBe(200);
    clock.advance(86_400_000);
    expect((await withToken(expiring.token, 'GET', '/api/v1/panels')).status).toBe(401);

    // A day later the admin's session has ended too.
    admin = await login(backend.url, 'root');
    const kept = await makeToken({ label: 'kept' });
    expect((await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/ci-bot', { body: { disabled: true } })).status).toBe(200);
    expect((await withToken(kept.token, 'GET', '/api/v1/panels')).status).toBe(401);
    expect((await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/ci-bot', { body: { disabled: false } })).status).toBe(200);
    expect((await withToken(kept.token, 'GET', '/api/v1/panels')).status).toBe(200);
  });
});
