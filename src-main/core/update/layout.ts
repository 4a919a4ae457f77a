import { join } from 'node:path';

/**
 * Where OTA files live under the panel's data dir (src-main/loader/README.md, "Files"):
 *
 * ```
 * <data>/releases/<version>/          an installed bundle (complete once renamed into place)
 * <data>/releases/<version>/release-manifest.json   its signed manifest (checked at every launch)
 * <data>/releases/candidate.json      written by the updater: "start this one next, on trial"
 * <data>/releases/loader-state.json   written by the loader only: current / previous / trial / refused
 * <data>/releases/update-state.json   written by the updater only: highest accepted counter
 * <data>/releases/.download/          partial downloads (resumable)
 * <data>/releases/.staging-*          extraction in progress (deleted at the next install or prune)
 * <data>/releases/.trash-*            a discarded bundle being deleted (same)
 * ```
 */
export interface ReleaseLayout {
  releasesDir: string;
  bundleDir(version: string): string;
  candidateFile: string;
  loaderStateFile: string;
  updateStateFile: string;
  downloadDir: string;
}

export function releaseLayout(dataDir: string): ReleaseLayout {
  const releasesDir = join(dataDir, 'releases');
  return {
    releasesDir,
    bundleDir: (version) => join(releasesDir, version),
    candidateFile: join(releasesDir, 'candidate.json'),
    loaderStateFile: join(releasesDir, 'loader-state.json'),
    updateStateFile: join(releasesDir, 'update-state.json'),
    downloadDir: join(releasesDir, '.download'),
  };
}
