import { describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBundle } from '../core/update/bundle.js';
import { installBundle } from '../core/update/install.js';
import { signManifest } from '../core/update/keys.js';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { releaseLayout } from '../core/update/layout.js';
import { BundleLoader } from './loader.js';
import { ProcessLauncher } from './launcher.js';
import { LoaderStore } from './store.js';
import {
  APPS,
  key,
  verifier,
  RUNTIME,
  MIN,
  manifestFor,
  dir,
  dataDir,
  factoryDir,
  install,
  loader,
  useLoaderDirs,
} from './loader.test-support.js';

// The loader's fs + process layer with real bundles on disk and real child processes.
describe('BundleLoader', () => {
  useLoaderDirs();

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

  it('a corrupt state file or a truncated bundle falls back to something runnable', async () => {
    await install('2.0.0', 'healthy');
    await loader().runOnce();
    const layout = releaseLayout(dataDir);
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
    await writeFile(
      join(tree, 'node-main.mjs'),
      "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/node-entry', process.argv[1]);\n" +
        APPS.healthy,
    );
    const b = await buildBundle({
      inputs: [{ dir: tree, as: 'app' }],
      version: '2.0.0',
      main: 'app/main.mjs',
      nodeMain: 'app/node-main.mjs',
      minRuntime: MIN,
      outFile: join(dir, 'node.tar.gz'),
    });
    const manifest = manifestFor(b);
    await installBundle(layout, b.file, { manifest, signatures: signManifest(manifest, [key.privateKeyPem]).signatures }, new Date());
    // The Node host checks the release's Node minimum against its own Node.
    const nodeLoader = (d = dataDir) =>
      new BundleLoader({
        dataDir: d,
        factoryDir,
        host: 'node',
        verifier,
        runtimeVersion: process.versions.node,
        healthDeadlineMs: 10_000,
        launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
      });
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

  /** The real process launcher, recording the environment each launch was given. */
  class EnvRecordingLauncher extends ProcessLauncher {
    readonly envs: Record<string, string>[] = [];
    override launch(entry: string, env: Record<string, string>) {
      this.envs.push(env);
      return super.launch(entry, env);
    }
  }

  it("names the factory bundle by its version even when its descriptor fails this loader's check", async () => {
    const file = join(factoryDir, 'bundle.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), fieldOfANewerBundler: true }));
    const launcher = new EnvRecordingLauncher(process.execPath, [], { stdio: 'ignore' });
    const lines: string[] = [];
    const l = new BundleLoader({ dataDir, factoryDir, verifier, runtimeVersion: RUNTIME, launcher, log: (line) => lines.push(line) });
    expect((await l.runOnce()).launch).toEqual({ kind: 'factory' });
    expect(launcher.envs[0]?.AIRPANEL_BUNDLE_VERSION).toBe('1.0.0');
    expect(lines.join('\n')).toMatch(/bundle check of .*factory failed: .*no valid bundle.json/);
    await writeFile(file, '{ not json');
    await l.runOnce();
    expect(launcher.envs[1]?.AIRPANEL_BUNDLE_VERSION).toBe('factory-unknown');
    expect(lines.join('\n')).toMatch(/factory bundle version unreadable/);
  });

  it('run() tells each relaunched app how the previous launch ended (AIRPANEL_PREVIOUS_EXIT)', async () => {
    const launcher = new EnvRecordingLauncher(process.execPath, [], { stdio: 'ignore' });
    const l = new BundleLoader({ dataDir, factoryDir, verifier, runtimeVersion: RUNTIME, restartDelayMs: 10, launcher });
    let n = 0;
    await l.run(() => {
      if (++n === 2) l.stop();
    });
    expect(launcher.envs.map((e) => e.AIRPANEL_PREVIOUS_EXIT)).toEqual([undefined, 'exited: code 0, signal null']);
  });

  it('run() restarts an exiting app until stop()', async () => {
    const l = new BundleLoader({
      dataDir,
      factoryDir,
      verifier,
      runtimeVersion: RUNTIME,
      restartDelayMs: 10,
      launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
    });
    const launches: string[] = [];
    const done = l.run((o) => {
      launches.push(o.launch.kind);
      if (launches.length === 3) l.stop();
    });
    await done;
    expect(launches).toEqual(['factory', 'factory', 'factory']);
  });

  it('an app that asks for restarts (RESTART_EXIT_CODE) is relaunched, never given up as crashing', async () => {
    const l = loader(10_000, { crashLimit: 2 });
    await install('2.0.0', 'healthyThenRestart');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await l.runOnce();
      seen.push(`${o.launch.kind}:${o.result}:${o.exit.code}`);
    }
    expect(seen).toEqual(['trial:committed-then-exited:75', 'current:exited:75', 'current:exited:75', 'current:exited:75']);
    expect(new LoaderStore(releaseLayout(dataDir)).readState().refused).toEqual([]);
  });
});
