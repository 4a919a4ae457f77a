import { pathToFileURL } from 'node:url';
import { test, expect, chromium } from '@playwright/test';
import { FakeBridge } from '../harness/browser/fake-bridge.js';
import { RENDERER_DIST } from '../harness/browser/static-server.js';
import { contentView } from '../harness/browser/views.js';

// The build uses relative URLs (base './'), so the same dist loads from a file URL, as it
// would in an Electron window without a custom protocol. Chromium needs
// --allow-file-access-from-files for module scripts from file://; Electron's file:// does not.

test('the built renderer loads from file:// (relative asset URLs) and draws a view', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const foreign: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file://')) foreign.push(req.url());
    });
    const fake = await FakeBridge.install(page, contentView('moderate', { revision: 4 }));
    await page.goto(pathToFileURL(`${RENDERER_DIST}index.html`).href);
    await fake.waitForFrame({ kind: 'content', revision: 4 });
    await expect(page.getByTestId('headline')).toHaveText('Air quality is moderate');
    expect(await page.evaluate(() => document.fonts.check('700 40px "Atkinson Hyperlegible"'))).toBe(true);
    expect(foreign).toEqual([]);
  } finally {
    await browser.close();
  }
});
