import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BUNDLE_DESCRIPTOR_FILE, BundleDescriptor } from '../../common/release/index.js';

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
  if (opts.version !== undefined && descriptor.version !== opts.version) throw new BundleCheckError(`${dir}: bundle is ${descriptor.version}, expected ${opts.version}`);
  const listed = descriptor.files.map((f) => f.path);
  // Exact (default when hashing, i.e. at install): nothing but the listed files. The boot-time
  // check only needs the listed files intact; a stray extra file does not make a bundle unrunnable.
  if (opts.exact ?? opts.hashes) {
    const present = (await listFiles(dir)).filter((p) => p !== BUNDLE_DESCRIPTOR_FILE);
    const sorted = [...listed].sort();
    if (present.length !== listed.length || present.some((p, i) => p !== sorted[i])) throw new BundleCheckError(`${dir}: files differ from ${BUNDLE_DESCRIPTOR_FILE}`);
  }
  if (!listed.includes(descriptor.main)) throw new BundleCheckError(`${dir}: entry point ${descriptor.main} missing`);
  if (descriptor.nodeMain !== undefined && !listed.includes(descriptor.nodeMain)) throw new BundleCheckError(`${dir}: Node host entry point ${descriptor.nodeMain} missing`);
  for (const f of descriptor.files) {
    const full = join(dir, f.path);
    const s = await lstat(full).catch(() => null);
    if (!s) throw new BundleCheckError(`${dir}: ${f.path} is missing`);
    if (!s.isFile() || s.size !== f.size) throw new BundleCheckError(`${dir}: ${f.path} has the wrong size`);
    if (opts.hashes && (await hashFile(full, 'sha256', 'hex')) !== f.sha256) throw new BundleCheckError(`${dir}: ${f.path} has the wrong sha256`);
  }
  return descriptor;
}

