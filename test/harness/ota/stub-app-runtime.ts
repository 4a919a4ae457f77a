/**
 * The runtime of the stub TEST APP (not the real panel app): each stub bundle's tiny
 * `app/main.mjs` imports this (path in AIRPANEL_STUB_RUNTIME) and picks a behaviour:
 *   healthy: runs the real OtaUpdater (jittered schedule + a `check-update` command over a
 *            local HTTP control port), then reports healthy to the loader;
 *   crash:   exits with code 3 before reporting healthy;
 *   hang:    never reports healthy.
 * It writes `<data>/stub-app.json` ({ version, launch, port, pid }) so a test sees what runs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Ed25519Verifier,
  GotOtaHttpClient,
  launchInfoFromEnv,
  OtaUpdater,
  reportHealthyToLoader,
  type LaunchKind,
} from '@airpanel/panel/core/update/index';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { unrefScheduler } from '@airpanel/panel/core/clock';

export async function runStubApp(behaviour: 'healthy' | 'crash' | 'hang'): Promise<void> {
  const env = process.env;
  const dataDir = env.AIRPANEL_DATA_DIR!;
  const { version, launch } = launchInfoFromEnv();
  const statusFile = join(dataDir, 'stub-app.json');
  if (behaviour === 'crash') {
    setTimeout(() => process.exit(3), 50);
    return;
  }
  if (behaviour === 'hang') {
    await writeFileAtomic(statusFile, JSON.stringify({ version, launch, port: null, pid: process.pid, behaviour }));
    setInterval(() => undefined, 1000);
    return;
  }
  const verifier = Ed25519Verifier.fromFile(JSON.parse(await readFile(env.AIRPANEL_STUB_KEYRING!, 'utf8')));
  const updater = new OtaUpdater({
    dataDir,
    manifestUrl: env.AIRPANEL_STUB_MANIFEST_URL!,
    reportUrl: env.AIRPANEL_STUB_REPORT_URL ?? null,
    panelId: env.AIRPANEL_STUB_PANEL_ID ?? 'panel-stub',
    channel: env.AIRPANEL_STUB_CHANNEL ?? 'stable',
    runtimeHost: 'electron',
    runtimeVersion: '45.4.1',
    runningVersion: version ?? '0.0.0',
    launchKind: launch as LaunchKind,
    buildTimeMs: 0,
    verifier,
    http: new GotOtaHttpClient({ timeoutMs: 5000 }),
    wallClock: { now: () => Date.now() },
    scheduler: unrefScheduler,
    random: Math.random,
    checkIntervalMs: Number(env.AIRPANEL_STUB_CHECK_MS ?? 3_600_000),
    jitter: 0.2,
    // On a panel: HostActions.restartApp(). Here: exit; the loader starts the candidate.
    requestRestart: async () => {
      setTimeout(() => process.exit(0), 10);
    },
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/check-update') {
      updater.checkNow().then(
        (r) => res.writeHead(200).end(r),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else if (req.url === '/report') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ report: updater.getReport(), bytesDownloaded: updater.bytesDownloaded }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  await updater.start();
  await writeFileAtomic(
    statusFile,
    JSON.stringify({ version, launch, port: (server.address() as AddressInfo).port, pid: process.pid, behaviour }),
  );
  // "First frame rendered and core running": the stub has nothing more to start.
  reportHealthyToLoader();
  setInterval(() => undefined, 1000);
}
