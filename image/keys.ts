/**
 * The two kinds of keys an image carries, and the development pairs made when none is given:
 *  - RAUC: the certificate the panel trusts for OS update bundles (/etc/rauc/keyring.pem) and
 *    the key + certificate that sign this build's bundle;
 *  - OTA releases: the keyring of Ed25519 public keys the app trusts for app bundles
 *    (/usr/lib/airpanel/release-keys.json).
 * Development keys live OUTSIDE dist/ and output/ (default ~/.config/airpanel/image-keys), so
 * cleaning a build never orphans panels that trust them; each generation is announced loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Runner } from './run.js';

export interface RaucKeys {
  key: string;
  cert: string;
  /** What the panel trusts; the signing certificate unless a chain is given. */
  keyring: string;
  development: boolean;
}

export interface ReleaseKeys {
  /** The keyring file, or null for a development image with OTA off. */
  keyring: string | null;
  development: boolean;
}

export const defaultKeysDir = (): string => join(homedir(), '.config', 'airpanel', 'image-keys');

function loud(lines: string[]): void {
  const bar = '!'.repeat(78);
  console.warn([bar, ...lines.map((l) => `!! ${l}`), bar].join('\n'));
}

/** The RAUC signing pair: given on the command line, or the development pair in keysDir. */
export async function raucKeys(o: { key?: string; cert?: string; keyring?: string; keysDir: string; run: Runner }): Promise<RaucKeys> {
  if (o.key !== undefined || o.cert !== undefined) {
    if (o.key === undefined || o.cert === undefined) throw new Error('--rauc-key and --rauc-cert go together');
    for (const f of [o.key, o.cert, o.keyring ?? o.cert]) if (!existsSync(f)) throw new Error(`no such file: ${f}`);
    return { key: o.key, cert: o.cert, keyring: o.keyring ?? o.cert, development: false };
  }
  const key = join(o.keysDir, 'rauc-dev.key.pem');
  const cert = join(o.keysDir, 'rauc-dev.cert.pem');
  if (!existsSync(key) || !existsSync(cert)) {
    await mkdir(o.keysDir, { recursive: true, mode: 0o700 });
    await o.run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:3072',
        '-nodes',
        '-days',
        '3650',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/O=Airpanel development/CN=airpanel-dev-update-signing',
        '-addext',
        'keyUsage=digitalSignature',
        '-addext',
        'extendedKeyUsage=codeSigning',
      ],
      { quiet: true },
    );
    loud([
      `GENERATED a DEVELOPMENT RAUC signing key: ${key}`,
      'Panels built now trust it for OS updates. Never ship such an image: pass --rauc-key/--rauc-cert.',
      `Keep ${o.keysDir}: without it these panels can never take an OS update again.`,
    ]);
  } else {
    loud([`Using the DEVELOPMENT RAUC signing key ${key} (not for production).`]);
  }
  return { key, cert, keyring: o.keyring ?? cert, development: true };
}

const Keyring = z.object({ keys: z.array(z.object({ keyId: z.string(), publicKey: z.string() })).min(1) });

/** The OTA release keyring: a file, "none" (OTA off), or the development key in keysDir. */
export async function releaseKeys(o: { keyring?: string; keysDir: string; repo: string; run: Runner }): Promise<ReleaseKeys> {
  if (o.keyring === 'none') {
    loud(['--release-keyring none: a DEVELOPMENT image without OTA release keys (the app logs "OTA updates off").']);
    return { keyring: null, development: true };
  }
  if (o.keyring !== undefined) {
    const parsed = Keyring.safeParse(JSON.parse(readFileSync(o.keyring, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${o.keyring} is not a release keyring ({ "keys": [{ "keyId", "publicKey" }] }; tools/release/cli.ts keygen --keyring)`,
      );
    return { keyring: o.keyring, development: false };
  }
  const keyring = join(o.keysDir, 'release-keyring.json');
  if (!existsSync(keyring)) {
    await mkdir(o.keysDir, { recursive: true, mode: 0o700 });
    await o.run(
      'npx',
      [
        '--no-install',
        'tsx',
        'tools/release/cli.ts',
        'keygen',
        '--out',
        join(o.keysDir, 'release-dev'),
        '--keyring',
        keyring,
        '--comment',
        'airpanel development release key',
      ],
      { cwd: o.repo, quiet: true },
    );
    loud([
      `GENERATED a DEVELOPMENT OTA release key: ${join(o.keysDir, 'release-dev.key')}`,
      `Panels built now trust it (${keyring}) for app releases. Never ship such an image: pass --release-keyring.`,
    ]);
  } else {
    loud([`Using the DEVELOPMENT OTA release keyring ${keyring} (private key release-dev.key beside it).`]);
  }
  return { keyring, development: true };
}
