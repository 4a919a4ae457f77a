/**
 * Staged rollout: is this panel inside a release's rollout share?
 *
 * Like electron-updater's `isStagingMatch` (`bucket < share`), but the bucket is a stable hash
 * of panel id + release version instead of a random per-install id: the same panel lands in a
 * different bucket for each release, so the first 10% are not always the same panels, and a
 * panel's answer never changes for a given release (raising the share only adds panels).
 *
 * The hash is 64-bit FNV-1a over UTF-16 code units, then a murmur3-style finaliser; pure
 * arithmetic so it runs in any layer and gives the same answer on panel and backend.
 */
export function rolloutBucket(panelId: string, version: string): number {
  const input = `${panelId}\u0000${version}`;
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < input.length; i++) {
    h ^= BigInt(input.charCodeAt(i));
    h = (h * prime) & mask;
  }
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & mask;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & mask;
  h ^= h >> 33n;
  // Top 53 bits → [0, 1).
  return Number(h >> 11n) / 2 ** 53;
}

/** share 0 → nobody, share 1 → everybody; monotone in share. */
export function isInRollout(panelId: string, version: string, share: number): boolean {
  if (share >= 1) return true;
  if (share <= 0) return false;
  return rolloutBucket(panelId, version) < share;
}
