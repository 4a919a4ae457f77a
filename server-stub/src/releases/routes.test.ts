// The release feed answers credentials as every other route does (README, Authentication),
// over real HTTP with the backend's own panel keys.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, PanelRegistration } from '@airpanel/contract';
import type { Backend } from '../backend.js';
import { apiClient, makeTempDir, startTestBackend } from '../test-support.js';

const report = (panelId: string) => ({
  panelId,
  runningVersion: '1.0.0',
  channel: 'stable',
  report: { phase: 'idle', targetVersion: null, progress: null, detail: null, at: new Date().toISOString() },
});

describe('release feed routes: credentials', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let backend: Backend | null = null;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(async () => {
    await backend?.close();
    backend = null;
    temp.remove();
  });

  it("a panel reports with its own key (204); another panel's key → 403, none → 401; a panel key on release management → 403", async () => {
    backend = await startTestBackend(temp.dir);
    const api = apiClient(backend.url);
    const register = async (id: string) =>
      PanelRegistration.parse((await api('POST', '/api/v1/panels', { token: backend!.adminToken, body: { id, name: id } })).json);
    const a = await register('panel-a');
    const b = await register('panel-b');

    const own = await api('POST', '/api/v1/update/panels/panel-a/report', { token: a.apiKey, body: report('panel-a') });
    expect(own.status, own.text).toBe(204);

    const another = await api('POST', '/api/v1/update/panels/panel-a/report', { token: b.apiKey, body: report('panel-a') });
    expect(another.status).toBe(403);
    expect(ApiError.parse(another.json).error.code).toBe('forbidden');

    const none = await api('POST', '/api/v1/update/panels/panel-a/report', { body: report('panel-a') });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const management = await api('GET', '/api/v1/releases', { token: a.apiKey });
    expect(management.status).toBe(403);
    expect(ApiError.parse(management.json).error.code).toBe('forbidden');

    const panels = await api('GET', '/api/v1/releases/panels', { token: backend.adminToken });
    expect(panels.status).toBe(200);
    expect((panels.json as { panels: { panelId: string; runningVersion: string | null }[] }).panels).toContainEqual(
      expect.objectContaining({ panelId: 'panel-a', runningVersion: '1.0.0' }),
    );
  });

  it('refuses a report naming another panel than its path, and an unknown channel, with ApiError bodies', async () => {
    backend = await startTestBackend(temp.dir);
    const api = apiClient(backend.url);
    const mismatch = await api('POST', '/api/v1/update/panels/panel-x/report', { token: backend.adminToken, body: report('panel-y') });
    expect(mismatch.status).toBe(400);
    expect(ApiError.parse(mismatch.json).error).toMatchObject({ code: 'invalid-request', message: 'panelId mismatch' });
    const noRelease = await api('GET', '/api/v1/update/channels/stable/manifest');
    expect(noRelease.status).toBe(404);
    expect(ApiError.parse(noRelease.json).error.code).toBe('no-release');
  });
});
