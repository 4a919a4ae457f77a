import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkBundleDir } from '../../core/update/bundle-check.js';
import type { RuntimeConfig } from './config.js';
import type { InstalledReleaseVerifier } from './release-check.js';
import type { ReleaseName } from './roles.js';

/** A release the runtime may start: its directory, its Electron entry, its version. */
export interface ReleaseToStart {
  dir: string;
  entry: string;
  version: string;
}

/**
 * Finds and checks a release by name. `factory`: the bundle in the read-only root (trusted
 * like the runtime itself; bundle.json and the listed files must be there). A version: only
 * `<dataDir>/releases/<version>/`, and only what the launch-time verifier accepts.
 */
export async function resolveRelease(
  release: ReleaseName,
  config: RuntimeConfig,
  verifier: InstalledReleaseVerifier,
): Promise<ReleaseToStart> {
  if (release === 'factory') {
    const descriptor = await checkBundleDir(config.factoryDir, { hashes: false });
    return { dir: config.factoryDir, entry: join(config.factoryDir, descriptor.main), version: descriptor.version };
  }
  const { dir, descriptor } = await verifier.verify(config.dataDir, release.version);
  return { dir, entry: join(dir, descriptor.main), version: descriptor.version };
}

export interface StartReleaseOptions {
  verifier: InstalledReleaseVerifier;
  /** The environment the bundle reads (process.env). */
  env: NodeJS.ProcessEnv;
  /** Imports the entry (`import()`; a test passes a recorder). */
  importModule: (url: string) => Promise<unknown>;
}

/**
 * The release role: resolve and verify, tell the bundle who it is, then import its main and
 * wait for the import. Awaited all the way up to main.mjs's top level, because Electron emits
 * `ready` only once the entry module (top-level await included) has been evaluated: the
 * bundle's top-level `protocol.registerSchemesAsPrivileged` and `app.enableSandbox()`, which
 * Electron refuses after `ready`, run in time.
 */
export async function startRelease(release: ReleaseName, config: RuntimeConfig, options: StartReleaseOptions): Promise<ReleaseToStart> {
  const target = await resolveRelease(release, config, options.verifier);
  // What the bundle's health report and updater read (core/update/health.ts); the version is
  // the verified one, not what the caller claimed.
  options.env.AIRPANEL_BUNDLE_VERSION = target.version;
  options.env.AIRPANEL_DATA_DIR = config.dataDir;
  if (release === 'factory') options.env.AIRPANEL_LAUNCH = 'factory';
  delete options.env.AIRPANEL_BUNDLE_ENTRY;
  delete options.env.AIRPANEL_BUNDLE_DIR;
  await options.importModule(pathToFileURL(target.entry).href);
  return target;
}
