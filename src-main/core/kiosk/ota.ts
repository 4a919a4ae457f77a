import { existsSync, readFileSync } from 'node:fs';
import got from 'got';
import type { RuntimeHost } from '@airpanel/contract/release';
import type { ConfigLoadResult } from '../config.js';
import type { Logger } from '@airpanel/node-support/logger';
import {
  Ed25519Verifier,
  GotOtaHttpClient,
  IMAGE_RELEASE_FLOOR_FILE,
  launchInfoFromEnv,
  OtaUpdater,
  readImageReleaseFloor,
  type ImageReleaseFloor,
  type LaunchKind,
} from '../update/index.js';
import { systemWallClock, unrefScheduler } from '../clock.js';
import { apiRoot, bearer, updateManifestUrl, updateReportUrl } from '../backend-api.js';
import { PanelTransport } from '../transport/panel-transport.js';
import { TrustStore } from '../transport/trust-store.js';

/** Where the image installs the trusted release keys (override: AIRPANEL_RELEASE_KEYS). */
export const RELEASE_KEYS_FILE = '/usr/lib/airpanel/release-keys.json';
const LAUNCH_KINDS: readonly LaunchKind[] = ['trial', 'current', 'previous', 'factory', 'unsupervised'];

/**
 * The OTA updater for this panel (src-main/core/update), or null with the reason: no valid
 * panel.json, or no trusted release keys in the image (a developer machine). The channel is
 * panel.json's `updateChannel` (default `stable`); the bundle's build time is the floor of a
 * believable wall clock.
 */
export function createOtaUpdater(o: {
  dataDir: string;
  config: ConfigLoadResult;
  /** The kiosk host and its runtime's version: releases name a minimum runtime per host. */
  runtimeHost: RuntimeHost;
  runtimeVersion: string;
  appVersion: string;
  buildTimeMs: number;
  requestRestart: () => Promise<void>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}): { updater: OtaUpdater } | { reason: string } {
  const env = o.env ?? process.env;
  if (!o.config.ok) return { reason: `panel.json unusable (${o.config.code})` };
  const keysFile = env.AIRPANEL_RELEASE_KEYS || RELEASE_KEYS_FILE;
  if (!existsSync(keysFile)) return { reason: `no trusted release keys at ${keysFile}` };
  let verifier: Ed25519Verifier;
  try {
    verifier = Ed25519Verifier.fromFile(JSON.parse(readFileSync(keysFile, 'utf8')));
  } catch (err) {
    return { reason: `release keys at ${keysFile} unusable: ${String(err)}` };
  }
  // The image's counter floor and factory version (next to the keyring): a wiped panel never
  // takes a manifest below them. Override: AIRPANEL_RELEASE_FLOOR.
  let floor: ImageReleaseFloor | null;
  try {
    floor = readImageReleaseFloor(env.AIRPANEL_RELEASE_FLOOR || IMAGE_RELEASE_FLOOR_FILE);
  } catch (err) {
    return { reason: `release floor unusable: ${String(err)}` };
  }
  if (!floor) o.log.warn('ota: the image has no release floor; a wiped panel accepts any validly signed manifest');
  const { config } = o.config;
  const api = apiRoot(config.endpoints.apiBaseUrl);
  const launch = launchInfoFromEnv(env);
  const launchKind = (LAUNCH_KINDS as readonly string[]).includes(launch.launch) ? (launch.launch as LaunchKind) : 'unsupervised';
  const channel = config.updateChannel;
  return {
    updater: new OtaUpdater({
      dataDir: o.dataDir,
      manifestUrl: updateManifestUrl(api, channel),
      reportUrl: updateReportUrl(api, config.panelId),
      panelId: config.panelId,
      channel,
      runtimeHost: o.runtimeHost,
      runtimeVersion: o.runtimeVersion,
      runningVersion: launch.version ?? o.appVersion,
      launchKind,
      buildTimeMs: o.buildTimeMs,
      ...(floor ? { counterFloor: floor.counterFloor, factoryVersion: floor.factoryVersion } : {}),
      verifier,
      // The API key goes to the backend's origin only, never to a bundle host.
      // Manifests and bundles over the same trust store as everything else the panel fetches.
      http: new GotOtaHttpClient({
        credentials: { origin: api, headers: { authorization: bearer(config.apiKey) } },
        got: new PanelTransport({ trust: o.config.trust ?? TrustStore.systemRoots, logger: o.log }).http(got),
      }),
      wallClock: systemWallClock,
      scheduler: unrefScheduler,
      random: Math.random,
      requestRestart: o.requestRestart,
      logger: o.log,
    }),
  };
}
