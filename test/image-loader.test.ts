// The kiosk unit's chain as the image lays it out, for real except for Electron: the loader as
// the image gets it (built by src-main/loader/build.ts), started with ELECTRON_RUN_AS_NODE=1
// like the unit does; the runtime's app (runtime-app/main.mjs, what the packaged Electron runs
// instead of app.asar) handing over to the bundle the loader chose; a factory bundle made by
// the release bundler and extracted like buildroot/Makefile does. Node stands in for
// Electron (no Electron binary here): `node runtime-app/main.mjs` is what
// `/opt/airpanel/airpanel` does with resources/app.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../src-main/core/update/bundle.js';
import { REPO, must, tempDir } from './image-fixture.js';

// The stand-in app: records how it was started, reports healthy to the loader, keeps running.
const APP = `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.AIRPANEL_DATA_DIR + '/started-' + process.env.AIRPANEL_BUNDLE_VERSION + '.json', JSON.stringify({
  launch: process.env.AIRPANEL_LAUNCH, version: process.env.AIRPANEL_BUNDLE_VERSION, entry: process.env.AIRPANEL_BUNDLE_ENTRY,
  asNode: process.env.ELECTRON_RUN_AS_NODE ?? null, argv: process.argv.slice(2), hasIpc: typeof process.send === 'function',
}));
process.send?.({ type: 'airpanel/healthy' });
setInterval(() => {}, 1000);
`;

let work: ReturnType<typeof tempDir>;
let loaderDir: string;
let factoryDir: string;
const running: ChildProcess[] = [];

async function makeBundle(version: string, into: string): Promise<void> {
  const src = join(work.dir, `src-${version}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'main.js'), APP);
  const tarball = join(work.dir, `airpanel-${version}.tar.gz`);
  await buildBundle({ inputs: [{ dir: src, as: '.' }], version, main: 'main.js', minRuntimeVersion: '45.0.0', outFile: tarball });
  mkdirSync(into, { recursive: true });
  must('tar', ['-xzf', tarball, '-C', into]); // as buildroot/Makefile extracts the factory bundle
}

/** The unit's ExecStart after cage, with node for the image's Electron. */
function startLoader(dataDir: string): ChildProcess {
  const child = spawn(process.execPath, [join(loaderDir, 'main.js'), '--data-dir', dataDir, '--factory-dir', factoryDir,
    '--runtime', process.execPath, '--health-deadline-ms', '20000', '--max-attempts', '2', '--',
    join(loaderDir, 'runtime-app/main.mjs'), '--ozone-platform=wayland'], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
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

const readJson = (p: string) => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined);

beforeAll(async () => {
  work = tempDir('airpanel-image-loader-');
  loaderDir = join(work.dir, 'loader');
  const built = spawnSync('npx', ['tsx', 'src-main/loader/build.ts', '--out-dir', loaderDir], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (built.status !== 0) throw new Error(`loader build failed:\n${built.stdout}\n${built.stderr}`);
  factoryDir = join(work.dir, 'usr-lib-airpanel-factory');
  await makeBundle('1.0.0', factoryDir);
}, 150_000);

afterAll(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  work?.remove();
});

describe('OTA loader → runtime app → bundle (the kiosk unit\'s chain)', () => {
  it('the build ships the loader and the runtime app the Buildroot package installs', () => {
    expect(existsSync(join(loaderDir, 'main.js'))).toBe(true);
    expect(readFileSync(join(loaderDir, 'runtime-app/main.mjs'), 'utf8')).toBe(readFileSync(join(REPO, 'src-main/loader/runtime-app/main.mjs'), 'utf8'));
    expect(JSON.parse(readFileSync(join(loaderDir, 'runtime-app/package.json'), 'utf8'))).toMatchObject({ main: 'main.mjs', type: 'module' });
  });

  it('a fresh data partition starts the factory bundle, supervised, without ELECTRON_RUN_AS_NODE', async () => {
    const data = join(work.dir, 'data-factory');
    mkdirSync(data, { recursive: true });
    const loader = startLoader(data);
    const started = await until('the factory app', () => readJson(join(data, 'started-1.0.0.json')));
    expect(started).toEqual({
      launch: 'factory', version: '1.0.0', entry: join(factoryDir, 'main.js'), asNode: null,
      argv: ['--ozone-platform=wayland', join(factoryDir, 'main.js')], hasIpc: true,
    });
    expect(await stop(loader)).toBe(0);
  }, 30_000);

  it('an installed candidate starts on trial through the runtime app, reports healthy over IPC and is committed', async () => {
    const data = join(work.dir, 'data-trial');
    await makeBundle('2.0.0', join(data, 'releases/2.0.0'));
    writeFileSync(join(data, 'releases/candidate.json'), JSON.stringify({ version: '2.0.0', at: new Date().toISOString() }));
    const loader = startLoader(data);
    const state = await until('the commit', () => {
      const s = readJson(join(data, 'releases/loader-state.json'));
      return s?.current === '2.0.0' ? s : undefined;
    });
    expect(state.trial ?? null).toBeNull();
    expect(readJson(join(data, 'started-2.0.0.json'))).toMatchObject({ launch: 'trial', version: '2.0.0' });
    expect(await stop(loader)).toBe(0);
  }, 30_000);

  it('the runtime app refuses to start without a bundle entry (Electron started by hand)', () => {
    const r = spawnSync(process.execPath, [join(loaderDir, 'runtime-app/main.mjs'), '--ozone-platform=wayland'], {
      encoding: 'utf8', env: { ...process.env, AIRPANEL_BUNDLE_ENTRY: '' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no bundle entry to start .*started by the OTA loader/);
  });
});
