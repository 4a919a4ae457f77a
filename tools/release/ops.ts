import { createReadStream } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { createApiClient, createFetchTransport, type ApiTransport, type BackendApiClient } from '@airpanel/contract/api';
import { MinRuntime, ReleaseManifest, type SignedManifestEnvelope } from '@airpanel/contract/release';
import { generateReleaseKey, publicEntryOf, signManifest, TrustedKeysFile, type ReleaseKeyPair } from '@airpanel/panel/update/keys';
import { buildBundle, hashFile, readBundleDescriptor, type BuiltBundle, type BundleInput } from '@airpanel/panel/update/bundle';
import { defaultLedgerFile, MAX_COUNTER_JUMP, ReleaseLedger } from './ledger.js';
import { checkServedBundle, releaseVerifier, sameRelease, verifiedStoredManifest } from './verify.js';
import type { Ed25519Verifier } from '@airpanel/panel/update/keys';
import { ImageReleaseFloor } from '@airpanel/panel/update/image-floor';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';

/**
 * The release manager's operations, as functions (the CLI in cli.ts is a thin argument
 * parser over them; tests and the benchmark call them directly).
 */

export interface FeedClient {
  server: string;
  token: string;
  /** Default: fetch. */
  transport?: ApiTransport;
}

/** A bundle upload may take long on a slow link; every other call is small. */
const UPLOAD_TIMEOUT_MS = 60 * 60_000;

/** The release feed's operations through the typed API client (admin token). */
function feedApi(c: FeedClient): BackendApiClient {
  return createApiClient({
    baseUrl: c.server,
    credentials: { bearer: c.token },
    transport: c.transport ?? createFetchTransport(),
    timeoutMs: 120_000,
    // The listing carries every stored signed manifest.
    maxResponseBytes: 64 * 1024 * 1024,
  });
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

/** What the release tool builds for when not told otherwise: the Electron image's and the Debian image's runtimes. */
export const DEFAULT_MIN_RUNTIME: MinRuntime = { electron: '45.0.0', node: '20.19.0' };

/**
 * `--min-runtime electron=45.0.0,node=20.19.0` → MinRuntime. A host left out cannot run the
 * release (its panels refuse it); a bare version is refused, since it would not say which host.
 */
export function parseMinRuntime(text: string): MinRuntime {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(electron|node)=(.+)$/.exec(part);
    if (!m)
      throw new Error(
        `--min-runtime: ${JSON.stringify(part)} is not host=version (hosts: electron, node), e.g. electron=45.0.0,node=20.19.0`,
      );
    out[m[1]!] = m[2]!;
  }
  const r = MinRuntime.safeParse(out);
  if (!r.success) throw new Error(`--min-runtime ${JSON.stringify(text)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export async function bundle(o: {
  inputs: BundleInput[];
  version: string;
  main: string;
  nodeMain?: string;
  minRuntime: MinRuntime;
  outFile: string;
  nodeModules?: { projectDir: string; packages: 'auto' | string[] };
}): Promise<BuiltBundle> {
  return buildBundle(o);
}

export interface ManifestParams {
  version: string;
  channel: string;
  bundleUrl: string;
  sha512: string;
  size: number;
  /** sha256 of the bundle's bundle.json bytes (readBundleDescriptor): the signature covers its file list. */
  bundleDescriptorSha256: string;
  minRuntime: MinRuntime;
  counter: number;
  rolloutShare: number;
  /** Default: 30 days. */
  validForMs?: number;
  now?: Date;
}

export function makeManifest(p: ManifestParams): ReleaseManifest {
  const now = p.now ?? new Date();
  return ReleaseManifest.parse({
    schema: 2,
    version: p.version,
    channel: p.channel,
    bundle: { url: p.bundleUrl, sha512: p.sha512, size: p.size },
    bundleDescriptorSha256: p.bundleDescriptorSha256,
    minRuntime: p.minRuntime,
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
  /** What the backend says it stores: checked (verify.ts) before anything of it is re-signed. */
  releases: Array<
    ReleaseManifest & {
      keyIds: string[];
      publishedAt: string;
      active: boolean;
      envelope?: SignedManifestEnvelope;
      servable?: boolean;
      notServableReason?: string | null;
    }
  >;
}

export async function list(c: FeedClient): Promise<FeedListing> {
  // Validated against the contract's ReleaseFeedListing; rows the panels cannot serve (an older
  // manifest schema) keep the manifest fields they have, which is what this type names.
  return (await feedApi(c).call('listReleases')) as FeedListing;
}

export async function listPanels(c: FeedClient): Promise<unknown> {
  return feedApi(c).call('listPanelUpdates');
}

/** Uploads a bundle (idempotent), reporting progress; returns the URL to put in the manifest. */
export async function uploadBundle(
  c: FeedClient,
  file: string,
  onProgress?: (sent: number, total: number) => void,
): Promise<{ url: string; sha512: string; size: number; bundleDescriptorSha256: string; minRuntime: MinRuntime }> {
  const size = (await stat(file)).size;
  const sha512 = await hashFile(file, 'sha512', 'base64');
  const name = `${Buffer.from(sha512, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
  async function* withProgress(): AsyncGenerator<Uint8Array> {
    let sent = 0;
    onProgress?.(0, size);
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      yield chunk;
      onProgress?.(sent, size);
    }
  }
  const res = await feedApi(c).call(
    'uploadBundle',
    { params: { name }, body: withProgress() },
    { headers: { 'x-bundle-sha512': sha512 }, timeoutMs: UPLOAD_TIMEOUT_MS },
  );
  // The URL panels resolve against the manifest's: computed here, not taken from the backend.
  const url = `../../bundles/${name}`;
  if (res.url !== url || res.size !== size || res.sha512 !== sha512)
    throw new Error(`the feed acknowledged the upload as ${JSON.stringify(res)}, expected ${url}, ${size} bytes`);
  const d = await readBundleDescriptor(file);
  return { url, sha512, size, bundleDescriptorSha256: d.sha256, minRuntime: d.descriptor.minRuntime };
}

export async function postManifest(c: FeedClient, envelope: SignedManifestEnvelope): Promise<unknown> {
  return feedApi(c).call('publishRelease', { body: envelope });
}

export async function setPaused(c: FeedClient, channel: string, paused: boolean): Promise<unknown> {
  return feedApi(c).call('pauseChannel', { params: { channel }, body: { paused } });
}

/** Where the ledger is and which keys vouch for what the backend stores. */
export interface LedgerOptions {
  keyFiles: string[];
  /** Default: release-ledger.json beside the first key. */
  ledgerFile?: string;
  /** More trusted public keys (e.g. the image's keyring) for checking stored manifests. */
  keyringFile?: string;
}

async function openLedger(o: LedgerOptions): Promise<{ ledger: ReleaseLedger; verifier: Ed25519Verifier }> {
  const ledger = await ReleaseLedger.open(o.ledgerFile ?? defaultLedgerFile(o.keyFiles));
  return { ledger, verifier: await releaseVerifier(o.keyFiles, o.keyringFile) };
}

/**
 * Brings the ledger up to the feed's highest counter when that one is validly signed by a
 * trusted key and within MAX_COUNTER_JUMP (a manifest signed elsewhere, e.g. with `sign`
 * offline). A higher claim is refused: following it would burn the fleet's counter space.
 */
async function reconcileCounter(feed: FeedListing, ledger: ReleaseLedger, verifier: Ed25519Verifier): Promise<void> {
  if (feed.maxCounter <= ledger.counter) return;
  const jump = feed.maxCounter - ledger.counter;
  if (jump > MAX_COUNTER_JUMP) {
    throw new Error(
      `the feed claims counter ${feed.maxCounter}, the ledger ${ledger.counter} (${ledger.file}): a jump of ${jump}, above ${MAX_COUNTER_JUMP}. Not followed: check the backend (or the ledger) before anything is signed`,
    );
  }
  const top = feed.releases.find((r) => r.counter === feed.maxCounter);
  if (!top?.envelope) throw new Error(`the feed claims counter ${feed.maxCounter} but shows no release with it; not followed`);
  const v = verifiedStoredManifest(top.envelope, verifier, `the feed's release #${feed.maxCounter}`);
  const m = 'manifest' in v ? v.manifest : v.schemaOne;
  if (m.counter !== feed.maxCounter)
    throw new Error(`the feed lists #${feed.maxCounter} for a manifest signed with counter ${m.counter}; not followed`);
  await ledger.record(
    m,
    top.envelope.signatures.map((x) => x.keyId),
    { adopted: true },
  );
}

/** Signs with the next counter from the ledger, records it there first, then posts it. */
async function signRecordPost(
  c: FeedClient,
  ledger: ReleaseLedger,
  base: Omit<ManifestParams, 'counter'>,
  keyFiles: string[],
): Promise<ReleaseManifest> {
  const manifest = makeManifest({ ...base, counter: ledger.nextCounter() });
  const envelope = await signWithKeyFiles(manifest, keyFiles);
  await ledger.record(
    manifest,
    envelope.signatures.map((x) => x.keyId),
  );
  await postManifest(c, envelope);
  return manifest;
}

export interface PublishOptions extends LedgerOptions {
  bundleFile: string;
  channel: string;
  version: string;
  /** Default: the bundle's own (its bundle.json), which is what it was built for. */
  minRuntime?: MinRuntime;
  rolloutShare: number;
  validForMs?: number;
  onProgress?: (sent: number, total: number) => void;
}

/** Uploads the bundle, signs a manifest with the ledger's next counter, publishes it. */
export async function publish(c: FeedClient, o: PublishOptions): Promise<ReleaseManifest> {
  const { ledger, verifier } = await openLedger(o);
  const up = await uploadBundle(c, o.bundleFile, o.onProgress);
  await reconcileCounter(await list(c), ledger, verifier);
  return signRecordPost(
    c,
    ledger,
    {
      version: o.version,
      channel: o.channel,
      bundleUrl: up.url,
      sha512: up.sha512,
      size: up.size,
      bundleDescriptorSha256: up.bundleDescriptorSha256,
      minRuntime: o.minRuntime ?? up.minRuntime,
      rolloutShare: o.rolloutShare,
      validForMs: o.validForMs,
    },
    o.keyFiles,
  );
}

/**
 * The release as it was signed: the ledger's record, cross-checked against every copy the
 * feed stores (each must carry a valid trusted signature and name the same bundle); without
 * a ledger record (a release from before the ledger), the newest validly signed stored copy.
 */
function signedSource(
  feed: FeedListing,
  ledger: ReleaseLedger,
  verifier: Ed25519Verifier,
  version: string,
  fromChannel?: string,
): ReleaseManifest {
  const stored = feed.releases
    .filter((r) => r.version === version && (fromChannel === undefined || r.channel === fromChannel))
    .sort((a, b) => b.counter - a.counter);
  // Every stored copy must be validly signed; schema-1 ones (from before schema 2) are then left
  // out: they cannot be re-signed, and the same bundle published again is schema 2.
  const verified = stored.flatMap((r) => {
    if (!r.envelope) throw new Error(`the feed lists release #${r.counter} without its signed manifest; cannot check it`);
    const v = verifiedStoredManifest(r.envelope, verifier, `the feed's release #${r.counter} (${r.channel} ${r.version})`);
    return 'manifest' in v ? [v.manifest] : [];
  });
  const recorded = ledger.find(version, fromChannel)?.manifest;
  for (const m of verified) {
    if (recorded && !sameRelease(m, recorded))
      throw new Error(
        `the feed's release #${m.counter} of ${version} names another bundle than the ledger's record #${recorded.counter}; nothing re-signed`,
      );
  }
  const source = recorded ?? verified[0];
  if (!source && stored.length > 0)
    throw new Error(
      `release ${version}${fromChannel ? ` on ${fromChannel}` : ''} has only schema-1 manifests (signed before schema 2), which cannot be re-signed: publish the bundle again`,
    );
  if (!source)
    throw new Error(
      `no published release ${version}${fromChannel ? ` on ${fromChannel}` : ''} (neither in the ledger ${ledger.file} nor validly signed on the feed)`,
    );
  return source;
}

/** Re-signs a published release for a channel (same or another) with a new share: the rollout knob. */
export async function promote(
  c: FeedClient,
  o: LedgerOptions & { version: string; channel: string; fromChannel?: string; rolloutShare: number; validForMs?: number },
): Promise<ReleaseManifest> {
  const { ledger, verifier } = await openLedger(o);
  const feed = await list(c);
  const src = signedSource(feed, ledger, verifier, o.version, o.fromChannel);
  await checkServedBundle(c.server, { ...src, channel: o.channel });
  await reconcileCounter(feed, ledger, verifier);
  return signRecordPost(
    c,
    ledger,
    {
      version: src.version,
      channel: o.channel,
      bundleUrl: src.bundle.url,
      sha512: src.bundle.sha512,
      size: src.bundle.size,
      bundleDescriptorSha256: src.bundleDescriptorSha256,
      minRuntime: src.minRuntime,
      rolloutShare: o.rolloutShare,
      validForMs: o.validForMs,
    },
    o.keyFiles,
  );
}

/**
 * Points a channel back at an earlier release: a new manifest (higher counter, so panels
 * accept it) for the old bundle. Default target: the last version signed for the channel
 * before the newest one, from the ledger (the feed's listing only when the ledger has none).
 */
export async function rollback(
  c: FeedClient,
  o: LedgerOptions & { channel: string; to?: string; rolloutShare?: number; validForMs?: number },
): Promise<ReleaseManifest> {
  const { ledger, verifier } = await openLedger(o);
  let history = ledger.onChannel(o.channel).map((e) => e.manifest);
  if (history.length === 0) {
    const feed = await list(c);
    history = feed.releases
      .filter((r) => r.channel === o.channel && r.envelope)
      .flatMap((r) => {
        const v = verifiedStoredManifest(r.envelope, verifier, `the feed's release #${r.counter}`);
        return 'manifest' in v ? [v.manifest] : [];
      })
      .sort((a, b) => b.counter - a.counter);
  }
  const newest = history[0];
  if (!newest) throw new Error(`nothing was signed for channel ${o.channel}`);
  const target = o.to !== undefined ? history.find((m) => m.version === o.to) : history.find((m) => m.version !== newest.version);
  if (!target) throw new Error(o.to ? `version ${o.to} was never signed for ${o.channel}` : `nothing to roll back to on ${o.channel}`);
  if (target.version === newest.version) throw new Error(`${o.channel} already serves ${target.version}`);
  return promote(c, { ...o, version: target.version, channel: o.channel, fromChannel: o.channel, rolloutShare: o.rolloutShare ?? 1 });
}

/** The image's release floor (src-main/core/update/image-floor.ts) from the ledger. */
export async function writeImageFloor(o: {
  ledgerFile: string;
  factoryVersion: string;
  outFile: string;
}): Promise<{ counterFloor: number; factoryVersion: string }> {
  const ledger = await ReleaseLedger.open(o.ledgerFile);
  const floor = ImageReleaseFloor.parse({
    format: 'airpanel-release-floor/1',
    counterFloor: ledger.counter,
    factoryVersion: o.factoryVersion,
  });
  await writeFileAtomic(o.outFile, `${JSON.stringify(floor)}\n`, { mode: 0o644 });
  return floor;
}
