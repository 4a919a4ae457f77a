// Who may read a panel's own-sensor readings and ask which are recorded: the same answers as
// every other panel route (README, Authentication), over real HTTP and SQLite.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError, PanelRegistration } from '@airpanel/contract';
import { useTestBackend } from '../test-support.js';

describe('panel-readings routes: credentials', () => {
  const server = useTestBackend();

  it("no or unknown credentials → 401, another panel's key → 403, its own key or the admin token → 200, as the display route answers", async () => {
    const backend = await server.start();
    const api = server.api;
    const admin = backend.adminToken;
    const register = async (id: string) => {
      const answer = await api('createPanel', { token: admin, body: { id, name: id } });
      expect(answer.status, answer.text).toBe(201);
      return PanelRegistration.parse(answer.json);
    };
    const a = await register('panel-a');
    const b = await register('panel-b');
    const ids = [randomUUID()];
    const panelB = { params: { panelId: 'panel-b' } };
    const list = (token?: string) => api('listPanelSensorReadings', { ...panelB, ...(token === undefined ? {} : { token }) });
    const recorded = (token?: string) =>
      api('recordedPanelSensorReadings', { ...panelB, body: { ids }, ...(token === undefined ? {} : { token }) });
    const display = (token: string) => api('getDisplay', { ...panelB, token });

    for (const call of [list, recorded]) {
      const anotherPanel = await call(a.apiKey);
      expect(anotherPanel.status, anotherPanel.text).toBe((await display(a.apiKey)).status);
      expect(anotherPanel.status).toBe(403);
      expect(ApiError.parse(anotherPanel.json).error.code).toBe('forbidden');
      const none = await call();
      expect(none.status).toBe(401);
      expect(ApiError.parse(none.json).error.code).toBe('unauthorized');
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await call('not-a-key-of-anyone')).status).toBe(401);
      expect((await call(b.apiKey)).status).toBe(200);
      expect((await call(admin)).status).toBe(200);
    }
    expect((await recorded(b.apiKey)).json).toEqual({ recorded: [] });
    expect((await list(b.apiKey)).json).toEqual([]);
    // Another panel's key is refused before its request is looked at.
    const notIds = JSON.stringify({ ids: 'nope' });
    expect((await api('recordedPanelSensorReadings', { ...panelB, token: a.apiKey, rawBody: notIds })).status).toBe(403);
    expect((await api('recordedPanelSensorReadings', { ...panelB, token: b.apiKey, rawBody: notIds })).status).toBe(400);
  });
});
