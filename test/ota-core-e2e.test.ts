import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { CommandRecord, PanelRegistration, PanelSummary, panelConfigFromRegistration } from '@airpanel/contract';
import { extractBundle } from '../src-main/core/update/index.js';
import { writePanelJson } from '../src-main/core/testing/fixtures.js';
import { LoaderStore } from '../src-main/loader/store.js';
import { startTestBackend } from '../server-stub/src/test-support.js';
import type { Backend } from '../server-stub/src/backend.js';
import * as ops from '../tools/release/ops.js';
import { generateReleaseKey, tempDir, writeKeyFile, writeKeyring } from './harness/ota/feed.js';
import { coreAppBundle } from './harness/ota/core-app.js';
import { SupervisedStubPanel } from './harness/ota/supervised.js';

/**
 * End to end with the real backend (SQLite, embedded MQTT, release feed) and the real panel
 * core in test-app bundles under the real loader; only Electron and the renderer are left out.
 * The `check-update` command goes backend → MQTT → PanelCore → OtaUpdater; the running
 * version comes back through the panel's MQTT status.
 */
describe('OTA end to end with the real PanelCore and backend', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let backend: Backend;
  let panel: SupervisedStubPanel | undefined;

  beforeEach(async () => {
    tmp = await tempDir('ota-core-e2e');
    backend = await startTestBackend(join(tmp.dir, 'backend'), { mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' } });
  });
  afterEach(async () => {
    await panel?.stop();
    await backend.close();
    await tmp.cleanup();
  });

  it('v1 → v2 by command → v3 crashing → back on v2, seen by the backend', async () => {
    const admin = got.extend({ prefixUrl: `${backend.url}/api/v1`, headers: { authorization: `Bearer ${backend.adminToken}` } });
    const reg = PanelRegistration.parse(await admin.post('panels', { json: { id: 'panel-ota', name: 'OTA panel' } }).json());
    const dataDir = join(tmp.dir, 'panel');
    await mkdir(dataDir);
    await writePanelJson(dataDir, panelConfigFromRegistration(reg));
    const key = generateReleaseKey();
    const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
    const keyring = join(tmp.dir, 'keyring.json');
    await writeKeyring(keyring, [key]);
    const factory = await coreAppBundle(tmp.dir, '1.0.0', 'healthy');
    const factoryDir = join(tmp.dir, 'factory');
    await extractBundle(factory.file, factoryDir, '1.0.0');

    panel = new SupervisedStubPanel(dataDir, factoryDir, tmp.dir, { manifestUrl: '', reportUrl: '', keyring, panelId: 'panel-ota' }, 20_000, 'core-app-runtime');
    panel.start();
    const p = panel;
    const summary = async () => PanelSummary.parse(await admin.get('panels/panel-ota').json());
    const until = async (what: string, pred: () => Promise<boolean>, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}; panel ${JSON.stringify(await summary())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const command = async () => {
      const sent = CommandRecord.parse(await admin.post('panels/panel-ota/commands', { json: { kind: 'check-update' } }).json());
      let rec: CommandRecord | null = null;
      await until('command acked done', async () => {
        rec = CommandRecord.parse(await admin.get(`panels/panel-ota/commands/${sent.id}`).json());
        return rec.acks.some((a) => a.status === 'done' || a.status === 'failed');
      });
      return rec!;
    };
    const state = () => new LoaderStore(p.loader.layout).readState();

    await until('v1 live', async () => (await summary()).online === true);
    const publish = async (version: string, behaviour: 'healthy' | 'crash') => {
      const b = await coreAppBundle(tmp.dir, version, behaviour);
      await ops.publish({ server: backend.url, token: backend.adminToken }, { bundleFile: b.file, channel: 'stable', version, minRuntime: { electron: '45.0.0', node: '20.0.0' }, rolloutShare: 1, keyFiles: [keyFile] });
    };

    await publish('2.0.0', 'healthy');
    const ack = await command();
    expect(ack.acks.find((a) => a.status === 'done')?.detail).toMatch(/2\.0\.0 installed/);
    await until('commit of 2.0.0', async () => state().current === '2.0.0');
    await until('backend sees 2.0.0 running (panel status over MQTT)', async () => {
      const s = await summary();
      return s.online === true && s.firmwareVersion === '2.0.0';
    });

    await publish('3.0.0', 'crash');
    await command();
    await until('rollback of 3.0.0', async () => state().refused.includes('3.0.0'));
    await until('v2 running again after the crash', async () => p.outcomes.some((o) => o.result === 'rolled-back-crash'));
    await until('rollback reported', async () => {
      const r = (await ops.listPanels({ server: backend.url, token: backend.adminToken })) as { panels: Array<{ panelId: string; runningVersion: string; lastUpdate: { phase: string; targetVersion: string } | null }> };
      return r.panels.some((x) => x.panelId === 'panel-ota' && x.runningVersion === '2.0.0' && x.lastUpdate?.phase === 'rolled-back' && x.lastUpdate.targetVersion === '3.0.0');
    });
    expect(state()).toMatchObject({ current: '2.0.0', trial: null });
  }, 120_000);
});
