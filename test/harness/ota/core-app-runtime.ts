/**
 * A TEST APP bundle runtime with the REAL panel core (PanelCore: MQTT, commands, status) and
 * the real OtaUpdater as its `check-update` hook — everything of the panel app but Electron
 * and the renderer. The health report is the hosts' own LoaderHealthGate (content painted
 * AND the backend reached); with no renderer, this runtime reports a content frame as
 * painted whenever the core's view holds content, as the renderer would.
 * Behaviours: healthy, crash, hang as in stub-app-runtime.ts; `breaks-network`: a release
 * whose networking is broken (it builds its backend URLs wrong): it shows the cached content
 * but never reaches the backend.
 */
import { readFile } from 'node:fs/promises';
import got from 'got';
import { connect } from 'mqtt';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { PanelCore } from '@airpanel/panel/core/panel-core';
import { unrefScheduler } from '@airpanel/panel/core/clock';
import {
  Ed25519Verifier,
  GotOtaHttpClient,
  launchInfoFromEnv,
  LoaderHealthGate,
  OtaUpdater,
  type LaunchKind,
} from '@airpanel/panel/core/update/index';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export type CoreAppBehaviour = 'healthy' | 'crash' | 'hang' | 'breaks-network';

export async function runCoreApp(behaviour: CoreAppBehaviour): Promise<void> {
  const env = process.env;
  const dataDir = env.AIRPANEL_DATA_DIR!;
  const { version, launch } = launchInfoFromEnv();
  if (behaviour === 'crash') {
    setTimeout(() => process.exit(3), 50);
    return;
  }
  const read = await loadPanelConfig(dataDir);
  if (!read.ok) throw new Error('panel.json missing');
  // Port 9 (discard) on loopback: nothing listens, every request fails at once.
  const loaded =
    behaviour === 'breaks-network'
      ? {
          ...read,
          config: {
            ...read.config,
            endpoints: { ...read.config.endpoints, apiBaseUrl: 'http://127.0.0.1:9/api/v1', mqttUrl: 'mqtt://127.0.0.1:9' },
          },
        }
      : read;
  const config = loaded.config;
  const api = config.endpoints.apiBaseUrl;
  const updater = new OtaUpdater({
    dataDir,
    manifestUrl: `${api}/update/channels/${config.updateChannel}/manifest`,
    reportUrl: `${api}/update/panels/${config.panelId}/report`,
    panelId: config.panelId,
    channel: config.updateChannel,
    runtimeHost: 'electron',
    runtimeVersion: '45.4.1',
    runningVersion: version ?? '0.0.0',
    launchKind: launch as LaunchKind,
    buildTimeMs: 0,
    verifier: Ed25519Verifier.fromFile(JSON.parse(await readFile(env.AIRPANEL_STUB_KEYRING!, 'utf8'))),
    http: new GotOtaHttpClient({ credentials: { origin: api, headers: { authorization: `Bearer ${config.apiKey}` } } }),
    wallClock: { now: () => Date.now() },
    scheduler: unrefScheduler,
    random: Math.random,
    requestRestart: async () => {
      setTimeout(() => void core.stop().finally(() => process.exit(0)), 20);
    },
  });
  const core: PanelCore = new PanelCore({
    dataDir,
    config: loaded,
    mqttConnect: connect,
    http: got,
    logger: quiet,
    firmwareVersion: version ?? '0.0.0',
    hostActions: { reloadRenderer: async () => undefined, restartApp: async () => process.exit(0), captureScreenshot: async () => null },
    updateChecker: updater,
    tuning: { heartbeatMs: 300 },
    healthGate: behaviour === 'hang' ? undefined : new LoaderHealthGate(),
  });
  // What the renderer does: report each content view as painted.
  core.onView((view) => {
    if (view.kind === 'content') core.framePresented({ kind: 'content', revision: view.document.revision });
  });
  await core.start();
  await updater.start();
  // The window keeps a real host alive; here the core's timers are unref'd, so hold the process.
  setInterval(() => undefined, 1000);
  const view = core.getView();
  if (view.kind === 'content') core.framePresented({ kind: 'content', revision: view.document.revision });
}
