import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditQuery, ContentSet } from '@airpanel/contract';
import { addTestUser, login, sessionApi, type TestSession } from '../accounts/test-support.js';
import { useTestBackend } from '../test-support.js';

describe('the audit log (real backend, SQLite, HTTP)', () => {
  const fixture = useTestBackend({}, { per: 'suite' });
  let operator: TestSession;
  let viewer: TestSession;
  const appended: AuditEntry[] = [];

  beforeAll(async () => {
    const backend = await fixture.start();
    backend.audit.onAppend((entry) => appended.push(entry));
    await addTestUser(backend, 'olga', 'operator');
    await addTestUser(backend, 'vera', 'viewer');
    operator = await login(fixture.api, 'olga');
    viewer = await login(fixture.api, 'vera');
  });

  const as = (session: TestSession) => sessionApi(fixture.api, session);
  const auditOf = async (query: Partial<AuditQuery>) => {
    const answer = await as(viewer)('listAudit', { query });
    expect(answer.status).toBe(200);
    return answer.json as AuditEntry[];
  };

  it('records a content edit with who, the operation, the object and its state before and after', async () => {
    const params = { contentSetId: 'default-en' };
    const before = (await as(operator)('getContentSet', { params })).json as ContentSet;
    const { id: _id, ...body } = structuredClone(before);
    const firstLevel = Object.keys(body.byLevel)[0]!;
    body.byLevel[firstLevel] = { ...body.byLevel[firstLevel]!, message: 'Edited by the audit test' };
    expect((await as(operator)('replaceContentSet', { params, body })).status).toBe(200);

    const [entry] = await auditOf({ objectType: 'content-set', objectId: 'default-en' });
    expect(entry).toMatchObject({
      actor: { kind: 'user', name: 'olga' },
      action: 'replaceContentSet',
      object: { type: 'content-set', id: 'default-en' },
    });
    expect((entry!.before as ContentSet).byLevel[firstLevel]!.message).toBe(before.byLevel[firstLevel]!.message);
    expect((entry!.after as ContentSet).byLevel[firstLevel]!.message).toBe('Edited by the audit test');
    expect(entry!.summary).toContain('olga');
    // The listener saw the same entry as it was written.
    expect(appended.find((e) => e.id === entry!.id)).toEqual(entry);
  });

  it('records creations by the id in the answer, deletions with an empty after, the admin token and logins; never a password', async () => {
    const created = await as(operator)('createLevelScheme', {
      body: { ...(await fixture.backend.levelSchemes.get('eaqi-3')), id: 'audited-scheme', name: 'Audited' },
    });
    expect(created.status).toBe(201);
    const deleted = await fixture.api('deleteLevelScheme', {
      params: { levelSchemeId: 'audited-scheme' },
      token: fixture.backend.adminToken,
    });
    expect(deleted.status).toBe(204);
    const [deletion, creation] = await auditOf({ objectType: 'level-scheme', objectId: 'audited-scheme' });
    expect(creation).toMatchObject({ action: 'createLevelScheme', actor: { name: 'olga' }, before: null, after: { id: 'audited-scheme' } });
    expect(deletion).toMatchObject({
      action: 'deleteLevelScheme',
      actor: { kind: 'admin-token' },
      before: { id: 'audited-scheme' },
      after: null,
    });

    await addTestUser(fixture.backend, 'root', 'admin');
    await addTestUser(fixture.backend, 'victor', 'viewer');
    const admin = await login(fixture.api, 'root');
    await as(admin)('updateUser', { params: { userName: 'victor' }, body: { password: 'a brand new passphrase' } });
    const userEntries = await auditOf({ objectType: 'user', objectId: 'victor' });
    expect(userEntries[0]).toMatchObject({
      action: 'updateUser',
      actor: { name: 'root' },
      before: { name: 'victor' },
      after: { name: 'victor' },
    });
    expect(userEntries[0]!.summary).toContain('password');
    const logins = await auditOf({ user: 'root', objectType: 'session' });
    expect(logins[0]).toMatchObject({ action: 'login', actor: { kind: 'user', name: 'root' } });
    const everything = JSON.stringify(await auditOf({ limit: 500 }));
    expect(everything).not.toContain('a brand new passphrase');
    expect(everything).not.toContain('scrypt$');
  });

  it('records a panel registration under the new panel, its definition after, never its key', async () => {
    await as(operator)('createSensorSource', {
      body: { id: 'audit-sim', name: 'Sim', spec: { kind: 'simulated' } },
    });
    const created = await as(operator)('createPanel', {
      body: { id: 'audit-panel', name: 'Audited panel', sensorSourceId: 'audit-sim' },
    });
    expect(created.status).toBe(201);
    const [entry] = await auditOf({ objectType: 'panel', objectId: 'audit-panel' });
    expect(entry).toMatchObject({ action: 'createPanel', before: null, after: { id: 'audit-panel', name: 'Audited panel' } });
    expect(JSON.stringify(entry)).not.toContain((created.json as { apiKey: string }).apiKey);
  });

  it('records the alert settings (there is one) before and after, without the webhook secret', async () => {
    const secret = 'a webhook secret nobody may read back';
    const answer = await fixture.api('replaceAlertSettings', {
      body: {
        thresholds: { offline: 120, stale: 900, maintenance: 1800, lagging: 600 },
        webhook: { url: 'http://127.0.0.1:9/hook', secret },
      },
      token: fixture.backend.adminToken,
    });
    expect(answer.status).toBe(200);
    const [entry] = await auditOf({ objectType: 'alert-settings' });
    expect(entry).toMatchObject({
      action: 'replaceAlertSettings',
      object: { type: 'alert-settings', id: null },
      before: { thresholds: { offline: 300 }, webhook: { hasSecret: false } },
      after: { thresholds: { offline: 120 }, webhook: { url: 'http://127.0.0.1:9/hook', hasSecret: true } },
    });
    expect(JSON.stringify(entry)).not.toContain(secret);
  });

  it('records no refused or failed request', async () => {
    const count = (await auditOf({ limit: 500 })).length;
    expect(
      (await as(operator)('replaceContentSet', { params: { contentSetId: 'default-en' }, rawBody: JSON.stringify({ name: '' }) })).status,
    ).toBe(400);
    expect((await as(viewer)('deletePanel', { params: { panelId: 'no-such-panel' } })).status).toBe(403);
    expect((await as(operator)('deletePanel', { params: { panelId: 'no-such-panel' } })).status).toBe(404);
    expect((await auditOf({ limit: 500 })).length).toBe(count);
  });

  it('pages newest first with before and limit', async () => {
    const all = await auditOf({ limit: 500 });
    expect(all.length).toBeGreaterThan(3);
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const page = await auditOf({ limit: 2, before: ids[1] });
    expect(page.map((e) => e.id)).toEqual(ids.slice(2, 4));
  });
});
