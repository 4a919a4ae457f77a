import { readFileSync } from 'node:fs';
import type { BundleDescriptor, SignatureVerifier } from '@airpanel/contract/release';
import { verifyInstalledRelease } from '../../core/update/bundle-check.js';
import { Ed25519Verifier } from '../../core/update/keys.js';

/**
 * The one seam between the runtime app and the launch-time verifier of installed releases
 * (`verifyInstalledRelease`, core/update/bundle-check.ts: signed manifest by the image's
 * keyring, exact file set, every sha256, no symlink on the path, minimum runtime). The
 * release role calls nothing else before it imports a bundle from the data dir.
 */
export interface InstalledReleaseVerifier {
  /** Resolves with the verified directory and its descriptor; rejects when the release is refused. */
  verify(dataDir: string, version: string): Promise<{ dir: string; descriptor: BundleDescriptor }>;
}

/** A keyring that trusts nothing: without the image's keyring no installed release verifies (factory only). */
const TRUSTS_NOTHING: SignatureVerifier = { isTrusted: () => false, verify: () => false };

/** The image's keyring; unreadable or invalid → trusts nothing (the factory bundle still runs). */
export function readKeyring(file: string, log: (line: string) => void): SignatureVerifier {
  try {
    return Ed25519Verifier.fromFile(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    log(`no usable release keyring at ${file} (${(e as Error).message}): only the factory bundle can run`);
    return TRUSTS_NOTHING;
  }
}

/**
 * The production verifier: the keyring of the read-only root, and this Electron's version
 * against the release's minimum for the electron host (null: not checked, as under a test's
 * stand-in runtime, which is no Electron).
 */
export function launchTimeVerifier(verifier: SignatureVerifier, electronVersion: string | null): InstalledReleaseVerifier {
  const runtime = electronVersion === null ? null : { host: 'electron' as const, version: electronVersion };
  return {
    verify: async (dataDir, version) => {
      const { dir, descriptor } = await verifyInstalledRelease(dataDir, version, { verifier, runtime });
      return { dir, descriptor };
    },
  };
}
