/**
 * OTA benchmark: bundle size, bytes downloaded, and time from publish to the panel running
 * the new version, by command push and by schedule.
 *
 *   npx tsx test/bench/ota-bench.ts [--schedule-ms 3000]
 *
 * The panel runs test apps under the real loader, against the real release feed and release
 * operations: the STUB TEST APP (test/harness/ota/stub-app-runtime.ts) by command and by
 * schedule, then the real PanelCore in a test-app bundle (test/harness/ota/core-app-runtime.ts)
 * with check-update over MQTT. None runs in Electron (no binary on these machines). The
 * bundles are padded to the size of the real app bundle (built from dist/app when present) so
 * the bytes moved are realistic.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle, extractBundle } from '@airpanel/panel/core/update/index';
import * as ops from '@airpanel/release-tools/ops';
import { generateReleaseKey, startBundleProxy, startFeed, writeKeyFile, writeKeyring } from '../harness/ota/feed.js';
import { startSupervisedCorePanel } from '../harness/ota/core-panel.js';
import { stubBundle } from '../harness/ota/stub-app.js';
import { SupervisedStubPanel } from '../harness/ota/supervised.js';
import { coreAppBundle } from '../harness/ota/core-app.js';
import { PanelSummary } from '@airpanel/contract';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { Cleanups, makeTempDir } from '../harness/index.js';

const { values } = parseArgs({ options: { 'schedule-ms': { type: 'string', default: '3000' } } });
const scheduleMs = Number(values['schedule-ms']);
const repo = join(import.meta.dirname, '..', '..');

/** The real backend (SQLite, embedded MQTT, feed) and the real PanelCore: command via MQTT. */
async function runWithCore(padding: number): Promise<void> {
  const cleanups = new Cleanups();
  try {
    const { backend, api, workDir, keyFile } = await startSupervisedCorePanel({
      cleanups,
      panelId: 'panel-bench',
      name: 'Bench',
      healthDeadlineMs: 30_000,
    });
    const summary = async () => PanelSummary.parse(await api.panel('panel-bench'));
    const until = async (pred: () => Promise<boolean>) => {
      const end = Date.now() + 120_000;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(async () => (await summary()).online);
    await coreAppBundle(workDir, '2.0.0', 'healthy'); // writes the test app's tree, padded below
    const padded = await buildBundle({
      inputs: [
        { dir: join(workDir, 'core-app-2.0.0', 'app'), as: 'app' },
        { dir: await padDir(padding), as: 'assets' },
      ],
      version: '2.0.0',
      main: 'app/main.mjs',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(workDir, 'core-2.0.0-padded.tar.gz'),
    });
    const t0 = performance.now();
    await ops.publish(
      { server: backend.url, token: backend.adminToken },
      {
        bundleFile: padded.file,
        channel: 'stable',
        version: '2.0.0',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 1,
        keyFiles: [keyFile],
      },
    );
    const tPublished = performance.now();
    await api.client.call('sendCommand', { params: { panelId: 'panel-bench' }, body: { kind: 'check-update' } });
    await until(async () => {
      const s = await summary();
      return s.online && s.firmwareVersion === '2.0.0';
    });
    const t1 = performance.now();
    console.log(
      `real PanelCore, check-update via backend → MQTT: bundle ${padded.size} bytes, publish ${(tPublished - t0).toFixed(0)} ms, ` +
        `published → backend sees 2.0.0 running ${(t1 - tPublished).toFixed(0)} ms`,
    );
  } finally {
    await cleanups.run();
  }
}

async function padDir(bytes: number): Promise<string> {
  const dir = join(tmp.dir, 'padding');
  await mkdir(dir, { recursive: true });
  const { randomBytes } = await import('node:crypto');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'assets.bin'), randomBytes(bytes));
  return dir;
}

const mainCleanups = new Cleanups();
const tmp = { dir: await makeTempDir(mainCleanups, 'airpanel-ota-bench-') };
try {
  // 1. The real app bundle, if the Electron host has been built.
  let realSize: number | null = null;
  if (existsSync(join(repo, 'dist', 'app', 'main.js'))) {
    const inputs = [{ dir: join(repo, 'dist', 'app'), as: '.' }];
    const real = await buildBundle({
      inputs,
      version: '0.0.1',
      main: 'main.js',
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      outFile: join(tmp.dir, 'real.tar.gz'),
      nodeModules: { projectDir: repo, packages: 'auto' },
    });
    realSize = real.size;
    console.log(
      `real app bundle (dist/app + its npm runtime deps): ${real.descriptor.files.length} files, ${real.size} bytes (${(real.size / 1048576).toFixed(2)} MiB)`,
    );
  } else {
    console.log('real app bundle: dist/app not built (npm run build:electron); using a 3 MiB padded stub');
  }
  const padding = realSize ?? 3 * 1048576;

  const feed = await startFeed(join(tmp.dir, 'backend'), mainCleanups);
  const proxy = await startBundleProxy(feed.url);
  const key = generateReleaseKey();
  const keyFile = await writeKeyFile(join(tmp.dir, 'k.key'), key);
  const keyring = join(tmp.dir, 'keyring.json');
  await writeKeyring(keyring, [key]);
  const factory = await stubBundle(tmp.dir, '1.0.0', 'healthy');
  const factoryDir = join(tmp.dir, 'factory');
  await extractBundle(factory.file, factoryDir, '1.0.0');

  async function run(mode: 'command' | 'schedule', version: string): Promise<void> {
    const dataDir = join(tmp.dir, `panel-${mode}`);
    await mkdir(dataDir);
    const panel = new SupervisedStubPanel(
      dataDir,
      factoryDir,
      tmp.dir,
      {
        manifestUrl: endpointUrl(proxy.url, endpoints.getChannelManifest, { channel: mode }),
        reportUrl: endpointUrl(proxy.url, endpoints.reportUpdate, { panelId: 'panel-bench' }),
        keyring,
        panelId: 'panel-bench',
        channel: mode,
        ...(mode === 'schedule' ? { checkMs: scheduleMs } : {}),
      },
      30_000,
    );
    panel.start();
    try {
      await panel.waitRunning('1.0.0', 30_000);
      const b = await stubBundle(tmp.dir, version, 'healthy', padding);
      proxy.reset();
      const t0 = performance.now();
      await ops.publish(feed.client, {
        bundleFile: b.file,
        channel: mode,
        version,
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 1,
        keyFiles: [keyFile],
      });
      const tPublished = performance.now();
      if (mode === 'command') console.log(`  check-update → ${await panel.checkUpdate()}`);
      await panel.waitRunning(version, 120_000);
      const t1 = performance.now();
      console.log(
        `${mode === 'command' ? 'by command push' : `by schedule (every ${scheduleMs} ms ± 20%)`}: bundle ${b.size} bytes, downloaded ${proxy.bundleBytes()} bytes, ` +
          `publish (upload + sign) ${(tPublished - t0).toFixed(0)} ms, published → new version running ${(t1 - tPublished).toFixed(0)} ms`,
      );
    } finally {
      await panel.stop();
    }
  }
  await run('command', '2.0.0');
  await run('schedule', '2.0.0');
  await proxy.close();
  await feed.close();
  await runWithCore(padding);
  console.log(
    'NOTE: the first two runs use the stub test app, the last the real PanelCore in a test-app bundle;\n' +
      '      all under the real loader, none in Electron (no Electron binary here).',
  );
} finally {
  await mainCleanups.run();
}
