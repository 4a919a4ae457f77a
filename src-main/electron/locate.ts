import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where the Electron binary is, without loading the `electron` package: its index.js tries
 * to download the binary when it is missing, which must never happen on these machines.
 * Honours ELECTRON_OVERRIDE_DIST_PATH like the package does. Used by `npm start` and the
 * Electron end-to-end test to decide whether Electron can run here, and to say why not.
 */
export function locateElectron(from: string = import.meta.url): { path: string } | { reason: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(from).resolve('electron/package.json'));
  } catch {
    return { reason: 'the electron npm package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const exe = join(override, relative ?? 'electron');
    return existsSync(exe) ? { path: exe } : { reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${exe} does not exist` };
  }
  if (!relative) {
    return {
      reason: `the Electron binary was never downloaded (${pathFile} missing: no network to its CDN here, or ELECTRON_SKIP_BINARY_DOWNLOAD); set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron 45 to use one`,
    };
  }
  const exe = join(pkgDir, 'dist', relative);
  return existsSync(exe) ? { path: exe } : { reason: `the Electron binary ${exe} is missing` };
}
