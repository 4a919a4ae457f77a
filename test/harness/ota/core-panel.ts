// The OTA end-to-end setup: the real backend (SQLite, embedded MQTT, release feed) with one
// registered panel whose app is the real PanelCore in test-app bundles (core-app-runtime.ts),
// started by the real loader from a factory 1.0.0, and a release key to publish with.
import { join } from 'node:path';
import { extractBundle } from '@airpanel/panel/core/update/index';
import * as ops from '@airpanel/release-tools/ops';
import type { AdminApi } from '../admin.js';
import { startBackend, type InProcessBackend } from '../backend.js';
import { makeTempDir, type Cleanups } from '../cleanups.js';
import { provisionPanel } from '../provision.js';
import { panelConfigFor, writePanelConfig } from '../provision.js';
import { coreAppBundle } from './core-app.js';
import type { CoreAppBehaviour } from './core-app-runtime.js';
import { generateReleaseKey, writeKeyFile, writeKeyring } from './feed.js';
import { SupervisedStubPanel } from './supervised.js';

export interface SupervisedCorePanel {
  backend: InProcessBackend;
  api: AdminApi;
  panel: SupervisedStubPanel;
  /** Where bundles are built. */
  workDir: string;
  /** The release key's private key file (its public key is the panel's keyring). */
  keyFile: string;
  /** Builds a core-app bundle of `version` behaving so, signs it with the key and publishes it on `stable` to every panel. */
  publish(version: string, behaviour: CoreAppBehaviour): Promise<void>;
}

export async function startSupervisedCorePanel(o: {
  cleanups: Cleanups;
  panelId: string;
  name: string;
  healthDeadlineMs: number;
}): Promise<SupervisedCorePanel> {
  const workDir = await makeTempDir(o.cleanups, `airpanel-ota-${o.panelId}-`);
  const backend = await startBackend({
    mode: 'in-process',
    cleanups: o.cleanups,
    dataDir: join(workDir, 'backend'),
    backend: { startLoops: false },
  });
  const api = backend.admin;
  const registration = await provisionPanel(api, { panelId: o.panelId, name: o.name, sensorId: null });
  const dataDir = join(workDir, 'panel');
  await writePanelConfig(dataDir, panelConfigFor(registration));
  const key = generateReleaseKey();
  const keyFile = await writeKeyFile(join(workDir, 'k.key'), key);
  const keyring = join(workDir, 'keyring.json');
  await writeKeyring(keyring, [key]);
  const factory = await coreAppBundle(workDir, '1.0.0', 'healthy');
  const factoryDir = join(workDir, 'factory');
  await extractBundle(factory.file, factoryDir, '1.0.0');
  const panel = new SupervisedStubPanel(
    dataDir,
    factoryDir,
    workDir,
    { manifestUrl: '', reportUrl: '', keyring, panelId: o.panelId },
    o.healthDeadlineMs,
    'core-app-runtime',
  );
  o.cleanups.add(() => panel.stop());
  panel.start();
  return {
    backend,
    api,
    panel,
    workDir,
    keyFile,
    async publish(version, behaviour) {
      const b = await coreAppBundle(workDir, version, behaviour);
      await ops.publish(
        { server: backend.url, token: backend.adminToken },
        {
          bundleFile: b.file,
          channel: 'stable',
          version,
          minRuntime: { electron: '45.0.0', node: '20.0.0' },
          rolloutShare: 1,
          keyFiles: [keyFile],
        },
      );
    },
  };
}
