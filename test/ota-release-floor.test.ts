import { beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createOtaUpdater } from '@airpanel/panel/core/kiosk/ota';
import { makeConfig, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { GotOtaHttpClient, releaseLayout } from '@airpanel/panel/core/update/index';
import * as ops from '@airpanel/release-tools/ops';
import { makeBundle, postSignedManifest, startFeed, writeKeyFile, writeKeyring, type TestFeed } from './harness/ota/feed.js';
import { makeTempDir } from './harness/index.js';
import { testUpdater } from './harness/ota/updater.js';
import { cleanups, key, quiet } from './ota-retrieval.test-support.js';
import { API_PREFIX, endpointUrl, endpoints } from '@airpanel/contract/api';

describe('feed silence in the fleet list (real release feed)', () => {
  it("the release manager's panel list shows a panel that has seen no valid manifest for days", async () => {
    const tmp = { dir: await makeTempDir(cleanups, 'airpanel-ota-silence-') };
    const feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
    let now = Date.now();
    const dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
    const u = testUpdater({
      dataDir,
      manifestUrl: feed.manifestUrl('stable'),
      trusted: [key],
      buildTimeMs: 0,
      options: {
        reportUrl: endpointUrl(feed.url, endpoints.reportUpdate, { panelId: 'panel-0001' }),
        http: new GotOtaHttpClient(),
        wallClock: { now: () => now },
        // The updater's own download retries (no retry settings of the test harness).
        downloadAttempts: undefined,
        retryDelayMs: undefined,
      },
    });
    const since = new Date(now).toISOString();
    expect(await u.checkNow()).toMatch(/no release/);
    now += 4 * 86_400_000;
    expect(await u.checkNow()).toMatch(/no release/);
    type Listed = { panels: Array<{ panelId: string; noValidManifestSince: string | null }> };
    const end = Date.now() + 10_000;
    let listed: Listed = { panels: [] };
    while (!listed.panels.some((p) => p.noValidManifestSince !== null)) {
      if (Date.now() > end) throw new Error(`not listed: ${JSON.stringify(listed)}`);
      await new Promise((r) => setTimeout(r, 50));
      listed = (await ops.listPanels(feed.client)) as Listed;
    }
    expect(listed.panels).toEqual([expect.objectContaining({ panelId: 'panel-0001', noValidManifestSince: since })]);
  });
});

describe('the image release floor on a wiped panel with an unsynced clock (real feed, real panel.json, createOtaUpdater)', () => {
  let tmp: { dir: string };
  let feed: TestFeed;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-ota-floor-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
  });

  it('an old, validly signed manifest is refused below the counter floor and below the factory version; without a floor it would be taken', async () => {
    const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    const keyring = join(tmp.dir, 'keyring.json');
    await writeKeyring(keyring, [key]);
    const floorFile = join(tmp.dir, 'release-floor.json');
    await writeFile(floorFile, JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor: 10, factoryVersion: '1.2.0' }));
    const old = await makeBundle(tmp.dir, '1.1.0', 'export {};\n');
    const up = await ops.uploadBundle(feed.client, old.file);
    // Signed long ago (counter 5, expired a year ago): what a mirror or a replaying backend keeps.
    const longAgo = new Date(Date.now() - 400 * 86_400_000);
    const postOld = (counter: number) =>
      postSignedManifest(feed.client, up, { version: '1.1.0', counter, keyFiles: [keyFile], now: longAgo });
    await postOld(5);

    const panel = async (name: string, env: NodeJS.ProcessEnv) => {
      const dataDir = join(tmp.dir, name);
      await mkdir(dataDir);
      await writePanelJson(dataDir, makeConfig('panel-0001', `${feed.url}${API_PREFIX}`, null));
      const { loadPanelConfig } = await import('@airpanel/panel/core/config');
      const made = createOtaUpdater({
        dataDir,
        config: await loadPanelConfig(dataDir),
        runtimeHost: 'electron',
        runtimeVersion: '45.4.1',
        appVersion: '1.2.0',
        // The image was built after "now": the panel's clock counts as unsynced (RTC lost, no NTP yet).
        buildTimeMs: Date.now() + 365 * 86_400_000,
        requestRestart: async () => undefined,
        log: quiet,
        env,
      });
      if (!('updater' in made)) throw new Error(made.reason);
      return made.updater;
    };
    const withFloor = await panel('wiped', {
      AIRPANEL_RELEASE_KEYS: keyring,
      AIRPANEL_RELEASE_FLOOR: floorFile,
      AIRPANEL_LAUNCH: 'factory',
    });
    await expect(withFloor.checkNow()).rejects.toThrow(/replayed.*counter 5 below accepted 10/);
    expect(existsSync(releaseLayout(join(tmp.dir, 'wiped')).candidateFile)).toBe(false);

    await postOld(12);
    await expect(withFloor.checkNow()).rejects.toThrow(/below-factory-version/);
    expect(existsSync(releaseLayout(join(tmp.dir, 'wiped')).candidateFile)).toBe(false);

    // The same panel image without the floor file takes it: what the floor is for.
    const noFloor = await panel('wiped-no-floor', {
      AIRPANEL_RELEASE_KEYS: keyring,
      AIRPANEL_RELEASE_FLOOR: join(tmp.dir, 'absent.json'),
      AIRPANEL_LAUNCH: 'factory',
    });
    expect(await noFloor.checkNow()).toMatch(/1\.1\.0 installed/);
  });
});
