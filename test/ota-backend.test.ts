import { beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import got from 'got';
import type { Backend } from '@airpanel/backend/backend';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { GotOtaHttpClient } from '@airpanel/panel/core/update/index';
import * as ops from '@airpanel/release-tools/ops';
import { generateReleaseKey, makeBundle, writeKeyFile } from './harness/ota/feed.js';
import { makeTempDir, provisionPanel, startBackend, useCleanups, type AdminApi } from './harness/index.js';
import { testUpdater } from './harness/ota/updater.js';

const cleanups = useCleanups();

/**
 * The release feed inside the real backend (createBackend: SQLite, fastify, the backend's own
 * credentials): the release CLI publishes with the admin token, a panel fetches, installs and
 * reports with its own API key, and the admin sees it per panel.
 */
describe('OTA through the real backend', () => {
  let tmp: { dir: string };
  let backend: Backend;
  let api: AdminApi;

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-ota-backend-') };
    const started = await startBackend({
      mode: 'in-process',
      cleanups,
      dataDir: join(tmp.dir, 'backend'),
      mqtt: { mode: 'none' },
      backend: { startLoops: false },
    });
    ({ backend, admin: api } = started);
  });

  it('publish → panel installs with its API key → report visible per panel; other panels may not report for it', async () => {
    const admin = { server: backend.url, token: backend.adminToken };
    const reg = await provisionPanel(api, { panelId: 'panel-ota', name: 'OTA panel', sensorId: null });
    const other = await provisionPanel(api, { panelId: 'panel-other', name: 'Other', sensorId: null });

    const key = generateReleaseKey();
    const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    const b = await makeBundle(tmp.dir, '2.0.0', 'export {};\n', 20_000);
    await ops.publish(admin, {
      bundleFile: b.file,
      channel: 'stable',
      version: '2.0.0',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      rolloutShare: 1,
      keyFiles: [keyFile],
    });
    await expect(ops.list({ ...admin, token: reg.apiKey })).rejects.toThrow(/403/);

    const dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
    const restarts: string[] = [];
    const updater = testUpdater({
      dataDir,
      manifestUrl: endpointUrl(backend.url, endpoints.getChannelManifest, { channel: 'stable' }),
      trusted: [key],
      panelId: 'panel-ota',
      buildTimeMs: 0,
      restarts,
      options: {
        reportUrl: endpointUrl(backend.url, endpoints.reportUpdate, { panelId: 'panel-ota' }),
        http: new GotOtaHttpClient({ credentials: { origin: backend.url, headers: { authorization: `Bearer ${reg.apiKey}` } } }),
        // The updater's own download retries (no retry settings of the test harness).
        downloadAttempts: undefined,
        retryDelayMs: undefined,
      },
    });
    expect(await updater.checkNow()).toMatch(/2\.0\.0 installed/);
    expect(restarts).toEqual(['restart']);

    const panels = async () =>
      (
        (await ops.listPanels(admin)) as {
          panels: Array<{ panelId: string; runningVersion: string | null; lastUpdate: { phase: string; targetVersion: string } | null }>;
        }
      ).panels;
    const end = Date.now() + 10_000;
    while (!(await panels()).some((p) => p.panelId === 'panel-ota' && p.lastUpdate?.phase === 'pending-restart')) {
      if (Date.now() > end) throw new Error(`no report: ${JSON.stringify(await panels())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await panels()).find((p) => p.panelId === 'panel-ota')).toMatchObject({
      runningVersion: '1.0.0',
      lastUpdate: { phase: 'pending-restart', targetVersion: '2.0.0' },
    });

    const report = {
      panelId: 'panel-ota',
      runningVersion: '6.6.6',
      channel: 'stable',
      report: { phase: 'committed', targetVersion: '6.6.6', progress: 1, detail: null, at: new Date().toISOString() },
    };
    const forged = await got.post(endpointUrl(backend.url, endpoints.reportUpdate, { panelId: 'panel-ota' }), {
      headers: { authorization: `Bearer ${other.apiKey}` },
      json: report,
      throwHttpErrors: false,
    });
    expect(forged.statusCode).toBe(403);
  });
});
