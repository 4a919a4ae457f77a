// The Node kiosk host as the Debian image runs it: the built bundle's node-main.js under plain
// Node, Debian's real Chromium as its window (driven over --remote-debugging-pipe), a real
// backend (the dev stack), and a real Unix datagram NOTIFY_SOCKET this test listens on as
// systemd would. Chromium runs --headless and --no-sandbox here only: no cage on this machine,
// and the test runs as root. The image keeps the sandbox (host.env has no --no-sandbox).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../scripts/dev-stack.js';
import { HEALTHY_MESSAGE } from '../src-main/core/update/health.js';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';
const canRun = existsSync(CHROMIUM) && existsSync(PYTHON);

/** A datagram socket bound where NOTIFY_SOCKET points, as systemd's; one line per datagram. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    print(s.recv(65536).decode("utf-8", "replace").replace("\\n", "|"), flush=True)
`;

interface Datagram { at: number; text: string }

async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Chromium browser processes directly under the host (the window it started). */
function chromiumChildren(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim().startsWith('chrom')) out.push(c);
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

describe.runIf(canRun)('Node kiosk host (node-main.js + real Chromium + real backend)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airpanel-node-kiosk-'));
  const notifySocket = join(dir, 'notify.sock');
  const appDir = join(dir, 'app');
  const datagrams: Datagram[] = [];
  const logLines: Record<string, unknown>[] = [];
  const ipc: unknown[] = [];
  let receiver: ChildProcess | null = null;
  let host: ChildProcess | null = null;
  let hostExit: Promise<number | null> = Promise.resolve(null);
  let stack: DevStack | null = null;

  const logged = (message: string, match: (l: Record<string, unknown>) => boolean = () => true) =>
    logLines.filter((l) => l.message === message && match(l));

  beforeAll(async () => {
    stack = await startDevStack({ mode: 'headless', dataRoot: join(dir, 'data'), startPanel: false, backendLog: 'silent' });
    // The bundle as the image gets it (main.js, node-main.js, renderer/).
    const build = spawnSync('npx', ['tsx', 'src-main/electron/build.ts', '--out-dir', appDir], { cwd: REPO, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);

    receiver = spawn(PYTHON, ['-c', RECEIVER, notifySocket], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    receiver.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        datagrams.push({ at: Date.now(), text: buf.slice(0, nl) });
        buf = buf.slice(nl + 1);
      }
    });
    await until('the notify socket', () => datagrams.some((d) => d.text === 'LISTENING'), 10_000);

    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    host = spawn(process.execPath, [join(appDir, 'node-main.js'), '--data-dir', stack.panelDataDir], {
      stdio: ['ignore', 'pipe', 'ignore', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NOTIFY_SOCKET: notifySocket,
        WATCHDOG_USEC: '2000000', // pings every second
        XDG_RUNTIME_DIR: join(dir, 'run'),
        AIRPANEL_CHROMIUM: CHROMIUM,
        AIRPANEL_CHROMIUM_FLAGS: '--headless --no-sandbox --window-size=800,480 --disable-gpu',
        AIRPANEL_BUNDLE_VERSION: '1.2.3',
        AIRPANEL_LAUNCH: 'factory',
      },
    });
    hostExit = new Promise((r) => host!.once('exit', (code) => r(code)));
    host.on('message', (m) => ipc.push(m));
    let out = '';
    host.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      for (let nl = out.indexOf('\n'); nl !== -1; nl = out.indexOf('\n')) {
        try {
          logLines.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
        } catch {
          // not a log line
        }
        out = out.slice(nl + 1);
      }
    });
  }, 180_000);

  afterAll(async () => {
    if (host && host.exitCode === null) {
      host.kill('SIGKILL');
      await hostExit;
    }
    receiver?.kill('SIGKILL');
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('sends READY=1 once the renderer painted content, and reports healthy to the loader', async () => {
    const ready = await until('READY=1', () => datagrams.find((d) => d.text.startsWith('READY=1')), 90_000);
    expect(ready.text).toMatch(/^READY=1\|STATUS=(live|showing-cached)/);
    expect(logged('first frame on screen')[0]).toMatchObject({ kind: 'content' });
    await until('the health report', () => ipc.length > 0, 5_000);
    expect(ipc).toEqual([HEALTHY_MESSAGE]);
  }, 120_000);

  it('pings WATCHDOG=1 while the page answers', async () => {
    const readyAt = datagrams.find((d) => d.text.startsWith('READY=1'))!.at;
    await until('three pings after READY', () => datagrams.filter((d) => d.text === 'WATCHDOG=1' && d.at > readyAt).length >= 3, 15_000);
  }, 20_000);

  it('the screenshot command returns a PNG of the kiosk window, uploaded to the backend', async () => {
    const backend = stack!.backend()!;
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${backend.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' } });
    const sent = (await (await admin(`/panels/${stack!.panelId}/commands`, { method: 'POST', body: JSON.stringify({ kind: 'screenshot' }) })).json()) as { id: string };
    const final = await (async () => {
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const { acks } = (await (await admin(`/panels/${stack!.panelId}/commands/${sent.id}`)).json()) as { acks: { status: string; detail: string | null }[] };
        const done = acks.find((a) => a.status !== 'accepted');
        if (done) return done;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('no final ack for the screenshot command');
    })();
    expect(final).toMatchObject({ status: 'done', detail: expect.stringMatching(/^uploaded \d+ bytes$/) });
    const png = Buffer.from(await (await admin(`/panels/${stack!.panelId}/screenshot`)).arrayBuffer());
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
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
    expect(logged('bridge: refused a WebSocket without the bridge token').length).toBeGreaterThan(0);
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

  it('stops on SIGTERM with no Chromium left behind', async () => {
    const pid = host!.pid!;
    const browsers = chromiumChildren(pid);
    host!.kill('SIGTERM');
    expect(await hostExit).toBe(0);
    for (const b of browsers) await until(`chromium ${b} gone`, () => !existsSync(`/proc/${b}`) || readFileSync(`/proc/${b}/stat`, 'utf8').split(' ')[2] === 'Z', 10_000);
  }, 30_000);
});
