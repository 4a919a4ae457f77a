import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SignatureVerifier } from '@airpanel/contract/release';
import { ReleaseNameLauncher } from '../launcher.js';
import { BundleLoader, livenessFromWatchdog } from '../loader.js';
import type { RuntimeConfig } from './config.js';

/**
 * The loader role of the image's Electron runtime: what airpanel.service starts inside cage
 * (`/opt/airpanel/airpanel --airpanel-role=loader <loader options> -- <runtime args>`). The
 * same BundleLoader as the Node host's `loader/main.js`, on the paths of runtime.json, starting
 * each release as `<runtime> --airpanel-release=<name> <runtime args>` (ReleaseNameLauncher).
 * It runs in normal Electron mode (the RunAsNode fuse is off) and opens no window.
 */

export class LoaderUsageError extends Error {
  override readonly name = 'LoaderUsageError';
}

/** The unit's loader arguments, parsed (parseLoaderArgs). */
export interface LoaderArgs {
  healthDeadlineMs: number;
  maxAttempts: number;
  crashLimit: number;
  crashWindowMs: number;
  /** After `--`: what every release start gets (Chromium switches such as --ozone-platform=wayland). */
  runtimeArgs: string[];
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new LoaderUsageError(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

/**
 * The unit's loader options (one unit for both hosts, so the same words as loader/main.ts).
 * Paths are fixed by runtime.json: `--data-dir`, `--factory-dir`, `--runtime`, `--keyring`
 * are accepted only when they name the same path, so a unit and an image cannot disagree
 * silently about what the runtime starts.
 */
export function parseLoaderArgs(args: readonly string[], config: RuntimeConfig): LoaderArgs {
  const sep = args.indexOf('--');
  const own = sep === -1 ? [...args] : args.slice(0, sep);
  const runtimeArgs = sep === -1 ? [] : args.slice(sep + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string', default: 'electron' },
        'data-dir': { type: 'string' },
        'factory-dir': { type: 'string' },
        runtime: { type: 'string' },
        keyring: { type: 'string' },
        'health-deadline-ms': { type: 'string', default: '60000' },
        'max-attempts': { type: 'string', default: '2' },
        'crash-limit': { type: 'string', default: '3' },
        'crash-window-ms': { type: 'string', default: String(10 * 60_000) },
      },
    }));
  } catch (e) {
    throw new LoaderUsageError((e as Error).message);
  }
  if (values.host !== 'electron')
    throw new LoaderUsageError(
      `the Electron runtime is the electron host, not ${JSON.stringify(values.host)} (the node host runs loader/main.js on Node)`,
    );
  const fixed: [string | undefined, string, string][] = [
    [values['data-dir'], 'data-dir', config.dataDir],
    [values['factory-dir'], 'factory-dir', config.factoryDir],
    [values.runtime, 'runtime', config.runtime],
    [values.keyring, 'keyring', config.keyring],
  ];
  for (const [given, name, path] of fixed) {
    if (given !== undefined && given !== path)
      throw new LoaderUsageError(`--${name} ${given}: this runtime's ${name} is ${path}, fixed in its runtime.json (read-only root)`);
  }
  return {
    healthDeadlineMs: positiveInteger('health-deadline-ms', values['health-deadline-ms']),
    maxAttempts: positiveInteger('max-attempts', values['max-attempts']),
    crashLimit: positiveInteger('crash-limit', values['crash-limit']),
    crashWindowMs: positiveInteger('crash-window-ms', values['crash-window-ms']),
    runtimeArgs,
  };
}

/** The part of Electron's `app` the loader role uses (the `electron` module's, or a test's stand-in). */
export interface LoaderRoleElectronApp {
  disableHardwareAcceleration(): void;
  setPath(name: 'userData' | 'sessionData', path: string): void;
  on(event: 'will-quit', listener: () => void): unknown;
}

export interface LoaderRoleOptions {
  app: LoaderRoleElectronApp;
  verifier: SignatureVerifier;
  /** This runtime's version (process.versions.electron), checked against a release's minimum. */
  runtimeVersion: string | null;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** Starts supervising; resolves when the loader has stopped (SIGTERM, SIGINT or Electron quitting). */
export async function runLoaderRole(config: RuntimeConfig, args: LoaderArgs, options: LoaderRoleOptions): Promise<void> {
  // The loader draws nothing: no GPU process for it. And a Chromium profile of its own (on the
  // unit's tmpfs), so two browser processes never share the app's profile on /data.
  options.app.disableHardwareAcceleration();
  const profile = join(options.env.XDG_RUNTIME_DIR ?? tmpdir(), 'loader-profile');
  options.app.setPath('userData', profile);
  options.app.setPath('sessionData', profile);
  const loader = new BundleLoader({
    dataDir: config.dataDir,
    factoryDir: config.factoryDir,
    launcher: new ReleaseNameLauncher(config.runtime, args.runtimeArgs),
    host: 'electron',
    verifier: options.verifier,
    runtimeVersion: options.runtimeVersion,
    healthDeadlineMs: args.healthDeadlineMs,
    maxAttempts: args.maxAttempts,
    crashLimit: args.crashLimit,
    crashWindowMs: args.crashWindowMs,
    livenessMs: livenessFromWatchdog(options.env.WATCHDOG_USEC),
    log: options.log,
  });
  const stop = () => loader.stop();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, stop);
  // Electron quits on SIGTERM by itself too; the release's process group goes with it.
  options.app.on('will-quit', stop);
  await loader.run();
}
