import got from 'got';
import mqtt from 'mqtt';
import type { Logger } from '@airpanel/node-support/logger';
import { loadPanelConfig } from '../config.js';
import type { HostActions } from '../host.js';
import { PanelCore } from '../panel-core.js';
import { recordStart } from '../restart-reason.js';
import { LoaderHealthGate } from '../update/health.js';
import type { OtaUpdater } from '../update/index.js';
import { createOtaUpdater } from './ota.js';
import { StartUpContract } from './start-up-contract.js';
import { SystemdNotifier } from './systemd-notify.js';

export interface KioskCoreOptions {
  dataDir: string;
  /** The kiosk host and its runtime's version: releases name a minimum runtime per host. */
  runtimeHost: 'electron' | 'node';
  runtimeVersion: string;
  /** The running app bundle's version, reported as the firmware version. */
  appVersion: string;
  buildTimeMs: number;
  hostActions: HostActions;
  log: Logger;
  /** Called at each frame the window presents (the Node host's Chromium watch). */
  onFrame?: () => void;
}

export interface KioskCore {
  core: PanelCore;
  updater: OtaUpdater | null;
  notifier: SystemdNotifier;
  startUp: StartUpContract;
}

/**
 * The panel core as both kiosk hosts (Electron and the Debian image's Node host) run it on a
 * panel: panel.json from the data folder, the reason of this start, the OTA updater from the
 * image's keyring, production MQTT and HTTP clients, the loader's health gate, and systemd's
 * start-up contract (READY=1 at the first painted frame, then the watchdog). Not started.
 */
export async function createKioskCore(o: KioskCoreOptions): Promise<KioskCore> {
  const { dataDir, log } = o;
  const config = await loadPanelConfig(dataDir);
  // Why this start happened (power loss, watchdog, kill, restart command, OS update, fall-back…):
  // in every status this run publishes.
  const lastStart = await recordStart({ dataDir, env: process.env, wallClock: { now: () => Date.now() }, logger: log });
  const ota = createOtaUpdater({
    dataDir,
    config,
    runtimeHost: o.runtimeHost,
    runtimeVersion: o.runtimeVersion,
    appVersion: o.appVersion,
    buildTimeMs: o.buildTimeMs,
    requestRestart: () => o.hostActions.restartApp(),
    log,
  });
  const updater = 'updater' in ota ? ota.updater : null;
  if (!updater) log.warn('OTA updates off', { reason: 'reason' in ota ? ota.reason : '' });
  const core = new PanelCore({
    dataDir,
    config,
    updateChecker: updater ?? undefined,
    mqttConnect: (url, options) => mqtt.connect(url, options),
    http: got,
    hostActions: o.hostActions,
    logger: log,
    firmwareVersion: o.appVersion,
    lastStart,
    // The loader's health report: content painted AND the backend reached (core/update/health.ts).
    healthGate: new LoaderHealthGate({ logger: log }),
  });
  const notifier = new SystemdNotifier({ env: process.env, log });
  const startUp = new StartUpContract({
    core,
    stateName: () => core.state.name,
    notifier,
    log,
    ...(o.onFrame ? { onFrame: o.onFrame } : {}),
  });
  core.onView(() => void notifier.status(core.state.name));
  return { core, updater, notifier, startUp };
}
