// The image's whole chain minus cage: the loader as the image gets it (`--host node --runtime
// node`) on a factory bundle the release tool made from the built dist/app, starting the Node
// kiosk host with Debian's real Chromium, a real backend (the dev stack) and a NOTIFY_SOCKET
// this test listens on as systemd would (node-kiosk-host.test.ts tests the host alone).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '@airpanel/scripts/dev-stack';
import { descendantsOf } from '@airpanel/panel/headless/kiosk/chromium-window';
import { REPO, must } from './image-fixture.js';
import {
  CHROMIUM,
  TEST_CHROMIUM_FLAGS,
  canRun,
  comm,
  isGone,
  killTree,
  lines,
  notifyListener,
  parentOf,
  sendCommand,
  until,
  useKioskApp,
  useWorkDir,
  type Datagram,
} from './node-kiosk-host.test-support.js';

const app = useKioskApp();
const work = useWorkDir('airpanel-node-kiosk-loader-');

describe.runIf(canRun)('loader --host node → Node kiosk host → Chromium', () => {
  const dir = join(work.dir, 'loader-chain');
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
      { cwd: app.root, encoding: 'utf8', timeout: 120_000 },
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
          AIRPANEL_CHROMIUM_FLAGS: TEST_CHROMIUM_FLAGS,
        },
      },
    );
    loaderExit = new Promise((r) => loader!.once('exit', (code) => r(code)));
    lines(loader, (line) => loaderOut.push(line));
  }, 240_000);

  afterAll(async () => {
    await killTree(loader);
    await killTree(receiver);
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
