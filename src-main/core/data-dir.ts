import { join } from 'node:path';

/** Where a panel keeps its state; the same tree lives under a chosen dir on a developer machine. */
export const PANEL_DEFAULT_DATA_DIR = '/data/airpanel';
export const DATA_DIR_ENV = 'AIRPANEL_DATA_DIR';

/**
 * The data dir: an explicit flag wins, then `AIRPANEL_DATA_DIR`, then the panel default.
 * Empty strings count as unset (a blank env var must not mean the current directory).
 */
export function resolveDataDir(input: { flag?: string | undefined; env?: NodeJS.ProcessEnv } = {}): string {
  const env = input.env ?? process.env;
  if (input.flag && input.flag.trim() !== '') return input.flag;
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return PANEL_DEFAULT_DATA_DIR;
}

/** The files of a data dir (see src-main/core/README.md). */
export function dataDirPaths(dataDir: string) {
  const cacheDir = join(dataDir, 'cache');
  return {
    config: join(dataDir, 'panel.json'),
    cacheDir,
    displayCache: join(cacheDir, 'display.json'),
    revisionHighWater: join(cacheDir, 'revision.json'),
    logsDir: join(dataDir, 'logs'),
  };
}
