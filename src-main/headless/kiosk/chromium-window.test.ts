import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedDocument, descendantsOf, kioskChromiumArgs } from './chromium-window.js';

describe('kioskChromiumArgs', () => {
  const args = kioskChromiumArgs('/run/airpanel/chromium-profile', ['--ozone-platform=wayland']);

  it('is a kiosk on a pipe, with its own profile, phoning nowhere', () => {
    for (const a of ['--remote-debugging-pipe', '--user-data-dir=/run/airpanel/chromium-profile', '--kiosk', '--no-first-run',
      '--disable-translate', '--disable-default-apps', '--disable-background-networking', '--disable-component-update',
      '--disable-extensions', '--disable-sync', '--enable-features=NetworkServiceInProcess2', '--ozone-platform=wayland']) {
      expect(args).toContain(a);
    }
    expect(args.at(-1)).toBe('about:blank');
  });

  it('keeps the sandbox and opens no DevTools port', () => {
    expect(args.join(' ')).not.toMatch(/--no-sandbox|--remote-debugging-port|--disable-web-security|--allow-running-insecure-content/);
  });
});

describe('allowedDocument', () => {
  const origin = 'http://127.0.0.1:43117';
  it('allows the panel origin, the blank start page and the maintenance page', () => {
    expect(allowedDocument('http://127.0.0.1:43117/#bridge-token=x', origin)).toBe(true);
    expect(allowedDocument('http://127.0.0.1:43117/index.html', origin)).toBe(true);
    expect(allowedDocument('about:blank', origin)).toBe(true);
    expect(allowedDocument('data:text/html;charset=utf-8;base64,PGgxPg==', origin)).toBe(true);
  });

  it('refuses everything else', () => {
    for (const url of ['http://127.0.0.1:43118/', 'http://localhost:43117/', 'https://127.0.0.1:43117/', 'http://example.com/',
      'file:///etc/passwd', 'data:image/svg+xml,<svg/>', 'javascript:alert(1)', 'not a url']) {
      expect(allowedDocument(url, origin), url).toBe(false);
    }
  });
});

describe('descendantsOf', () => {
  it('finds the whole tree below a process (Chromium\'s zygotes and renderers are grandchildren)', async () => {
    const parent = spawn('sh', ['-c', 'sh -c "sleep 30" & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const tree = descendantsOf(parent.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(3);
      for (const p of tree) expect(existsSync(`/proc/${p}`)).toBe(true);
    } finally {
      for (const p of descendantsOf(parent.pid!)) process.kill(p, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });

  it('is empty for a process that does not exist', () => {
    expect(descendantsOf(2 ** 22 + 7)).toEqual([]);
  });
});
