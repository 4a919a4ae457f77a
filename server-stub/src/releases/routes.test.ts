// The release feed answers credentials as every other route does (README, Authentication),
// over real HTTP with the backend's own panel keys.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ApiError } from '@airpanel/contract';
import type { PanelUpdateReportBody } from '@airpanel/contract/api';
import { useTestBackend } from '../test-support.js';

const report = (panelId: string): z.input<typeof PanelUpdateReportBody> => ({
  panelId,
  runningVersion: '1.0.0',
  channel: 'stable',
  report: { phase: 'idle', targetVersion: null, progress: null, detail: null, at: new Date().toISOString() },
});

describe('release feed routes: credentials', () => {
  const server = useTestBackend();

  it("a panel reports with its own key (204); another panel's key → 403, none → 401; a panel key on release management → 403", async () => {
    const backend = await server.start();
    const api = server.api;
    const register = (id: string) => api.admin.call('createPanel', { body: { id, name: id } });
    const a = await register('panel-a');
    const b = await register('panel-b');
    const panelA = { params: { panelId: 'panel-a' } };

    const own = await api('reportUpdate', { ...panelA, token: a.apiKey, body: report('panel-a') });
    expect(own.status, own.text).toBe(204);

    const another = await api('reportUpdate', { ...panelA, token: b.apiKey, body: report('panel-a') });
    expect(another.status).toBe(403);
    expect(ApiError.parse(another.json).error.code).toBe('forbidden');

    const none = await api('reportUpdate', { ...panelA, body: report('panel-a') });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const management = await api('listReleases', { token: a.apiKey });
    expect(management.status).toBe(403);
    expect(ApiError.parse(management.json).error.code).toBe('forbidden');

    const panels = await api('listPanelUpdates', { token: backend.adminToken });
    expect(panels.status).toBe(200);
    expect((panels.json as { panels: { panelId: string; runningVersion: string | null }[] }).panels).toContainEqual(
      expect.objectContaining({ panelId: 'panel-a', runningVersion: '1.0.0' }),
    );
  });

  it('refuses a report naming another panel than its path, and an unknown channel, with ApiError bodies', async () => {
    const backend = await server.start();
    const api = server.api;
    const mismatch = await api('reportUpdate', { params: { panelId: 'panel-x' }, token: backend.adminToken, body: report('panel-y') });
    expect(mismatch.status).toBe(400);
    expect(ApiError.parse(mismatch.json).error).toMatchObject({ code: 'invalid-request', message: 'panelId mismatch' });
    const noRelease = await api('getChannelManifest', { params: { channel: 'stable' } });
    expect(noRelease.status).toBe(404);
    expect(ApiError.parse(noRelease.json).error.code).toBe('no-release');
  });
});
