// The Node kiosk host as the Debian image runs it: the built bundle's node-main.js under plain
// Node, Debian's real Chromium as its window (driven over --remote-debugging-pipe), a real
// backend (the dev stack), and a real Unix datagram NOTIFY_SOCKET this test listens on as
// systemd would. The loader's chain is node-kiosk-host-loader.test.ts, a bundle without a
// renderer node-kiosk-host-no-renderer.test.ts; the app they run is built once per test run
// (useKioskApp). Chromium runs --headless and --no-sandbox here only: no cage on this machine,
// and the test runs as root. The image keeps the sandbox (its host.env has no --no-sandbox).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { descendantsOf } from '@airpanel/panel/headless/kiosk/chromium-window';
import { ALIVE_MESSAGE, HEALTHY_MESSAGE } from '@airpanel/panel/core/update/health';
import { REPO } from './image-fixture.js';
import {
  CHROMIUM,
  TEST_CHROMIUM_FLAGS,
  canRun,
  chromiumChildren,
  isGone,
  killTree,
  logLinesOf,
  notifyListener,
  sendCommand,
  until,
  untilAsync,
  useKioskApp,
  useWorkDir,
  type Datagram,
} from './node-kiosk-host.test-support.js';

const app = useKioskApp();
const work = useWorkDir('airpanel-node-kiosk-');

describe.runIf(canRun)('Node kiosk host (node-main.js + real Chromium + real backend)', () => {
  const dir = join(work.dir, 'direct');
  const notifySocket = join(dir, 'notify.sock');
  let datagrams: Datagram[] = [];
  let logLines: Record<string, unknown>[] = [];
  const ipc: unknown[] = [];
  let receiver: ChildProcess | null = null;
  let host: ChildProcess | null = null;
  let hostExit: Promise<number | null> = Promise.resolve(null);
  let stack: DevStack | null = null;

  const logged = (message: string, match: (l: Record<string, unknown>) => boolean = () => true) =>
    logLines.filter((l) => l.message === message && match(l));

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    stack = await startDevStack({ mode: 'headless', dataRoot: join(dir, 'data'), startPanel: false, backendLog: 'silent' });
    const listener = await notifyListener(notifySocket);
    receiver = listener.child;
    datagrams = listener.datagrams;

    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    host = spawn(process.execPath, [join(app.appDir, 'node-main.js'), '--data-dir', stack.panelDataDir], {
      stdio: ['ignore', 'pipe', 'ignore', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NOTIFY_SOCKET: notifySocket,
        WATCHDOG_USEC: '2000000', // pings every second
        XDG_RUNTIME_DIR: join(dir, 'run'),
        AIRPANEL_CHROMIUM: CHROMIUM,
        AIRPANEL_CHROMIUM_FLAGS: `${TEST_CHROMIUM_FLAGS} --window-size=800,480`,
        AIRPANEL_BUNDLE_VERSION: '1.2.3',
        AIRPANEL_LAUNCH: 'factory',
      },
    });
    hostExit = new Promise((r) => host!.once('exit', (code) => r(code)));
    host.on('message', (m) => ipc.push(m));
    logLines = logLinesOf(host);
  }, 180_000);

  afterAll(async () => {
    await killTree(host);
    await killTree(receiver);
    await stack?.stop();
  }, 60_000);

  it('sends READY=1 once the renderer painted content, and reports healthy to the loader', async () => {
    const ready = await until('READY=1', () => datagrams.find((d) => d.text.startsWith('READY=1')), 90_000);
    expect(ready.text).toMatch(/^READY=1\|STATUS=(live|showing-cached)/);
    expect(logged('first frame on screen')[0]).toMatchObject({ kind: 'content' });
    await until('the health report', () => ipc.some((m) => isDeepStrictEqual(m, HEALTHY_MESSAGE)), 5_000);
    // Once, among the liveness messages sent with every WATCHDOG=1 (the loader's hang check).
    expect(ipc.filter((m) => !isDeepStrictEqual(m, ALIVE_MESSAGE))).toEqual([HEALTHY_MESSAGE]);
  }, 120_000);

  it('pings WATCHDOG=1 while the page answers', async () => {
    const readyAt = datagrams.find((d) => d.text.startsWith('READY=1'))!.at;
    await until('three pings after READY', () => datagrams.filter((d) => d.text === 'WATCHDOG=1' && d.at > readyAt).length >= 3, 15_000);
  }, 20_000);

  it('the screenshot command returns a PNG of the kiosk window, uploaded to the backend', async () => {
    const admin = stack!.admin().client;
    const sent = await sendCommand(stack!, 'screenshot');
    const final = await (async () => {
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const { acks } = await admin.call('getCommand', { params: { panelId: stack!.panelId, commandId: sent.id } });
        const done = acks.find((a) => a.status !== 'accepted');
        if (done) return done;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('no final ack for the screenshot command');
    })();
    expect(final).toMatchObject({ status: 'done', detail: expect.stringMatching(/^uploaded \d+ bytes$/) });
    const png = Buffer.from(
      await admin.call('getScreenshot', { params: { panelId: stack!.panelId } }, { maxResponseBytes: 8 * 1024 * 1024 }),
    );
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // Headless Chromium in kiosk mode keeps its default 800×600 surface whatever --window-size says.
    expect(png.readUInt32BE(16)).toBe(800);
    expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(480);
    mkdirSync(join(REPO, 'artifacts/screenshots'), { recursive: true });
    writeFileSync(join(REPO, 'artifacts/screenshots/node-kiosk-host.png'), png);
  }, 40_000);

  it('the bridge refuses a client without the per-boot token', async () => {
    const url = logged('headless host: listening')[0]?.url as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { WebSocket } = await import('ws');
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/bridge`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
    await until('the refusal logged', () => logged('bridge: refused a WebSocket without the bridge token').length > 0, 5_000);
  }, 15_000);

  it('restarts the window when Chromium is killed, and paints again', async () => {
    const [browser] = chromiumChildren(host!.pid!);
    expect(browser).toBeDefined();
    const startsBefore = logged('kiosk window: chromium started').length;
    const showingBefore = logged('kiosk window: transition', (l) => l.to === 'showing').length;
    process.kill(browser!, 'SIGKILL');
    await until('the fault', () => logged('kiosk window: transition', (l) => l.to === 'recovering').length > 0, 10_000);
    await until('a new window', () => logged('kiosk window: chromium started').length > startsBefore, 60_000);
    await until('painted again', () => logged('kiosk window: transition', (l) => l.to === 'showing').length > showingBefore, 60_000);
    const [again] = chromiumChildren(host!.pid!);
    expect(again).toBeDefined();
    expect(again).not.toBe(browser);
    const lastShowing = logged('kiosk window: transition', (l) => l.to === 'showing').at(-1)!;
    const shownAt = Date.parse(String(lastShowing.timestamp));
    await until('pings after the restart', () => datagrams.filter((d) => d.text === 'WATCHDOG=1' && d.at > shownAt).length >= 2, 15_000);
  }, 150_000);

  it('the third window fault within five minutes: the maintenance screen (RND-1), reported to the backend', async () => {
    // One fault came from the previous case; two more trip the crash-loop policy.
    const before = logged('kiosk window: chromium started').length;
    process.kill(chromiumChildren(host!.pid!)[0]!, 'SIGKILL');
    await until('a new window', () => logged('kiosk window: chromium started').length > before, 60_000);
    process.kill(chromiumChildren(host!.pid!)[0]!, 'SIGKILL');
    await until(
      'the maintenance screen',
      () =>
        logged('kiosk window: transition', (l) => l.to === 'maintenance' && String(l.reason).includes('maintenance screen is on')).length >
        0,
      60_000,
    );
    const admin = stack!.admin().client;
    expect(
      logged('kiosk window: transition', (l) => l.to === 'maintenance' && String(l.reason).startsWith('maintenance RND-1')),
    ).toHaveLength(1);
    const panel = await untilAsync(
      'the backend to see maintenance',
      async () => {
        const p = await admin.call('getPanel', { params: { panelId: stack!.panelId } });
        return p.state === 'maintenance' ? p : null;
      },
      20_000,
    );
    expect(panel.lastError).toBeTruthy();
    // What the panel shows now: the static maintenance page, captured by the screenshot command.
    const sent = await sendCommand(stack!, 'screenshot');
    await untilAsync(
      'the screenshot uploaded',
      async () => {
        const { acks } = await admin.call('getCommand', { params: { panelId: stack!.panelId, commandId: sent.id } });
        return acks.some((a) => a.status === 'done');
      },
      60_000,
    );
    const png = Buffer.from(
      await admin.call('getScreenshot', { params: { panelId: stack!.panelId } }, { maxResponseBytes: 8 * 1024 * 1024 }),
    );
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    writeFileSync(join(REPO, 'artifacts/screenshots/node-kiosk-host-maintenance.png'), png);
  }, 150_000);

  it('the restart command: exit code 75 for the loader, with no Chromium left behind', async () => {
    const browsers = chromiumChildren(host!.pid!);
    const tree = browsers.flatMap((b) => [b, ...descendantsOf(b)]);
    expect(tree.length).toBeGreaterThan(0);
    await sendCommand(stack!, 'restart');
    expect(await hostExit).toBe(75);
    for (const p of tree) await until(`process ${p} gone`, () => isGone(p), 10_000);
  }, 60_000);
});
