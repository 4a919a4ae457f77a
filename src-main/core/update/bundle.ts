import { lstatSync } from 'node:fs';
import { cp, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { create as tarCreate, extract as tarExtract, list as tarList } from 'tar';
import { createHash } from 'node:crypto';
import {
  BUNDLE_DESCRIPTOR_FILE,
  BundleDescriptor,
  RELEASE_MANIFEST_FILE,
  type BundleFileEntry,
  type MinRuntime,
} from '@airpanel/contract/release';
import {
  assertNoSymlinkOnPath,
  BundleCheckError,
  checkBundleDir,
  hashFile,
  listFiles,
  verifyInstalledRelease,
  verifyManifestEnvelope,
} from './bundle-check.js';
import { dependencyClosure, importedPackages } from './bundle-deps.js';
import { fsyncDir } from '@airpanel/node-support/atomic-file';

export { assertNoSymlinkOnPath, BundleCheckError, checkBundleDir, hashFile, listFiles, verifyInstalledRelease, verifyManifestEnvelope };

/**
 * The app bundle: a gzipped tarball whose root holds `bundle.json` (format, version, entry
 * point, minimum runtime, and every file with size and sha256) plus the app's files. The same
 * tree, once extracted and verified, is `releases/<version>/` on the panel.
 */

/** Packages that only the backend uses: a bundle that contains one is refused. */
export const BACKEND_ONLY_PACKAGES = ['better-sqlite3', 'aedes', 'fastify', '@fastify', 'prom-client', 'sqlite3', 'mqtt-packet-server'];

export interface BundleInput {
  /** A directory on disk, e.g. dist/app or src-renderer/dist. */
  dir: string;
  /** Where it goes inside the bundle, e.g. `app` or `renderer`. */
  as: string;
}

export interface BuildBundleOptions {
  inputs: readonly BundleInput[];
  version: string;
  /** Entry point inside the bundle (e.g. `app/main.js`). Must exist. */
  main: string;
  /** Entry point of the plain-Node kiosk host, if the bundle has one (e.g. `app/node-main.js`). Must exist. */
  nodeMain?: string;
  /** Lowest runtime per host (e.g. `{ electron: '45.0.0', node: '20.19.0' }`); a host not named cannot run it. */
  minRuntime: MinRuntime;
  outFile: string;
  builtAt?: Date;
  /**
   * Carry npm runtime dependencies in the bundle's `node_modules/`: the packages the inputs
   * import ('auto', see bundle-deps.ts) or a list, with their dependency closure, resolved in
   * `projectDir`. Default: none.
   */
  nodeModules?: { projectDir: string; packages: 'auto' | readonly string[] };
  /**
   * The `prebuilds/<platform>-<arch>` directories (node-gyp-build's layout, e.g. serialport's
   * native binding) kept in the carried packages; the others are left out. Default: the
   * panels' platforms, PANEL_PREBUILD_PLATFORMS.
   */
  prebuildPlatforms?: readonly string[];
}

/** The platforms panels run on: the Debian/x86_64 image and the Raspberry Pi (arm64). */
export const PANEL_PREBUILD_PLATFORMS = ['linux-x64', 'linux-arm64'] as const;

/** Whether `path` (inside a package) lies in a prebuilds/ directory of another platform. */
export function isForeignPrebuild(path: string, platforms: readonly string[]): boolean {
  const parts = path.split(/[\\/]/);
  const i = parts.lastIndexOf('prebuilds');
  return i !== -1 && i + 1 < parts.length && !platforms.includes(parts[i + 1]!);
}

export interface BuiltBundle {
  file: string;
  size: number;
  sha512: string;
  descriptor: BundleDescriptor;
  /** sha256 of bundle.json's bytes as in the tarball: a schema-2 manifest's `bundleDescriptorSha256`. */
  descriptorSha256: string;
}

export async function buildBundle(o: BuildBundleOptions): Promise<BuiltBundle> {
  const staging = await mkdtemp(join(tmpdir(), 'airpanel-bundle-'));
  try {
    for (const input of o.inputs) {
      if (!(await stat(input.dir)).isDirectory()) throw new Error(`${input.dir} is not a directory`);
      const target = join(staging, input.as);
      if (relative(staging, target).startsWith('..') || input.as.includes('..')) throw new Error(`bad target ${input.as}`);
      await cp(input.dir, target, { recursive: true, dereference: false, verbatimSymlinks: true, errorOnExist: true, force: false });
    }
    if (o.nodeModules) {
      const platforms = o.prebuildPlatforms ?? PANEL_PREBUILD_PLATFORMS;
      const names = o.nodeModules.packages === 'auto' ? await importedPackages(o.inputs.map((i) => i.dir)) : [...o.nodeModules.packages];
      for (const [name, dir] of await dependencyClosure(o.nodeModules.projectDir, names)) {
        if (BACKEND_ONLY_PACKAGES.includes(name) || BACKEND_ONLY_PACKAGES.includes(name.split('/')[0]!))
          throw new Error(`backend-only dependency in bundle: ${name}`);
        if (name.startsWith('@types/')) continue; // type declarations only
        // Left out: package managers' symlinks (.bin), type declarations, source maps, docs,
        // native prebuilds of platforms no panel runs on.
        await cp(dir, join(staging, 'node_modules', name), {
          recursive: true,
          dereference: false,
          verbatimSymlinks: true,
          filter: (src) =>
            !lstatSync(src).isSymbolicLink() &&
            !/\.(d\.[mc]?ts|map|md|markdown)$/i.test(src) &&
            !isForeignPrebuild(relative(dir, src), platforms),
        });
      }
    }
    const paths = await listFiles(staging);
    for (const p of paths) {
      const parts = p.split('/');
      const nm = parts.indexOf('node_modules');
      if (nm !== -1) {
        const pkg = parts[nm + 1] ?? '';
        if (BACKEND_ONLY_PACKAGES.includes(pkg)) throw new Error(`backend-only dependency in bundle: ${p}`);
      }
      if (p.startsWith('server-stub/') || p.includes('/server-stub/')) throw new Error(`backend code in bundle: ${p}`);
    }
    if (!paths.includes(o.main)) throw new Error(`entry point ${o.main} is not in the bundle`);
    if (o.nodeMain !== undefined && !paths.includes(o.nodeMain))
      throw new Error(`Node host entry point ${o.nodeMain} is not in the bundle`);
    for (const reserved of [BUNDLE_DESCRIPTOR_FILE, RELEASE_MANIFEST_FILE]) {
      if (paths.includes(reserved)) throw new Error(`inputs may not contain ${reserved} at the root`);
    }
    const files: BundleFileEntry[] = [];
    for (const p of paths) {
      const full = join(staging, p);
      files.push({ path: p, size: (await stat(full)).size, sha256: await hashFile(full, 'sha256', 'hex') });
    }
    const descriptor = BundleDescriptor.parse({
      format: 'airpanel-bundle/1',
      version: o.version,
      main: o.main,
      ...(o.nodeMain !== undefined ? { nodeMain: o.nodeMain } : {}),
      minRuntime: o.minRuntime,
      builtAt: (o.builtAt ?? new Date()).toISOString(),
      files,
    });
    const descriptorBytes = Buffer.from(`${JSON.stringify(descriptor, null, 2)}\n`, 'utf8');
    await writeFile(join(staging, BUNDLE_DESCRIPTOR_FILE), descriptorBytes);
    await tarCreate({ gzip: { level: 9 }, file: o.outFile, cwd: staging, portable: true, mtime: new Date(0) }, [
      BUNDLE_DESCRIPTOR_FILE,
      ...paths,
    ]);
    return {
      file: o.outFile,
      size: (await stat(o.outFile)).size,
      sha512: await hashFile(o.outFile, 'sha512', 'base64'),
      descriptor,
      descriptorSha256: createHash('sha256').update(descriptorBytes).digest('hex'),
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The bundle.json of a bundle tarball and the sha256 of its exact bytes: what a schema-2
 * manifest signs as `bundleDescriptorSha256` (the release tool's sign and publish steps).
 */
export async function readBundleDescriptor(tarball: string): Promise<{ descriptor: BundleDescriptor; sha256: string }> {
  const found: Buffer[] = [];
  await tarList({
    file: tarball,
    onReadEntry: (entry) => {
      if (entry.path.replace(/^\.\//, '') !== BUNDLE_DESCRIPTOR_FILE) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => found.push(Buffer.concat(chunks)));
    },
  });
  if (found.length !== 1)
    throw new BundleCheckError(`${tarball}: ${found.length === 0 ? 'no' : 'more than one'} ${BUNDLE_DESCRIPTOR_FILE}`);
  const bytes = found[0]!;
  return {
    descriptor: BundleDescriptor.parse(JSON.parse(bytes.toString('utf8'))),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/**
 * Extracts a (sha512-verified) bundle tarball into `dir` (which must not exist), accepting
 * only regular files and directories with relative paths, verifies every file, and fsyncs
 * every file and directory so the tree is durable before anyone points at it.
 */
export async function extractBundle(
  tarball: string,
  dir: string,
  expectedVersion: string,
  maxExtractedBytes = 1024 ** 3,
): Promise<BundleDescriptor> {
  await mkdir(dir, { recursive: false });
  let bad: string | null = null;
  let total = 0;
  await tarExtract({
    file: tarball,
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      // release-manifest.json is the installer's to write: a bundle may not bring its own.
      const ok =
        (type === 'File' || type === 'Directory') &&
        !path.split('/').includes('..') &&
        !path.startsWith('/') &&
        path.replace(/^\.\//, '') !== RELEASE_MANIFEST_FILE;
      if (!ok) bad = `${path} (${type})`;
      // A decompression bomb stops here rather than filling the data partition.
      total += 'size' in entry && typeof entry.size === 'number' ? entry.size : 0;
      if (total > maxExtractedBytes) {
        bad = `more than ${maxExtractedBytes} bytes once extracted`;
        return false;
      }
      return ok;
    },
  });
  if (bad) throw new BundleCheckError(`bundle contains a forbidden entry: ${bad}`);
  const descriptor = await checkBundleDir(dir, { hashes: true, version: expectedVersion });
  await syncTree(dir);
  return descriptor;
}

async function syncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await syncTree(full);
    else {
      const fh = await open(full, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}
