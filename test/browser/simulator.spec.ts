import { mkdirSync } from 'node:fs';
import { test, expect, type FrameLocator, type Page } from '@playwright/test';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { Cleanups, makeTempDir } from '../harness/index.js';

// The browser simulator (what `npm start` opens without Electron): its control page drives
// the real backend admin API, the link proxies and the backend itself, and its preview
// iframe shows the real panel served by the headless host. Screenshots:
// artifacts/screenshots/simulator-*.png.

const SHOTS = 'artifacts/screenshots';
mkdirSync(SHOTS, { recursive: true });

const cleanups = new Cleanups();
let stack: DevStack;

test.beforeEach(async () => {
  stack = await startDevStack({
    mode: 'headless',
    dataRoot: await makeTempDir(cleanups, 'airpanel-simulator-spec-'),
    backendLog: 'silent',
    // A short freshness window so cutting the network shows the stale badge in seconds.
    tuning: {
      freshnessWindowMs: 3_000,
      firstPollMaxDelayMs: 50,
      pollIntervalMs: 500,
      reconnectBackoff: { minMs: 50, baseMs: 100, maxMs: 400 },
      stableConnectionMs: 100,
      connectTimeoutMs: 1_000,
      httpTimeoutMs: 1_000,
    },
  });
  cleanups.add(() => stack.stop());
});
test.afterEach(() => cleanups.run());

const panel = (page: Page): FrameLocator => page.frameLocator('#panel');
const level = (page: Page, id: string) => panel(page).locator(`[data-view="content"][data-level="${id}"]`);

async function shot(page: Page, name: string): Promise<void> {
  await expect(panel(page).locator('[data-view]')).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

test('a reading set on the control page changes the level in the preview', async ({ page }) => {
  await page.goto(stack.simulatorUrl);
  await expect(page.getByTestId('backend-state')).toHaveText('up');
  await expect(level(page, 'good')).toBeVisible({ timeout: 15_000 });
  await shot(page, 'simulator-good');

  await page.getByTestId('preset-bad').click();
  await expect(level(page, 'bad')).toBeVisible();
  await expect(page.getByTestId('last-reading')).toContainText('pm25 80');

  // A custom reading through the form: NO₂ decides.
  await page.getByTestId('input-pm25').fill('');
  await page.getByLabel('NO₂').fill('120');
  await page.getByTestId('send-reading').click();
  await expect(level(page, 'moderate')).toBeVisible();
  await expect(page.getByTestId('error')).toHaveText('');
  await shot(page, 'simulator-moderate');
});

test('the panel size switches the preview to each panel format', async ({ page }) => {
  await page.goto(stack.simulatorUrl);
  await expect(level(page, 'good')).toBeVisible({ timeout: 15_000 });
  for (const [id, w, h] of [
    ['banner', 768, 384],
    ['portrait', 1080, 1920],
    ['landscape', 1920, 1080],
  ] as const) {
    await page.getByTestId(`size-${id}`).click();
    await expect(page.getByTestId(`size-${id}`)).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('#panel')).toHaveAttribute('width', String(w));
    await expect.poll(() => page.frames()[1]?.evaluate(() => [innerWidth, innerHeight])).toEqual([w, h]);
    await shot(page, `simulator-size-${id}`);
  }
  expect(stack.controls.state.size).toBe('landscape');
});

test('network and backend can be taken away and brought back', async ({ page }) => {
  await page.goto(stack.simulatorUrl);
  await expect(level(page, 'good')).toBeVisible({ timeout: 15_000 });

  await page.getByTestId('network-toggle').click();
  await expect(page.getByTestId('network-state')).toHaveText('down');
  await expect(page.getByTestId('network-toggle')).toHaveText('Restore network');
  // The panel keeps its content and, after the freshness window, shows the stale badge.
  await expect(panel(page).getByTestId('stale-badge')).toBeVisible({ timeout: 15_000 });
  expect(stack.core()!.state.name).toBe('stale');
  await shot(page, 'simulator-network-down-stale');

  await page.getByTestId('network-toggle').click();
  await expect(page.getByTestId('network-state')).toHaveText('up');
  // Reconnect and catch-up confirm the content: live again (until the short window lapses).
  await expect.poll(() => stack.core()!.state.name, { timeout: 15_000, intervals: [50] }).toBe('live');

  await page.getByTestId('backend-toggle').click();
  await expect(page.getByTestId('backend-state')).toHaveText('down');
  expect(stack.backend()).toBeNull();
  // With the backend gone the admin API fails, and the page says so.
  await page.getByTestId('preset-bad').click();
  await expect(page.getByTestId('error')).toContainText('backend unreachable');
  await page.getByTestId('backend-toggle').click();
  await expect(page.getByTestId('backend-state')).toHaveText('up');
  await page.getByTestId('preset-bad').click();
  await expect(level(page, 'bad')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('error')).toHaveText('');
});

test('a command sent from the control page reaches the panel and is acknowledged', async ({ page }) => {
  await page.goto(stack.simulatorUrl);
  await expect(level(page, 'good')).toBeVisible({ timeout: 15_000 });
  const frames: number[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', () => frames.push(Date.now())));

  await page.getByTestId('command-kind').selectOption('reload');
  await page.getByTestId('send-command').click();
  await expect(page.getByTestId('last-command')).toContainText('reload');
  const id = stack.controls.state.lastCommand?.id;
  expect(id).toBeTruthy();
  // The backend records the panel's ack (over MQTT); the headless reload resets the bridge,
  // so the renderer reconnects and gets its view again.
  const admin = stack.admin().client;
  await expect
    .poll(
      async () => {
        const record = await admin.call('getCommand', { params: { panelId: stack.panelId, commandId: id! } });
        return record.acks.map((a) => a.status);
      },
      { timeout: 15_000 },
    )
    .toContain('done');
  await expect(level(page, 'good')).toBeVisible();
  await expect.poll(() => frames.length).toBeGreaterThan(0);
  // The control page shows the panel's answer too.
  await expect(page.getByTestId('last-command')).toHaveText(/^reload: done/, { timeout: 15_000 });
});
