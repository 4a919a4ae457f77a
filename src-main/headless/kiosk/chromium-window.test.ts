import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedDocument, ChromiumWindow, descendantsOf, kioskChromiumArgs, WindowStartTimeoutError } from './chromium-window.js';

describe('kioskChromiumArgs', () => {
  const args = kioskChromiumArgs('/run/airpanel/chromium-profile', ['--ozone-platform=wayland']);

  it('is a kiosk on a pipe, with its own profile, phoning nowhere', () => {
    for (const a of [
      '--remote-debugging-pipe',
      '--user-data-dir=/run/airpanel/chromium-profile',
      '--kiosk',
      '--no-first-run',
      '--disable-translate',
      '--disable-default-apps',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-extensions',
      '--disable-sync',
      '--enable-features=NetworkServiceInProcess2',
      '--ozone-platform=wayland',
    ]) {
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
    for (const url of [
      'http://127.0.0.1:43118/',
      'http://localhost:43117/',
      'https://127.0.0.1:43117/',
      'http://example.com/',
      'file:///etc/passwd',
      'data:image/svg+xml,<svg/>',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(allowedDocument(url, origin), url).toBe(false);
    }
  });
});

describe('descendantsOf', () => {
  it("finds the whole tree below a process (Chromium's zygotes and renderers are grandchildren)", async () => {
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

/**
 * A stand-in browser for ChromiumWindow.launch: a Node process speaking the DevTools pipe
 * protocol on fds 3/4 (NUL-ended JSON), which answers nothing for STAND_IN_ANSWER_AFTER_MS,
 * then as Chromium would for the commands the kiosk window sends (one page, one session).
 */
const STAND_IN_LATE_BROWSER = `
const { createReadStream, createWriteStream } = require('node:fs');
const out = createWriteStream(null, { fd: 4 });
const answerAfter = Number(process.env.STAND_IN_ANSWER_AFTER_MS);
const started = Date.now();
let buf = '';
const results = {
  'Target.getTargets': { targetInfos: [{ targetId: 'T1', type: 'page', url: 'about:blank' }] },
  'Target.attachToTarget': { sessionId: 'S1' },
  'Runtime.evaluate': { result: { type: 'number', value: 2 } },
};
createReadStream(null, { fd: 3 }).on('data', (d) => {
  buf += d.toString();
  for (let i = buf.indexOf('\\0'); i !== -1; i = buf.indexOf('\\0')) {
    const msg = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (msg.method === 'Browser.close') process.exit(0);
    const reply = JSON.stringify({ id: msg.id, sessionId: msg.sessionId, result: results[msg.method] ?? {} }) + '\\0';
    setTimeout(() => out.write(reply), Math.max(0, started + answerAfter - Date.now()));
  }
});
setInterval(() => undefined, 1000);
`;

describe('ChromiumWindow.launch with a stand-in browser that answers late', () => {
  const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

  /** Live (not zombie) stand-in browser processes. */
  const liveStandIns = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return (
            readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('STAND_IN_ANSWER_AFTER_MS') &&
            !/\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'))
          );
        } catch {
          return false;
        }
      });

  async function standIn(answerAfterMs: number): Promise<{ path: string; done: () => void }> {
    const dir = await mkdtemp(join(tmpdir(), 'stand-in-browser-'));
    const path = join(dir, 'chromium');
    await writeFile(
      path,
      `#!/bin/sh\nSTAND_IN_ANSWER_AFTER_MS=${answerAfterMs} exec ${process.execPath} -e '${STAND_IN_LATE_BROWSER.replaceAll("'", "'\\''")}'\n`,
      { mode: 0o755 },
    );
    return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('gives up at the start deadline, ends the browser and says it was slow (not a crash)', async () => {
    const b = await standIn(3_000);
    try {
      const t0 = Date.now();
      const err = await ChromiumWindow.launch({
        chromiumPath: b.path,
        panelUrl: 'http://127.0.0.1:1/',
        profileDir: b.path,
        log: quietLog,
        startTimeoutMs: 800,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WindowStartTimeoutError);
      expect((err as WindowStartTimeoutError).startTimeoutMs).toBe(800);
      expect(Date.now() - t0).toBeLessThan(2_500);
      await new Promise((r) => setTimeout(r, 100));
      expect(liveStandIns()).toEqual([]);
    } finally {
      b.done();
    }
  });

  it('waits for a late answer within a longer deadline, then drives the page', async () => {
    const b = await standIn(1_500);
    try {
      const w = await ChromiumWindow.launch({
        chromiumPath: b.path,
        panelUrl: 'http://127.0.0.1:1/',
        profileDir: b.path,
        log: quietLog,
        startTimeoutMs: 10_000,
      });
      expect(await w.evaluate('1 + 1', 2_000)).toBe(2);
      const pid = w.pid!;
      expect(pid).toBeGreaterThan(0);
      await w.close();
      expect(liveStandIns()).toEqual([]);
    } finally {
      b.done();
    }
  });
});
