import { ReleaseVersion } from '@airpanel/contract/release';

/**
 * What one start of the image's Electron runtime is for, from its command line:
 *  - `--airpanel-role=loader`: the supervisor airpanel.service starts (inside cage). It picks a
 *    release, starts the runtime again in the release role, commits or rolls back.
 *  - `--airpanel-release=<version>|factory`: run one release. A release NAME, never a path:
 *    the runtime finds the directory itself (runtime.json), verifies it and only then imports
 *    its main.
 * Anything else (both, neither, a path, a repeated switch) starts nothing.
 */
export type RuntimeRole =
  { kind: 'loader'; args: string[] } | { kind: 'release'; release: ReleaseName; args: string[] } | { kind: 'refused'; reason: string };

/** `factory` (the bundle in the read-only root) or an installed release's version. */
export type ReleaseName = 'factory' | { version: string };

export const LOADER_SWITCH = '--airpanel-role=loader';
export const RELEASE_SWITCH = '--airpanel-release=';

export function releaseSwitch(release: ReleaseName): string {
  return `${RELEASE_SWITCH}${release === 'factory' ? 'factory' : release.version}`;
}

/** Parses a release name; null when it is neither `factory` nor a release version. */
export function parseReleaseName(name: string): ReleaseName | null {
  if (name === 'factory') return 'factory';
  return ReleaseVersion.safeParse(name).success ? { version: name } : null;
}

/** `args`: the command line after the executable. The role switch is removed from `args`. */
export function roleOf(args: readonly string[]): RuntimeRole {
  const loader = args.filter((a) => a === LOADER_SWITCH || a.startsWith('--airpanel-role'));
  const release = args.filter((a) => a.startsWith('--airpanel-release'));
  const rest = args.filter((a) => !loader.includes(a) && !release.includes(a));
  const usage = `this runtime is started by airpanel.service (${LOADER_SWITCH}) or by its loader (${RELEASE_SWITCH}<version>|factory)`;
  if (loader.length + release.length === 0) return { kind: 'refused', reason: `no role on the command line: ${usage}` };
  if (loader.length + release.length > 1)
    return { kind: 'refused', reason: `more than one role switch (${[...loader, ...release].join(' ')}): ${usage}` };
  if (loader.length === 1) {
    return loader[0] === LOADER_SWITCH
      ? { kind: 'loader', args: rest }
      : { kind: 'refused', reason: `unknown role ${JSON.stringify(loader[0])}: ${usage}` };
  }
  const value = release[0]!.startsWith(RELEASE_SWITCH) ? release[0]!.slice(RELEASE_SWITCH.length) : '';
  const name = parseReleaseName(value);
  if (name === null)
    return {
      kind: 'refused',
      reason: `${JSON.stringify(release[0])} does not name a release (a version like 1.4.2, or factory; never a path)`,
    };
  return { kind: 'release', release: name, args: rest };
}
