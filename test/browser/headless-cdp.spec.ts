import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, chromium } from '@playwright/test';
import { CdpPage } from '@airpanel/panel/headless/cdp-page';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';

// A kiosk Chromium started with --remote-debugging-port shows the headless panel; the host
// drives it over the DevTools protocol (CdpPage) for `screenshot` and `reload`, as it would
// on a machine where no Playwright is attached.

let dataRoot: string;
let profile: string;
let stack: DevStack | null = null;

test.beforeEach(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), 'airpanel-cdp-spec-'));
  profile = await mkdtemp(join(tmpdir(), 'airpanel-cdp-profile-'));
});

test.afterEach(async () => {
  await stack?.stop();
  stack = null;
  await rm(dataRoot, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
});

test('screenshot and reload over the DevTools protocol', async ({}, testInfo) => {
  stack = await startDevStack({ mode: 'headless', dataRoot, backendLog: 'silent' });
  const launch = testInfo.project.use.launchOptions ?? {};
  const context = await chromium.launchPersistentContext(profile, {
    ...launch,
    headless: true,
    viewport: { width: 768, height: 384 },
    args: [...(launch.args ?? []), '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(stack.panelUrl!);
    await expect(page.locator('[data-view="content"]').first()).toBeVisible({ timeout: 15_000 });
    // Chromium writes the port it picked into the profile.
    const [port] = (await readFile(join(profile, 'DevToolsActivePort'), 'utf8')).split('\n');
    const cdp = await CdpPage.connect(`http://127.0.0.1:${port}`, (url) => url.startsWith(stack!.panelUrl!));
    stack.host!.attachPage(cdp);
    try {
      const png = Buffer.from((await stack.host!.actions.captureScreenshot())!);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([768, 384]);

      await page.evaluate(() => {
        (window as unknown as { beforeReload: boolean }).beforeReload = true;
      });
      const loaded = page.waitForEvent('load');
      await stack.host!.actions.reloadRenderer();
      await loaded;
      expect(await page.evaluate(() => (window as unknown as { beforeReload?: boolean }).beforeReload ?? false)).toBe(false);
      await expect(page.locator('[data-view="content"]').first()).toBeVisible();
    } finally {
      stack.host!.attachPage(null);
      cdp.close();
    }
  } finally {
    await context.close();
  }
});
