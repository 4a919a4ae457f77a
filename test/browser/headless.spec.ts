import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import type { ContentSet } from '@airpanel/contract';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { Cleanups, makeTempDir } from '../harness/index.js';

// The headless host with everything real: the backend (server-stub, SQLite, embedded MQTT),
// a panel provisioned through its admin API, the panel core under Node, the built renderer
// (npm run build:renderer) over the WebSocket bridge, in Debian's Chromium.
// Screenshots: artifacts/screenshots/headless-*.png.

const SHOTS = 'artifacts/screenshots';
mkdirSync(SHOTS, { recursive: true });

/** Short timings so faults play out in seconds; production values are in panel.json. */
const FAST = {
  firstPollMaxDelayMs: 50,
  pollIntervalMs: 1_000,
  reconnectBackoff: { minMs: 50, baseMs: 100, maxMs: 500 },
  stableConnectionMs: 100,
  connectTimeoutMs: 2_000,
  httpTimeoutMs: 2_000,
};

const cleanups = new Cleanups();
let dataRoot: string;
let stack: DevStack | null = null;

test.beforeEach(async () => {
  dataRoot = await makeTempDir(cleanups, 'airpanel-headless-spec-');
  cleanups.add(async () => {
    await stack?.stop();
    stack = null;
  });
});
test.afterEach(() => cleanups.run());

async function start(extra: Parameters<typeof startDevStack>[0] = {}): Promise<DevStack> {
  stack = await startDevStack({ mode: 'headless', dataRoot, backendLog: 'silent', tuning: FAST, ...extra });
  return stack;
}

/** The content layer for a level (during a crossfade the old layer is still there, briefly). */
const content = (page: Page, level: string) => page.locator(`[data-view="content"][data-level="${level}"]`);

/** Screenshots after the crossfade, when one layer is left. */
async function shot(page: Page, name: string): Promise<void> {
  await expect(page.locator('[data-view]')).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

/** Collects CSP violations, page errors and failed loads: the strict CSP must not break the renderer. */
function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    const text = msg.text();
    // Chromium's notice about the renderer's <meta> CSP (frame-ancestors only works as a
    // header, which this host sends) is not a violation.
    if (
      msg.type() === 'error' &&
      !text.includes("'frame-ancestors' is ignored when delivered via a <meta>") &&
      !text.startsWith('Failed to load resource')
    ) {
      problems.push(text);
    }
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) problems.push(`${res.status()} ${res.url()}`);
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

test('serves the real renderer under a strict CSP, bridged over the WebSocket', async ({ page }) => {
  const s = await start();
  const problems = watchConsole(page);
  const res = await page.goto(s.panelUrl!);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  expect(await page.evaluate(() => typeof (window as { airpanel?: unknown }).airpanel)).toBe('undefined');
  expect(s.host!.rendererCount).toBe(1);
  // The renderer reported the painted frame back over the bridge; the core publishes it.
  await expect.poll(() => s.core()!.currentStatus().displayedRevision).not.toBeNull();
  // Only known files: no traversal, no listing, no methods but GET/HEAD.
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/', '/src/main.ts']) {
    expect((await page.request.get(`${s.panelUrl}${path.slice(1)}`)).status(), path).toBe(404);
  }
  expect((await page.request.post(`${s.panelUrl}index.html`)).status()).toBe(405);
  // Screenshot command: the host drives the attached page.
  s.host!.attachPage(page);
  const png = await s.host!.actions.captureScreenshot();
  expect(Buffer.from(png!.subarray(0, 4)).toString('hex')).toBe('89504e47');
  s.host!.attachPage(null);
  expect(problems).toEqual([]);
  await shot(page, 'headless-live');
});

test('boots from the cache with no backend, goes live when the backend is back', async ({ page }) => {
  const s = await start();
  await page.goto(s.panelUrl!);
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  const headline = await content(page, 'good').getByTestId('headline').textContent();

  // Backend gone, then the panel restarts (a new core: it knows only its cache).
  await s.controls.apply({ action: 'set-backend', up: false });
  await s.host!.actions.restartApp();
  await page.reload();
  await expect(content(page, 'good').getByTestId('headline')).toHaveText(headline ?? '');
  expect(s.core()!.state.name).toBe('showing-cached');
  await shot(page, 'headless-cached-no-backend');

  await s.controls.apply({ action: 'set-backend', up: true });
  await expect.poll(() => s.core()!.state.name, { timeout: 15_000 }).toBe('live');
  await expect(content(page, 'good')).toBeVisible();
});

test('a change in the backend reaches the screen at once', async ({ page }, testInfo) => {
  const s = await start();
  await page.goto(s.panelUrl!);
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  await expect.poll(() => s.core()!.state.name).toBe('live');

  // An operator edits the headline of the content set the panel uses.
  const admin = s.admin().client;
  const { id: _id, ...set }: ContentSet = await admin.call('getContentSet', { params: { contentSetId: 'default-en' } });
  set.byLevel.good = { ...set.byLevel.good!, headline: 'Edited by the operator' };
  const t0 = Date.now();
  expect((await admin.send('replaceContentSet', { params: { contentSetId: 'default-en' }, body: set })).status).toBe(200);
  // (Filtered by text: the previous revision's layer may still be fading out.)
  await expect(content(page, 'good').filter({ hasText: 'Edited by the operator' })).toBeVisible();
  const headlineMs = Date.now() - t0;

  // A new reading moves the level.
  const t1 = Date.now();
  await s.controls.apply({ action: 'set-reading', values: { pm25: 80 } });
  await expect(content(page, 'bad')).toBeVisible();
  const levelMs = Date.now() - t1;
  // Recorded, not asserted (a loaded CI machine must not fail on timing): the target is < 1 s.
  testInfo.annotations.push({
    type: 'latency',
    description: `headline edit ${headlineMs} ms, level change ${levelMs} ms (target < 1000 ms)`,
  });
  console.log(`headless: backend change → screen: headline ${headlineMs} ms, level ${levelMs} ms`);
  await shot(page, 'headless-live-bad');
});

test('an invalid panel.json shows the maintenance code', async ({ page }) => {
  // Provisioned but never started: no cache to fall back on.
  const s = await start({ startPanel: false });
  await writeFile(join(s.panelDataDir, 'panel.json'), JSON.stringify({ schemaVersion: 1, panelId: s.panelId, apiKey: 'short' }));
  await s.host!.actions.restartApp(); // a new core reads the broken file
  await page.goto(s.panelUrl!);
  await expect(page.getByTestId('maintenance-code')).toHaveText('CFG-3');
  expect(s.core()!.state.name).toBe('maintenance');
  await shot(page, 'headless-maintenance-cfg');

  await writeFile(join(s.panelDataDir, 'panel.json'), '{ not json');
  await s.host!.actions.restartApp();
  await expect(page.getByTestId('maintenance-code').filter({ hasText: 'CFG-2' })).toBeVisible();
});

test('the screenshot command captures the attached page and uploads it to the backend', async ({ page }, testInfo) => {
  const s = await start();
  await page.setViewportSize({ width: 768, height: 384 });
  await page.goto(s.panelUrl!);
  await expect(content(page, 'good')).toBeVisible({ timeout: 15_000 });
  await expect.poll(() => s.core()!.state.name).toBe('live');
  const admin = s.admin().client;
  const acks = async (id: string) => (await admin.call('getCommand', { params: { panelId: s.panelId, commandId: id } })).acks;

  // No page attached: the panel says it has nothing to capture.
  const first = await s.controls.apply({ action: 'send-command', kind: 'screenshot' });
  const firstId = first.state.lastCommand!.id!;
  await expect
    .poll(() => acks(firstId), { timeout: 15_000 })
    .toContainEqual({ status: 'failed', detail: 'no renderer to capture', at: expect.any(String) });

  s.host!.attachPage(page);
  const second = await s.controls.apply({ action: 'send-command', kind: 'screenshot' });
  const secondId = second.state.lastCommand!.id!;
  let final: { status: string; detail: string | null } | undefined;
  await expect.poll(async () => (final = (await acks(secondId)).find((a) => a.status !== 'accepted')), { timeout: 15_000 }).toBeDefined();
  if (!final) throw new Error('no final ack');
  // The host handed the core a PNG of the page, and the core uploaded it.
  expect(final).toMatchObject({ status: 'done', detail: expect.stringMatching(/^uploaded \d+ bytes$/) });
  testInfo.annotations.push({ type: 'screenshot upload', description: final.detail ?? '' });
  const res = await admin.send('getScreenshot', { params: { panelId: s.panelId } }, { maxResponseBytes: 8 * 1024 * 1024 });
  expect(res.status).toBe(200);
  const png = Buffer.from(res.body);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([768, 384]);
});
