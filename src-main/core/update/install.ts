import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_DESCRIPTOR_FILE,
  CandidatePointer,
  parseLoaderState,
  RELEASE_MANIFEST_FILE,
  type LoaderState,
  type SignedManifest,
  type SignedManifestEnvelope,
} from '@airpanel/contract/release';
import { checkBundleDir, extractBundle } from './bundle.js';
import { fsyncDir, writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { renameDurable } from './fsio.js';
import type { ReleaseLayout } from './layout.js';

async function descriptorSha256(dir: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(join(dir, BUNDLE_DESCRIPTOR_FILE)))
    .digest('hex');
}

/**
 * Installs a downloaded, sha512-verified bundle of a verified signed manifest: extract into a
 * staging dir, verify every file, check that bundle.json is the one the manifest signs
 * (`bundleDescriptorSha256`), write the signed envelope beside it (release-manifest.json: the
 * loader checks it again at every launch), fsync, rename to releases/<version>/ (atomic: the
 * directory exists complete or not at all), then write candidate.json atomically. Killed at
 * any point, the panel still has what the loader had before, plus at most an orphan staging
 * dir (removed at the next install).
 */
export async function installBundle(layout: ReleaseLayout, tarball: string, signed: SignedManifest, now: Date): Promise<void> {
  const version = signed.manifest.version;
  const envelope: SignedManifestEnvelope = { manifest: { ...signed.manifest }, signatures: signed.signatures };
  await mkdir(layout.releasesDir, { recursive: true });
  await removeLeftovers(layout);
  const target = layout.bundleDir(version);
  let present = false;
  try {
    await checkBundleDir(target, { hashes: true, version });
    if ((await descriptorSha256(target)) !== signed.manifest.bundleDescriptorSha256) throw new Error('another bundle.json');
    present = true;
  } catch {
    await discard(layout, target);
  }
  if (present) {
    // Same files, possibly a newer signature of them (a re-signed promote): keep the newest.
    await writeFileAtomic(join(target, RELEASE_MANIFEST_FILE), `${JSON.stringify(envelope)}\n`, { mode: 0o644 });
  } else {
    const staging = join(layout.releasesDir, `.staging-${version}-${randomBytes(4).toString('hex')}`);
    try {
      await extractBundle(tarball, staging, version);
      if ((await descriptorSha256(staging)) !== signed.manifest.bundleDescriptorSha256) {
        throw new Error(`the bundle's ${BUNDLE_DESCRIPTOR_FILE} is not the one the manifest signs (bundleDescriptorSha256)`);
      }
      await writeFileAtomic(join(staging, RELEASE_MANIFEST_FILE), `${JSON.stringify(envelope)}\n`, { mode: 0o644 });
      await renameDurable(staging, target);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
  const ptr: CandidatePointer = { version, at: now.toISOString() };
  await writeFileAtomic(layout.candidateFile, `${JSON.stringify(ptr)}\n`, { mode: 0o644 });
}

/** Reads the loader's state (read-only for the updater); a missing or bad file is the initial state. */
export async function readLoaderState(layout: ReleaseLayout): Promise<LoaderState> {
  return parseLoaderState(await readFile(layout.loaderStateFile, 'utf8').catch(() => null));
}

/**
 * Deletes bundle directories nobody points at, keeping `keep` (plus whatever the loader references),
 * and what an interrupted install or prune left behind: a power cut between a discard's rename and
 * its delete leaves a `.trash-*` that no later install may come to clean.
 */
export async function pruneReleases(layout: ReleaseLayout, keep: readonly string[]): Promise<string[]> {
  await removeLeftovers(layout);
  const state = await readLoaderState(layout);
  let candidate: string | null = null;
  try {
    candidate = CandidatePointer.parse(JSON.parse(await readFile(layout.candidateFile, 'utf8'))).version;
  } catch {
    candidate = null;
  }
  const keepSet = new Set(
    [...keep, state.current, state.previous, state.trial?.version, candidate].filter((v): v is string => typeof v === 'string'),
  );
  const removed: string[] = [];
  for (const e of await readdir(layout.releasesDir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.') || keepSet.has(e.name)) continue;
    await discard(layout, join(layout.releasesDir, e.name));
    removed.push(e.name);
  }
  return removed;
}

/** Moves a directory out of the way atomically, then deletes it. */
async function discard(layout: ReleaseLayout, dir: string): Promise<void> {
  const trash = join(layout.releasesDir, `.trash-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, trash);
  } catch {
    return;
  }
  await fsyncDir(layout.releasesDir);
  await rm(trash, { recursive: true, force: true });
}

async function removeLeftovers(layout: ReleaseLayout): Promise<void> {
  for (const e of await readdir(layout.releasesDir, { withFileTypes: true })) {
    if (e.isDirectory() && (e.name.startsWith('.staging-') || e.name.startsWith('.trash-'))) {
      await rm(join(layout.releasesDir, e.name), { recursive: true, force: true });
    }
  }
}
