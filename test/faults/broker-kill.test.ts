// The external broker (a real Mosquitto, the backend in external mode) dies with SIGKILL while
// the backend's HTTP side stays up: the panel must fall back to polling and stay live, then
// return to MQTT once the broker is back.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FAST_TUNING,
  MOSQUITTO_BINARY,
  ReadingFeeder,
  reportFigures,
  sleep,
  startBackendWithPanel,
  startMosquitto,
  startPanel,
  useCleanups,
} from '../harness/index.js';

const cleanups = useCleanups();

const WINDOW = FAST_TUNING.freshnessWindowMs!;
const haveMosquitto = existsSync(MOSQUITTO_BINARY);
if (!haveMosquitto) console.log(`[faults] broker kill: skipped, ${MOSQUITTO_BINARY} is missing (Debian package mosquitto)`);

describe.skipIf(!haveMosquitto)('external broker (Mosquitto) killed with SIGKILL and restarted', () => {
  it('panel polls and stays live while the broker is down, back to MQTT after', async () => {
    const broker = await startMosquitto();
    cleanups.add(() => broker.stop());
    const { api, registration, sensorId } = await startBackendWithPanel({
      cleanups,
      panelId: 'panel-broker',
      mqtt: { mode: 'external', url: broker.url, username: broker.backendUsername, password: broker.backendPassword },
    });
    const feeder = new ReadingFeeder(() => api, sensorId, 250).start();
    cleanups.add(() => feeder.stop());
    const panel = await startPanel({ mode: 'in-process', cleanups, registration });
    await panel.waitUntil(
      'live over MQTT',
      () => panel.core.state.name === 'live' && panel.entries.some((e) => e.message === 'mqtt up'),
      10_000,
    );
    await panel.waitUntil('documents pushed over MQTT', () => panel.accepted().filter((a) => a.source === 'mqtt').length >= 2, 10_000);

    const statesBefore = panel.states.length;
    const killedAt = performance.now();
    const linesBefore = panel.entries.length;
    await broker.kill('SIGKILL');
    const pollingAt = await panel.waitUntil(
      'polling resumes',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'polling resumes (mqtt down)'),
      10_000,
    );
    const httpDocAt = await panel.waitUntil(
      'a document over HTTP',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'document accepted' && e['source'] === 'http'),
      10_000,
    );
    // Longer than the window: polling alone keeps the panel live.
    await sleep(WINDOW * 2);
    expect(panel.states.slice(statesBefore)).toEqual([]);
    expect(panel.core.state.name).toBe('live');
    const viaHttp = panel.entries.slice(linesBefore).filter((e) => e.message === 'document accepted' && e['source'] === 'http').length;
    expect(viaHttp).toBeGreaterThanOrEqual(2);

    const restartedAt = performance.now();
    await broker.restart();
    const upAt = await panel.waitUntil(
      'mqtt up again',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'mqtt up'),
      15_000,
    );
    const afterUp = panel.entries.length;
    const pushAt = await panel.waitUntil(
      'a document pushed over MQTT again',
      () => panel.entries.slice(afterUp).some((e) => e.message === 'document accepted' && e['source'] === 'mqtt'),
      15_000,
    );
    // Back on push: the poll timer is paused (only the one catch-up poll ran).
    await sleep(1_000);
    const pollsAfterUp = panel.entries.slice(afterUp).filter((e) => e.message === 'document accepted' && e['source'] === 'http').length;
    expect(pollsAfterUp).toBeLessThanOrEqual(1);
    expect(panel.core.state.name).toBe('live');
    expect(panel.states.slice(statesBefore)).toEqual([]);
    const all = panel.accepted().map((a) => a.revision);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);

    reportFigures('faults', 'broker (mosquitto) SIGKILL + restart', {
      pollingAfterKill: pollingAt - killedAt,
      firstHttpDocument: httpDocAt - killedAt,
      documentsViaHttpWhileDown: String(viaHttp),
      mqttUpAfterRestart: upAt - restartedAt,
      firstPushAfterRestart: pushAt - restartedAt,
    });
    expect(upAt - restartedAt).toBeLessThan(15_000);
  }, 60_000);
});
