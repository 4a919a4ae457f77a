/**
 * The app of the image's Electron runtime (`/opt/airpanel/resources/app/main.mjs`, built by
 * ../build.ts into one file; the packaged Electron always runs resources/app, whatever script
 * its command line names). It is part of the read-only root and never changes with an OTA
 * bundle. Two roles, chosen on the command line (roles.ts):
 *  - `--airpanel-role=loader`: the supervisor airpanel.service starts (loader-role.ts).
 *  - `--airpanel-release=<version>|factory`: resolve the release under runtime.json's paths,
 *    verify it (release-check.ts), then import its main (release-role.ts).
 * Nothing else: no path from the command line or the environment is ever imported.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRuntimeConfig, type RuntimeConfig } from './config.js';
import { LoaderUsageError, parseLoaderArgs, runLoaderRole, type LoaderRoleElectronApp } from './loader-role.js';
import { launchTimeVerifier, readKeyring } from './release-check.js';
import { startRelease } from './release-role.js';
import { roleOf } from './roles.js';

function fail(message: string, code = 1): never {
  console.error(`airpanel runtime: ${message}`);
  process.exit(code);
}

const log = (line: string) => console.log(line);
const role = roleOf(process.argv.slice(1));
if (role.kind === 'refused') fail(role.reason);
let config: RuntimeConfig;
try {
  config = readRuntimeConfig(dirname(fileURLToPath(import.meta.url)));
} catch (e) {
  fail((e as Error).message);
}
const runtimeVersion = process.versions.electron ?? null;
const verifier = readKeyring(config.keyring, log);

if (role.kind === 'release') {
  const name = role.release === 'factory' ? 'factory' : role.release.version;
  try {
    // Awaited at the top level: Electron emits `ready` only after this module is evaluated.
    await startRelease(role.release, config, {
      verifier: launchTimeVerifier(verifier, runtimeVersion),
      env: process.env,
      importModule: (url) => import(/* @vite-ignore */ url),
    });
  } catch (e) {
    fail(`release ${name} not started: ${(e as Error).message}`);
  }
} else {
  let args;
  try {
    args = parseLoaderArgs(role.args, config);
  } catch (e) {
    fail((e as Error).message, e instanceof LoaderUsageError ? 2 : 1);
  }
  const { app } = (await import('electron')) as unknown as { app: LoaderRoleElectronApp };
  // Not awaited: the loader supervises for as long as the unit runs; Electron may go on to `ready`.
  runLoaderRole(config, args, { app, verifier, runtimeVersion, env: process.env, log }).then(
    () => process.exit(0),
    (e: unknown) => fail(`loader stopped: ${(e as Error).stack ?? String(e)}`),
  );
}
