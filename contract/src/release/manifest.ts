import { z } from 'zod';
import { IsoDateTime } from '../product/primitives.js';
import { compareVersions } from './version.js';

/**
 * A bundle / release version: semver-like, also used as a directory name under
 * `releases/<version>/` on the panel, so it can never contain `/`, `..` or spaces.
 */
export const ReleaseVersion = z
  .string()
  .regex(/^\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z][0-9A-Za-z.-]{0,40})?$/, 'a version like 1.4.2 or 1.5.0-rc.1');
export type ReleaseVersion = z.infer<typeof ReleaseVersion>;

/** A release channel (`stable`, `beta`, `pilot-lyon`…). */
export const ReleaseChannel = z.string().regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'lowercase letters, digits and "-", 2 to 32 characters');
export type ReleaseChannel = z.infer<typeof ReleaseChannel>;

/** sha512 of the bundle, base64 (88 characters), as electron-updater's feeds carry it. */
export const Sha512Base64 = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'sha512 in base64');

/** A key id: the first 16 bytes of sha256(raw Ed25519 public key), hex. */
export const KeyId = z.string().regex(/^[0-9a-f]{32}$/, '32 hex characters');
export type KeyId = z.infer<typeof KeyId>;

/** The bundle URL: absolute http(s), or relative to the manifest's URL. */
export const BundleUrl = z
  .string()
  .min(1)
  .max(2000)
  .refine((u) => !/[\s]/.test(u) && (/^https?:\/\//.test(u) || !/^[a-z][a-z0-9+.-]*:/i.test(u)), 'an http(s) URL or a relative path');

/** sha256, hex (64 characters). */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 in hex');

/** A runtime's version, X.Y.Z (Electron's `process.versions.electron`, Node's `process.versions.node`). */
export const RuntimeVersion = z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,4}$/, 'a version like 45.0.0');

/**
 * The two kiosk hosts a bundle can run on: `electron` (the Buildroot image: Electron's main
 * process runs `main`) and `node` (the Debian image: plain Node runs `nodeMain`, Chromium is
 * the window). Their runtimes have unrelated version numbers, so minimums are per host.
 */
export const RuntimeHost = z.enum(['electron', 'node']);
export type RuntimeHost = z.infer<typeof RuntimeHost>;

/**
 * Lowest runtime version per host. A host that is not named is not a target of the release:
 * a panel on that host refuses it (wrong software), both at install and at launch.
 */
export const MinRuntime = z
  .strictObject({ electron: RuntimeVersion.optional(), node: RuntimeVersion.optional() })
  .refine((m) => m.electron !== undefined || m.node !== undefined, 'names at least one host (electron, node)');
export type MinRuntime = z.infer<typeof MinRuntime>;

/** The running host and its runtime version, as the panel reports them. */
export interface RuntimeInfo {
  host: RuntimeHost;
  version: string;
}

/** Why `runtime` cannot run a release needing `min`, or null when it can. */
export function runtimeShortfall(min: MinRuntime, runtime: RuntimeInfo): string | null {
  const need = min[runtime.host];
  if (need === undefined) return `not made for the ${runtime.host} host (minimum runtime given only for ${Object.keys(min).join(', ')})`;
  if (compareVersions(runtime.version, need) < 0) return `needs ${runtime.host} ${need}, this one is ${runtime.version}`;
  return null;
}

/**
 * The release manifest: exactly what the release manager signs (its canonical JSON, see
 * canonical.ts). Strict: an unknown field is an error rather than silently unsigned data.
 *
 * Schema 2 adds `bundleDescriptorSha256`, which makes the signature cover the bundle's file
 * list (bundle.json lists every file with its sha256), so an installed release can be checked
 * again at every launch, not only at download; and `minRuntime` per host instead of one
 * Electron version, so one release runs on the Electron and the Node host. Schema 1 is not accepted anywhere: a schema-1
 * release carries no proof that could be checked at launch, so a panel would install it and
 * then refuse to start it (see src-main/loader/README.md, "Verified at launch").
 */
export const ReleaseManifest = z.strictObject({
  schema: z.literal(2),
  version: ReleaseVersion,
  channel: ReleaseChannel,
  bundle: z.strictObject({
    url: BundleUrl,
    sha512: Sha512Base64,
    size: z
      .number()
      .int()
      .positive()
      .max(2 ** 40),
  }),
  /** sha256 of the bundle's `bundle.json` exactly as in the tarball (its bytes, not re-serialised). */
  bundleDescriptorSha256: Sha256Hex,
  /** Lowest runtime (shipped with the OS image) per host this release runs on (see MinRuntime). */
  minRuntime: MinRuntime,
  /** Grows with every signed manifest (all channels share one sequence): the anti-replay mark. */
  counter: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  releasedAt: IsoDateTime,
  expiresAt: IsoDateTime,
  /** Share of the channel's panels that take this release, 0..1 (see rollout.ts). */
  rolloutShare: z.number().min(0).max(1),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

export const ManifestSignature = z.strictObject({
  keyId: KeyId,
  /** Ed25519 signature of canonicalJson(manifest) as UTF-8, base64. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'an Ed25519 signature in base64'),
});
export type ManifestSignature = z.infer<typeof ManifestSignature>;

/**
 * What the backend serves per channel. `manifest` is kept as raw JSON until a signature over
 * its canonical form has been checked: nothing in it is trusted before that.
 */
export const SignedManifestEnvelope = z.strictObject({
  manifest: z.record(z.string(), z.unknown()),
  signatures: z.array(ManifestSignature).min(1).max(8),
});
export type SignedManifestEnvelope = z.infer<typeof SignedManifestEnvelope>;

/** A signed manifest after verification. */
export interface SignedManifest {
  manifest: ReleaseManifest;
  signatures: ManifestSignature[];
}

/**
 * The bundle's own file list (`bundle.json` at the root of the tarball and of
 * `releases/<version>/`): lets the loader check a bundle directory is complete and intact.
 */
export const BundleFileEntry = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(400)
    .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '' || s === '.'), 'a relative path without ".."'),
  size: z.number().int().min(0),
  /** sha256 of the file, hex. */
  sha256: Sha256Hex,
});
export type BundleFileEntry = z.infer<typeof BundleFileEntry>;

export const BundleDescriptor = z.strictObject({
  format: z.literal('airpanel-bundle/1'),
  version: ReleaseVersion,
  /** Entry point relative to the bundle root, started by the loader (Electron main or a test app). */
  main: z.string().min(1).max(400),
  /**
   * Entry point of the plain-Node kiosk host (the Debian image: Node runs the core, Chromium is
   * the window), relative to the bundle root like `main`. A bundle without it cannot start on
   * a Node host: the loader treats it as incomplete there and falls back.
   */
  nodeMain: z.string().min(1).max(400).optional(),
  /** Lowest runtime per host (the release tool signs these into the manifest). */
  minRuntime: MinRuntime,
  builtAt: IsoDateTime,
  files: z.array(BundleFileEntry).max(100_000),
});
export type BundleDescriptor = z.infer<typeof BundleDescriptor>;
export const BUNDLE_DESCRIPTOR_FILE = 'bundle.json';
/**
 * The signed manifest envelope an installed release keeps at its root (`releases/<v>/`), beside
 * bundle.json; neither is in bundle.json's own file list, and a bundle may not contain either.
 */
export const RELEASE_MANIFEST_FILE = 'release-manifest.json';
