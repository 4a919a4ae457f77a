import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

/**
 * Where the image's Electron runtime finds everything it may start. The file sits beside the
 * runtime app (`/opt/airpanel/resources/app/runtime.json`, read-only root) and is written when
 * the runtime app is built: no command-line switch and no environment variable can point the
 * runtime at another data dir, factory bundle or keyring. That is what makes the binary unable
 * to run code the launch-time verifier did not accept, whoever starts it.
 */
export const RUNTIME_CONFIG_FILE = 'runtime.json';
const MAX_CONFIG_BYTES = 64 * 1024;

const AbsolutePath = z.string().min(2).max(4096).refine(isAbsolute, 'an absolute path');

export const RuntimeConfig = z.strictObject({
  /** The writable data dir: installed releases under `releases/<version>/`, never trusted unverified. */
  dataDir: AbsolutePath,
  /** The factory bundle (a bundle dir with bundle.json) in the read-only root: trusted as is. */
  factoryDir: AbsolutePath,
  /** The release keyring in the read-only root (`{ keys: [{ keyId, publicKey }] }`). */
  keyring: AbsolutePath,
  /** The runtime binary itself: the loader role starts the app role with it. */
  runtime: AbsolutePath,
});
export type RuntimeConfig = z.infer<typeof RuntimeConfig>;

/** The paths package airpanel installs (buildroot/package/airpanel/airpanel.mk). */
export const IMAGE_RUNTIME_CONFIG: RuntimeConfig = {
  dataDir: '/data/airpanel',
  factoryDir: '/usr/lib/airpanel/factory',
  keyring: '/usr/lib/airpanel/release-keys.json',
  runtime: '/opt/airpanel/airpanel',
};

export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

/** Reads and checks `<appDir>/runtime.json`; throws RuntimeConfigError. */
export function readRuntimeConfig(appDir: string): RuntimeConfig {
  const file = join(appDir, RUNTIME_CONFIG_FILE);
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
    return RuntimeConfig.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    const detail = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (e as Error).message;
    throw new RuntimeConfigError(`${file}: ${detail}`);
  }
}
