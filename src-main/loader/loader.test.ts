import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoaderState, MinRuntime, ReleaseManifest } from '@airpanel/contract/release';
import { RESTART_EXIT_CODE } from '@airpanel/contract/internal';
import { buildBundle, extractBundle, type BuiltBundle } from '../core/update/bundle.js';
import { installBundle } from '../core/update/install.js';
import { Ed25519Verifier, generateReleaseKey, signManifest } from '../core/update/keys.js';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { releaseLayout } from '../core/update/layout.js';
import { BundleLoader, livenessFromWatchdog } from './loader.js';
import { ProcessLauncher } from './launcher.js';
import { LoaderStore } from './store.js';

// The loader's fs + process layer with real bundles on disk and real child processes.
const APPS = {
  healthy: "process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(0), 50);\n",
  crash: 'process.exit(7);\n',
  // Commits, then dies a little later (a committed bundle in a crash loop).
  healthyThenCrash: "process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(3), 50);\n",
  // Commits, then asks for a restart (the operator's `restart` command: RESTART_EXIT_CODE).
  healthyThenRestart: `process.send({ type: 'airpanel/healthy' }); setTimeout(() => process.exit(${RESTART_EXIT_CODE}), 50);\n`,
  // Commits and says it is alive a few times (as with every WATCHDOG=1), then hangs.
  healthyAliveThenHang:
    "process.send({ type: 'airpanel/healthy' });\nlet n = 0;\nconst t = setInterval(() => { process.send({ type: 'airpanel/alive' }); if (++n === 3) clearInterval(t); }, 100);\nsetInterval(() => {}, 1000);\n",
  // Commits, then hangs (no exit): on a panel the watchdog takes the unit down, loader and all.
  healthyThenHang:
    "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/app.pid', String(process.pid));\nprocess.send({ type: 'airpanel/healthy' });\nsetInterval(() => {}, 1000);\n",
  hang: 'setInterval(() => {}, 1000);\n',
  // Hangs, and has started a helper process of its own (like Electron's GPU process).
  hangWithChild:
    "import { spawn } from 'node:child_process'; import { writeFileSync } from 'node:fs';\nconst c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });\nwriteFileSync(process.env.AIRPANEL_DATA_DIR + '/helper.pid', String(c.pid));\nsetInterval(() => {}, 1000);\n",
} as const;

// The image's keyring holds `key`; `stranger` is a key the image does not trust.
const key = generateReleaseKey();
const stranger = generateReleaseKey();
const verifier = new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]);
const RUNTIME = '45.4.1';
const MIN: MinRuntime = { electron: '45.0.0', node: '20.0.0' };

function manifestFor(b: BuiltBundle, over: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    schema: 2,
    version: b.descriptor.version,
    channel: 'stable',
    bundle: { url: 'b.tar.gz', sha512: b.sha512, size: b.size },
    bundleDescriptorSha256: b.descriptorSha256,
    minRuntime: b.descriptor.minRuntime,
    counter: 1,
    releasedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    rolloutShare: 1,
    ...over,
  };
}

describe('BundleLoader', () => {
  let dir: string;
  let dataDir: string;
  let factoryDir: string;

  async function build(version: string, app: keyof typeof APPS, minRuntime: MinRuntime = MIN): Promise<BuiltBundle> {
    const tree = join(dir, `tree-${version}`);
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, 'main.mjs'), APPS[app]);
    return buildBundle({
      inputs: [{ dir: tree, as: 'app' }],
      version,
      main: 'app/main.mjs',
      minRuntime,
      outFile: join(dir, `${version}.tar.gz`),
    });
  }

  /** As the updater installs: the signed manifest kept beside the files, candidate.json written. */
  async function install(version: string, app: keyof typeof APPS, minRuntime: MinRuntime = MIN): Promise<BuiltBundle> {
    const b = await build(version, app, minRuntime);
    const manifest = manifestFor(b);
    await installBundle(
      releaseLayout(dataDir),
      b.file,
      { manifest, signatures: signManifest(manifest, [key.privateKeyPem]).signatures },
      new Date(),
    );
    return b;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-loader-'));
    dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const tree = join(dir, 'factory-tree');
    await mkdir(tree);
    await writeFile(join(tree, 'main.mjs'), APPS.healthy);
    const b = await buildBundle({
      inputs: [{ dir: tree, as: 'app' }],
      version: '1.0.0',
      main: 'app/main.mjs',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(dir, 'factory.tar.gz'),
    });
    factoryDir = join(dir, 'factory');
    await extractBundle(b.file, factoryDir, '1.0.0');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const loader = (healthDeadlineMs = 10_000, o: { crashLimit?: number; runtimeVersion?: string } = {}) =>
    new BundleLoader({
      dataDir,
      factoryDir,
      healthDeadlineMs,
      verifier,
      runtimeVersion: o.runtimeVersion ?? RUNTIME,
      restartDelayMs: 10,
      ...(o.crashLimit ? { crashLimit: o.crashLimit } : {}),
      launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
    });

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
  describe('launch-time verification: a writer on /data cannot get anything unsigned started', () => {
    /** 2.0.0 committed, then 3.0.0 committed over it: current 3.0.0, previous 2.0.0. */
    async function twoCommitted(): Promise<ReturnType<typeof releaseLayout>> {
      for (const v of ['2.0.0', '3.0.0']) {
        await install(v, 'healthy');
        expect((await loader().runOnce()).result).toBe('committed-then-exited');
      }
      return releaseLayout(dataDir);
    }
    /** The next start: what it launched (and that it ran to a clean exit), and what it reported. */
    async function nextStart() {
      const o = await loader().runOnce();
      expect(o.exit).toEqual({ code: 0, signal: null });
      return o;
    }

    it('one byte of an installed main changed (same size): refused, previous runs, then factory', async () => {
      const layout = await twoCommitted();
      for (const [v, expected] of [
        ['3.0.0', { kind: 'previous', version: '2.0.0' }],
        ['2.0.0', { kind: 'factory' }],
      ] as const) {
        const main = join(layout.bundleDir(v), 'app', 'main.mjs');
        const text = await readFile(main, 'utf8');
        await writeFile(main, text.replace('50', '51')); // same length, one byte
        expect((await readFile(main)).length).toBe(Buffer.byteLength(text));
        const o = await nextStart();
        expect(o.launch).toEqual(expected);
        expect(o.state.refused).toContain(v);
        expect(
          o.state.recent.some((r) => r.kind === 'refused' && r.version === v && /main\.mjs does not match bundle\.json/.test(r.reason)),
        ).toBe(true);
      }
      // Refused for good: putting the bytes back does not make it start again.
      expect((await loader().decide()).launch).toEqual({ kind: 'factory' });
    });

    it('a file added to an installed release: refused, previous runs', async () => {
      const layout = await twoCommitted();
      await writeFile(join(layout.bundleDir('3.0.0'), 'app', 'preload.js'), 'globalThis.evil = 1;\n');
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'previous', version: '2.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '3.0.0',
        reason: expect.stringMatching(/extra: app\/preload\.js/),
      });
    });

    it('a file replaced by a symlink (to identical bytes), or a symlink on the path: refused', async () => {
      const layout = await twoCommitted();
      const main = join(layout.bundleDir('3.0.0'), 'app', 'main.mjs');
      await cp(main, join(dir, 'outside.mjs'));
      await rm(main);
      await symlink(join(dir, 'outside.mjs'), main);
      expect((await nextStart()).launch).toEqual({ kind: 'previous', version: '2.0.0' });
      // releases/2.0.0 itself moved away and replaced by a symlink to it (every file intact).
      await rename(layout.bundleDir('2.0.0'), join(dir, 'moved-2.0.0'));
      await symlink(join(dir, 'moved-2.0.0'), layout.bundleDir('2.0.0'));
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'factory' });
      expect(o.state.lastOutcome).toMatchObject({ kind: 'refused', version: '2.0.0', reason: expect.stringMatching(/is a symlink/) });
    });

    it('a complete unsigned releases/X/ with a candidate.json, then loader-state.json edited to name it: never started', async () => {
      const layout = await twoCommitted();
      // A complete, self-consistent bundle (bundle.json matches every file), but nothing signed it.
      const evil = await build('9.0.0', 'healthy');
      await extractBundle(evil.file, layout.bundleDir('9.0.0'), '9.0.0');
      await writeFileAtomic(layout.candidateFile, JSON.stringify({ version: '9.0.0', at: new Date().toISOString() }));
      let o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.trial).toBeNull();
      expect(o.state.lastOutcome).toMatchObject({ version: '9.0.0', reason: expect.stringMatching(/no release-manifest\.json/) });
      // The same with a manifest signed by a key the image does not trust: refused for good.
      const forged = manifestFor(evil);
      await writeFile(
        join(layout.bundleDir('9.0.0'), 'release-manifest.json'),
        JSON.stringify(signManifest(forged, [stranger.privateKeyPem])),
      );
      await writeFileAtomic(layout.candidateFile, JSON.stringify({ version: '9.0.0', at: new Date().toISOString() }));
      o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.refused).toContain('9.0.0');
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '9.0.0',
        reason: expect.stringMatching(/no valid signature by a key of the image's keyring/),
      });
      // A genuine signed manifest of another release copied in (mix-and-match): refused too.
      await cp(join(layout.bundleDir('3.0.0'), 'release-manifest.json'), join(layout.bundleDir('9.0.0'), 'release-manifest.json'));
      // loader-state.json edited to name it as the committed bundle, the refusal list wiped.
      const state = JSON.parse(await readFile(layout.loaderStateFile, 'utf8')) as Record<string, unknown>;
      await writeFile(
        layout.loaderStateFile,
        JSON.stringify({ ...state, current: '9.0.0', previous: '3.0.0', refused: [], running: null, crashes: null }),
      );
      o = await nextStart();
      expect(o.launch).toEqual({ kind: 'previous', version: '3.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '9.0.0',
        reason: expect.stringMatching(/signed manifest is for 3\.0\.0/),
      });
      // …and named as a trial with attempts left: not started either.
      await writeFile(
        layout.loaderStateFile,
        JSON.stringify({
          ...state,
          current: '3.0.0',
          trial: { version: '9.0.0', attemptsLeft: 2 },
          refused: [],
          running: null,
          crashes: null,
        }),
      );
      expect((await nextStart()).launch).toEqual({ kind: 'current', version: '3.0.0' });
    });

    it('a release whose minimum runtime is above this runtime is not started (nor refused for good)', async () => {
      await twoCommitted();
      await install('4.0.0', 'healthy', { electron: '46.0.0', node: '20.0.0' });
      const o = await nextStart();
      expect(o.launch).toEqual({ kind: 'current', version: '3.0.0' });
      expect(o.state.refused).not.toContain('4.0.0');
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'refused',
        version: '4.0.0',
        reason: expect.stringMatching(/skipped at launch: .*needs electron 46\.0\.0, this one is 45\.4\.1/),
      });
      // The same release on an image with a newer runtime is taken.
      await writeFileAtomic(releaseLayout(dataDir).candidateFile, JSON.stringify({ version: '4.0.0', at: new Date().toISOString() }));
      expect(await loader(10_000, { runtimeVersion: '46.1.0' }).runOnce()).toMatchObject({
        launch: { kind: 'trial', version: '4.0.0' },
        result: 'committed-then-exited',
      });
    });
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

  describe('a committed bundle that keeps crashing is not forever', () => {
    it('crashing after commit N times within M minutes: previous, then factory, and the state says so', async () => {
      const l = loader(10_000, { crashLimit: 2 });
      await install('2.0.0', 'healthyThenCrash');
      expect(await l.runOnce()).toMatchObject({
        launch: { kind: 'trial', version: '2.0.0' },
        result: 'committed-then-exited',
        exit: { code: 3 },
      });
      await install('3.0.0', 'healthyThenCrash');
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const o = await l.runOnce();
        seen.push(`${o.launch.kind}:${o.result}`);
      }
      expect(seen).toEqual([
        'trial:committed-then-exited', // commits, then crashes: 1
        'current:fell-back', // 2 within the window: given up
        'previous:exited', // 2.0.0 (its crash count started again at 3.0.0's commit)
        'previous:fell-back',
        'factory:exited',
      ]);
      const state = new LoaderStore(releaseLayout(dataDir)).readState();
      expect(state.refused).toEqual(['3.0.0', '2.0.0']);
      expect(state.recent.filter((r) => r.kind === 'fell-back').map((r) => [r.version, r.reason])).toEqual([
        ['3.0.0', expect.stringMatching(/^crashed 2 times within 10 min \(last: code 3/)],
        ['2.0.0', expect.stringMatching(/^crashed 2 times within 10 min/)],
      ]);
    });

    it("the default liveness limit acts before the unit's watchdog (5/6 of WatchdogSec), and is off without one", () => {
      expect(livenessFromWatchdog('30000000')).toBe(25_000);
      expect(livenessFromWatchdog(undefined)).toBe(0);
      expect(livenessFromWatchdog('nonsense')).toBe(0);
    });

    it('hanging after commit, found by the loader (no alive message in time): killed, counted, previous after N', async () => {
      const l = new BundleLoader({
        dataDir,
        factoryDir,
        verifier,
        runtimeVersion: RUNTIME,
        healthDeadlineMs: 10_000,
        crashLimit: 2,
        livenessMs: 400,
        launcher: new ProcessLauncher(process.execPath, [], { stdio: 'ignore' }),
      });
      await install('2.0.0', 'healthy');
      expect((await l.runOnce()).result).toBe('committed-then-exited');
      await install('3.0.0', 'healthyAliveThenHang');
      const first = await l.runOnce();
      expect(first).toMatchObject({
        launch: { kind: 'trial', version: '3.0.0' },
        result: 'committed-then-exited',
        exit: { signal: 'SIGKILL' },
      });
      expect(first.state.crashes).toMatchObject({ version: '3.0.0' });
      const second = await l.runOnce();
      expect(second).toMatchObject({ launch: { kind: 'current', version: '3.0.0' }, result: 'fell-back' });
      expect(second.state.lastOutcome).toMatchObject({
        kind: 'fell-back',
        version: '3.0.0',
        reason: expect.stringMatching(/crashed 2 times.*hung: no alive message for 400 ms/),
      });
      expect((await l.decide()).launch).toEqual({ kind: 'previous', version: '2.0.0' });
      // An app that never sends an alive message is not held to it (older bundles, no systemd).
      await install('4.0.0', 'healthyThenHang');
      const quiet = l.runOnce();
      const end = Date.now() + 10_000;
      while (!existsSync(join(dataDir, 'app.pid')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1200)); // three liveness periods
      expect(new LoaderStore(releaseLayout(dataDir)).readState()).toMatchObject({
        current: '4.0.0',
        running: { version: '4.0.0' },
        crashes: null,
      });
      l.stop();
      expect((await quiet).result).toBe('committed-then-exited');
    });

    it('hanging after commit, taken down with the loader each time (watchdog, power): previous after N such starts', async () => {
      // The real loader process (main.ts) with the image's options; killed together with its
      // app as a watchdog reset or a power cut does, so it never sees the app end.
      const keyring = join(dir, 'keyring.json');
      await writeFile(keyring, JSON.stringify({ keys: [{ keyId: key.keyId, publicKey: key.publicKey }] }));
      const args = [
        join(import.meta.dirname, 'main.ts'),
        '--data-dir',
        dataDir,
        '--factory-dir',
        factoryDir,
        '--runtime',
        process.execPath,
        '--keyring',
        keyring,
        '--runtime-version',
        RUNTIME,
        '--crash-limit',
        '2',
        '--health-deadline-ms',
        '20000',
      ];
      const store = new LoaderStore(releaseLayout(dataDir));
      const { spawn } = await import('node:child_process');
      const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
      /** Starts the loader, waits until the app it started is up (and committed), kills both. */
      async function bootAndKill(): Promise<LoaderState> {
        await rm(join(dataDir, 'app.pid'), { force: true });
        const loaderProc = spawn(tsx, args, { stdio: 'ignore', detached: true });
        try {
          const end = Date.now() + 20_000;
          while (!(existsSync(join(dataDir, 'app.pid')) && store.readState().trial === null) && Date.now() < end)
            await new Promise((r) => setTimeout(r, 50));
          await new Promise((r) => setTimeout(r, 300)); // the commit is on disk before the app hangs
        } finally {
          process.kill(-loaderProc.pid!, 'SIGKILL'); // the loader (tsx and its node)
          const pid = existsSync(join(dataDir, 'app.pid')) ? Number(await readFile(join(dataDir, 'app.pid'), 'utf8')) : null;
          if (pid) process.kill(-pid, 'SIGKILL'); // the app, in its own process group
        }
        return store.readState();
      }
      await install('2.0.0', 'healthy');
      expect((await loader().runOnce()).result).toBe('committed-then-exited');
      await install('3.0.0', 'healthyThenHang');
      let s = await bootAndKill();
      expect(s).toMatchObject({ current: '3.0.0', previous: '2.0.0', running: { version: '3.0.0' } });
      s = await bootAndKill(); // crash 1 counted at this start; still 3.0.0
      expect(s.running?.version).toBe('3.0.0');
      const o = await loader(10_000, { crashLimit: 2 }).decide(); // crash 2: given up
      expect(o.launch).toEqual({ kind: 'previous', version: '2.0.0' });
      expect(o.state.lastOutcome).toMatchObject({
        kind: 'fell-back',
        version: '3.0.0',
        reason: expect.stringMatching(/crashed 2 times.*ended without the loader/),
      });
    }, 60_000);
  });
});
