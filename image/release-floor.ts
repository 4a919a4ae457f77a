/**
 * The release floor an image ships as /usr/lib/airpanel/release-floor.json
 * (src-main/core/update/image-floor.ts): the highest manifest counter the release manager had
 * signed and the factory bundle's version. A fresh or wiped panel with an unsynced clock never
 * accepts a manifest below them. Shared by both image builds: `npm run image` (build.ts) and
 * buildroot/Makefile (through release-floor-cli.ts).
 *
 * Where the floor comes from, in this order:
 *  - a floor file made by the release manager (`npm run release -- floor`), checked here;
 *  - the release ledger (tools/release/ledger.ts): its counter, as `floor` would write it;
 *  - neither: a DEVELOPMENT floor, counter 0 and the factory version, announced in a banner
 *    (a wiped panel then accepts any validly signed manifest of that version or above). A
 *    release build refuses it.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { ImageReleaseFloor, readImageReleaseFloor } from '@airpanel/panel/update/image-floor';
import { LEDGER_FILE_NAME, ReleaseLedger } from '@airpanel/release-tools/ledger';

export interface ReleaseFloorInput {
  /** A floor file made by `npm run release -- floor`. */
  floorFile?: string | undefined;
  /** The release ledger the floor is read from (its highest counter). */
  ledgerFile?: string | undefined;
  /** The factory bundle's version (= the image's). */
  factoryVersion: string;
  /** A release build: refuses the development floor. */
  release: boolean;
}

export type ReleaseFloorSource = 'floor-file' | 'ledger' | 'development';

export interface ShippedReleaseFloor {
  floor: ImageReleaseFloor;
  source: ReleaseFloorSource;
  /** What the build says about it (one line). */
  description: string;
}

function banner(lines: string[]): string {
  const bar = '!'.repeat(78);
  return [bar, ...lines.map((l) => `!! ${l}`), bar].join('\n');
}

/** The floor the image ships; throws when the input is unusable or a release has none. */
export async function resolveReleaseFloor(
  i: ReleaseFloorInput,
  warn: (text: string) => void = (t) => console.warn(t),
): Promise<ShippedReleaseFloor> {
  if (i.floorFile !== undefined && i.ledgerFile !== undefined) {
    throw new Error('give the release floor file or the release ledger, not both');
  }
  if (i.floorFile !== undefined) {
    const floor = readImageReleaseFloor(i.floorFile);
    if (floor === null) throw new Error(`no such release floor file: ${i.floorFile}`);
    if (floor.factoryVersion !== i.factoryVersion) {
      throw new Error(
        `${i.floorFile} is the floor of factory version ${floor.factoryVersion}, this image's factory bundle is ${i.factoryVersion}: make it with \`npm run release -- floor --factory-version ${i.factoryVersion}\``,
      );
    }
    return {
      floor,
      source: 'floor-file',
      description: `release floor from ${i.floorFile}: counter ${floor.counterFloor}, factory version ${floor.factoryVersion}`,
    };
  }
  if (i.ledgerFile !== undefined) {
    // ReleaseLedger.open takes a missing file for an empty ledger (counter 0): here that
    // would be a silent development floor in an image built from the wrong path.
    if (!existsSync(i.ledgerFile)) throw new Error(`no such release ledger: ${i.ledgerFile}`);
    const ledger = await ReleaseLedger.open(i.ledgerFile);
    const floor = ImageReleaseFloor.parse({
      format: 'airpanel-release-floor/1',
      counterFloor: ledger.counter,
      factoryVersion: i.factoryVersion,
    });
    return {
      floor,
      source: 'ledger',
      description: `release floor from the ledger ${i.ledgerFile}: counter ${floor.counterFloor}, factory version ${floor.factoryVersion}`,
    };
  }
  if (i.release) {
    throw new Error(
      'a release image needs a release floor: a floor file (`npm run release -- floor`) or the release ledger; without one a wiped panel would take any old, validly signed manifest',
    );
  }
  const floor = ImageReleaseFloor.parse({ format: 'airpanel-release-floor/1', counterFloor: 0, factoryVersion: i.factoryVersion });
  warn(
    banner([
      `DEVELOPMENT release floor: counter 0, factory version ${i.factoryVersion} (no floor file, no ledger).`,
      'A wiped panel of this image accepts any validly signed manifest of that version or above,',
      'however old its counter. Never ship such an image: give the release floor or the ledger.',
    ]),
  );
  return { floor, source: 'development', description: `DEVELOPMENT release floor: counter 0, factory version ${i.factoryVersion}` };
}

/** The floor file as the panel reads it (root-owned in the image, readable by all). */
export async function writeReleaseFloor(file: string, floor: ImageReleaseFloor): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(ImageReleaseFloor.parse(floor))}\n`, { mode: 0o644 });
}

/**
 * The release ledger beside a release keyring, when there is one: the release manager keeps
 * keys, keyring and ledger in one folder (tools/release/README.md), and the development
 * keyring of `npm run image` sits beside the development key, whose ledger is there too.
 */
export function ledgerBesideKeyring(keyring: string | null): string | undefined {
  if (keyring === null) return undefined;
  const ledger = join(dirname(keyring), LEDGER_FILE_NAME);
  return existsSync(ledger) ? ledger : undefined;
}

/**
 * `npm run image`: the floor from --release-floor, --release-ledger, or the ledger beside the
 * release keyring (an explicit floor file wins over that one), written to `outFile` for rootfs.ts.
 */
export async function debianImageReleaseFloor(o: {
  floorFile?: string | undefined;
  ledgerFile?: string | undefined;
  keyring: string | null;
  factoryVersion: string;
  outFile: string;
}): Promise<ShippedReleaseFloor> {
  const ledgerFile = o.ledgerFile ?? (o.floorFile === undefined ? ledgerBesideKeyring(o.keyring) : undefined);
  const shipped = await resolveReleaseFloor({ floorFile: o.floorFile, ledgerFile, factoryVersion: o.factoryVersion, release: false });
  await writeReleaseFloor(o.outFile, shipped.floor);
  console.log(`  ${shipped.description}`);
  return shipped;
}
