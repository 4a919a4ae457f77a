import { mkdirSync } from 'node:fs';
import { test, expect, type Page } from '@playwright/test';
import { HEADLINE_MAX, ICON_NAMES, MESSAGE_MAX } from '@airpanel/contract';
import { type FramePresented, type PanelView } from '@airpanel/contract/internal';
import { FakeBridge } from '../harness/browser/fake-bridge.js';
import { expectLayoutIntact, measureLayout } from '../harness/browser/layout.js';
import { serveRenderer, type StaticServer } from '../harness/browser/static-server.js';
import { BOOTING, MAINTENANCE_CFG1, MEASURED_AT, SIZES, contentView, rawContentView } from '../harness/browser/views.js';

// The built renderer (npm run build:renderer) in Debian's Chromium, with a FakeBridge where
// the Electron preload would put the real one. Screenshots of every state go to
// artifacts/screenshots/<size>-<state>.png for a human look.

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

/** Every request the page makes, to prove nothing leaves 127.0.0.1. */
const requests = new WeakMap<Page, string[]>();

test.beforeEach(async ({ page }) => {
  const seen: string[] = [];
  requests.set(page, seen);
  page.on('request', (req) => seen.push(req.url()));
  page.on('dialog', (dialog) => {
    seen.push(`dialog:${dialog.message()}`); // a script ran: fails the check below
    void dialog.dismiss();
  });
});

test.afterEach(async ({ page }) => {
  const foreign = (requests.get(page) ?? []).filter((url) => !url.startsWith(`${server.origin}/`));
  expect(foreign, 'requests leaving the local server').toEqual([]);
});

function frameOf(view: PanelView): FramePresented {
  return { kind: view.kind, revision: view.kind === 'content' ? view.document.revision : null };
}

/** Loads the renderer with `view` as the bridge's current view; waits until it is painted. */
async function open(page: Page, view: PanelView | unknown, expected?: FramePresented): Promise<FakeBridge> {
  const fake = await FakeBridge.install(page, view);
  await page.goto(`${server.origin}/index.html`);
  await fake.waitForFrame(expected ?? frameOf(view as PanelView));
  await settled(page);
  return fake;
}

/** One layer left on the stage, fully shown. */
async function settled(page: Page): Promise<void> {
  await expect(page.locator('.layer')).toHaveCount(1);
  await expect(page.locator('.layer')).toHaveAttribute('data-phase', 'shown');
}

async function shot(page: Page, size: string, state: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/${size}-${state}.png` });
}

/** A realistic operator message at exactly the contract's maximum length. */
function maxLengthMessage(): string {
  const sentence =
    'Roadworks on the ring road raise dust and traffic fumes; walk or cycle on the park side, and keep windows closed in the afternoon. ';
  return sentence
    .repeat(Math.ceil(MESSAGE_MAX / sentence.length))
    .slice(0, MESSAGE_MAX)
    .trimEnd();
}

for (const size of SIZES) {
  test.describe(`at ${size.name}`, () => {
    test.use({ viewport: { width: size.width, height: size.height } });

    const states: Array<{ state: string; view: PanelView }> = [
      { state: 'booting', view: BOOTING },
      { state: 'good', view: contentView('good') },
      { state: 'moderate', view: contentView('moderate') },
      { state: 'bad', view: contentView('bad') },
      { state: 'stale', view: contentView('moderate', { staleSince: '2026-03-14T14:05:00.000Z' }) },
      { state: 'maintenance-CFG-1', view: MAINTENANCE_CFG1 },
      { state: 'no-readings', view: contentView('good', { readings: false }) },
    ];

    for (const { state, view } of states) {
      test(`${state} renders within the screen`, async ({ page }) => {
        const fake = await open(page, view);
        await shot(page, size.name, state);
        await expectLayoutIntact(page);
        const layer = page.locator('.layer');
        await expect(layer).toHaveAttribute('data-kind', view.kind);

        if (view.kind === 'booting') {
          await expect(page.locator('[data-view="booting"] svg[data-icon="mark"]')).toBeVisible();
          await expect(page.locator('[data-view="booting"]')).toContainText('Airpanel');
        }
        if (view.kind === 'maintenance') {
          // The icon and the code, nothing else.
          await expect(page.locator('[data-view="maintenance"] svg[data-icon="maintenance"]')).toBeVisible();
          await expect(page.getByTestId('maintenance-code')).toHaveText('CFG-1');
          expect((await page.locator('[data-view="maintenance"]').innerText()).trim()).toBe('CFG-1');
        }
        if (view.kind === 'content') {
          const doc = view.document;
          const section = page.locator('[data-view="content"]');
          await expect(section).toHaveAttribute('data-revision', String(doc.revision));
          await expect(page.getByTestId('level-label')).toHaveText(doc.level.label);
          await expect(page.getByTestId('headline')).toHaveText(doc.content.headline);
          await expect(page.getByTestId('message')).toHaveText(doc.content.message);
          await expect(page.locator(`svg[data-icon="${doc.content.icon}"]`)).toBeVisible();
          // The document's colours, full screen.
          const colours = await section.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
          expect(colours).toEqual([hexToRgb(doc.content.background), hexToRgb(doc.content.foreground)]);
          if (!doc.readings) {
            // No reading yet: no summary, the texts take the room.
            await expect(page.getByTestId('readings')).toHaveCount(0);
            await expect(page.locator('[data-clamped]')).toHaveCount(0);
            return;
          }
          // Pollutants with their labels; the dominant one highlighted; time of measurement.
          await expect(page.locator('.reading')).toHaveCount(5);
          await expect(page.locator('.reading[data-dominant]')).toHaveCount(1);
          await expect(page.locator(`.reading[data-pollutant="${doc.readings!.dominant}"]`)).toHaveAttribute('data-dominant', '');
          await expect(page.locator('.reading[data-pollutant="no2"] .reading-label')).toHaveText('NO₂');
          await expect(page.getByTestId('measured')).toContainText('µg/m³');
          await expect(page.getByTestId('measured')).toContainText(hhmm(MEASURED_AT));
          // The default texts fit at every size without clamping, in big type.
          await expect(page.locator('[data-clamped]')).toHaveCount(0);
          const headlinePx = await page.getByTestId('headline').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
          expect(headlinePx).toBeGreaterThanOrEqual(size.height < 500 ? 22 : 60);
          if (view.stale) {
            await expect(page.getByTestId('stale-badge')).toHaveText(/^Not updated since .*14:05$/);
          } else {
            await expect(page.getByTestId('stale-badge')).toHaveCount(0);
          }
        }
        expect(await fake.errors()).toEqual([]);
      });
    }

    test('hostile operator text is shown literally, as text', async ({ page }) => {
      const headline = '<script>alert(1)</script>';
      const message = '<img src=x onerror="window.__pwned=1;alert(2)"> & <b>bold</b>';
      const fake = await open(page, contentView('bad', { content: { headline, message } }));
      await shot(page, size.name, 'hostile');
      await expect(page.getByTestId('headline')).toHaveText(headline);
      await expect(page.getByTestId('message')).toHaveText(message);
      expect(await page.getByTestId('message').textContent()).toBe(message);
      expect(await page.locator('img, b, [data-view] script').count()).toBe(0);
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.evaluate(() => document.scripts.length)).toBe(1); // the bundle only
      await expectLayoutIntact(page);
      expect(await fake.errors()).toEqual([]);
    });

    test(`a message of MESSAGE_MAX (${MESSAGE_MAX}) characters fits: smaller type, then clamped with intent`, async ({ page }) => {
      const message = maxLengthMessage();
      expect(message.length).toBeGreaterThan(MESSAGE_MAX - 5);
      const headline = 'Dust and fumes from roadworks on the ring road: please take the park path today, tomorrow and Friday!'.padEnd(
        HEADLINE_MAX,
        '!',
      );
      const label = 'Moderate to poor: sensitive groups should take care outside'.slice(0, 60);
      await open(page, contentView('moderate', { label, content: { headline, message } }));
      await shot(page, size.name, 'long-message');
      const report = await expectLayoutIntact(page);
      await expect(page.getByTestId('message')).toHaveText(message); // all text is in the DOM …
      expect(report.clamped).toContain('p.message'); // … and the part that does not fit is clamped, not cut
      await expect(page.getByTestId('level-label')).toHaveText(label);
      await expect(page.getByTestId('headline')).toHaveText(headline);
      const px = await page.getByTestId('message').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      expect(px).toBeGreaterThanOrEqual(18);
    });

    test('a 10 kB message from a misbehaving bridge is cut to the cap and reported, layout intact', async ({ page }) => {
      const huge = `${'Ozone alert '.repeat(500)}${'W'.repeat(4000)}`; // ~10 kB, with a 4000-letter word
      expect(huge.length).toBeGreaterThanOrEqual(10_000);
      const fake = await open(page, rawContentView('bad', { message: huge }, 7), { kind: 'content', revision: 7 });
      await shot(page, size.name, 'huge-message');
      await expectLayoutIntact(page);
      const shown = (await page.getByTestId('message').textContent()) ?? '';
      expect(shown.length).toBeLessThanOrEqual(MESSAGE_MAX);
      expect(shown.endsWith('…')).toBe(true);
      expect((await fake.errors()).map((e) => e.message).join('\n')).toContain('view does not match the contract');
    });

    for (const rtl of [
      {
        state: 'rtl-ar',
        locale: 'ar',
        font: 'noto-sans-arabic',
        headline: 'جودة الهواء سيئة',
        message: 'تجنب النشاط المكثف في الهواء الطلق. يجب على الأشخاص الحساسين البقاء في الداخل.',
      },
      {
        state: 'rtl-he',
        locale: 'he',
        font: 'noto-sans-hebrew',
        headline: 'איכות האוויר גרועה',
        message: 'הימנעו מפעילות מאומצת בחוץ. אנשים רגישים צריכים להישאר בבית.',
      },
    ]) {
      test(`right-to-left text (${rtl.locale}) sets lang and dir`, async ({ page }) => {
        await open(page, contentView('bad', { locale: rtl.locale, content: { headline: rtl.headline, message: rtl.message } }));
        await shot(page, size.name, rtl.state);
        const section = page.locator('[data-view="content"]');
        await expect(section).toHaveAttribute('dir', 'rtl');
        await expect(section).toHaveAttribute('lang', rtl.locale);
        await expect(page.locator('html')).toHaveAttribute('dir', 'rtl');
        await expect(page.getByTestId('headline')).toHaveText(rtl.headline);
        // Mirrored: the level icon stands at the right, the level name to its left.
        const icon = await page.locator('.band-icon').boundingBox();
        const label = await page.getByTestId('level-label').boundingBox();
        expect(icon!.x).toBeGreaterThan(label!.x);
        await expectLayoutIntact(page);
        // The script's glyphs come from the bundled font, not from whatever the system has.
        expect(requests.get(page)!.some((url) => url.startsWith(server.origin) && url.includes(`/assets/${rtl.font}-`))).toBe(true);
      });
    }

    test('emoji in operator text keep the layout intact', async ({ page }) => {
      const headline = '😷 Smog alert 🌫️🚗🚚';
      const message = 'Leave the car 🚗➡️🚲, take the tram 🚋. Kids 👧🏽👦🏻 and elders 👵 inside 🏠 please! 💨💨💨';
      await open(page, contentView('bad', { content: { headline, message } }));
      await shot(page, size.name, 'emoji');
      await expect(page.getByTestId('headline')).toHaveText(headline);
      await expect(page.getByTestId('message')).toHaveText(message);
      await expectLayoutIntact(page);
    });
  });
}

test.describe('at 1920x1080', () => {
  test.use({ viewport: { width: 1920, height: 1080 } });

  test('a content switch never shows a blank frame: the old view stays until the new one is opaque', async ({ page }) => {
    const fake = await open(page, contentView('good', { revision: 1 }));
    // Sample every animation frame: which layers are there, and how opaque.
    await page.evaluate(() => {
      const samples: Array<Array<{ revision: string | null; kind: string | null; opacity: number }>> = [];
      (window as unknown as { __samples: typeof samples }).__samples = samples;
      const tick = () => {
        samples.push(
          Array.from(document.querySelectorAll<HTMLElement>('.layer')).map((l) => ({
            revision: l.querySelector('[data-revision]')?.getAttribute('data-revision') ?? null,
            kind: l.getAttribute('data-kind'),
            opacity: Number(getComputedStyle(l).opacity),
          })),
        );
        if (!(window as unknown as { __stopSampling?: boolean }).__stopSampling && samples.length < 20_000) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await fake.push(contentView('bad', { revision: 2 }));
    await page.waitForTimeout(120); // mid-crossfade, for a look
    await shot(page, '1920x1080', 'switch-midway');
    await fake.waitForFrame({ kind: 'content', revision: 2 });
    await settled(page);
    await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => done())));
    await page.evaluate(() => {
      (window as unknown as { __stopSampling: boolean }).__stopSampling = true;
    });
    const samples = await page.evaluate(
      () => (window as unknown as { __samples: Array<Array<{ revision: string | null; kind: string | null; opacity: number }>> }).__samples,
    );
    expect(samples.length).toBeGreaterThan(3);
    // In every frame the bottom layer is a fully opaque, drawn content view …
    for (const frame of samples) {
      expect(frame.length).toBeGreaterThan(0);
      expect(frame[0]!.opacity).toBe(1);
      expect(frame[0]!.revision).not.toBeNull();
    }
    // … first the old one, then the new one; never back; and at some point both (the overlay).
    const bottoms = samples.map((f) => f[0]!.revision);
    expect(bottoms[0]).toBe('1');
    expect(bottoms[bottoms.length - 1]).toBe('2');
    expect(bottoms.indexOf('2')).toBeGreaterThan(bottoms.lastIndexOf('1'));
    expect(samples.some((f) => f.length === 2 && f[0]!.revision === '1' && f[1]!.revision === '2')).toBe(true);
  });

  test('before the main process answers, the splash is on screen (never a blank page)', async ({ page }) => {
    const fake = await FakeBridge.install(page, contentView('good'), { answer: false });
    await page.goto(`${server.origin}/index.html`);
    await expect(page.locator('[data-view="booting"] svg[data-icon="mark"]')).toBeVisible();
    await expect(page.locator('[data-view="booting"]')).toContainText('Airpanel');
    expect(await fake.frames()).toEqual([]); // nothing reported: the host sent no view yet
    // The first pushed view replaces the splash.
    await fake.push(contentView('bad', { revision: 12 }));
    await fake.waitForFrame({ kind: 'content', revision: 12 });
    await settled(page);
    await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '12');
  });

  test('when the panel is resized, texts are fitted again and the layout stays intact', async ({ page }) => {
    const message = maxLengthMessage();
    await open(page, contentView('moderate', { content: { message } }));
    await expectLayoutIntact(page);
    for (const size of [SIZES[2], SIZES[1], SIZES[0]]) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await expect
        .poll(async () => {
          const r = await measureLayout(page);
          return [...r.outside, ...r.cut, ...r.badClamps, ...r.tiny];
        })
        .toEqual([]);
      await expectLayoutIntact(page);
    }
  });

  test('framePresented reports each painted view with its revision; the stale badge updates in place', async ({ page }) => {
    const fake = await open(page, BOOTING);
    expect(await fake.frames()).toEqual([{ kind: 'booting', revision: null }]);
    await fake.push(contentView('good', { revision: 41 }));
    await fake.waitForFrame({ kind: 'content', revision: 41 });
    await fake.push(contentView('good', { revision: 41, staleSince: '2026-03-14T14:05:00.000Z' }));
    await expect(page.getByTestId('stale-badge')).toBeVisible();
    await expect(page.locator('.layer')).toHaveCount(1); // same revision: redrawn in place
    await fake.push(MAINTENANCE_CFG1);
    await fake.waitForFrame({ kind: 'maintenance', revision: null });
    await settled(page);
    expect(await fake.frames()).toEqual([
      { kind: 'booting', revision: null },
      { kind: 'content', revision: 41 },
      { kind: 'content', revision: 41 },
      { kind: 'maintenance', revision: null },
    ]);
  });

  test('a view the renderer cannot draw is reported and the last view stays', async ({ page }) => {
    const fake = await open(page, contentView('moderate', { revision: 3 }));
    await fake.push({ kind: 'fireworks' });
    await expect.poll(async () => (await fake.errors()).length).toBe(1);
    expect((await fake.errors())[0]!.message).toContain('view does not match the contract');
    await expect(page.locator('[data-view="content"]')).toHaveAttribute('data-revision', '3');
    await expect(page.locator('.layer')).toHaveCount(1);
  });

  test('errors are caught and reported over the bridge; the renderer keeps running', async ({ page }) => {
    const fake = await open(page, contentView('good', { revision: 5 }));
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('boom from a timer');
      });
      void Promise.reject(new Error('rejected promise'));
    });
    await expect.poll(async () => (await fake.errors()).map((e) => e.message).join('\n')).toContain('boom from a timer');
    await expect.poll(async () => (await fake.errors()).map((e) => e.message).join('\n')).toContain('rejected promise');
    await fake.push(contentView('bad', { revision: 6 }));
    await fake.waitForFrame({ kind: 'content', revision: 6 });
  });

  test('every icon of ICON_NAMES is bundled and drawn', async ({ page }) => {
    const fake = await open(page, contentView('good', { revision: 1 }));
    let revision = 1;
    for (const icon of ICON_NAMES) {
      revision++;
      await fake.push(contentView('good', { revision, content: { icon } }));
      await fake.waitForFrame({ kind: 'content', revision });
      await settled(page);
      const svg = page.locator(`.band-icon svg[data-icon="${icon}"]`);
      await expect(svg).toBeVisible();
      expect(await svg.locator('path, circle, rect').count()).toBeGreaterThan(0);
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      await page.locator('.band-icon').screenshot({ path: `${SHOTS}/icon-${icon}.png` });
    }
    expect(await page.evaluate(() => document.querySelectorAll('img, link[href^="http"]').length)).toBe(0);
  });

  test('a strict CSP is in force, and the bundled font is used', async ({ page }) => {
    const violations: string[] = [];
    await page.exposeFunction('__reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { __reportViolation(v: string): void }).__reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await open(page, contentView('good'));
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self';",
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe');
    // The bridge is a WebSocket to the page's own origin ('self'); no other host or port.
    expect(csp).toContain("connect-src 'self';");
    expect(csp).not.toMatch(/ws:|wss:|localhost|127\.0\.0\.1/);
    expect(violations).toEqual([]); // the app itself needs nothing the policy forbids
    // An injected inline script does not run.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.append(s);
    });
    await expect.poll(() => violations.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as { __inline?: number }).__inline)).toBeUndefined();
    // Atkinson Hyperlegible, from the bundle.
    expect(await page.evaluate(() => document.fonts.check('700 40px "Atkinson Hyperlegible"'))).toBe(true);
    expect(requests.get(page)!.some((url) => url.startsWith(server.origin) && url.endsWith('.woff2'))).toBe(true);
  });
});

function hexToRgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

function hhmm(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(new Date(iso));
}
