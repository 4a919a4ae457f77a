import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import type { AveragingRule } from '@airpanel/contract';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { backendReadings, Cleanups, makeTempDir, queuedReadings, readingProblems } from '../harness/index.js';

// The panel deciding alone, everything real: the backend (SQLite, embedded MQTT), the panel core
// in the headless host with its own (virtual) sensor set through the simulator's control, the
// built renderer in Debian's Chromium. Backend stopped → the own sensor crosses a breakpoint →
// the screen changes level with the "own measurement" mark; backend back → its document wins,
// and every reading queued during the outage is in the backend once, in order.
// Timings are shortened: readings every 200 ms, the EAQI averaging scaled from hours to 400 ms
// buckets (PM: 5 buckets), a 3 s freshness window.

const SHOTS = 'artifacts/screenshots';
mkdirSync(SHOTS, { recursive: true });

const AVERAGING: AveragingRule = {
  bucketMs: 400,
  slotsPerBucket: 2,
  bucketsByPollutant: { pm25: 5, pm10: 5, no2: 1, o3: 1, so2: 1 },
  minCoverage: 0.75,
};
const FAST = {
  firstPollMaxDelayMs: 50,
  pollIntervalMs: 500,
  reconnectBackoff: { minMs: 50, baseMs: 100, maxMs: 500 },
  stableConnectionMs: 100,
  connectTimeoutMs: 2_000,
  httpTimeoutMs: 1_000,
  freshnessWindowMs: 3_000,
  ownSensor: { confirmIntervalMs: 500 },
};

const cleanups = new Cleanups();
let dataRoot: string;
let stack: DevStack | null = null;
let feeding: NodeJS.Timeout | null = null;

test.beforeEach(async () => {
  dataRoot = await makeTempDir(cleanups, 'airpanel-own-sensor-spec-');
  cleanups.add(async () => {
    if (feeding) clearInterval(feeding);
    feeding = null;
    await stack?.stop();
    stack = null;
  });
});
test.afterEach(() => cleanups.run());

/** The content layer for a level (during a crossfade the old layer is still there, briefly: the newest). */
const content = (page: Page, level: string) => page.locator(`[data-view="content"][data-level="${level}"]`).last();

test('backend stopped: the own sensor decides (mark shown); backend back: its document wins; no reading lost', async ({ page }) => {
  test.setTimeout(120_000);
  const s = (stack = await startDevStack({
    mode: 'headless',
    dataRoot,
    backendLog: 'silent',
    tuning: FAST,
    ownSensor: { averaging: AVERAGING, readingIntervalMs: 200 },
  }));
  // The backend's own (simulated) sensor says good; new values keep its documents coming, so
  // the panel stays live under the short window while the backend is up.
  let n = 0;
  feeding = setInterval(() => {
    if (s.controls.state.backend === 'up') void s.controls.apply({ action: 'set-reading', values: { pm25: 8 + (n++ % 3) / 10 } });
  }, 400);
  await s.controls.apply({ action: 'set-own-sensor', values: { pm25: 8 } });
  await page.goto(s.panelUrl!);
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  await expect.poll(() => s.core()!.currentStatus().sensor?.state, { timeout: 10_000 }).toBe('ok');

  await s.controls.apply({ action: 'set-backend', up: false });
  // Stale, then the panel's own measurement (good as well) with its mark.
  await expect(page.getByTestId('own-measurement').last()).toBeVisible({ timeout: 15_000 });
  await expect(content(page, 'good')).toBeVisible();
  // The sensor crosses the "bad" breakpoint (50 µg/m³ PM2.5, +10 % margin): within the 2 s
  // PM window the average passes it and the screen changes level.
  await s.controls.apply({ action: 'set-own-sensor', values: { pm25: 95 } });
  await expect(content(page, 'bad')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('own-measurement').last()).toBeVisible();
  await expect(page.getByTestId('stale-badge')).toHaveCount(0);
  expect(s.core()!.currentStatus().ownDecision?.levelId).toBe('bad');
  await expect(page.locator('[data-view]')).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/headless-own-measurement-bad.png` });
  const queuedDuringOutage = await queuedReadings(s.panelDataDir);
  expect(queuedDuringOutage).toBeGreaterThan(5);

  // Backend back: its document (good, from its own sensor) wins; the mark goes.
  await s.controls.apply({ action: 'set-backend', up: true });
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('own-measurement')).toHaveCount(0);
  await expect.poll(() => s.core()!.state.name, { timeout: 10_000 }).toBe('live');
  // The disagreement (own: bad, backend: good) is reported.
  await expect
    .poll(async () => (await readFile(join(s.panelDataDir, 'logs', 'panel.log'), 'utf8')).includes('"message":"level disagreement"'), {
      timeout: 10_000,
    })
    .toBe(true);

  // Every reading, the ones queued during the outage included, is in the backend once, in order.
  await s.controls.apply({ action: 'set-own-sensor', values: null });
  await expect.poll(() => queuedReadings(s.panelDataDir), { timeout: 20_000 }).toBe(0);
  const received = await backendReadings(s.admin(), s.panelId);
  expect(readingProblems(received)).toEqual([]);
  expect(received.length).toBeGreaterThan(queuedDuringOutage);
  expect(received.some((r) => r.reading.values.pm25! >= 95)).toBe(true);
});

test("the simulator's control page sets the panel's own sensor", async ({ page }) => {
  const s = (stack = await startDevStack({
    mode: 'headless',
    dataRoot,
    backendLog: 'silent',
    tuning: FAST,
    ownSensor: { averaging: AVERAGING, readingIntervalMs: 200 },
  }));
  await page.goto(`${s.simulatorUrl}?preview=off`);
  await expect(page.getByTestId('own-sensor-state')).toHaveText('silent');
  await page.getByTestId('own-preset-bad').click();
  await expect(page.getByTestId('own-sensor-state')).toHaveText('pm25 80');
  await expect.poll(() => s.core()!.currentStatus().sensor?.state, { timeout: 10_000 }).toBe('ok');
  await page.getByTestId('own-preset-silent').click();
  await expect(page.getByTestId('own-sensor-state')).toHaveText('silent');
});
