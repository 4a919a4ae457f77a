import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanelView } from '@airpanel/contract/internal';
import { APP_ENTRY_URL, APP_SCHEME_PRIVILEGES, isAppUrl, resolveAppFile } from './app-origin.js';
import { maintenancePageHtml, maintenancePageUrl } from '../core/kiosk/maintenance-page.js';
import { allowedUrl, devToolsEnabled, requestAllowed } from './security.js';

// The Electron host's pure parts (no Electron needed): origin checks, the app:// file
// resolver and the maintenance page.

describe('isAppUrl', () => {
  it('accepts only the app origin', () => {
    expect(isAppUrl(APP_ENTRY_URL)).toBe(true);
    expect(isAppUrl('app://panel/assets/x.js')).toBe(true);
    for (const url of [
      'app://evil/index.html',
      'app://panel:81/',
      'app://u@panel/',
      'file:///etc/passwd',
      'https://panel/',
      'data:text/html,x',
      'javascript:alert(1)',
      '',
      null,
      undefined,
      'not a url',
    ]) {
      expect(isAppUrl(url), String(url)).toBe(false);
    }
  });
});

describe('resolveAppFile', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-app-'));
    root = join(dir, 'renderer');
    await mkdir(join(root, 'assets'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<!doctype html>');
    await writeFile(join(root, 'assets', 'a.js'), '');
    await writeFile(join(dir, 'secret.js'), 'secret');
    await symlink(join(dir, 'secret.js'), join(root, 'assets', 'link.js'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves files of the app', () => {
    expect(resolveAppFile(root, 'app://panel/')?.path).toMatch(/index\.html$/);
    expect(resolveAppFile(root, 'app://panel/assets/a.js?x=1')).toMatchObject({ contentType: 'text/javascript; charset=utf-8' });
  });

  it('refuses anything else', () => {
    for (const url of [
      'app://panel/../secret.js',
      'app://panel/assets/..%2f..%2fsecret.js',
      'app://panel/%2e%2e/secret.js',
      'app://panel/assets/link.js',
      'app://panel/assets/..%5c..%5csecret.js',
      'app://panel/index.html%00.js',
      'app://panel/missing.js',
      'app://other/index.html',
      'app://panel/assets',
      'app://panel/package.json',
    ]) {
      expect(resolveAppFile(root, url), url).toBeNull();
    }
  });
});

describe('maintenance page', () => {
  it('shows a valid code, and a fallback for an invalid one, with no script', () => {
    const html = maintenancePageHtml('RND-1');
    expect(html).toContain('data-code="RND-1"');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("default-src 'none'");
    expect(maintenancePageHtml('<img onerror=x>')).toContain('data-code="HST-1"');
    expect(PanelView.safeParse({ kind: 'maintenance', code: 'HST-1' }).success).toBe(true);
    const url = maintenancePageUrl('GPU-1');
    expect(url.startsWith('data:text/html;charset=utf-8;base64,')).toBe(true);
    expect(Buffer.from(url.split(',')[1] ?? '', 'base64').toString('utf8')).toContain('GPU-1');
  });
});

describe('allowedUrl (navigation and request guard)', () => {
  it('allows the app, and the simulator origin only when the policy names it', () => {
    const kiosk = { extraOrigins: [] };
    const sim = { extraOrigins: ['http://127.0.0.1:4321'] };
    expect(allowedUrl('app://panel/index.html', kiosk)).toBe(true);
    expect(allowedUrl('http://127.0.0.1:4321/simulator', kiosk)).toBe(false);
    expect(allowedUrl('http://127.0.0.1:4321/simulator', sim)).toBe(true);
    for (const url of [
      'http://127.0.0.1:4322/',
      'https://127.0.0.1:4321/',
      'http://localhost:4321/',
      'file:///etc/passwd',
      'https://example.com/',
      'garbage',
    ]) {
      expect(allowedUrl(url, sim), url).toBe(false);
    }
  });
});

describe('least privilege of the app: scheme and DevTools', () => {
  it('app: is a standard, secure origin and nothing more (no fetch, no CORS reads, no CSP bypass, no service workers)', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({ standard: true, secure: true });
  });

  it('DevTools only on an unpackaged Electron when asked for; a packaged runtime ignores the variable', () => {
    expect(devToolsEnabled(false, { AIRPANEL_DEVTOOLS: '1' })).toBe(true);
    expect(devToolsEnabled(true, { AIRPANEL_DEVTOOLS: '1' })).toBe(false);
    expect(devToolsEnabled(false, {})).toBe(false);
    expect(devToolsEnabled(false, { AIRPANEL_DEVTOOLS: 'true' })).toBe(false);
  });

  it('the request filter lets devtools:// through only when DevTools are on', () => {
    const kiosk = { extraOrigins: [] };
    const dev = { extraOrigins: [], allowDevTools: true };
    const devtools = 'devtools://devtools/bundled/devtools_app.html';
    expect(requestAllowed(devtools, kiosk)).toBe(false);
    expect(requestAllowed(devtools, dev)).toBe(true);
    expect(requestAllowed('app://panel/assets/a.js', kiosk)).toBe(true);
    expect(requestAllowed('data:image/png;base64,AA==', kiosk)).toBe(true);
    for (const url of ['https://example.com/', 'ws://127.0.0.1:8080/', 'file:///etc/passwd', 'devtoolsx://a', 'chrome://gpu']) {
      expect(requestAllowed(url, dev), url).toBe(false);
    }
  });
});
