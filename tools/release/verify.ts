import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import got from 'got';
import { endpoints, endpointUrl, serverRootOf } from '@airpanel/contract/api';
import { canonicalJson, ReleaseManifest, SignedManifestEnvelope, type MinRuntime } from '@airpanel/contract/release';
import { Ed25519Verifier, publicEntryOf, TrustedKeysFile } from '@airpanel/panel/update/keys';
import { SchemaOneManifest } from './ledger.js';

/**
 * What the release tool checks before it re-signs anything the backend stores: the stored
 * manifest must carry a valid signature by a key the release manager trusts, and the bundle
 * the feed serves must hash to the signed sha512. The backend is not trusted: it stores and
 * serves, and anything it says is checked here as a panel would check it.
 */

/** The public halves of the signing keys, plus an optional keyring file (e.g. the image's). */
export async function releaseVerifier(keyFiles: readonly string[], keyringFile?: string): Promise<Ed25519Verifier> {
  const entries = await Promise.all(keyFiles.map(async (f) => publicEntryOf(await readFile(f, 'utf8'))));
  if (keyringFile) entries.push(...TrustedKeysFile.parse(JSON.parse(await readFile(keyringFile, 'utf8'))).keys);
  if (entries.length === 0) throw new Error('no keys to check signatures with: give --key (or --keyring)');
  const unique = [...new Map(entries.map((e) => [e.keyId, e])).values()];
  return new Ed25519Verifier(unique);
}

/**
 * The manifest of a stored envelope, if a trusted key signed its canonical bytes; throws
 * otherwise. A validly signed schema-1 manifest (signed before schema 2) comes back as
 * `schemaOne`: its counter is genuine, but it cannot be re-signed.
 */
export function verifiedStoredManifest(
  raw: unknown,
  verifier: Ed25519Verifier,
  what: string,
): { manifest: ReleaseManifest } | { schemaOne: SchemaOneManifest } {
  const env = SignedManifestEnvelope.safeParse(raw);
  if (!env.success) throw new Error(`${what}: not a signed manifest`);
  const message = canonicalJson(env.data.manifest);
  const ok = env.data.signatures.some((s) => verifier.isTrusted(s.keyId) && verifier.verify(s.keyId, message, s.signature));
  if (!ok)
    throw new Error(
      `${what}: no valid signature by a trusted key: the backend's copy was altered (or signed by a key you do not hold); nothing re-signed`,
    );
  const m = ReleaseManifest.safeParse(env.data.manifest);
  if (m.success) return { manifest: m.data };
  const old = SchemaOneManifest.safeParse(env.data.manifest);
  if (old.success) return { schemaOne: old.data };
  throw new Error(`${what}: signed, but not a valid manifest`);
}

function sameMinRuntime(a: MinRuntime, b: MinRuntime): boolean {
  return a.electron === b.electron && a.node === b.node;
}

/** Two manifests name the same release: version, bundle (URL, sha512, size, bundle.json) and minimum runtime. */
export function sameRelease(a: ReleaseManifest, b: ReleaseManifest): boolean {
  return (
    a.version === b.version &&
    sameMinRuntime(a.minRuntime, b.minRuntime) &&
    a.bundle.url === b.bundle.url &&
    a.bundle.sha512 === b.bundle.sha512 &&
    a.bundle.size === b.bundle.size &&
    a.bundleDescriptorSha256 === b.bundleDescriptorSha256
  );
}

/**
 * Downloads the bundle a manifest names, as a panel would resolve its URL (relative to the
 * channel's manifest URL), reading at most `size` + 1 bytes, and checks size and sha512.
 * No credentials are sent: bundles are public, and the URL may name another host.
 */
export async function checkServedBundle(server: string, m: ReleaseManifest, timeoutMs = 120_000): Promise<void> {
  const manifestUrl = endpointUrl(serverRootOf(server), endpoints.getChannelManifest, { channel: m.channel });
  const url = new URL(m.bundle.url, manifestUrl).toString();
  const hash = createHash('sha512');
  let size = 0;
  const stream = got.stream(url, { retry: { limit: 0 }, timeout: { request: timeoutMs }, decompress: false });
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > m.bundle.size) throw new Error(`the feed serves more than the ${m.bundle.size} bytes signed for ${m.version} (${url})`);
      hash.update(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  if (size !== m.bundle.size) throw new Error(`the feed serves ${size} bytes for ${m.version}, ${m.bundle.size} were signed (${url})`);
  if (hash.digest('base64') !== m.bundle.sha512)
    throw new Error(`the bundle the feed serves for ${m.version} does not match the signed sha512 (${url}); nothing re-signed`);
}
