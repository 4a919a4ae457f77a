import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, ContentSet } from '@airpanel/contract';
import { addTestUser, login, sessionRequest, type TestSession } from '../accounts/test-support.js';
import type { Backend } from '../backend.js';
import { makeTempDir, startTestBackend } from '../test-support.js';

describe('the audit log (real backend, SQLite, HTTP)', () => {
  const temp = makeTempDir();
  let backend: Backend;
  let operator: TestSession;
  let viewer: TestSession;
  const appended: AuditEntry[] = [];

  beforeAll(async () => {
    backend = await startTestBackend(temp.dir);
    backend.audit.onAppend((entry) => appended.push(entry));
    await addTestUser(backend, 'olga', 'operator');
    await addTestUser(backend, 'vera', 'viewer');
    operator = await login(backend.url, 'olga');
    viewer = await login(backend.url, 'vera');
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  const auditOf = async (query: string) => {
    const answer = await sessionRequest(backend.url, viewer, 'GET', `/api/v1/audit${query}`);
    expect(answer.status).toBe(200);
    return answer.json as AuditEntry[];
  };

  it('records a content edit with who, the operation, the object and its state before and after', async () => {
    const path = '/api/v1/content-sets/default-en';
    const before = (await sessionRequest(backend.url, operator, 'GET', path)).json as ContentSet;
    const { id: _id, ...body } = structuredClone(before);
    const firstLevel = Object.keys(body.byLevel)[0]!;
    body.byLevel[firstLevel] = { ...body.byLevel[firstLevel]!, message: 'Edited by the audit test' };
    expect((await sessionRequest(backend.url, operator, 'PUT', path, { body })).status).toBe(200);

    const [entry] = await auditOf('?objectType=content-set&objectId=default-en');
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
    const created = await sessionRequest(backend.url, operator, 'POST', '/api/v1/level-schemes', {
      body: { ...(await backend.levelSchemes.get('eaqi-3')), id: 'audited-scheme', name: 'Audited' },
    });
    expect(created.status).toBe(201);
    const deleted = await fetch(`${backend.url}/api/v1/level-schemes/audited-scheme`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${backend.adminToken}` },
    });
    expect(deleted.status).toBe(204);
    const [deletion, creation] = await auditOf('?objectType=level-scheme&objectId=audited-scheme');
    expect(creation).toMatchObject({ action: 'createLevelScheme', actor: { name: 'olga' }, before: null, after: { id: 'audited-scheme' } });
    expect(deletion).toMatchObject({
      action: 'deleteLevelScheme',
      actor: { kind: 'admin-token' },
      before: { id: 'audited-scheme' },
      after: null,
    });

    await addTestUser(backend, 'root', 'admin');
    await addTestUser(backend, 'victor', 'viewer');
    const admin = await login(backend.url, 'root');
    await sessionRequest(backend.url, admin, 'PATCH', '/api/v1/users/victor', { body: { password: 'a brand new passphrase' } });
    const userEntries = await auditOf('?objectType=user&objectId=victor');
    expect(userEntries[0]).toMatchObject({
      action: 'updateUser',
      actor: { name: 'root' },
      before: { name: 'victor' },
      after: { name: 'victor' },
    });
    expect(userEntries[0]!.summary).toContain('password');
    const logins = await auditOf('?user=root&objectType=session');
    expect(logins[0]).toMatchObject({ action: 'login', actor: { kind: 'user', name: 'root' } });
    const everything = JSON.stringify(await auditOf('?limit=500'));
    expect(everything).not.toContain('a brand new passphrase');
    expect(everything).not.toContain('scrypt$');
  });

  it('records a panel registration under the new panel, its definition after, never its key', async () => {
    await sessionRequest(backend.url, operator, 'POST', '/api/v1/sensors', {
      body: { id: 'audit-sim', name: 'Sim', spec: { kind: 'simulated' } },
    });
    const created = await sessionRequest(backend.url, operator, 'POST', '/api/v1/panels', {
      body: { id: 'audit-panel', name: 'Audited panel', sensorSourceId: 'audit-sim' },
    });
    expect(created.status).toBe(201);
    const [entry] = await auditOf('?objectType=panel&objectId=audit-panel');
    expect(entry).toMatchObject({ action: 'createPanel', before: null, after: { id: 'audit-panel', name: 'Audited panel' } });
    expect(JSON.stringify(entry)).not.toContain((created.json as { apiKey: string }).apiKey);
  });

  it('records the alert settings (there is one) before and after, without the webhook secret', async () => {
    const secret = 'a webhook secret nobody may read back';
    const answer = await fetch(`${backend.url}/api/v1/alert-settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        thresholds: { offline: 120, stale: 900, maintenance: 1800, lagging: 600 },
        webhook: { url: 'http://127.0.0.1:9/hook', secret },
      }),
    });
    expect(answer.status).toBe(200);
    const [entry] = await auditOf('?objectType=alert-settings');
    expect(entry).toMatchObject({
      action: 'replaceAlertSettings',
      object: { type: 'alert-settings', id: null },
      before: { thresholds: { offline: 300 }, webhook: { hasSecret: false } },
      after: { thresholds: { offline: 120 }, webhook: { url: 'http://127.0.0.1:9/hook', hasSecret: true } },
    });
    expect(JSON.stringify(entry)).not.toContain(secret);
  });

  it('records no refused or failed request', async () => {
    const count = (await auditOf('?limit=500')).length;
    expect((await sessionRequest(backend.url, operator, 'PUT', '/api/v1/content-sets/default-en', { body: { name: '' } })).status).toBe(
      400,
    );
    expect((await sessionRequest(backend.url, viewer, 'DELETE', '/api/v1/panels/no-such-panel')).status).toBe(403);
    expect((await sessionRequest(backend.url, operator, 'DELETE', '/api/v1/panels/no-such-panel')).status).toBe(404);
    expect((await auditOf('?limit=500')).length).toBe(count);
  });

  it('pages newest first with before and limit', async () => {
    const all = await auditOf('?limit=500');
    expect(all.length).toBeGreaterThan(3);
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const page = await auditOf(`?limit=2&before=${ids[1]}`);
    expect(page.map((e) => e.id)).toEqual(ids.slice(2, 4));
  });
});
