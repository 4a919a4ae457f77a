import { createReadStream } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import got from 'got';
import { ReleaseManifest, type SignedManifestEnvelope } from '../../src-main/common/release/index.js';
import { generateReleaseKey, publicEntryOf, signManifest, TrustedKeysFile, type ReleaseKeyPair } from '../../src-main/core/update/keys.js';
import { buildBundle, hashFile, type BuiltBundle, type BundleInput } from '../../src-main/core/update/bundle.js';

/**
 * The release manager's operations, as functions (the CLI in cli.ts is a thin argument
 * parser over them; tests and the benchmark call them directly).
 */

export interface FeedClient {
  server: string;
  token: string;
}

function api(c: FeedClient, path: string): string {
  return `${c.server.replace(/\/+$/, '')}/api/v1${path}`;
}
function auth(c: FeedClient) {
  return { authorization: `Bearer ${c.token}` };
}

export async function keygen(outPrefix: string, keyringFile?: string, comment?: string): Promise<ReleaseKeyPair> {
  const k = generateReleaseKey();
  await writeFile(`${outPrefix}.key`, k.privateKeyPem, { mode: 0o600, flag: 'wx' });
  await chmod(`${outPrefix}.key`, 0o600);
  const entry = { keyId: k.keyId, publicKey: k.publicKey, ...(comment ? { comment } : {}) };
  await writeFile(`${outPrefix}.pub.json`, `${JSON.stringify(entry, null, 2)}\n`, { flag: 'wx' });
  if (keyringFile) await addToKeyring(keyringFile, entry);
  return k;
}

/** Adds a public key to a trusted-keys file (the one shipped in the image). */
export async function addToKeyring(keyringFile: string, entry: TrustedKeysFile['keys'][number]): Promise<TrustedKeysFile> {
  let ring: TrustedKeysFile = { keys: [] } as unknown as TrustedKeysFile;
  try {
    ring = TrustedKeysFile.parse(JSON.parse(await readFile(keyringFile, 'utf8')));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const keys = [...ring.keys.filter((k) => k.keyId !== entry.keyId), entry];
  const next = TrustedKeysFile.parse({ keys });
  await writeFile(keyringFile, `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

export async function bundle(o: { inputs: BundleInput[]; version: string; main: string; minRuntimeVersion: string; outFile: string; nodeModules?: { projectDir: string; packages: 'auto' | string[] } }): Promise<BuiltBundle> {
  return buildBundle(o);
}

export interface ManifestParams {
  version: string;
  channel: string;
  bundleUrl: string;
  sha512: string;
  size: number;
  minRuntimeVersion: string;
  counter: number;
  rolloutShare: number;
  /** Default: 30 days. */
  validForMs?: number;
  now?: Date;
}

export function makeManifest(p: ManifestParams): ReleaseManifest {
  const now = p.now ?? new Date();
  return ReleaseManifest.parse({
    schema: 1,
    version: p.version,
    channel: p.channel,
    bundle: { url: p.bundleUrl, sha512: p.sha512, size: p.size },
    minRuntimeVersion: p.minRuntimeVersion,
    counter: p.counter,
    releasedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + (p.validForMs ?? 30 * 86_400_000)).toISOString(),
    rolloutShare: p.rolloutShare,
  });
}

export async function signWithKeyFiles(manifest: ReleaseManifest, keyFiles: readonly string[]): Promise<SignedManifestEnvelope> {
  if (keyFiles.length === 0) throw new Error('at least one --key is needed');
  const pems = await Promise.all(keyFiles.map((f) => readFile(f, 'utf8')));
  return signManifest(manifest, pems);
}

export async function publicKeyOfFile(keyFile: string) {
  return publicEntryOf(await readFile(keyFile, 'utf8'));
}

export interface FeedListing {
  maxCounter: number;
  channels: Record<string, { activeCounter: number | null; paused: boolean; updatedAt: string }>;
  releases: Array<ReleaseManifest & { keyIds: string[]; publishedAt: string; active: boolean }>;
}

export async function list(c: FeedClient): Promise<FeedListing> {
  return got.get(api(c, '/releases'), { headers: auth(c) }).json<FeedListing>();
}

export async function listPanels(c: FeedClient): Promise<unknown> {
  return got.get(api(c, '/releases/panels'), { headers: auth(c) }).json();
}

/** Uploads a bundle (idempotent), reporting progress; returns the URL to put in the manifest. */
export async function uploadBundle(c: FeedClient, file: string, onProgress?: (sent: number, total: number) => void): Promise<{ url: string; sha512: string; size: number }> {
  const size = (await stat(file)).size;
  const sha512 = await hashFile(file, 'sha512', 'base64');
  const name = `${Buffer.from(sha512, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
  const res = await got
    .put(api(c, `/releases/bundles/${name}`), {
      headers: { ...auth(c), 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-bundle-sha512': sha512 },
      body: createReadStream(file),
    })
    .on('uploadProgress', (p) => onProgress?.(p.transferred, size))
    .json<{ url: string; size: number; sha512: string }>();
  return { url: res.url, sha512, size };
}

export async function postManifest(c: FeedClient, envelope: SignedManifestEnvelope): Promise<unknown> {
  return got.post(api(c, '/releases'), { headers: auth(c), json: envelope }).json();
}

export async function setPaused(c: FeedClient, channel: string, paused: boolean): Promise<unknown> {
  return got.post(api(c, `/releases/channels/${channel}/pause`), { headers: auth(c), json: { paused } }).json();
}

export interface PublishOptions {
  bundleFile: string;
  channel: string;
  version: string;
  minRuntimeVersion: string;
  rolloutShare: number;
  keyFiles: string[];
  validForMs?: number;
  onProgress?: (sent: number, total: number) => void;
}

/** Uploads the bundle, signs a manifest with the next counter, publishes it. */
export async function publish(c: FeedClient, o: PublishOptions): Promise<ReleaseManifest> {
  const up = await uploadBundle(c, o.bundleFile, o.onProgress);
  const { maxCounter } = await list(c);
  const manifest = makeManifest({
    version: o.version, channel: o.channel, bundleUrl: up.url, sha512: up.sha512, size: up.size,
    minRuntimeVersion: o.minRuntimeVersion, counter: maxCounter + 1, rolloutShare: o.rolloutShare, validForMs: o.validForMs,
  });
  await postManifest(c, await signWithKeyFiles(manifest, o.keyFiles));
  return manifest;
}

/** Re-signs a published release for a channel (same or another) with a new share: the rollout knob. */
export async function promote(c: FeedClient, o: { version: string; channel: string; fromChannel?: string; rolloutShare: number; keyFiles: string[]; validForMs?: number }): Promise<ReleaseManifest> {
  const feed = await list(c);
  const src = feed.releases
    .filter((r) => r.version === o.version && (o.fromChannel === undefined || r.channel === o.fromChannel))
    .sort((a, b) => b.counter - a.counter)[0];
  if (!src) throw new Error(`no published release ${o.version}${o.fromChannel ? ` on ${o.fromChannel}` : ''}`);
  const manifest = makeManifest({
    version: src.version, channel: o.channel, bundleUrl: src.bundle.url, sha512: src.bundle.sha512, size: src.bundle.size,
    minRuntimeVersion: src.minRuntimeVersion, counter: feed.maxCounter + 1, rolloutShare: o.rolloutShare, validForMs: o.validForMs,
  });
  await postManifest(c, await signWithKeyFiles(manifest, o.keyFiles));
  return manifest;
}

/**
 * Points a channel back at an earlier release: a new manifest (higher counter, so panels
 * accept it) for the old bundle. Default target: the last version served on the channel
 * before the current one.
 */
export async function rollback(c: FeedClient, o: { channel: string; to?: string; rolloutShare?: number; keyFiles: string[]; validForMs?: number }): Promise<ReleaseManifest> {
  const feed = await list(c);
  const onChannel = feed.releases.filter((r) => r.channel === o.channel).sort((a, b) => b.counter - a.counter);
  const active = onChannel.find((r) => r.active);
  if (!active) throw new Error(`channel ${o.channel} serves nothing`);
  const target = o.to !== undefined ? onChannel.find((r) => r.version === o.to) : onChannel.find((r) => r.version !== active.version && r.counter < active.counter);
  if (!target) throw new Error(o.to ? `version ${o.to} was never published on ${o.channel}` : `nothing to roll back to on ${o.channel}`);
  if (target.version === active.version) throw new Error(`${o.channel} already serves ${target.version}`);
  return promote(c, { version: target.version, channel: o.channel, fromChannel: o.channel, rolloutShare: o.rolloutShare ?? 1, keyFiles: o.keyFiles, validForMs: o.validForMs });
}
