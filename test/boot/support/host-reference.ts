// What the panel should look like, drawn by the same renderer (src-renderer/dist) in the
// host's Chromium at the guest's screen size, for the very document the backend serves the
// panel. The renderer is fed through the browser specs' bridge stand-in (FakeBridge), exactly
// where the panel's host puts the real bridge. The boot tests compare regions of the QEMU
// screen with this drawing: the headline, the level colour, the stale badge.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';
import { type DisplayDocument } from '@airpanel/contract';
import { PanelView } from '@airpanel/contract/internal';
import { FakeBridge } from '../../harness/browser/fake-bridge.js';
import { RENDERER_DIST, serveRenderer, type StaticServer } from '../../harness/browser/static-server.js';
import { Screen, parseHexColour, type Rect, type Rgb } from './screen.js';

const CHROMIUM = process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium';

export interface ReferenceDrawing {
  screen: Screen;
  headline: Rect;
  /** The stale badge's box when drawn stale, else null. */
  badge: Rect | null;
  /** The level's background colour (content.background). */
  background: Rgb;
}

export class HostReference {
  private browser: Browser | null = null;
  private server: StaticServer | null = null;

  async start(): Promise<void> {
    if (!existsSync(`${RENDERER_DIST}/index.html`)) throw new Error('src-renderer/dist is missing: run `npm run build:renderer`');
    this.server = await serveRenderer();
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }

  /** Draws `doc` (stale since `staleSince` when given) at width × height CSS pixels. */
  async draw(doc: DisplayDocument, width: number, height: number, staleSince: string | null = null): Promise<ReferenceDrawing> {
    if (!this.browser || !this.server) throw new Error('HostReference not started');
    const context = await this.browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, timezoneId: 'UTC' });
    try {
      const page = await context.newPage();
      const view = PanelView.parse({ kind: 'content', document: doc, stale: staleSince ? { since: staleSince } : null });
      await FakeBridge.install(page, view);
      await page.goto(`${this.server.origin}/index.html`);
      await page.locator(`[data-view=content][data-revision="${doc.revision}"]`).waitFor();
      // The content layer cross-fades in from the splash; compare only once it is opaque.
      await page.locator('[data-phase=shown] [data-view=content]').waitFor();
      await page.waitForTimeout(500);
      const headline = await page.getByTestId('headline').boundingBox();
      if (!headline) throw new Error('reference drawing has no headline box');
      const badge = staleSince ? await page.getByTestId('stale-badge').boundingBox() : null;
      const screen = Screen.fromPng(await page.screenshot({ type: 'png' }));
      return { screen, headline, badge, background: parseHexColour(doc.content.background) };
    } finally {
      await context.close();
    }
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.server?.close();
    this.browser = null;
    this.server = null;
  }
}
