/**
 * A TEST APP bundle runtime with the REAL panel core (PanelCore: MQTT, commands, status) and
 * the real OtaUpdater as its `check-update` hook — everything of the panel app but Electron
 * and the renderer (being built elsewhere). "Healthy" = the core runs and shows live content
 * (no renderer, so no first frame here). Behaviours as in stub-app-runtime.ts.
 */
import { readFile } from 'node:fs/promises';
import got from 'got';
import { connect } from 'mqtt';
import { loadPanelConfig } from '../../src-main/core/config.js';
import { PanelCore } from '../../src-main/core/panel-core.js';
import { unrefScheduler } from '../../src-main/core/clock.js';
import { Ed25519Verifier, GotOtaHttpClient, launchInfoFromEnv, OtaUpdater, reportHealthyToLoader, type LaunchKind } from '../../src-main/core/update/index.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export async function runCoreApp(behaviour: 'healthy' | 'crash' | 'hang'): Promise<void> {
  const env = process.env;
  const dataDir = env.AIRPANEL_DATA_DIR!;
  const { version, launch } = launchInfoFromEnv();
  if (behaviour === 'crash') {
    setTimeout(() => process.exit(3), 50);
    return;
  }
  const loaded = await loadPanelConfig(dataDir);
  if (!loaded.ok) throw new Error('panel.json missing');
  const config = loaded.config;
  const api = config.endpoints.apiBaseUrl;
  const updater = new OtaUpdater({
    dataDir,
    manifestUrl: `${api}/update/channels/${config.updateChannel}/manifest`,
    reportUrl: `${api}/update/panels/${config.panelId}/report`,
    panelId: config.panelId, channel: config.updateChannel, runtimeVersion: '45.4.1',
    runningVersion: version ?? '0.0.0', launchKind: launch as LaunchKind, buildTimeMs: 0,
    verifier: Ed25519Verifier.fromFile(JSON.parse(await readFile(env.AIRPANEL_STUB_KEYRING!, 'utf8'))),
    http: new GotOtaHttpClient({ credentials: { origin: api, headers: { authorization: `Bearer ${config.apiKey}` } } }),
    wallClock: { now: () => Date.now() }, scheduler: unrefScheduler, random: Math.random,
    requestRestart: async () => {
      setTimeout(() => void core.stop().finally(() => process.exit(0)), 20);
    },
  });
  const core: PanelCore = new PanelCore({
    dataDir, config: loaded, mqttConnect: connect, http: got, logger: quiet, firmwareVersion: version ?? '0.0.0',
    hostActions: { reloadRenderer: async () => undefined, restartApp: async () => process.exit(0), captureScreenshot: async () => null },
    updateChecker: updater,
    tuning: { heartbeatMs: 300 },
  });
  await core.start();
  await updater.start();
  if (behaviour === 'hang') return;
  const started = Date.now();
  const timer = setInterval(() => {
    if (core.state.name === 'live') {
      clearInterval(timer);
      reportHealthyToLoader();
    } else if (Date.now() - started > 30_000) clearInterval(timer);
  }, 20);
}
