// ChromiumWindow against Debian's real Chromium (headless; --no-sandbox only because the test
// runs as root): the page is driven over --remote-debugging-pipe, navigation off the panel's
// origin and new windows never reach the network, screenshots are PNGs, and closing leaves
// no Chromium process behind. Every server is on 127.0.0.1.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChromiumWindow, descendantsOf } from '@airpanel/panel/headless/kiosk/chromium-window';

const CHROMIUM = '/usr/bin/chromium';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(existsSync(CHROMIUM))('ChromiumWindow (real Chromium over --remote-debugging-pipe)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airpanel-chromium-window-'));
  const warnings: string[] = [];
  const log = { error: () => undefined, warn: (m: string) => void warnings.push(m), info: () => undefined, debug: () => undefined };
  let panel: { server: Server; url: string };
  let foreign: { server: Server; url: string };
  let foreignHits = 0;
  let win: ChromiumWindow | null = null;

  beforeAll(async () => {
    panel = await listen((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>panel</title><body style="background:#0a0">panel</body>'),
    );
    foreign = await listen((_req, res) => {
      foreignHits++;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>foreign</title>');
    });
    win = await ChromiumWindow.launch({
      chromiumPath: CHROMIUM,
      panelUrl: `${panel.url}/`,
      profileDir: join(dir, 'profile'),
      log,
      stderr: 'ignore',
      extraArgs: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    await win.loadPanel();
    await until('the panel page', async () => (await win!.evaluate('document.title', 5_000)) === 'panel', 20_000);
  }, 60_000);

  afterAll(async () => {
    await win?.close();
    panel?.server.close();
    foreign?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a round-trip to the page', async () => {
    expect(await win!.evaluate('1 + 1', 5_000)).toBe(2);
  });

  it('refuses a navigation to another origin before it reaches the network', async () => {
    await win!.evaluate(`location.href = ${JSON.stringify(`${foreign.url}/elsewhere`)}; true`, 5_000);
    await until('the refusal', () => warnings.includes('kiosk window: refused a navigation off the panel origin'), 10_000);
    // A failed navigation may leave Chromium's error page in the tab: either way, not foreign content.
    expect(await win!.evaluate('document.title', 5_000)).not.toBe('foreign');
    expect(foreignHits).toBe(0);
    await win!.loadPanel();
    await until('the panel again', async () => (await win!.evaluate('document.title', 5_000)) === 'panel', 10_000);
  });

  it('closes a new window before it loads anything', async () => {
    // As if touched: without a gesture the popup blocker stops it before the host sees it.
    // The popup is held before it runs and closed, so this call's own answer may never come.
    await win!
      .evaluate(`window.open(${JSON.stringify(`${foreign.url}/popup`)}); true`, 2_000, { userGesture: true })
      .catch(() => undefined);
    await until('the popup closed', () => warnings.includes('kiosk window: closed a new window'), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(foreignHits).toBe(0);
    expect(await win!.evaluate('document.title', 5_000)).toBe('panel');
  });

  it('takes a PNG screenshot and shows the maintenance page', async () => {
    const png = Buffer.from(await win!.screenshot());
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    await win!.showMaintenance('RND-1');
    await until('the maintenance page', async () => (await win!.evaluate('document.title', 5_000)) === 'Maintenance RND-1', 10_000);
    expect(await win!.evaluate('document.querySelector("[data-code]").textContent', 5_000)).toBe('RND-1');
  });

  it('close ends the browser and every process it started, and reports the window gone', async () => {
    const pid = win!.pid!;
    const tree = [pid, ...descendantsOf(pid)];
    expect(tree.length).toBeGreaterThan(1);
    let gone = '';
    win!.onGone((d) => {
      gone = d;
    });
    await win!.close();
    win = null;
    expect(gone).toBe('closed by the host');
    await until('no process left', () => tree.every((p) => !existsSync(`/proc/${p}`)), 10_000);
  });
});
