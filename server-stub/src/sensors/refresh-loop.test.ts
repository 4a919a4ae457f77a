import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisplayDocument, SensorSource } from '@airpanel/contract';
import type { Reading } from '@airpanel/contract';
import { silentLogger } from '../logger.js';
import { useTestBackend } from '../test-support.js';
import { defaultProviders } from './providers.js';
import { RefreshLoop } from './refresh-loop.js';
import { VendorServer } from './vendor-server.test-support.js';

/** Time the test moves by hand, so due times and backoff are checked without waiting. */
class FakeClock {
  constructor(public ms = Date.parse('2026-05-01T12:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

describe('refresh loop', () => {
  const vendor = new VendorServer();
  beforeAll(() => vendor.start());
  afterAll(() => vendor.close());

  function source(id: string, path: string, extra: Record<string, unknown> = {}): SensorSource {
    return SensorSource.parse({
      id,
      name: id,
      spec: { kind: 'http-json', url: `${vendor.url}${path}`, fieldMap: { pm25: 'pm25' }, retries: 0, ...extra },
    });
  }

  function makeLoop(sources: SensorSource[], clock: FakeClock, concurrency: number) {
    const readings = new Map<string, Reading[]>();
    const failures: string[] = [];
    const loop = new RefreshLoop({
      clock,
      logger: silentLogger,
      providers: defaultProviders({ retryBaseDelayMs: 1 }),
      listSources: () => sources,
      onReading: (id, reading) => {
        readings.set(id, [...(readings.get(id) ?? []), reading]);
      },
      onFailure: (s) => failures.push(s.id),
      refreshIntervalSeconds: 60,
      concurrency,
      backoffBaseMs: 1_000,
      backoffMaxMs: 8_000,
    });
    return { loop, readings, failures };
  }

  it('fetches due sources with at most `concurrency` in flight, and not again before the interval', async () => {
    const sources = Array.from({ length: 10 }, (_, i) => source(`many-${i}`, `/many/${i}`));
    for (let i = 0; i < 10; i++) vendor.json(`/many/${i}`, { pm25: i + 1 }, { delayMs: 30 });
    const clock = new FakeClock();
    const { loop, readings } = makeLoop(sources, clock, 3);
    vendor.maxInFlight = 0;
    await loop.runOnce();
    expect(readings.size).toBe(10);
    expect(vendor.maxInFlight).toBeLessThanOrEqual(3);
    expect(vendor.maxInFlight).toBeGreaterThan(1);

    clock.advance(30_000);
    await loop.runOnce();
    expect([...readings.values()].every((r) => r.length === 1)).toBe(true);
    clock.advance(30_000);
    await loop.runOnce();
    expect([...readings.values()].every((r) => r.length === 2)).toBe(true);
    await loop.stop();
  });

  it('isolates a failing source and retries it with exponential backoff', async () => {
    vendor.json('/ok', { pm25: 4 });
    vendor.json('/broken', { nope: true }, { status: 500 });
    vendor.json('/hanging', { pm25: 1 }, { delayMs: 2_000 });
    const sources = [source('ok-1', '/ok'), source('broken', '/broken'), source('hanging', '/hanging', { timeoutMs: 200 })];
    const clock = new FakeClock();
    const { loop, readings, failures } = makeLoop(sources, clock, 2);
    await loop.runOnce();
    expect(readings.get('ok-1')).toHaveLength(1);
    expect(failures.sort()).toEqual(['broken', 'hanging']);
    expect(loop.healthOf('broken')).toMatchObject({ consecutiveFailures: 1, nextDueMs: clock.now() + 1_000 });
    expect(loop.healthOf('broken')!.lastError).toMatch(/500/);

    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(loop.healthOf('broken')!.nextDueMs - clock.now());
      await loop.runOnce();
      delays.push(loop.healthOf('broken')!.nextDueMs - clock.now());
    }
    expect(delays).toEqual([2_000, 4_000, 8_000, 8_000]);
    // The healthy source kept its own schedule: 15 s went by, less than its 60 s interval.
    expect(readings.get('ok-1')).toHaveLength(1);

    vendor.json('/broken', { pm25: 9 });
    clock.advance(8_000);
    await loop.runOnce();
    expect(loop.healthOf('broken')).toMatchObject({ consecutiveFailures: 0, lastError: null });
    await loop.stop();
  });

  it('polls no simulated source', async () => {
    const clock = new FakeClock();
    const simulated = SensorSource.parse({ id: 'sim-x', name: 'sim', spec: { kind: 'simulated' } });
    const { loop, readings, failures } = makeLoop([simulated], clock, 2);
    await loop.runOnce();
    expect(readings.size + failures.length).toBe(0);
    await loop.stop();
  });
});

describe('refresh loop inside the backend', () => {
  const vendor = new VendorServer();
  beforeAll(() => vendor.start());
  afterAll(() => vendor.close());
  const server = useTestBackend({ providers: defaultProviders({ retryBaseDelayMs: 1 }) });

  it('turns a vendor reading into a new document for the panels using the source', async () => {
    vendor.json('/city/station-9', { measurements: { pm10: 130 } });
    const backend = await server.start();
    const api = server.api;
    const admin = backend.adminToken;
    const created = await api('createSensorSource', {
      token: admin,
      body: {
        id: 'station-9',
        name: 'City station 9',
        spec: { kind: 'http-json', url: `${vendor.url}/city/station-9`, fieldMap: { pm10: 'measurements.pm10' } },
      },
    });
    expect(created.status, created.text).toBe(201);
    await api.admin.call('createPanel', { body: { id: 'panel-v', name: 'Vendor fed', sensorSourceId: 'station-9' } });

    await backend.refreshLoop.runOnce();
    const doc = DisplayDocument.parse(await api.admin.call('getDisplay', { params: { panelId: 'panel-v' } }));
    expect(doc.level.id).toBe('bad');
    expect(doc.readings).toMatchObject({ source: 'City station 9', values: { pm10: 130 }, dominant: 'pm10' });
    expect((await api('getMetrics')).text).toMatch(/airpanel_readings_recorded_total 1/);
  });
});
