/**
 * OTA benchmark: bundle size, bytes downloaded, and time from publish to the panel running
 * the new version, by command push and by schedule.
 *
 *   npx tsx test/bench/ota-bench.ts [--schedule-ms 3000]
 *
 * The panel runs the STUB TEST APP (test/ota-support/stub-app-runtime.ts) under the real
 * loader, against the real release feed and release operations: the real panel app (PanelCore
 * in Electron) is not wired to the updater yet. The stub bundle is padded to the size of the
 * real app bundle (built from dist/app when present) so the bytes moved are realistic.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle, extractBundle } from '../../src-main/core/update/index.js';
import * as ops from '../../tools/release/ops.js';
import { generateReleaseKey, startFeed, tempDir, writeKeyFile, writeKeyring } from '../ota-support/feed.js';
import { stubBundle } from '../ota-support/stub-app.js';
import { SupervisedStubPanel } from '../ota-support/supervised.js';

const { values } = parseArgs({ options: { 'schedule-ms': { type: 'string', default: '3000' } } });
const scheduleMs = Number(values['schedule-ms']);
const repo = join(import.meta.dirname, '..', '..');

async function countingProxy(upstream: string) {
  let bundleBytes = 0;
  const server = http.createServer((req, res) => {
    const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (req.url?.includes('/update/bundles/')) ur.on('data', (c: Buffer) => (bundleBytes += c.length));
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bundleBytes,
    reset: () => (bundleBytes = 0),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const tmp = await tempDir('ota-bench');
try {
  // 1. The real app bundle, if the Electron host has been built.
  let realSize: number | null = null;
  if (existsSync(join(repo, 'dist', 'app', 'main.js'))) {
    const inputs = [{ dir: join(repo, 'dist', 'app'), as: '.' }];
    const real = await buildBundle({ inputs, version: '0.0.1', main: 'main.js', minRuntimeVersion: '45.0.0', outFile: join(tmp.dir, 'real.tar.gz'), nodeModules: { projectDir: repo, packages: 'auto' } });
    realSize = real.size;
    console.log(`real app bundle (dist/app + its npm runtime deps): ${real.descriptor.files.length} files, ${real.size} bytes (${(real.size / 1048576).toFixed(2)} MiB)`);
  } else {
    console.log('real app bundle: dist/app not built (npm run build:electron); using a 3 MiB padded stub');
  }
  const padding = realSize ?? 3 * 1048576;

  const feed = await startFeed(join(tmp.dir, 'backend'));
  const proxy = await countingProxy(feed.url);
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
    const panel = new SupervisedStubPanel(dataDir, factoryDir, tmp.dir, {
      manifestUrl: `${proxy.url}/api/v1/update/channels/${mode}/manifest`,
      reportUrl: `${proxy.url}/api/v1/update/panels/panel-bench/report`,
      keyring, panelId: 'panel-bench', channel: mode, ...(mode === 'schedule' ? { checkMs: scheduleMs } : {}),
    }, 30_000);
    panel.start();
    try {
      await panel.waitRunning('1.0.0', 30_000);
      const b = await stubBundle(tmp.dir, version, 'healthy', padding);
      proxy.reset();
      const t0 = performance.now();
      await ops.publish(feed.client, { bundleFile: b.file, channel: mode, version, minRuntimeVersion: '45.0.0', rolloutShare: 1, keyFiles: [keyFile] });
      const tPublished = performance.now();
      if (mode === 'command') console.log(`  check-update → ${await panel.checkUpdate()}`);
      await panel.waitRunning(version, 120_000);
      const t1 = performance.now();
      console.log(`${mode === 'command' ? 'by command push' : `by schedule (every ${scheduleMs} ms ± 20%)`}: bundle ${b.size} bytes, downloaded ${proxy.bytes()} bytes, ` +
        `publish (upload + sign) ${(tPublished - t0).toFixed(0)} ms, published → new version running ${(t1 - tPublished).toFixed(0)} ms`);
    } finally {
      await panel.stop();
    }
  }
  await run('command', '2.0.0');
  await run('schedule', '2.0.0');
  console.log('NOTE: the panel app here is the stub test app under the real loader (the real PanelCore/Electron app is not wired to the updater yet).');
  await proxy.close();
  await feed.close();
} finally {
  await tmp.cleanup();
}
