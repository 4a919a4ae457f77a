import { beforeEach, describe, expect, it } from 'vitest';
import type { PanelTransition } from '@airpanel/contract';
import { PANEL_TRANSITIONS_KEPT, StatusMessage, type PanelStateName } from '@airpanel/contract';
import { addTestUser, login, sessionApi } from '../accounts/test-support.js';
import type { Backend } from '../backend.js';
import { useTestBackend } from '../test-support.js';

const PANEL = 'panel-transitions';

function status(state: PanelStateName, stateReason: string, online = true): StatusMessage {
  return StatusMessage.parse({
    panelId: PANEL,
    online,
    firmwareVersion: '1.2.3',
    state,
    stateReason,
    displayedRevision: 1,
    uptimeSeconds: 5,
    lastError: null,
    maintenanceCode: null,
    sentAt: '2026-05-01T10:00:00.000Z',
  });
}

describe('a panel state transitions kept by the backend (real backend, SQLite, HTTP)', () => {
  const fixture = useTestBackend();
  let backend: Backend;

  const transitions = async (query: { limit?: number; before?: number } = {}): Promise<PanelTransition[]> =>
    fixture.api.admin.call('listPanelTransitions', { params: { panelId: PANEL }, query });

  beforeEach(async () => {
    backend = await fixture.start();
    await backend.panels.create({ id: PANEL, name: 'Transitions' });
  });

  it('appends one transition when the reported state changes, none when it repeats', async () => {
    backend.panelMessages.onStatus(PANEL, status('live', 'document received'));
    backend.panelMessages.onStatus(PANEL, status('stale', 'no document for 15 min'));
    backend.panelMessages.onStatus(PANEL, status('stale', 'no document for 16 min'));
    const listed = await transitions();
    expect(listed.map((t) => t.kind)).toEqual(['state', 'state', 'connection']);
    expect(listed[0]).toMatchObject({ kind: 'state', from: 'live', to: 'stale', reason: 'no document for 15 min' });
    expect(listed[1]).toMatchObject({ kind: 'state', from: null, to: 'live', reason: 'document received' });
    expect(listed[2]).toMatchObject({ kind: 'connection', online: true });

    // The panel's own state-transition event, then its status repeating that state: one transition.
    backend.panelMessages.onEvent(PANEL, {
      type: 'state-transition',
      panelId: PANEL,
      from: 'stale',
      to: 'live',
      reason: 'document received again',
      at: '2026-05-01T10:05:00.000Z',
    });
    backend.panelMessages.onStatus(PANEL, status('live', 'document received again'));
    // The last will: a connection change, the state stays.
    backend.panelMessages.onStatus(PANEL, StatusMessage.parse({ panelId: PANEL, online: false }));
    const after = await transitions({ limit: 2 });
    expect(after).toHaveLength(2);
    expect(after[0]).toMatchObject({ kind: 'connection', online: false, reason: 'went offline (last will)' });
    expect(after[1]).toMatchObject({ kind: 'state', from: 'stale', to: 'live', reason: 'document received again' });
    expect(after[0]!.id).toBeGreaterThan(after[1]!.id);

    const older = await transitions({ before: after[1]!.id });
    expect(older.map((t) => t.id)).toEqual(listed.map((t) => t.id));
  });

  it(`keeps the newest ${PANEL_TRANSITIONS_KEPT} per panel`, async () => {
    const reports = PANEL_TRANSITIONS_KEPT + 20;
    for (let i = 0; i < reports; i++) backend.panelMessages.onStatus(PANEL, status(i % 2 === 0 ? 'live' : 'stale', `report ${i}`));
    const kept = await transitions({ limit: PANEL_TRANSITIONS_KEPT });
    expect(kept).toHaveLength(PANEL_TRANSITIONS_KEPT);
    expect(kept[0]).toMatchObject({ kind: 'state', to: 'stale', reason: `report ${reports - 1}` });
    expect(kept.at(-1)).toMatchObject({ kind: 'state', reason: `report ${reports - PANEL_TRANSITIONS_KEPT}` });
    expect(await transitions({ before: kept.at(-1)!.id })).toEqual([]);
  });

  it('lets a viewer read them, refuses a bad limit and an unknown panel', async () => {
    backend.panelMessages.onStatus(PANEL, status('maintenance', 'configuration invalid'));
    await addTestUser(backend, 'vera', 'viewer');
    const asViewer = sessionApi(fixture.api, await login(fixture.api, 'vera'));
    const read = await asViewer('listPanelTransitions', { params: { panelId: PANEL } });
    expect(read.status).toBe(200);
    expect(read.json).toEqual([
      expect.objectContaining({ kind: 'state', to: 'maintenance', reason: 'configuration invalid' }),
      expect.objectContaining({ kind: 'connection' }),
    ]);
    for (const limit of [0, PANEL_TRANSITIONS_KEPT + 1]) {
      const bad = await asViewer('listPanelTransitions', { params: { panelId: PANEL }, query: { limit } });
      expect(bad.status, `limit ${limit}`).toBe(400);
    }
    expect((await asViewer('listPanelTransitions', { params: { panelId: 'no-such-panel' } })).status).toBe(404);
    expect((await fixture.api('listPanelTransitions', { params: { panelId: PANEL } })).status).toBe(401);
  });

  it('forgets them with the panel', async () => {
    backend.panelMessages.onStatus(PANEL, status('live', 'document received'));
    expect(await transitions()).not.toEqual([]);
    await backend.panels.delete(PANEL);
    await backend.panels.create({ id: PANEL, name: 'Again' });
    expect(await transitions()).toEqual([]);
  });
});
