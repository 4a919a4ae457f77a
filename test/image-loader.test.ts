// The kiosk unit's chain on the Buildroot image, for real except for Electron: the runtime app
// as src-main/loader/build.ts builds it (resources/app), started like airpanel.service does
// (`/opt/airpanel/airpanel --airpanel-role=loader <loader options> -- <runtime args>`), starting
// each release as `/opt/airpanel/airpanel --airpanel-release=<name> <runtime args>`, which
// verifies it and imports its main; factory bundles made by the release bundler, releases
// installed as the updater installs them. Node plays the Electron binary and a stand-in
// `electron` module its API (test/electron/standin: no Electron binary here).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKey } from '@airpanel/panel/core/update/keys';
import { tempDir } from './image-fixture.js';
import { buildLoader, installFactory, installSigned, makeBundle, standInImage, type StandInImage } from './electron/standin/fixture.js';

// The stand-in app: records how it was started, reports healthy to the loader, keeps running.
const APP = `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.AIRPANEL_DATA_DIR + '/started-' + process.env.AIRPANEL_BUNDLE_VERSION + '.json', JSON.stringify({
  launch: process.env.AIRPANEL_LAUNCH, version: process.env.AIRPANEL_BUNDLE_VERSION, entry: process.env.AIRPANEL_BUNDLE_ENTRY ?? null,
  asNode: process.env.ELECTRON_RUN_AS_NODE ?? null, argv: process.argv.slice(1), hasIpc: typeof process.send === 'function', url: import.meta.url, pid: process.pid,
}));
process.send?.({ type: 'airpanel/healthy' });
setInterval(() => {}, 1000);
`;

const key = generateReleaseKey();
let work: ReturnType<typeof tempDir>;
let loaderOut: string;
const running: ChildProcess[] = [];

/** A stand-in image with the factory bundle 1.0.0 and a fresh data dir. */
async function image(name: string): Promise<StandInImage> {
  const img = standInImage(join(work.dir, name), loaderOut, [key]);
  await installFactory(img, await makeBundle(work.dir, '1.0.0', APP));
  return img;
}

/** The unit's ExecStart after cage, with the Buildroot image's host.env. */
function startLoader(img: StandInImage): ChildProcess {
  const child = spawn(
    img.binary,
    [
      '--airpanel-role=loader',
      '--host',
      'electron',
      '--data-dir',
      img.dataDir,
      '--factory-dir',
      img.factoryDir,
      '--runtime',
      img.binary,
      '--health-deadline-ms',
      '20000',
      '--max-attempts',
      '2',
      '--',
      '--ozone-platform=wayland',
    ],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_RUNTIME_DIR: join(img.root, 'run') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  return child;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM'); // what systemd sends at stop: the loader kills the app's process group
  return exited;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const readJson = (p: string) => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined);

beforeAll(() => {
  work = tempDir('airpanel-image-loader-');
  loaderOut = join(work.dir, 'loader');
  buildLoader(loaderOut);
}, 150_000);

afterAll(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  work?.remove();
});

describe('airpanel.service → runtime app (loader role) → runtime app (release role) → bundle', () => {
  it("the build ships the Node host's loader and the runtime app with the image's paths", () => {
    expect(existsSync(join(loaderOut, 'main.js'))).toBe(true);
    expect(JSON.parse(readFileSync(join(loaderOut, 'runtime-app/package.json'), 'utf8'))).toMatchObject({
      main: 'main.mjs',
      type: 'module',
    });
    expect(JSON.parse(readFileSync(join(loaderOut, 'runtime-app/runtime.json'), 'utf8'))).toEqual({
      dataDir: '/data/airpanel',
      factoryDir: '/usr/lib/airpanel/factory',
      keyring: '/usr/lib/airpanel/release-keys.json',
      runtime: '/opt/airpanel/airpanel',
    });
    // One file: nothing is resolved from node_modules at run time but Electron's own module.
    const imports = [
      ...readFileSync(join(loaderOut, 'runtime-app/main.mjs'), 'utf8').matchAll(/^import .* from "([^"]+)";$|import\("([^"]+)"\)/gm),
    ].map((m) => m[1] ?? m[2]);
    expect(imports.filter((i) => !i!.startsWith('node:'))).toEqual(['electron']);
  });

  it('a fresh data partition starts the factory bundle by name, supervised, without ELECTRON_RUN_AS_NODE or a path', async () => {
    const img = await image('fresh');
    const loader = startLoader(img);
    const started = await until('the factory app', () => readJson(join(img.dataDir, 'started-1.0.0.json')));
    expect(started).toEqual({
      launch: 'factory',
      version: '1.0.0',
      entry: null,
      asNode: null,
      argv: ['--airpanel-release=factory', '--ozone-platform=wayland'],
      hasIpc: true,
      url: `file://${img.factoryDir}/main.mjs`,
      pid: expect.any(Number),
    });
    expect(await stop(loader)).toBe(0);
    await until('the app gone with the loader', () => (alive(started.pid as number) ? undefined : true), 5_000);
  }, 30_000);

  it('a signed candidate starts on trial, reports healthy over IPC and is committed', async () => {
    const img = await image('trial');
    await installSigned(img, await makeBundle(work.dir, '2.0.0', APP), key);
    const loader = startLoader(img);
    const state = await until('the commit', () => {
      const s = readJson(join(img.dataDir, 'releases/loader-state.json'));
      return s?.current === '2.0.0' ? s : undefined;
    });
    expect(state.trial ?? null).toBeNull();
    expect(readJson(join(img.dataDir, 'started-2.0.0.json'))).toMatchObject({
      launch: 'trial',
      version: '2.0.0',
      argv: ['--airpanel-release=2.0.0', '--ozone-platform=wayland'],
      url: `file://${img.dataDir}/releases/2.0.0/main.mjs`,
    });
    expect(await stop(loader)).toBe(0);
  }, 30_000);

  it('a candidate changed after its install is refused at the next start; the factory bundle runs', async () => {
    const img = await image('tampered');
    await installSigned(img, await makeBundle(work.dir, '3.0.0', APP), key);
    writeFileSync(join(img.dataDir, 'releases/3.0.0/main.mjs'), `${APP}// changed\n`);
    const loader = startLoader(img);
    await until('the factory app', () => readJson(join(img.dataDir, 'started-1.0.0.json')));
    expect(existsSync(join(img.dataDir, 'started-3.0.0.json'))).toBe(false);
    expect(await stop(loader)).toBe(0);
  }, 30_000);
});
