/**
 * The release floor for buildroot/Makefile (target release-floor): resolves it as
 * `npm run image` does (release-floor.ts) and writes it where package airpanel installs it from.
 *
 *   npx tsx image/release-floor-cli.ts --factory-version V --out FILE [--floor FILE | --ledger FILE] [--release]
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ReleaseVersion } from '@airpanel/contract/release';
import { resolveReleaseFloor, writeReleaseFloor } from './release-floor.js';

const Args = z.object({
  factoryVersion: ReleaseVersion,
  out: z.string().min(1),
  floor: z.string().min(1).optional(),
  ledger: z.string().min(1).optional(),
  release: z.boolean(),
});

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      'factory-version': { type: 'string' },
      out: { type: 'string' },
      floor: { type: 'string' },
      ledger: { type: 'string' },
      release: { type: 'boolean' },
    },
  });
  // Empty strings are how make passes an unset variable.
  const a = Args.parse({
    factoryVersion: v['factory-version'],
    out: v.out,
    floor: v.floor || undefined,
    ledger: v.ledger || undefined,
    release: v.release === true,
  });
  const shipped = await resolveReleaseFloor({
    floorFile: a.floor,
    ledgerFile: a.ledger,
    factoryVersion: a.factoryVersion,
    release: a.release,
  });
  await writeReleaseFloor(a.out, shipped.floor);
  console.log(`${shipped.description} → ${a.out}`);
}

main().catch((e: unknown) => {
  console.error(`release floor: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
