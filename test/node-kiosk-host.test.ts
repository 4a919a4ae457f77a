// The Node kiosk host as the Debian image runs it: the built bundle's node-main.js under plain
// Node, Debian's real Chromium as its window (driven over --remote-debugging-pipe), a real
// backend (the dev stack), and a real Unix datagram NOTIFY_SOCKET this test listens on as
// systemd would; then the image's whole chain minus cage: the loader as the image gets it
// (`--host node --runtime node`) on a factory bundle the release tool made from dist/app.
// Chromium runs --headless and --no-sandbox here only: no cage on this machine, and the test
// runs as root. The image keeps the sandbox (its host.env has no --no-sandbox).
// One file, so the renderer and the app are built once, never twice at the same time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandKind } from '@airpanel/contract';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { descendantsOf } from '@airpanel/panel/headless/kiosk/chromium-window';
import { isDeepStrictEqual } from 'node:util';
import { ALIVE_MESSAGE, HEALTHY_MESSAGE } from '@airpanel/panel/core/update/health';
import { REPO, must } from './image-fixture.js';

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

interface Datagram {
  at: number;
  text: string;
}

async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilAsync<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
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

/** Where the app is built once for this file: <work>/dist/app (the release tool's default input). */
const work = mkdtempSync(join(tmpdir(), 'airpanel-node-kiosk-'));
const appDir = join(work, 'dist/app');

beforeAll(() => {
  if (!canRun) return;
  if (!existsSync(join(REPO, 'src-renderer/dist/index.html'))) must('npm', ['run', 'build:renderer'], { cwd: REPO });
  // The bundle as the image gets it (main.js, node-main.js, preload.cjs, renderer/).
  const build = spawnSync('npx', ['tsx', 'src-main/electron/build.ts', '--out-dir', appDir], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (build.status !== 0) throw new Error(`app build failed:\n${build.stdout}\n${build.stderr}`);
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A datagram listener on `path`: every datagram, with when it came. */
async function notifyListener(path: string): Promise<{ child: ChildProcess; datagrams: Datagram[] }> {
  const datagrams: Datagram[] = [];
  const child = spawn(PYTHON, ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  lines(child, (text) => datagrams.push({ at: Date.now(), text }));
  await until('the notify socket', () => datagrams.some((d) => d.text === 'LISTENING'), 10_000);
  return { child, datagrams };
}

/** Each line of a child's stdout, as it comes. */
function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

async function sendCommand(stack: DevStack, kind: CommandKind): Promise<{ id: string }> {
  const res = await stack.admin().client.send('sendCommand', { params: { panelId: stack.panelId }, body: { kind } });
  expect(res.status).toBeLessThan(300);
  return res.body;
}

describe.runIf(canRun)('Node kiosk host (node-main.js + real Chromium + real backend)', () => {
  const dir = join(work, 'direct');
  const notifySocket = join(dir, 'notify.sock');
  let datagrams: Datagram[] = [];
  const logLines: Record<string, unknown>[] = [];
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
    lines(host, (line) => {
      try {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
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

describe.runIf(canRun)('loader --host node → Node kiosk host → Chromium', () => {
  const dir = join(work, 'loader-chain');
  let datagrams: Datagram[] = [];
  const loaderOut: string[] = [];
  let receiver: ChildProcess | null = null;
  let loader: ChildProcess | null = null;
  let loaderExit: Promise<number | null> = Promise.resolve(null);
  let stack: DevStack | null = null;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    stack = await startDevStack({ mode: 'headless', dataRoot: join(dir, 'data'), startPanel: false, backendLog: 'silent' });
    const loaderDir = join(dir, 'loader');
    const r = spawnSync('npx', ['tsx', 'src-main/loader/build.ts', '--out-dir', loaderDir], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`loader build failed:\n${r.stdout}\n${r.stderr}`);
    // The release tool's `bundle` with its default input (dist/app of the working directory),
    // as image/build.ts makes the factory bundle: it must name node-main.js as nodeMain.
    const tarball = join(dir, 'factory.tar.gz');
    const cli = spawnSync(
      join(REPO, 'node_modules/.bin/tsx'),
      [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', '1.0.0', '--deps', 'none', '--out', tarball],
      { cwd: work, encoding: 'utf8', timeout: 120_000 },
    );
    if (cli.status !== 0) throw new Error(`release bundle failed:\n${cli.stdout}\n${cli.stderr}`);
    const factoryDir = join(dir, 'usr-lib-airpanel-factory');
    mkdirSync(factoryDir, { recursive: true });
    must('tar', ['-xzf', tarball, '-C', factoryDir]);
    expect(JSON.parse(readFileSync(join(factoryDir, 'bundle.json'), 'utf8'))).toMatchObject({ main: 'main.js', nodeMain: 'node-main.js' });

    const notifySocket = join(dir, 'notify.sock');
    const listener = await notifyListener(notifySocket);
    receiver = listener.child;
    datagrams = listener.datagrams;

    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    // airpanel.service's ExecStart after cage, with the Debian image's host.env, and the unit's environment.
    loader = spawn(
      process.execPath,
      [
        join(loaderDir, 'main.js'),
        '--host',
        'node',
        '--data-dir',
        stack.panelDataDir,
        '--factory-dir',
        factoryDir,
        '--runtime',
        process.execPath,
        '--health-deadline-ms',
        '60000',
        '--max-attempts',
        '2',
        '--',
      ],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NOTIFY_SOCKET: notifySocket,
          WATCHDOG_USEC: '4000000',
          XDG_RUNTIME_DIR: join(dir, 'run'),
          AIRPANEL_DATA_DIR: stack.panelDataDir,
          AIRPANEL_CHROMIUM: CHROMIUM,
          AIRPANEL_CHROMIUM_FLAGS: '--headless --no-sandbox --disable-gpu',
        },
      },
    );
    loaderExit = new Promise((r) => loader!.once('exit', (code) => r(code)));
    lines(loader, (line) => loaderOut.push(line));
  }, 240_000);

  afterAll(async () => {
    if (loader && loader.exitCode === null) {
      loader.kill('SIGKILL');
      await loaderExit;
    }
    receiver?.kill('SIGKILL');
    await stack?.stop();
  }, 60_000);

  const readies = () => datagrams.map((d) => d.text).filter((t) => t.startsWith('READY=1'));
  const starts = () => loaderOut.filter((l) => /^(\[loader\] )?starting factory 1\.0\.0$/.test(l)).length;

  it("the loader starts the factory bundle's nodeMain on Node, which paints and sends READY=1", async () => {
    await until('READY=1', () => readies().length >= 1, 90_000);
    expect(starts()).toBe(1);
    const host = loaderOut.find((l) => l.includes('"node kiosk host starting"'));
    expect(host && JSON.parse(host)).toMatchObject({ version: '1.0.0' });
    expect(readies()[0]).toMatch(/^READY=1\|STATUS=(live|showing-cached)/);
  }, 120_000);

  it('the restart command: the host exits, the loader starts it again, it paints again; one Chromium', async () => {
    await sendCommand(stack!, 'restart');
    await until('a second start', () => starts() >= 2, 60_000);
    expect(loaderOut.some((l) => l.includes('"headless host: restart requested"'))).toBe(true);
    await until('READY=1 again', () => readies().length >= 2, 90_000);
    const browsers = descendantsOf(loader!.pid!).filter((p) => comm(p).startsWith('chrom') && !comm(parentOf(p)).startsWith('chrom'));
    expect(browsers).toHaveLength(1);
  }, 180_000);

  it('SIGTERM to the loader (systemd stopping the unit) leaves no Chromium behind', async () => {
    const tree = descendantsOf(loader!.pid!);
    expect(tree.some((p) => comm(p).startsWith('chrom'))).toBe(true);
    loader!.kill('SIGTERM');
    await loaderExit;
    await until('every process gone', () => tree.every((p) => isGone(p)), 15_000);
  }, 30_000);
});

function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return 0;
  }
}

describe.runIf(canRun)('Node kiosk host with a bundle that has no renderer', () => {
  const dir = join(work, 'no-renderer');
  let receiver: ChildProcess | null = null;
  let host: ChildProcess | null = null;

  afterAll(() => {
    if (host && host.exitCode === null) host.kill('SIGKILL');
    receiver?.kill('SIGKILL');
  });

  it('shows the maintenance screen APP-1 at once and tells systemd the start is done', async () => {
    mkdirSync(join(dir, 'run'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'empty-renderer'), { recursive: true });
    const listener = await notifyListener(join(dir, 'notify.sock'));
    receiver = listener.child;
    const logLines: Record<string, unknown>[] = [];
    host = spawn(
      process.execPath,
      [join(appDir, 'node-main.js'), '--data-dir', join(dir, 'data'), '--renderer-dir', join(dir, 'empty-renderer')],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NOTIFY_SOCKET: join(dir, 'notify.sock'),
          XDG_RUNTIME_DIR: join(dir, 'run'),
          AIRPANEL_CHROMIUM: CHROMIUM,
          AIRPANEL_CHROMIUM_FLAGS: '--headless --no-sandbox --disable-gpu',
        },
      },
    );
    lines(host, (line) => {
      try {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    });
    const ready = await until('READY=1', () => listener.datagrams.find((d) => d.text.startsWith('READY=1')), 60_000);
    expect(ready.text).toBe('READY=1|STATUS=maintenance APP-1');
    expect(logLines.some((l) => l.message === 'renderer bundle missing')).toBe(true);
    expect(logLines.some((l) => l.message === 'kiosk window: transition' && String(l.reason).startsWith('maintenance APP-1'))).toBe(true);
  }, 90_000);
});
