import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { CommandRecord, PanelRegistration, PanelSummary, panelConfigFromRegistration } from '@airpanel/contract';
import { extractBundle, healthCriterionMet, LoaderHealthGate } from '../src-main/core/update/index.js';
import { writePanelJson } from '../src-main/core/testing/fixtures.js';
import { LoaderStore } from '../src-main/loader/store.js';
import { startTestBackend } from '../server-stub/src/test-support.js';
import type { Backend } from '../server-stub/src/backend.js';
import * as ops from '../tools/release/ops.js';
import { generateReleaseKey, tempDir, writeKeyFile, writeKeyring } from './harness/ota/feed.js';
import { coreAppBundle } from './harness/ota/core-app.js';
import type { CoreAppBehaviour } from './harness/ota/core-app-runtime.js';
import { SupervisedStubPanel } from './harness/ota/supervised.js';

describe('the health criterion (LoaderHealthGate): content painted AND backend reached', () => {
  it('reports once, only when both are there, in either order; the splash and maintenance codes are not content', () => {
    expect(healthCriterionMet({ paintedContent: true, backendReached: null })).toBe(false);
    expect(healthCriterionMet({ paintedContent: false, backendReached: 'mqtt' })).toBe(false);
    expect(healthCriterionMet({ paintedContent: true, backendReached: 'poll' })).toBe(true);
    for (const order of ['paint-first', 'backend-first'] as const) {
      const sent: unknown[] = [];
      const gate = new LoaderHealthGate({ send: (m) => sent.push(m) > 0 });
      if (order === 'backend-first') gate.backendReached('poll');
      gate.framePresented({ kind: 'booting', revision: null });
      gate.framePresented({ kind: 'maintenance', revision: null });
      expect(sent).toEqual([]);
      gate.framePresented({ kind: 'content', revision: 4 });
      if (order === 'paint-first') {
        expect(sent).toEqual([]);
        gate.backendReached('mqtt');
      }
      gate.backendReached('poll');
      gate.framePresented({ kind: 'content', revision: 5 });
      expect(sent).toEqual([{ type: 'airpanel/healthy' }]);
      expect(gate.reported).toBe(true);
    }
  });
});

/**
 * End to end with the real backend (SQLite, embedded MQTT, release feed), the real loader and
 * the real PanelCore in test-app bundles: a release that breaks networking still paints the
 * cached content, and is rolled back instead of committed.
 */
describe('a release that breaks networking is rolled back, not committed', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let backend: Backend;
  let panel: SupervisedStubPanel | undefined;

  beforeEach(async () => {
    tmp = await tempDir('ota-health');
    backend = await startTestBackend(join(tmp.dir, 'backend'), { mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' } });
  });
  afterEach(async () => {
    await panel?.stop();
    await backend.close();
    await tmp.cleanup();
  });

  it('v1 live → v2 (no network) painted from the cache but never reaches the backend → rolled back → v3 healthy is committed', async () => {
    const admin = got.extend({ prefixUrl: `${backend.url}/api/v1`, headers: { authorization: `Bearer ${backend.adminToken}` } });
    const reg = PanelRegistration.parse(await admin.post('panels', { json: { id: 'panel-health', name: 'Health panel' } }).json());
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

    panel = new SupervisedStubPanel(dataDir, factoryDir, tmp.dir, { manifestUrl: '', reportUrl: '', keyring, panelId: 'panel-health' }, 8_000, 'core-app-runtime');
    panel.start();
    const p = panel;
    const summary = async () => PanelSummary.parse(await admin.get('panels/panel-health').json());
    const until = async (what: string, pred: () => Promise<boolean>, ms = 40_000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}; panel ${JSON.stringify(await summary())}; outcomes ${JSON.stringify(p.outcomes.map((o) => o.result))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const checkUpdate = async () => {
      const sent = CommandRecord.parse(await admin.post('panels/panel-health/commands', { json: { kind: 'check-update' } }).json());
      await until('command acked', async () => CommandRecord.parse(await admin.get(`panels/panel-health/commands/${sent.id}`).json()).acks.some((a) => a.status === 'done' || a.status === 'failed'));
    };
    const publish = async (version: string, behaviour: CoreAppBehaviour) => {
      const b = await coreAppBundle(tmp.dir, version, behaviour);
      await ops.publish({ server: backend.url, token: backend.adminToken }, { bundleFile: b.file, channel: 'stable', version, minRuntime: { electron: '45.0.0', node: '20.0.0' }, rolloutShare: 1, keyFiles: [keyFile] });
    };
    const state = () => new LoaderStore(p.loader.layout).readState();

    await until('v1 live (its content cached)', async () => {
      const s = await summary();
      return s.online === true && s.state === 'live';
    });

    await publish('2.0.0', 'breaks-network');
    await checkUpdate();
    await until('2.0.0 rolled back at the health deadline', async () => state().refused.includes('2.0.0'));
    expect(p.outcomes.find((o) => o.launch.kind === 'trial'), JSON.stringify(p.outcomes.map((o) => [o.launch, o.result, o.exit]))).toMatchObject({ result: 'rolled-back-hang' });
    expect(state()).toMatchObject({ trial: null });
    expect(state().current).not.toBe('2.0.0');
    await until('v1 back online', async () => {
      const s = await summary();
      return s.online === true && s.firmwareVersion === '1.0.0';
    });

    await publish('3.0.0', 'healthy');
    await checkUpdate();
    await until('3.0.0 committed', async () => state().current === '3.0.0');
  }, 120_000);
});
