import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBundleDir, Ed25519Verifier, extractBundle } from '@airpanel/panel/core/update/index';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { loaderStep } from '@airpanel/contract/release';
import * as ops from '@airpanel/release-tools/ops';
import {
  generateReleaseKey,
  makeBundle,
  postSignedManifest,
  startFeed,
  writeKeyFile,
  writeKeyring,
  type TestFeed,
} from './harness/ota/feed.js';
import { Cleanups, makeTempDir, nodeArgsFor } from './harness/index.js';
import { unusedLauncher } from './ota-faults.test-support.js';

describe('install killed at random points (real child processes, SIGKILL)', () => {
  const TRIALS = 50;
  let tmp: { dir: string };
  let feed: TestFeed;

  let childCommand: string[];

  // Shared by the trials of this describe: emptied after all of them, not after each.
  const suiteCleanups = new Cleanups();
  beforeAll(async () => {
    tmp = { dir: await makeTempDir(suiteCleanups, 'airpanel-kill-') };
    feed = await startFeed(join(tmp.dir, 'backend'), suiteCleanups);
    // Child start-up dominates each trial: bundle the child once so 50 trials take seconds.
    childCommand = nodeArgsFor(join(import.meta.dirname, 'harness', 'ota', 'install-child.ts'), join(tmp.dir, 'install-child.mjs'));
  });
  afterAll(() => suiteCleanups.run());

  function runChild(args: string[], killAfterMs: number | null): Promise<{ done: boolean; elapsed: number | null }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...childCommand, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let timer: NodeJS.Timeout | undefined;
      const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (killAfterMs !== null && out.includes('ready') && !timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        clearTimeout(guard);
        const m = /done (\d+)/.exec(out);
        if (signal === null && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
        else resolve({ done: m !== null, elapsed: m ? Number(m[1]) : null });
      });
    });
  }

  it(`${TRIALS} trials: every kill ends on a runnable version at the next start`, async () => {
    const key = generateReleaseKey();
    const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    const keyring = join(tmp.dir, 'keyring.json');
    await writeKeyring(keyring, [key]);
    const factory = await makeBundle(tmp.dir, '1.0.0', 'export {};\n');
    const factoryDir = join(tmp.dir, 'factory');
    await extractBundle(factory.file, factoryDir, '1.0.0');
    const dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
    const manifestUrl = feed.manifestUrl('stable');
    const loader = new BundleLoader({
      dataDir,
      factoryDir,
      launcher: unusedLauncher,
      verifier: new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]),
      runtimeVersion: '45.4.1',
    });
    const store = new LoaderStore(loader.layout);
    const running = () => store.readState().current ?? '1.0.0';

    // Bundles are built and uploaded up front; each trial then only signs and posts a manifest.
    const uploaded: Array<Awaited<ReturnType<typeof ops.uploadBundle>>> = [];
    for (let i = 0; i < TRIALS + 2; i++) {
      const v = `${i + 2}.0.0`;
      const b = await makeBundle(tmp.dir, v, `export const v = '${v}';\n`, 64_000);
      uploaded.push(await ops.uploadBundle(feed.client, b.file));
      await rm(b.file);
    }
    let version = 1;
    let counter = 0;
    const publishNext = async () => {
      version += 1;
      const v = `${version}.0.0`;
      const up = uploaded[version - 2]!;
      await postSignedManifest(feed.client, up, { version: v, counter: ++counter, keyFiles: [keyFile] });
      return v;
    };

    // Calibrate: one complete, unkilled run tells how long the install window is.
    await publishNext();
    const calib = await runChild([dataDir, manifestUrl, keyring, running(), factoryDir], null);
    expect(calib.done).toBe(true);
    // The install window follows the speed of recent complete runs (a shared CI machine's load
    // changes during the test): kill delays are drawn from [0, 1.2 × that].
    let windowMs = Math.max(20, (calib.elapsed ?? 100) * 1.2);
    expect(running()).toBe('2.0.0');

    const seen = { killed: 0, finished: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const before = running();
      const target = trial % 3 === 2 ? null : await publishNext(); // sometimes re-run an interrupted install
      const r = await runChild([dataDir, manifestUrl, keyring, before, factoryDir], Math.random() * windowMs);
      if (r.done) {
        seen.finished++;
        windowMs = Math.max(20, 0.5 * windowMs + 0.5 * 1.2 * (r.elapsed ?? windowMs));
      } else seen.killed++;
      // The next start: the loader decides, and what it picks must be complete and intact.
      const d = await loader.decide();
      const descriptor = await checkBundleDir(d.bundleDir, { hashes: true });
      // The version it ran before, or the one being installed (on trial or already committed).
      const allowed = new Set([before, target ?? `${version}.0.0`]);
      expect(
        allowed.has(descriptor.version),
        `trial ${trial}: started ${descriptor.version}, expected one of ${[...allowed].join(', ')}`,
      ).toBe(true);
      // The started app comes up healthy: commit, as the loader would on its health report;
      // it ends with a clean exit (its restart into the next update), not a crash.
      if (d.launch.kind === 'trial')
        store.writeState(loaderStep(store.readState(), { type: 'healthy', at: new Date().toISOString() }).state);
      store.writeState(
        loaderStep(store.readState(), { type: 'exited', crashed: false, detail: 'code 0', at: new Date().toISOString() }).state,
      );
    }
    // The random kills really landed inside the install sometimes, and sometimes not at all.
    expect(seen.killed, `killed ${seen.killed}, finished ${seen.finished}, window ${windowMs.toFixed(0)} ms`).toBeGreaterThan(5);
    // No staging or trash debris survives a later successful install.
    await runChild([dataDir, manifestUrl, keyring, running(), factoryDir], null);
    const debris = (await readdir(join(dataDir, 'releases'))).filter((f) => f.startsWith('.staging') || f.startsWith('.trash'));
    expect(debris).toEqual([]);
  }, 180_000);
});
