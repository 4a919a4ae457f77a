import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AveragingRule, PanelReading } from '@airpanel/contract';
import { systemMonotonicClock, systemWallClock, unrefScheduler } from '../clock.js';
import { OwnSensor } from './own-sensor.js';
import { VirtualSensor } from './virtual-sensor.js';

// OwnSensor with the simulator's VirtualSensor as driver, a real data dir, and a recording
// stand-in for the MQTT publish and the backend's confirmation (named so: this test is about
// the queue and the window, the real broker and backend are in test/panel-readings.test.ts).

const RULE: AveragingRule = {
  bucketMs: 200,
  slotsPerBucket: 2,
  bucketsByPollutant: { pm25: 3, pm10: 3, no2: 1, o3: 1, so2: 1 },
  minCoverage: 0.75,
};
const logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
  const t = Date.now();
  while (!(await check())) {
    if (Date.now() - t > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-own-sensor-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function make(o: { published: PanelReading[]; recordedByBackend: Set<string>; linkUp: boolean }, rule: AveragingRule = RULE) {
  const driver = new VirtualSensor('sds011', unrefScheduler, 20);
  const sensor = new OwnSensor({
    panelId: 'panel-own-1',
    settings: { kind: 'sds011', device: '/dev/ttyUSB0' },
    dataDir: dir,
    http: got,
    openSerial: () => Promise.reject(new Error('not used')),
    wallClock: systemWallClock,
    monotonicClock: systemMonotonicClock,
    scheduler: unrefScheduler,
    logger,
    driver,
    tuning: { readingIntervalMs: 100, averaging: rule, confirmIntervalMs: 150, windowSaveEvery: 2, publishTimeoutMs: 1_000 },
    publish: (reading) => {
      o.published.push(reading);
      return Promise.resolve(true);
    },
    confirm: (ids) => Promise.resolve(ids.filter((id) => o.recordedByBackend.has(id))),
    onChange: () => undefined,
  });
  return { sensor, driver };
}

const files = async () => (await readdir(join(dir, 'sensor-queue'))).filter((n) => /^r-\d+\.json$/.test(n)).length;

describe('OwnSensor', () => {
  it('publishes in order, keeps what the backend has not confirmed, resends it, and forgets what it has', async () => {
    const state = { published: [] as PanelReading[], recordedByBackend: new Set<string>(), linkUp: true };
    const { sensor, driver } = make(state);
    driver.set({ pm25: 12 });
    await sensor.start();
    sensor.setLinkUp(true);
    await until(() => new Set(state.published.map((r) => r.seq)).size >= 4);
    // First sendings in seq order (a resend of an unconfirmed one may come in between).
    const firsts = [...new Set(state.published.map((r) => r.seq))];
    expect(firsts).toEqual(firsts.map((_, i) => i + 1));
    // Acknowledged by the "broker" but unknown to the "backend": still on disk, then sent again.
    expect(await files()).toBeGreaterThanOrEqual(4);
    const first = state.published[0]!;
    await until(() => state.published.filter((r) => r.id === first.id).length >= 2);
    // The backend records them: they go.
    driver.set(null);
    for (const r of state.published) state.recordedByBackend.add(r.id);
    await until(async () => {
      for (const r of state.published) state.recordedByBackend.add(r.id);
      return (await files()) === 0;
    });
    await sensor.stop();
  });

  it('restarts with its averaging window (a power cut does not restart the 24-hour count)', async () => {
    const state = { published: [] as PanelReading[], recordedByBackend: new Set<string>(), linkUp: false };
    // A 3-second PM window, so the restart itself (a few hundred ms under load) ages nothing out.
    const slow: AveragingRule = { ...RULE, bucketMs: 1_000 };
    const a = make(state, slow);
    a.driver.set({ pm25: 30, pm10: 40 });
    await a.sensor.start();
    await until(() => a.sensor.averaged().values !== null);
    await a.sensor.stop();
    const b = make(state, slow);
    await b.sensor.start();
    // No reading taken by this run yet: the restored window alone gives the averages.
    const restored = b.sensor.averaged();
    expect(restored.values?.pm25).toBeCloseTo(30, 0);
    expect(restored.atMs).not.toBeNull();
    await b.sensor.stop();
  });
});
