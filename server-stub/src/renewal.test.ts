import { describe, expect, it } from 'vitest';
import { DisplayDocument } from '@airpanel/contract';
import { defaultProviders } from './sensors/providers.js';
import { useTestBackend } from './test-support.js';

/** Wall-clock time the test moves by hand: validity windows are minutes long. */
class FakeClock {
  constructor(public ms = Date.parse('2026-04-01T06:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

describe('document validity and renewal', () => {
  const server = useTestBackend();

  it('renews documents before they lapse, except those whose sensor source is failing', async () => {
    const clock = new FakeClock();
    const backend = await server.start({
      clock,
      refreshIntervalSeconds: 300,
      providers: defaultProviders({ retryBaseDelayMs: 1 }),
    });
    const admin = server.api.admin;
    // Port 9 (discard) is closed on test machines: every fetch of this source fails at once.
    await admin.call('createSensorSource', {
      body: {
        id: 'dead-vendor',
        name: 'Dead',
        spec: { kind: 'http-json', url: 'http://127.0.0.1:9/', fieldMap: { pm25: 'pm25' }, retries: 0, timeoutMs: 500 },
      },
    });
    await admin.call('createPanel', { body: { id: 'panel-ok', name: 'No sensor' } });
    await admin.call('createPanel', { body: { id: 'panel-dead', name: 'Dead sensor', sensorSourceId: 'dead-vendor' } });
    const doc = async (panelId: string) => DisplayDocument.parse(await admin.call('getDisplay', { params: { panelId } }));

    const first = await doc('panel-ok');
    // Two refresh intervals (600 s) is also the ten-minute floor.
    expect(Date.parse(first.validUntil) - Date.parse(first.issuedAt)).toBe(600_000);

    await backend.refreshLoop.runOnce();
    expect(backend.refreshLoop.healthOf('dead-vendor')?.consecutiveFailures).toBe(1);

    clock.advance(200);
    expect(backend.documents.renewExpiring()).toBe(0);
    clock.advance(150);
    // 250 s left, less than one refresh interval: renewed, but only the healthy panel.
    expect(backend.documents.renewExpiring()).toBe(1);
    const renewed = await doc('panel-ok');
    expect(renewed.revision).toBeGreaterThan(first.revision);
    expect(Date.parse(renewed.validUntil)).toBe(clock.now() + 600_000);
    const lapsing = await doc('panel-dead');
    expect(Date.parse(lapsing.validUntil)).toBeLessThan(clock.now() + 300_000);
  });
});
