// The backend (a real child process: server-stub's CLI, embedded MQTT, SQLite) is killed with
// SIGKILL while a panel runs against it and readings keep arriving, then started again on the
// same ports and data dir.
import { describe, expect, it } from 'vitest';
import {
  FAST_TUNING,
  ReadingFeeder,
  provisionPanel,
  reportFigures,
  sleep,
  startBackend,
  startPanel,
  useCleanups,
  type AdminApi,
} from '../harness/index.js';

const cleanups = useCleanups();

const WINDOW = FAST_TUNING.freshnessWindowMs!;

describe('backend killed (SIGKILL) and restarted', () => {
  it('panel: stale after the window with its content, live after the restart; backend: no panel lost, revisions monotonic', async () => {
    const backend = await startBackend({ mode: 'child', cleanups });
    let api: AdminApi | null = backend.admin;
    const registration = await provisionPanel(api, { panelId: 'panel-bk' });
    const sensorId = registration.sensorId!;
    // Panels that do not run here must survive the crash as well.
    for (const id of ['panel-bk-2', 'panel-bk-3']) await provisionPanel(api, { panelId: id });
    const feeder = new ReadingFeeder(() => api, sensorId, 250).start();
    cleanups.add(() => feeder.stop());
    const panel = await startPanel({ mode: 'in-process', cleanups, registration });
    await panel.waitUntil(
      'live over MQTT',
      () => panel.core.state.name === 'live' && panel.entries.some((e) => e.message === 'mqtt up'),
      10_000,
    );
    await panel.waitUntil('a few documents', () => panel.accepted().length >= 3, 10_000);

    const postedAtKill = feeder.posted;
    const killedAt = performance.now();
    const killed = await backend.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const acceptedBeforeKill = panel.accepted().map((a) => a.revision);
    const highestBeforeKill = Math.max(...acceptedBeforeKill);
    const staleAt = await panel.waitUntil('stale', () => panel.core.state.name === 'stale', WINDOW + 5_000);
    expect(panel.view()).toMatchObject({ kind: 'content', document: { revision: highestBeforeKill } });
    expect(panel.view()).toMatchObject({ stale: { since: expect.any(String) } });
    // The outage goes on: still stale, still the same content.
    await sleep(WINDOW);
    expect(panel.core.state.name).toBe('stale');
    expect(panel.shownRevision()).toBe(highestBeforeKill);

    const restartAt = performance.now();
    await backend.start();
    const readyAt = performance.now();
    api = backend.admin;
    const liveAt = await panel.waitUntil('live again', () => panel.core.state.name === 'live', 10_000);
    await panel.waitUntil('mqtt up again', () => panel.entries.filter((e) => e.message === 'mqtt up').length >= 2, 10_000);
    await panel.waitUntil('a reading taken by the restarted backend', () => feeder.posted > postedAtKill, 10_000);
    await panel.waitUntil('a new document after the restart', () => (panel.shownRevision() ?? 0) > highestBeforeKill, 10_000);

    // The backend lost no panel, and its revision counter did not go back.
    const panels = (await api.panels()).map((p) => p.id).sort();
    expect(panels).toEqual(['panel-bk', 'panel-bk-2', 'panel-bk-3']);
    const summary = await api.panel('panel-bk');
    expect(summary.currentRevision).toBeGreaterThan(highestBeforeKill);
    // Every revision the panel accepted is above the one before it: nothing reused or replayed.
    const all = panel.accepted().map((a) => a.revision);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
    expect(panel.entries.filter((e) => e.message === 'document rejected')).toEqual([]);
    expect(panel.states.map((s) => s.name)).not.toContain('maintenance');

    reportFigures('faults', 'backend SIGKILL + restart', {
      staleAfterKill: staleAt - killedAt,
      window: WINDOW,
      backendStart: readyAt - restartAt,
      liveAfterBackendReady: liveAt - readyAt,
      readingsPostedBeforeKill: String(postedAtKill),
      readingsPostedAfterRestart: String(feeder.posted - postedAtKill),
      readingsFailedWhileDown: String(feeder.failed),
    });
    expect(liveAt - readyAt).toBeLessThan(10_000);
  }, 90_000);
});
