/**
 * Reads the fuses back from a packaged Electron binary and fails when one is not as
 * PANEL_FUSES (fuses.ts) says. Run by the image build right after electron-builder
 * (buildroot/Makefile, target app):
 *
 *   npx tsx src-main/electron/check-fuses.ts dist/electron/linux-unpacked/airpanel
 *
 * Exit 0: every fuse as required; 1: a fuse is wrong or missing; 2: usage or unreadable binary.
 */
import { readFuseWire } from './fuses.js';

const binary = process.argv[2];
if (!binary || process.argv.length > 3) {
  console.error('usage: check-fuses.ts <packaged Electron binary, e.g. dist/electron/linux-unpacked/airpanel>');
  process.exit(2);
}
try {
  const report = await readFuseWire(binary);
  for (const f of report.fuses) console.log(`${f.name}: ${f.state}`);
  if (report.problems.length > 0) {
    for (const p of report.problems) console.error(`fuse problem: ${p}`);
    process.exit(1);
  }
  console.log(`fuses of ${binary}: as required`);
} catch (err) {
  console.error(`cannot read the fuses of ${binary}: ${(err as Error).message}`);
  process.exit(2);
}
