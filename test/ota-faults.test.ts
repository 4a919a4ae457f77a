import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  checkBundleDir,
  Ed25519Verifier,
  extractBundle,
  NodePartialFileWriter,
  releaseLayout,
  type PartialFileWriter,
  type PartialFileSink,
} from '@airpanel/panel/core/update/index';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { loaderStep } from '@airpanel/contract/release';
import * as ops from '@airpanel/release-tools/ops';
import {
  generateReleaseKey,
  makeBundle,
  startBundleProxy,
  startFeed,
  writeKeyFile,
  writeKeyring,
  type TestFeed,
} from './harness/ota/feed.js';
import { testUpdater } from './harness/ota/updater.js';
import { Cleanups, makeTempDir, nodeArgsFor, useCleanups } from './harness/index.js';

const cleanups = useCleanups();

/**
 * The attack and fault suite: every case ends with the loader's next-start decision on a
 * bundle that is complete and intact (all sha256 checked), and nothing installed that should
 * not be.
 */
const trustedKey = generateReleaseKey();
const unknownKey = generateReleaseKey();
const unusedLauncher = {
  launch: () => {
    throw new Error('no process in these tests');
  },
};
const trustedVerifier = new Ed25519Verifier([{ keyId: trustedKey.keyId, publicKey: trustedKey.publicKey }]);

async function nextStart(dataDir: string, factoryDir: string) {
  const loader = new BundleLoader({ dataDir, factoryDir, launcher: unusedLauncher, verifier: trustedVerifier, runtimeVersion: '45.4.1' });
  const d = await loader.decide();
  const descriptor = await checkBundleDir(d.bundleDir, { hashes: true });
  return { kind: d.launch.kind, version: descriptor.version };
}

/** Fake writer (names what it replaces): the real file writer, until `limit` bytes, then ENOSPC. */
class EnospcAfterBytesFakeWriter implements PartialFileWriter {
  private written = 0;
  constructor(
    private readonly limit: number,
    private readonly real = new NodePartialFileWriter(),
  ) {}
  async open(path: string, offset: number): Promise<PartialFileSink> {
    const sink = await this.real.open(path, offset);
    return {
      write: async (chunk) => {
        if (this.written + chunk.length > this.limit)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        this.written += chunk.length;
        await sink.write(chunk);
      },
      sync: () => sink.sync(),
      close: () => sink.close(),
    };
  }
}

describe('OTA attack and fault suite', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  let keyFile: string;
  let unknownKeyFile: string;
  let factoryDir: string;
  let dataDir: string;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-faults-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
    keyFile = await writeKeyFile(join(tmp.dir, 'trusted.key'), trustedKey);
    unknownKeyFile = await writeKeyFile(join(tmp.dir, 'unknown.key'), unknownKey);
    const factory = await makeBundle(tmp.dir, '1.0.0', 'export {};\n');
    factoryDir = join(tmp.dir, 'factory');
    await extractBundle(factory.file, factoryDir, '1.0.0');
    dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
  });

  const panel = (extra: Partial<Parameters<typeof testUpdater>[0]> = {}) =>
    testUpdater({ dataDir, manifestUrl: feed.manifestUrl('stable'), trusted: [trustedKey], ...extra });
  const installedNothing = () => {
    const l = releaseLayout(dataDir);
    expect(existsSync(l.candidateFile)).toBe(false);
    expect(existsSync(l.bundleDir('2.0.0'))).toBe(false);
  };
  async function publish(
    version: string,
    o: { keyFiles?: string[]; padding?: number; validForMs?: number; share?: number; now?: Date } = {},
  ) {
    const b = await makeBundle(tmp.dir, version, `export const v = '${version}';\n`, o.padding ?? 0);
    const up = await ops.uploadBundle(feed.client, b.file);
    const { maxCounter } = await ops.list(feed.client);
    const m = ops.makeManifest({
      version,
      channel: 'stable',
      bundleUrl: up.url,
      sha512: up.sha512,
      size: up.size,
      bundleDescriptorSha256: up.bundleDescriptorSha256,
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      counter: maxCounter + 1,
      rolloutShare: o.share ?? 1,
      validForMs: o.validForMs,
      now: o.now,
    });
    const env = await ops.signWithKeyFiles(m, o.keyFiles ?? [keyFile]);
    await ops.postManifest(feed.client, env);
    return { bundle: b, manifest: m, envelope: env };
  }

  it('baseline: a valid release installs and the loader starts it on trial', async () => {
    await publish('2.0.0');
    expect(await panel().checkNow()).toMatch(/2\.0\.0 installed/);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'trial', version: '2.0.0' });
  });

  it('a release installed before manifests were kept (schema 1) is skipped, not refused, and runs again once a schema-2 manifest for it is installed', async () => {
    const { bundle } = await publish('2.0.0');
    const layout = releaseLayout(dataDir);
    // What an updater before launch-time verification left: the files, no release-manifest.json,
    // and a format-1 loader-state.json naming it as committed.
    await mkdir(layout.releasesDir, { recursive: true });
    await extractBundle(bundle.file, layout.bundleDir('2.0.0'), '2.0.0');
    await writeFile(
      layout.loaderStateFile,
      JSON.stringify({ format: 'airpanel-loader/1', current: '2.0.0', previous: null, trial: null, refused: [], lastOutcome: null }),
    );
    const loader = new BundleLoader({ dataDir, factoryDir, launcher: unusedLauncher, verifier: trustedVerifier, runtimeVersion: '45.4.1' });
    const d = await loader.decide();
    expect(d.launch).toEqual({ kind: 'factory' });
    expect(d.state.refused).toEqual([]);
    expect(d.state.lastOutcome).toMatchObject({
      kind: 'refused',
      version: '2.0.0',
      reason: expect.stringMatching(/^skipped at launch: .*no release-manifest\.json/),
    });
    // The factory app's updater: it starts (prunes, reports), then takes the schema-2 manifest
    // of the same release; the files are already there, so only the signed manifest is added.
    const u = panel({ runningVersion: '1.0.0' });
    await u.start();
    u.stop();
    expect(u.getReport()).toMatchObject({
      phase: 'rolled-back',
      targetVersion: '2.0.0',
      detail: expect.stringMatching(/skipped at launch/),
    });
    expect(await u.checkNow()).toMatch(/2\.0\.0 installed/);
    expect(existsSync(join(layout.bundleDir('2.0.0'), 'release-manifest.json'))).toBe(true);
    // It is still the committed bundle: it runs again as current (no new trial).
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'current', version: '2.0.0' });
  });

  it('bundle tampered after signing: sha512 mismatch, nothing installed', async () => {
    const { bundle } = await publish('2.0.0', { padding: 5000 });
    const stored = join(
      feed.store.bundlesDir,
      (await readdir(feed.store.bundlesDir)).find((f) => f.endsWith('.tar.gz'))!,
    );
    const evil = randomBytes(bundle.size);
    await writeFile(stored, evil);
    const u = panel();
    await expect(u.checkNow()).rejects.toThrow(/checksum/);
    expect(u.getReport()).toMatchObject({ phase: 'failed', targetVersion: '2.0.0' });
    installedNothing();
    expect(await readdir(releaseLayout(dataDir).downloadDir)).toEqual([]);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
  });

  it('manifest signed by an unknown key, or altered after signing: rejected before any download', async () => {
    await publish('2.0.0', { keyFiles: [unknownKeyFile] });
    await expect(panel().checkNow()).rejects.toThrow(/unknown-key/);
    installedNothing();
    // A validly signed manifest whose rollout share was raised afterwards (e.g. by the backend).
    const { envelope } = await publish('2.1.0');
    const altered = { ...envelope, manifest: { ...envelope.manifest, counter: 99 } };
    const mirror = await serveJson(altered);
    try {
      await expect(panel({ manifestUrl: mirror.url }).checkNow()).rejects.toThrow(/bad-signature/);
    } finally {
      await mirror.close();
    }
    expect(existsSync(join(dataDir, 'releases', '2.1.0'))).toBe(false);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
  });

  it('expired manifest: rejected on a synced clock; unsynced clock tolerates expiry but not a far-ahead counter', async () => {
    const released = new Date('2026-03-01T00:00:00Z');
    await publish('2.0.0', { now: released, validForMs: 86_400_000 });
    const later = Date.parse('2026-03-05T00:00:00Z');
    await expect(panel({ nowMs: later }).checkNow()).rejects.toThrow(/expired/);
    installedNothing();
    // Clock before the image's build date (RTC reset, no NTP yet): expiry cannot be judged.
    const unsynced = Date.parse('2025-01-01T00:00:00Z');
    const u = panel({ nowMs: unsynced, buildTimeMs: Date.parse('2026-01-01T00:00:00Z') });
    expect(await u.checkNow()).toMatch(/installed/);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'trial', version: '2.0.0' });
  });

  it('unsynced clock: a counter far above the highest accepted is refused', async () => {
    const b = await makeBundle(tmp.dir, '2.0.0', 'export {};\n');
    const up = await ops.uploadBundle(feed.client, b.file);
    const m = ops.makeManifest({
      version: '2.0.0',
      channel: 'stable',
      bundleUrl: up.url,
      sha512: up.sha512,
      size: up.size,
      bundleDescriptorSha256: up.bundleDescriptorSha256,
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      counter: 500,
      rolloutShare: 1,
    });
    await ops.postManifest(feed.client, await ops.signWithKeyFiles(m, [keyFile]));
    await expect(panel({ nowMs: Date.parse('2025-01-01T00:00:00Z') }).checkNow()).rejects.toThrow(/counter-too-far-ahead-unsynced/);
    installedNothing();
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
  });

  it('replayed older manifest (validly signed) is refused after a newer one was accepted', async () => {
    const old = await publish('2.0.0');
    await publish('3.0.0');
    expect(await panel().checkNow()).toMatch(/3\.0\.0 installed/);
    const mirror = await serveJson(old.envelope);
    try {
      await expect(panel({ manifestUrl: mirror.url }).checkNow()).rejects.toThrow(/replayed/);
    } finally {
      await mirror.close();
    }
    expect(existsSync(join(dataDir, 'releases', '2.0.0'))).toBe(false);
    expect(JSON.parse(await readFile(releaseLayout(dataDir).candidateFile, 'utf8'))).toMatchObject({ version: '3.0.0' });
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'trial', version: '3.0.0' });
  });

  it('download cut halfway, then resumed with Range: only the rest is fetched, sha512 verified', async () => {
    const { bundle } = await publish('2.0.0', { padding: 400_000 });
    const proxy = await startBundleProxy(feed.url, { cutFirstAfter: Math.floor(bundle.size / 2) });
    try {
      const manifestUrl = `${proxy.url}/api/v1/update/channels/stable/manifest`;
      const u = panel({ manifestUrl });
      await expect(u.checkNow()).rejects.toThrow(/download/);
      installedNothing();
      expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
      expect(await u.checkNow()).toMatch(/installed/);
      expect(proxy.ranges[0]).toBeNull();
      expect(proxy.ranges[1]).toMatch(/^bytes=\d+-$/);
      const resumedAt = Number(/bytes=(\d+)-/.exec(proxy.ranges[1]!)![1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(u.bytesDownloaded).toBe(bundle.size - resumedAt);
    } finally {
      await proxy.close();
    }
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'trial', version: '2.0.0' });
  });

  it('download cut halfway: with retries, the same check resumes and installs', async () => {
    const { bundle } = await publish('2.0.0', { padding: 400_000 });
    const proxy = await startBundleProxy(feed.url, { cutFirstAfter: Math.floor(bundle.size / 3) });
    try {
      const u = panel({ manifestUrl: `${proxy.url}/api/v1/update/channels/stable/manifest`, downloadAttempts: 3 });
      expect(await u.checkNow()).toMatch(/2\.0\.0 installed/);
      expect(proxy.ranges).toHaveLength(2);
      expect(proxy.ranges[1]).toMatch(/^bytes=\d+-$/);
    } finally {
      await proxy.close();
    }
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'trial', version: '2.0.0' });
  });

  it('disk full during download (injected ENOSPC writer): partial removed, panel keeps running, next try works', async () => {
    await publish('2.0.0', { padding: 100_000 });
    const u = panel({ writer: new EnospcAfterBytesFakeWriter(30_000) });
    await expect(u.checkNow()).rejects.toThrow(/disk-full/);
    expect(u.getReport().phase).toBe('failed');
    installedNothing();
    expect(await readdir(releaseLayout(dataDir).downloadDir)).toEqual([]);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
    expect(await panel().checkNow()).toMatch(/installed/);
  });

  it('a version the loader refused is never installed again', async () => {
    await publish('2.0.0');
    await panel().checkNow();
    const loader = new BundleLoader({ dataDir, factoryDir, launcher: unusedLauncher, verifier: trustedVerifier, runtimeVersion: '45.4.1' });
    await loader.decide();
    const store = new LoaderStore(loader.layout);
    store.writeState(
      loaderStep(store.readState(), { type: 'failed', reason: 'crashed', detail: 'test', at: new Date().toISOString() }).state,
    );
    await publish('2.0.0'); // re-published with a higher counter
    expect(await panel().checkNow()).toMatch(/refused-version/);
    expect(existsSync(releaseLayout(dataDir).candidateFile)).toBe(false);
    expect(await nextStart(dataDir, factoryDir)).toEqual({ kind: 'factory', version: '1.0.0' });
  });
});

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
      const m = ops.makeManifest({
        version: v,
        channel: 'stable',
        bundleUrl: up.url,
        sha512: up.sha512,
        size: up.size,
        bundleDescriptorSha256: up.bundleDescriptorSha256,
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        counter: ++counter,
        rolloutShare: 1,
      });
      await ops.postManifest(feed.client, await ops.signWithKeyFiles(m, [keyFile]));
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

async function serveJson(body: unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/update/channels/stable/manifest`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
