import { mkdirSync } from 'node:fs';
import { test, expect, type Page } from '@playwright/test';
import { PanelView } from '@airpanel/contract/internal';
import { FakeBridge } from '../harness/browser/fake-bridge.js';
import { expectLayoutIntact } from '../harness/browser/layout.js';
import { serveRenderer, type StaticServer } from '../harness/browser/static-server.js';
import { SIZES, contentView } from '../harness/browser/views.js';

// The mark of a level the panel measured itself (backend away): the built renderer in Debian's
// Chromium with a FakeBridge. Screenshots go to artifacts/screenshots/<size>-own-measurement.png.

const SHOTS = 'artifacts/screenshots';
mkdirSync(SHOTS, { recursive: true });

let server: StaticServer;
test.beforeAll(async () => {
  server = await serveRenderer();
});
test.afterAll(async () => {
  await server.close();
});
test.use({ timezoneId: 'UTC', locale: 'en-GB' });

function ownView(level: 'good' | 'moderate' | 'bad', locale = 'en-GB'): PanelView {
  const stale = contentView(level, { staleSince: '2026-03-14T13:10:00.000Z', locale, revision: 7 });
  return PanelView.parse({ ...stale, ownMeasurement: { since: '2026-03-14T13:40:00.000Z' } });
}

async function open(page: Page, view: PanelView): Promise<FakeBridge> {
  const fake = await FakeBridge.install(page, view);
  await page.goto(`${server.origin}/index.html`);
  await fake.waitForFrame({ kind: 'content', revision: 7 });
  await expect(page.locator('.layer')).toHaveCount(1);
  await expect(page.locator('.layer')).toHaveAttribute('data-phase', 'shown');
  return fake;
}

for (const size of SIZES) {
  test(`at ${size.name}: own measurement replaces the stale badge, layout intact`, async ({ page }) => {
    await page.setViewportSize({ width: size.width, height: size.height });
    const fake = await open(page, ownView('bad'));
    await expect(page.getByTestId('own-measurement')).toHaveText('Measured by this panel');
    await expect(page.getByTestId('stale-badge')).toHaveCount(0);
    await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-own', '');
    await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-level', 'bad');
    await expectLayoutIntact(page);
    await page.screenshot({ path: `${SHOTS}/${size.name}-own-measurement.png` });
    expect(await fake.errors()).toEqual([]);
  });
}

test('the mark goes when the backend decides again; the stale badge shows without it', async ({ page }) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  const fake = await open(page, ownView('moderate', 'fr-BE'));
  await expect(page.getByTestId('own-measurement')).toHaveText('Mesure de ce panneau');
  await fake.push(contentView('moderate', { staleSince: '2026-03-14T13:10:00.000Z', revision: 7, locale: 'fr-BE' }));
  await expect(page.getByTestId('own-measurement')).toHaveCount(0);
  await expect(page.getByTestId('stale-badge')).toBeVisible();
  await fake.push(contentView('good', { revision: 8 }));
  await fake.waitForFrame({ kind: 'content', revision: 8 });
  await expect(page.getByTestId('own-measurement')).toHaveCount(0);
  await expect(page.getByTestId('stale-badge')).toHaveCount(0);
});
