import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ReleaseVersion } from '@airpanel/contract/release';

/**
 * The image's release floor, a file in the read-only root next to the keyring: the highest
 * manifest counter the release manager had signed when the image was built, and the
 * factory bundle's version. A fresh or wiped panel has no high-water mark on /data; without
 * this file its floor would be 0 and any old, validly signed manifest would be taken
 * (and with an unsynced clock, its expiry could not even be judged).
 *
 * Written by the image build from the release ledger:
 * `npx tsx tools/release/cli.ts floor --factory-version 1.4.0 --out <root>/usr/lib/airpanel/release-floor.json`.
 */
export const IMAGE_RELEASE_FLOOR_FILE = '/usr/lib/airpanel/release-floor.json';

export const ImageReleaseFloor = z.strictObject({
  format: z.literal('airpanel-release-floor/1'),
  counterFloor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  factoryVersion: ReleaseVersion,
});
export type ImageReleaseFloor = z.infer<typeof ImageReleaseFloor>;

/** A floor file is a few dozen bytes; anything much larger is not one. */
const MAX_FLOOR_FILE_BYTES = 4096;

/** The floor, or null when the image has none (a development image). Throws when it is unusable. */
export function readImageReleaseFloor(file: string = IMAGE_RELEASE_FLOOR_FILE): ImageReleaseFloor | null {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (text.length > MAX_FLOOR_FILE_BYTES) throw new Error(`${file}: ${text.length} bytes, not a release floor`);
  const parsed = ImageReleaseFloor.safeParse(JSON.parse(text.toString('utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
