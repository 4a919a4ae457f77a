// The Debian image's kiosk chain minus cage: the loader as the image gets it (built by
// src-main/loader/build.ts) with `--host node --runtime node`, a factory bundle made by the
// release tool from `npm run build:electron`'s dist/app (nodeMain = node-main.js),
// extracted as the image does, the Node kiosk host it starts, and Debian's real Chromium, against a
// real backend, with a real datagram NOTIFY_SOCKET. Chromium is --headless --no-sandbox here
// only (no cage on this machine; the test runs as root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../scripts/dev-stack.js';
import { descendantsOf } from '../src-main/headless/kiosk/chromium-window.js';
import { REPO, must, tempDir } from './image-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    print(s.recv(65536).decode("utf-8", "replace").replace("\\n", "|"), flush=True)
`;

async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Lines of a child's stdout, as they come. */
function lines(child: ChildProcess, into: string[]): void {
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      into.push(buf.slice(0, nl));
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

describe.runIf(existsSync(CHROMIUM) && existsSync(PYTHON))('loader --host node → Node kiosk host → Chromium', () => {
  const work = tempDir('airpanel-node-kiosk-loader-');
  const datagrams: string[] = [];
  const loaderOut: string[] = [];
  let receiver: ChildProcess | null = null;
  let loader: ChildProcess | null = null;
  let loaderExit: Promise<number | null> = Promise.resolve(null);
  let stack: DevStack | null = null;

  beforeAll(async () => {
    stack = await startDevStack({ mode: 'headless', dataRoot: join(work.dir, 'data'), startPanel: false, backendLog: 'silent' });
    const appDir = join(work.dir, 'dist/app');
    const loaderDir = join(work.dir, 'loader');
    for (const [args, what] of [[['src-main/electron/build.ts', '--out-dir', appDir], 'app'], [['src-main/loader/build.ts', '--out-dir', loaderDir], 'loader']] as const) {
      const r = spawnSync('npx', ['tsx', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`${what} build failed:\n${r.stdout}\n${r.stderr}`);
    }
    // The release tool's `bundle` with its default input (dist/app of the working directory),
    // as image/build.ts makes the factory bundle: it must name node-main.js as nodeMain.
    const tarball = join(work.dir, 'factory.tar.gz');
    const cli = spawnSync(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', '1.0.0', '--deps', 'none', '--out', tarball],
      { cwd: work.dir, encoding: 'utf8', timeout: 120_000 });
    if (cli.status !== 0) throw new Error(`release bundle failed:\n${cli.stdout}\n${cli.stderr}`);
    const factoryDir = join(work.dir, 'usr-lib-airpanel-factory');
    mkdirSync(factoryDir, { recursive: true });
    must('tar', ['-xzf', tarball, '-C', factoryDir]);
    expect(JSON.parse(readFileSync(join(factoryDir, 'bundle.json'), 'utf8'))).toMatchObject({ main: 'main.js', nodeMain: 'node-main.js' });

    const notifySocket = join(work.dir, 'notify.sock');
    receiver = spawn(PYTHON, ['-c', RECEIVER, notifySocket], { stdio: ['ignore', 'pipe', 'inherit'] });
    lines(receiver, datagrams);
    await until('the notify socket', () => datagrams.includes('LISTENING'), 10_000);

    mkdirSync(join(work.dir, 'run'), { mode: 0o700 });
    // airpanel.service's ExecStart after cage, with the Debian image's host.env, and the unit's environment.
    loader = spawn(process.execPath, [join(loaderDir, 'main.js'), '--host', 'node', '--data-dir', stack.panelDataDir,
      '--factory-dir', factoryDir, '--runtime', process.execPath, '--health-deadline-ms', '60000', '--max-attempts', '2', '--'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NOTIFY_SOCKET: notifySocket,
        WATCHDOG_USEC: '4000000',
        XDG_RUNTIME_DIR: join(work.dir, 'run'),
        AIRPANEL_DATA_DIR: stack.panelDataDir,
        AIRPANEL_CHROMIUM: CHROMIUM,
        AIRPANEL_CHROMIUM_FLAGS: '--headless --no-sandbox --disable-gpu',
      },
    });
    loaderExit = new Promise((r) => loader!.once('exit', (code) => r(code)));
    lines(loader, loaderOut);
  }, 240_000);

  afterAll(async () => {
    if (loader && loader.exitCode === null) {
      loader.kill('SIGKILL');
      await loaderExit;
    }
    receiver?.kill('SIGKILL');
    await stack?.stop();
    work.remove();
  }, 60_000);

  const readies = () => datagrams.filter((d) => d.startsWith('READY=1'));
  const starts = () => loaderOut.filter((l) => /^(\[loader\] )?starting factory 1\.0\.0$/.test(l)).length;

  it('the loader starts the factory bundle\'s nodeMain on Node, which paints and sends READY=1', async () => {
    await until('READY=1', () => readies().length >= 1, 90_000);
    expect(starts()).toBe(1);
    const host = loaderOut.find((l) => l.includes('"node kiosk host starting"'));
    expect(host && JSON.parse(host)).toMatchObject({ version: '1.0.0' });
    expect(readies()[0]).toMatch(/^READY=1\|STATUS=(live|showing-cached)/);
  }, 120_000);

  it('the restart command: the host exits, the loader starts it again, it paints again; one Chromium', async () => {
    const backend = stack!.backend()!;
    const res = await fetch(`${backend.url}/api/v1/panels/${stack!.panelId}/commands`, {
      method: 'POST', body: JSON.stringify({ kind: 'restart' }),
      headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBeLessThan(300);
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
    await until('every process gone', () => tree.every((p) => !existsSync(`/proc/${p}`) || comm(p) === '' || isZombie(p)), 15_000);
  }, 30_000);
});

function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return 0;
  }
}

function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}
