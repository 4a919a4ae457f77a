import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { extractBundle } from '@airpanel/panel/core/update/index';
import * as ops from '@airpanel/release-tools/ops';
import { generateReleaseKey, startFeed, writeKeyFile, writeKeyring, type TestFeed } from './harness/ota/feed.js';
import { makeTempDir, useCleanups } from './harness/index.js';
import { stubBundle } from './harness/ota/stub-app.js';
import { SupervisedStubPanel } from './harness/ota/supervised.js';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { endpointUrl, endpoints } from '@airpanel/contract/api';

const cleanups = useCleanups();

/**
 * End to end with the STUB TEST APP (the real panel app is being built elsewhere): the real
 * release feed on a real fastify server, the real release operations, the real loader as
 * supervisor, real child processes per bundle. v1 → v2 → v3 crashing → back on v2; then a
 * hanging v3.1 → back on v2; the backend learns each outcome from the panel.
 */
describe('OTA end to end (loader + stub test app + release feed)', () => {
  let tmp: { dir: string };
  let feed: TestFeed;
  let panel: SupervisedStubPanel | undefined;
  let keyFile: string;
  let keyring: string;
  let factoryDir: string;

  function startPanel(checkMs?: number): SupervisedStubPanel {
    panel = new SupervisedStubPanel(
      join(tmp.dir, 'panel'),
      factoryDir,
      tmp.dir,
      {
        manifestUrl: feed.manifestUrl('stable'),
        reportUrl: endpointUrl(feed.url, endpoints.reportUpdate, { panelId: 'panel-e2e' }),
        keyring,
        panelId: 'panel-e2e',
        ...(checkMs !== undefined ? { checkMs } : {}),
      },
      3000,
    );
    panel.start();
    return panel;
  }

  beforeEach(async () => {
    tmp = { dir: await makeTempDir(cleanups, 'airpanel-e2e-') };
    feed = await startFeed(join(tmp.dir, 'backend'), cleanups);
    const key = generateReleaseKey();
    keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    keyring = join(tmp.dir, 'keyring.json');
    await writeKeyring(keyring, [key]);
    const factory = await stubBundle(tmp.dir, '1.0.0', 'healthy');
    factoryDir = join(tmp.dir, 'factory');
    await extractBundle(factory.file, factoryDir, '1.0.0');
    await mkdir(join(tmp.dir, 'panel'));
  });
  afterEach(async () => {
    await panel?.stop();
  });

  async function publish(version: string, behaviour: 'healthy' | 'crash' | 'hang') {
    const b = await stubBundle(tmp.dir, version, behaviour);
    await ops.publish(feed.client, {
      bundleFile: b.file,
      channel: 'stable',
      version,
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      rolloutShare: 1,
      keyFiles: [keyFile],
    });
  }
  async function panelRecord() {
    const r = (await ops.listPanels(feed.client)) as {
      panels: Array<{ panelId: string; runningVersion: string; lastUpdate: { phase: string; targetVersion: string | null } }>;
    };
    return r.panels.find((p) => p.panelId === 'panel-e2e');
  }

  it('v1 → v2 → v3 crashing → back on v2 → v3.1 hanging → back on v2', async () => {
    const panel = startPanel();
    await panel.waitRunning('1.0.0', 20_000, 'factory');

    await publish('2.0.0', 'healthy');
    expect(await panel.checkUpdate()).toMatch(/2\.0\.0 installed/);
    await panel.waitRunning('2.0.0', 20_000, 'trial');
    await waitState(() => readState(panel).current === '2.0.0', 'commit of 2.0.0');

    await publish('3.0.0', 'crash');
    expect(await panel.checkUpdate()).toMatch(/3\.0\.0 installed/);
    await panel.waitFor(() => panel.outcomes.some((o) => o.result === 'rolled-back-crash'), 'rollback after crash');
    await panel.waitRunning('2.0.0', 20_000, 'current');
    expect(readState(panel)).toMatchObject({ current: '2.0.0', refused: ['3.0.0'], trial: null });
    await waitAsync(async () => (await panelRecord())?.lastUpdate.phase === 'rolled-back', 'rolled-back reported to the backend');
    expect(await panelRecord()).toMatchObject({ runningVersion: '2.0.0', lastUpdate: { phase: 'rolled-back', targetVersion: '3.0.0' } });
    // The refused version is not taken again, even if still served.
    expect(await panel.checkUpdate()).toMatch(/already handled|refused/);

    await publish('3.1.0', 'hang');
    expect(await panel.checkUpdate()).toMatch(/3\.1\.0 installed/);
    await panel.waitFor(() => panel.outcomes.some((o) => o.result === 'rolled-back-hang'), 'rollback after hang');
    await panel.waitRunning('2.0.0', 20_000, 'current');
    expect(readState(panel)).toMatchObject({ current: '2.0.0', refused: ['3.0.0', '3.1.0'] });
    await waitAsync(async () => (await panelRecord())?.lastUpdate.targetVersion === '3.1.0', 'hang rollback reported');
  }, 90_000);

  it('by schedule: a published release is picked up without a command, and committed', async () => {
    const panel = startPanel(400);
    await panel.waitRunning('1.0.0', 20_000, 'factory');
    await publish('2.0.0', 'healthy');
    await panel.waitRunning('2.0.0', 20_000, 'trial');
    await waitState(() => readState(panel).current === '2.0.0', 'commit of 2.0.0');
    // The trial is reported at start, the commit at the next (scheduled) check.
    await waitAsync(async () => (await panelRecord())?.lastUpdate.phase === 'committed', 'commit reported');
    expect(await panelRecord()).toMatchObject({ runningVersion: '2.0.0', lastUpdate: { targetVersion: '2.0.0' } });
  }, 60_000);
});

function readState(p: { loader: SupervisedStubPanel['loader'] }) {
  return new LoaderStore(p.loader.layout).readState();
}
async function waitState(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
async function waitAsync(pred: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
