import { beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { extractBundle, releaseLayout } from '@airpanel/panel/core/update/index';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { loaderStep } from '@airpanel/contract/release';
import * as ops from '@airpanel/release-tools/ops';
import { makeBundle, postSignedManifest, startBundleProxy, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { testUpdater } from './harness/ota/updater.js';
import { makeTempDir } from './harness/index.js';
import {
  cleanups,
  trustedKey,
  unknownKey,
  unusedLauncher,
  trustedVerifier,
  nextStart,
  EnospcAfterBytesFakeWriter,
} from './ota-faults.test-support.js';
import { endpointUrl, endpoints } from '@airpanel/contract/api';

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
    const { manifest, envelope } = await postSignedManifest(feed.client, up, {
      version,
      counter: maxCounter + 1,
      keyFiles: o.keyFiles ?? [keyFile],
      rolloutShare: o.share ?? 1,
      validForMs: o.validForMs,
      now: o.now,
    });
    return { bundle: b, manifest, envelope };
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
    await postSignedManifest(feed.client, up, { version: '2.0.0', counter: 500, keyFiles: [keyFile] });
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
      const manifestUrl = endpointUrl(proxy.url, endpoints.getChannelManifest, { channel: 'stable' });
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
      const u = panel({ manifestUrl: endpointUrl(proxy.url, endpoints.getChannelManifest, { channel: 'stable' }), downloadAttempts: 3 });
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

async function serveJson(body: unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: endpointUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, endpoints.getChannelManifest, { channel: 'stable' }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
