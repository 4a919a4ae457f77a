import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  BUNDLE_DESCRIPTOR_FILE,
  BundleDescriptor,
  canonicalJson,
  RELEASE_MANIFEST_FILE,
  ReleaseManifest,
  runtimeShortfall,
  SignedManifestEnvelope,
  type RuntimeInfo,
  type SignatureVerifier,
} from '@airpanel/contract/release';

/**
 * Checking an installed bundle directory against its bundle.json. Kept apart from bundle.ts
 * (which needs tar) because the loader compiles this file in: it must stay small and
 * dependency-free.
 */

/** Regular files under `root`, as sorted `/`-separated relative paths. Symlinks are refused. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full).split(sep).join('/'));
      else throw new Error(`${full}: only regular files and directories may be bundled`);
    }
  }
  await walk(root);
  return out.sort();
}

export async function hashFile(path: string, algorithm: 'sha256' | 'sha512', encoding: 'hex' | 'base64'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest(encoding);
}

export class BundleCheckError extends Error {
  override name = 'BundleCheckError';
  /**
   * True when the release's files may well be intact and it could become startable without
   * them changing: it was installed before manifests were kept beside releases (nothing to
   * check it against), or this runtime is too old or not its host (a newer image may be).
   * The loader skips such a release without refusing it for good; every other failure means
   * the directory is not what was signed, and it is refused.
   */
  constructor(
    message: string,
    readonly mayBecomeStartable = false,
  ) {
    super(message);
  }
}

/**
 * Checks that `dir` holds exactly the files its bundle.json lists, with their sizes and (if
 * `hashes`) sha256. Returns the descriptor. The loader calls it with `hashes: false` at every
 * boot (cheap); the installer with `hashes: true` before a bundle is renamed into place.
 */
export async function checkBundleDir(dir: string, opts: { hashes: boolean; version?: string; exact?: boolean }): Promise<BundleDescriptor> {
  let descriptor: BundleDescriptor;
  try {
    descriptor = BundleDescriptor.parse(JSON.parse(await readFile(join(dir, BUNDLE_DESCRIPTOR_FILE), 'utf8')));
  } catch (e) {
    throw new BundleCheckError(`${dir}: no valid ${BUNDLE_DESCRIPTOR_FILE} (${(e as Error).message})`);
  }
  if (opts.version !== undefined && descriptor.version !== opts.version)
    throw new BundleCheckError(`${dir}: bundle is ${descriptor.version}, expected ${opts.version}`);
  const listed = descriptor.files.map((f) => f.path);
  // Exact (default when hashing, i.e. at install): nothing but the listed files. The boot-time
  // check only needs the listed files intact; a stray extra file does not make a bundle unrunnable.
  if (opts.exact ?? opts.hashes) {
    const present = (await listFiles(dir)).filter((p) => p !== BUNDLE_DESCRIPTOR_FILE && p !== RELEASE_MANIFEST_FILE);
    const sorted = [...listed].sort();
    if (present.length !== listed.length || present.some((p, i) => p !== sorted[i]))
      throw new BundleCheckError(`${dir}: files differ from ${BUNDLE_DESCRIPTOR_FILE}`);
  }
  if (!listed.includes(descriptor.main)) throw new BundleCheckError(`${dir}: entry point ${descriptor.main} missing`);
  if (descriptor.nodeMain !== undefined && !listed.includes(descriptor.nodeMain))
    throw new BundleCheckError(`${dir}: Node host entry point ${descriptor.nodeMain} missing`);
  for (const f of descriptor.files) {
    const full = join(dir, f.path);
    const s = await lstat(full).catch(() => null);
    if (!s) throw new BundleCheckError(`${dir}: ${f.path} is missing`);
    if (!s.isFile() || s.size !== f.size) throw new BundleCheckError(`${dir}: ${f.path} has the wrong size`);
    if (opts.hashes && (await hashFile(full, 'sha256', 'hex')) !== f.sha256)
      throw new BundleCheckError(`${dir}: ${f.path} has the wrong sha256`);
  }
  return descriptor;
}

/** Size caps for what the launch check reads before it trusts anything. */
const MAX_MANIFEST_BYTES = 64 * 1024;
const MAX_DESCRIPTOR_BYTES = 16 * 1024 * 1024;

/**
 * Reads a small file without following a symlink at its last component (O_NOFOLLOW), refusing
 * anything that is not a regular file or is larger than `max`.
 */
async function readCapped(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new BundleCheckError(`${path} is not a regular file`);
    if (s.size > max) throw new BundleCheckError(`${path} is larger than ${max} bytes`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** sha256 of a regular file read through a descriptor opened with O_NOFOLLOW. */
async function sha256NoFollow(path: string): Promise<{ sha256: string; size: number }> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new BundleCheckError(`${path} is not a regular file`);
    const h = createHash('sha256');
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
    return { sha256: h.digest('hex'), size: s.size };
  } finally {
    await fh.close();
  }
}

/**
 * Refuses a symlink anywhere from `root` down to `root/<relPath>`: each component is lstat'ed
 * and must be a real directory. `root` itself (the data dir) is checked too; what is above it
 * (the mount point in the read-only root) is trusted.
 */
export async function assertNoSymlinkOnPath(root: string, relPath: string): Promise<void> {
  let path = root;
  const parts = relPath.split(/[\\/]+/).filter((p) => p !== '');
  for (const part of ['', ...parts]) {
    if (part === '..' || part === '.') throw new BundleCheckError(`${relPath}: "." and ".." are not allowed`);
    if (part !== '') path = join(path, part);
    const s = await lstat(path).catch(() => null);
    if (!s) throw new BundleCheckError(`${path} does not exist`);
    if (s.isSymbolicLink()) throw new BundleCheckError(`${path} is a symlink`);
    if (!s.isDirectory()) throw new BundleCheckError(`${path} is not a directory`);
  }
}

/** Checks a signed envelope against the keyring; returns the manifest it proves. */
export function verifyManifestEnvelope(raw: unknown, verifier: SignatureVerifier): ReleaseManifest {
  const env = SignedManifestEnvelope.safeParse(raw);
  if (!env.success) throw new BundleCheckError(`not a signed manifest (${env.error.issues[0]?.message ?? 'invalid'})`);
  let message: string;
  try {
    message = canonicalJson(env.data.manifest);
  } catch (e) {
    throw new BundleCheckError(`manifest is not canonical JSON (${(e as Error).message})`);
  }
  if (!env.data.signatures.some((s) => verifier.isTrusted(s.keyId) && verifier.verify(s.keyId, message, s.signature))) {
    throw new BundleCheckError("no valid signature by a key of the image's keyring");
  }
  const m = ReleaseManifest.safeParse(env.data.manifest);
  if (!m.success)
    throw new BundleCheckError(
      `signed, but not a schema-2 release manifest (${m.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')
        .slice(0, 200)})`,
    );
  return m.data;
}

export interface ReleaseCheckOptions {
  /** The image's keyring (read-only root). */
  verifier: SignatureVerifier;
  /**
   * The host and runtime the bundle would run on: a release that needs a newer runtime on
   * this host, or does not name this host at all, fails (mayBecomeStartable). Null: not checked.
   */
  runtime: RuntimeInfo | null;
}

/**
 * The launch-time check of an installed release `<dataDir>/releases/<version>/`: no symlink on
 * the path from the data dir down, a manifest signed by the image's keyring for exactly this
 * version whose `bundleDescriptorSha256` matches bundle.json's bytes, exactly the files
 * bundle.json lists (nothing extra, nothing missing, no symlink) each with its size and sha256,
 * and a runtime that meets `minRuntime` for its host (manifest and bundle.json). Returns the
 * descriptor, the manifest and the directory; throws BundleCheckError (see its
 * `mayBecomeStartable`). Nothing under /data is trusted before this returns. The loader calls
 * it before every start of an installed release; `runtime-app` may call it again on the
 * directory it is about to import from.
 */
export async function verifyInstalledRelease(
  dataDir: string,
  version: string,
  o: ReleaseCheckOptions,
): Promise<{ descriptor: BundleDescriptor; manifest: ReleaseManifest; dir: string }> {
  if (!/^[0-9A-Za-z][0-9A-Za-z.-]*$/.test(version))
    throw new BundleCheckError(`${JSON.stringify(version)} is not a release directory name`);
  const rel = join('releases', version);
  await assertNoSymlinkOnPath(dataDir, rel);
  const dir = join(dataDir, rel);
  let raw: unknown;
  try {
    raw = JSON.parse((await readCapped(join(dir, RELEASE_MANIFEST_FILE), MAX_MANIFEST_BYTES)).toString('utf8'));
  } catch (e) {
    // Absent (installed by an updater that kept no manifest): skipped, not refused, so the
    // same release re-signed as schema 2 can be installed over it and started.
    const absent = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BundleCheckError(`${dir}: ${absent ? 'no' : 'no readable'} ${RELEASE_MANIFEST_FILE} (${(e as Error).message})`, absent);
  }
  const manifest = verifyManifestEnvelope(raw, o.verifier);
  if (manifest.version !== version) throw new BundleCheckError(`${dir}: the signed manifest is for ${manifest.version}`);
  const descriptorBytes = await readCapped(join(dir, BUNDLE_DESCRIPTOR_FILE), MAX_DESCRIPTOR_BYTES);
  if (createHash('sha256').update(descriptorBytes).digest('hex') !== manifest.bundleDescriptorSha256)
    throw new BundleCheckError(`${dir}: ${BUNDLE_DESCRIPTOR_FILE} is not the one the manifest signs`);
  let descriptor: BundleDescriptor;
  try {
    descriptor = BundleDescriptor.parse(JSON.parse(descriptorBytes.toString('utf8')));
  } catch (e) {
    throw new BundleCheckError(`${dir}: invalid ${BUNDLE_DESCRIPTOR_FILE} (${(e as Error).message})`);
  }
  if (descriptor.version !== version) throw new BundleCheckError(`${dir}: bundle is ${descriptor.version}`);
  if (o.runtime !== null) {
    for (const min of [manifest.minRuntime, descriptor.minRuntime]) {
      const shortfall = runtimeShortfall(min, o.runtime);
      if (shortfall !== null) throw new BundleCheckError(`${dir}: ${shortfall}`, true);
    }
  }
  // listFiles throws on anything but regular files and directories (a symlink, a fifo…).
  const present = (await listFiles(dir)).filter((p) => p !== BUNDLE_DESCRIPTOR_FILE && p !== RELEASE_MANIFEST_FILE);
  const listed = descriptor.files.map((f) => f.path).sort();
  if (present.length !== listed.length || present.some((p, i) => p !== listed[i])) {
    const extra = present.filter((p) => !listed.includes(p));
    const missing = listed.filter((p) => !present.includes(p));
    throw new BundleCheckError(
      `${dir}: files differ from ${BUNDLE_DESCRIPTOR_FILE} (extra: ${extra.slice(0, 3).join(', ') || 'none'}; missing: ${missing.slice(0, 3).join(', ') || 'none'})`,
    );
  }
  for (const entry of [descriptor.main, descriptor.nodeMain]) {
    if (entry !== undefined && !listed.includes(entry)) throw new BundleCheckError(`${dir}: entry point ${entry} is not in the bundle`);
  }
  for (const f of descriptor.files) {
    const got = await sha256NoFollow(join(dir, f.path));
    if (got.size !== f.size || got.sha256 !== f.sha256)
      throw new BundleCheckError(`${dir}: ${f.path} does not match ${BUNDLE_DESCRIPTOR_FILE}`);
  }
  return { descriptor, manifest, dir };
}
