import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken, ApiTokenIssue, AuditEntry, ContentSet } from '@airpanel/contract';
import { useTestBackend } from '../test-support.js';
import { addTestUser, login, manualClock, sessionApi, type TestSession } from './test-support.js';

describe("users' API tokens (real backend, SQLite, HTTP)", () => {
  const clock = manualClock();
  const fixture = useTestBackend({ clock }, { per: 'suite' });
  let admin: TestSession;

  beforeAll(async () => {
    const backend = await fixture.start();
    await addTestUser(backend, 'root', 'admin');
    await addTestUser(backend, 'ci-bot', 'operator');
    admin = await login(fixture.api, 'root');
  });

  const as = (session: TestSession) => sessionApi(fixture.api, session);
  const makeToken = async (body: { label: string; expiresInDays?: number }) => {
    const answer = await as(admin)('createApiToken', { params: { userName: 'ci-bot' }, body });
    expect(answer.status).toBe(201);
    return answer.json as ApiTokenIssue;
  };

  it("acts with its user's role, without a CSRF header, and is shown once", async () => {
    const issued = await makeToken({ label: 'deploy script' });
    expect(issued).toMatchObject({ userName: 'ci-bot', label: 'deploy script', expiresAt: null, lastUsedAt: null });
    expect(issued.token).toMatch(/^aput_[A-Za-z0-9_-]{43}$/);

    const params = { contentSetId: 'default-en' };
    const content = await fixture.api('getContentSet', { params, token: issued.token });
    expect(content.status).toBe(200);
    const { id: _id, ...body } = content.json as ContentSet;
    expect((await fixture.api('replaceContentSet', { params, body, token: issued.token })).status).toBe(200);
    const promote = await fixture.api('publishRelease', { rawBody: '{}', token: issued.token });
    expect(promote.status).toBe(403);
    expect(promote.json).toMatchObject({ error: { details: { requiredRole: 'release-manager', role: 'operator' } } });
    // The token has no session to show.
    expect((await fixture.api('getSession', { token: issued.token })).status).toBe(401);

    const listed = (await as(admin)('listApiTokens', { params: { userName: 'ci-bot' } })).json as ApiToken[];
    expect(listed).toEqual(
      [{ ...issued, token: undefined, lastUsedAt: new Date(clock.now()).toISOString() }].map(({ token: _t, ...t }) => t),
    );
    const audit = (await as(admin)('listAudit', { query: { user: 'ci-bot', objectType: 'content-set' } })).json as AuditEntry[];
    expect(audit[0]).toMatchObject({ action: 'replaceContentSet', actor: { kind: 'user', name: 'ci-bot' } });
    const everything = JSON.stringify((await as(admin)('listAudit', { query: { limit: 500 } })).json);
    expect(everything).not.toContain(issued.token);
  });

  it('is refused once deleted, after its expiry, and while its user is disabled', async () => {
    const deleted = await makeToken({ label: 'to delete' });
    expect((await as(admin)('deleteApiToken', { params: { userName: 'ci-bot', tokenId: deleted.id } })).status).toBe(204);
    const refused = await fixture.api('listPanels', { token: deleted.token });
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: { code: 'unauthorized' } });

    const expiring = await makeToken({ label: 'one day', expiresInDays: 1 });
    expect((await fixture.api('listPanels', { token: expiring.token })).status).toBe(200);
    clock.advance(86_400_000);
    expect((await fixture.api('listPanels', { token: expiring.token })).status).toBe(401);

    // A day later the admin's session has ended too.
    admin = await login(fixture.api, 'root');
    const kept = await makeToken({ label: 'kept' });
    expect((await as(admin)('updateUser', { params: { userName: 'ci-bot' }, body: { disabled: true } })).status).toBe(200);
    expect((await fixture.api('listPanels', { token: kept.token })).status).toBe(401);
    expect((await as(admin)('updateUser', { params: { userName: 'ci-bot' }, body: { disabled: false } })).status).toBe(200);
    expect((await fixture.api('listPanels', { token: kept.token })).status).toBe(200);
  });
});
