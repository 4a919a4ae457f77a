import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle, extractBundle } from '../core/update/bundle.js';
import { writeFileAtomic } from '../common-node/atomic-file.js';
import { releaseLayout } from '../core/update/layout.js';
import { BundleLoader } from './loader.js';
import { ProcessLauncher } from './launcher.js';
import { LoaderStore } from './store.js';

// The loader's fs + process layer with real bundles on disk and real child processes.
const APPS = {
  healthy: "process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(0), 50);\n",
  crash: 'process.exit(7);\n',
  hang: 'setInterval(() => {}, 1000);\n',
  // Hangs, and has started a helper process of its own (like Electron's GPU process).
  hangWithChild: "import { spawn } from 'node:child_process'; import { writeFileSync } from 'node:fs';\nconst c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/helper.pid', String(c.pid));\nsetInterval(() => {}, 1000);\n",
} as const;

describe('BundleLoader', () => {
  let dir: string;
  let dataDir: string;
  let factoryDir: string;

  async function install(version: string, app: keyof typeof APPS, asCandidate = true): Promise<void> {
    const tree = join(dir, `tree-${version}`);
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, 'main.mjs'), APPS[app]);
    const b = await buildBundle({ inputs: [{ dir: tree, as: 'app' }], version, main: 'app/main.mjs', minRuntimeVersion: '45.0.0', outFile: join(dir, `${version}.tar.gz`) });
    const layout = releaseLayout(dataDir);
    await mkdir(layout.releasesDir, { recursive: true });
    await extractBundle(b.file, layout.bundleDir(version), version);
    if (asCandidate) await writeFileAtomic(layout.candidateFile, JSON.stringify({ version, at: new Date().toISOString() }));
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-loader-'));
    dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const tree = join(dir, 'factory-tree');
    await mkdir(tree);
    await writeFile(join(tree, 'main.mjs'), APPS.healthy);
    const b = await buildBundle({ inputs: [{ dir: tree, as: 'app' }], version: '1.0.0', main: 'app/main.mjs', minRuntimeVersion: '45.0.0', outFile: join(dir, 'factory.tar.gz') });
    factoryDir = join(dir, 'factory');
    await extractBundle(b.file, factoryDir, '1.0.0');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const loader = (healthDeadlineMs = 10_000) => new BundleLoader({ dataDir, factoryDir, healthDeadlineMs, launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }) });

  it('starts the factory bundle, then a healthy candidate on trial and commits it', async () => {
    const l = loader();
    expect((await l.runOnce()).launch).toEqual({ kind: 'factory' });
    await install('2.0.0', 'healthy');
    const o = await l.runOnce();
    expect(o).toMatchObject({ launch: { kind: 'trial', version: '2.0.0' }, result: 'committed-then-exited' });
    expect(o.state).toMatchObject({ current: '2.0.0', previous: null, trial: null, lastOutcome: { kind: 'committed', version: '2.0.0' } });
    expect((await l.runOnce()).launch).toEqual({ kind: 'current', version: '2.0.0' });
  });

  it('rolls back a candidate that crashes before it is healthy, and refuses it from then on', async () => {
    await install('2.0.0', 'healthy');
    const l = loader();
    await l.runOnce();
    await install('3.0.0', 'crash');
    const o = await l.runOnce();
    expect(o).toMatchObject({ result: 'rolled-back-crash', exit: { code: 7 } });
    expect(o.state).toMatchObject({ current: '2.0.0', refused: ['3.0.0'], lastOutcome: { kind: 'rolled-back', version: '3.0.0' } });
    await writeFileAtomic(releaseLayout(dataDir).candidateFile, JSON.stringify({ version: '3.0.0', at: new Date().toISOString() }));
    expect((await l.runOnce()).launch).toEqual({ kind: 'current', version: '2.0.0' });
  });

  it('kills and rolls back a candidate that hangs past the health deadline', async () => {
    await install('2.0.0', 'hang');
    const o = await loader(300).runOnce();
    expect(o).toMatchObject({ result: 'rolled-back-hang', exit: { signal: 'SIGKILL' } });
    expect(o.state.refused).toEqual(['2.0.0']);
    expect((await loader().decide()).launch).toEqual({ kind: 'factory' });
  });

  it('a hung app is killed with the processes it started', async () => {
    await install('2.0.0', 'hangWithChild');
    const o = await loader(1500).runOnce();
    expect(o.result).toBe('rolled-back-hang');
    const { readFile } = await import('node:fs/promises');
    const helper = Number(await readFile(join(dataDir, 'helper.pid'), 'utf8'));
    const alive = () => {
      try {
        process.kill(helper, 0);
        return true;
      } catch {
        return false;
      }
    };
    const end = Date.now() + 5000;
    while (alive() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const survived = alive();
    if (survived) process.kill(helper, 'SIGKILL'); // leave nothing behind, even on failure
    expect(survived).toBe(false);
  });

  it('a loader killed during trials uses up boot attempts (persisted), then rolls back', async () => {
    await install('2.0.0', 'hang');
    expect((await loader().decide()).launch).toEqual({ kind: 'trial', version: '2.0.0' });
    expect((await loader().decide()).launch).toEqual({ kind: 'trial', version: '2.0.0' });
    const third = await loader().decide();
    expect(third.launch).toEqual({ kind: 'factory' });
    expect(third.state.lastOutcome).toMatchObject({ kind: 'rolled-back', reason: expect.stringMatching(/no boot attempts/) });
  });

  it('a corrupt state file or a damaged bundle falls back to something runnable', async () => {
    await install('2.0.0', 'healthy');
    await loader().runOnce();
    const layout = releaseLayout(dataDir);
    await writeFile(join(layout.bundleDir('2.0.0'), 'app', 'stray.log'), 'x'); // an extra file is harmless
    expect((await loader().decide()).launch).toEqual({ kind: 'current', version: '2.0.0' });
    await writeFile(join(layout.bundleDir('2.0.0'), 'app', 'main.mjs'), ''); // truncated
    expect((await loader().decide()).launch).toEqual({ kind: 'factory' });
    await writeFile(layout.loaderStateFile, '{ torn');
    expect(new LoaderStore(layout).readState().current).toBeNull();
    expect((await loader().decide()).launch).toEqual({ kind: 'factory' });
  });

  it('on a Node host starts nodeMain, and a bundle without nodeMain is not startable there', async () => {
    const layout = releaseLayout(dataDir);
    const tree = join(dir, 'tree-node');
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, 'main.mjs'), 'process.exit(9);\n'); // the Electron entry: must not run here
    await writeFile(join(tree, 'node-main.mjs'), "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/node-entry', process.argv[1]);\n" + APPS.healthy);
    const b = await buildBundle({ inputs: [{ dir: tree, as: 'app' }], version: '2.0.0', main: 'app/main.mjs', nodeMain: 'app/node-main.mjs', minRuntimeVersion: '45.0.0', outFile: join(dir, 'node.tar.gz') });
    await mkdir(layout.releasesDir, { recursive: true });
    await extractBundle(b.file, layout.bundleDir('2.0.0'), '2.0.0');
    await writeFileAtomic(layout.candidateFile, JSON.stringify({ version: '2.0.0', at: new Date().toISOString() }));
    const nodeLoader = (d = dataDir) => new BundleLoader({ dataDir: d, factoryDir, host: 'node', healthDeadlineMs: 10_000, launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }) });
    const o = await nodeLoader().runOnce();
    expect(o).toMatchObject({ launch: { kind: 'trial', version: '2.0.0' }, result: 'committed-then-exited' });
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dataDir, 'node-entry'), 'utf8')).toBe(join(layout.bundleDir('2.0.0'), 'app', 'node-main.mjs'));
    // 3.0.0 has only an Electron entry: on the Node host it is skipped like an incomplete bundle.
    await install('3.0.0', 'healthy');
    const d = await nodeLoader().decide();
    expect(d.launch).toEqual({ kind: 'current', version: '2.0.0' });
    expect(d.state.trial).toBeNull();
  });

  it('run() restarts an exiting app until stop()', async () => {
    const l = new BundleLoader({ dataDir, factoryDir, restartDelayMs: 10, launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }) });
    const launches: string[] = [];
    const done = l.run((o) => {
      launches.push(o.launch.kind);
      if (launches.length === 3) l.stop();
    });
    await done;
    expect(launches).toEqual(['factory', 'factory', 'factory']);
  });
});
