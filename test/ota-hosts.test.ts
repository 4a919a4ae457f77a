// One release for both kiosk hosts: the Electron image (Electron 45.x runs `main`) and the
// Debian image's Node host (Node 20.19.x runs `nodeMain`). Their runtime versions are
// unrelated, so a release names a minimum per host; here the real release tool publishes one
// bundle to the real feed, and a panel of each host installs it (real updater) and its loader
// verifies and starts it.
import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { Ed25519Verifier } from '@airpanel/panel/core/update/index';
import { extractBundle } from '@airpanel/panel/core/update/bundle';
import * as ops from '@airpanel/release-tools/ops';
import { generateReleaseKey, startFeed, writeKeyFile, type TestFeed } from './harness/ota/feed.js';
import { makeTempDir, useCleanups } from './harness/index.js';
import { testUpdater } from './harness/ota/updater.js';

const cleanups = useCleanups();

describe('one release runs on the Electron host and on the Node host (minimum runtime per host)', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  const key = generateReleaseKey();
  const verifier = new Ed25519Verifier([{ keyId: key.keyId, publicKey: key.publicKey }]);

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-hosts-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
  });

  it("the release tool signs the bundle's own minRuntime; each host checks its own minimum at install and at launch", async () => {
    const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    const tree = join(tmp.dir, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'main.js'), 'export {};\n');
    await writeFile(join(tree, 'node-main.js'), 'export {};\n');
    // What `bundle` does by default for a bundle with a Node entry.
    expect(ops.parseMinRuntime('electron=45.0.0,node=20.19.0')).toEqual(ops.DEFAULT_MIN_RUNTIME);
    expect(() => ops.parseMinRuntime('45.0.0')).toThrow(/not host=version/);
    const b = await ops.bundle({
      inputs: [{ dir: tree, as: '.' }],
      version: '2.0.0',
      main: 'main.js',
      nodeMain: 'node-main.js',
      minRuntime: ops.DEFAULT_MIN_RUNTIME,
      outFile: join(tmp.dir, 'b.tar.gz'),
    });
    const factory = join(tmp.dir, 'factory');
    await extractBundle(b.file, factory, '2.0.0'); // any complete bundle will do as the factory one
    const m = await ops.publish(feed.client, {
      bundleFile: b.file,
      channel: 'stable',
      version: '2.0.0',
      rolloutShare: 1,
      keyFiles: [keyFile],
    });
    expect(m.minRuntime).toEqual({ electron: '45.0.0', node: '20.19.0' });

    const panels = [
      { name: 'electron', host: 'electron', version: '45.4.1', takes: true },
      { name: 'debian', host: 'node', version: '20.19.2', takes: true }, // was refused as "older than 45.0.0"
      { name: 'old-node', host: 'node', version: '20.18.1', takes: false },
    ] as const;
    for (const p of panels) {
      const dataDir = join(tmp.dir, p.name);
      await mkdir(dataDir);
      const updater = testUpdater({
        dataDir,
        manifestUrl: feed.manifestUrl('stable'),
        trusted: [key],
        runtimeHost: p.host,
        runtimeVersion: p.version,
        nowMs: Date.now(),
      });
      if (!p.takes) {
        await expect(updater.checkNow()).rejects.toThrow(/runtime-too-old.*needs node 20\.19\.0, this one is 20\.18\.1/);
        continue;
      }
      const outcome = await updater.checkNow();
      expect(updater.getReport().phase, `${p.name}: ${outcome}`).toBe('pending-restart');
      const loader = new BundleLoader({
        dataDir,
        factoryDir: factory,
        host: p.host,
        verifier,
        runtimeVersion: p.version,
        launcher: {
          launch: () => {
            throw new Error('not started here');
          },
        },
      });
      expect((await loader.decide()).launch, p.name).toEqual({ kind: 'trial', version: '2.0.0' });
    }
  });
});
