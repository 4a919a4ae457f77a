// Corrupt or truncated cache and config, generated: random bytes, truncation at random
// offsets, a wrong checksum, valid JSON of the wrong shape, another panel's content. Each
// combination boots a whole PanelCore (no backend reachable) and must show the right view:
// the cached content, the maintenance CFG code, or the neutral booting screen. Never a crash.
// The long run of corrupt-files.test.ts (npm run test:faults).
import { describe, expect, it } from 'vitest';
import { runCorruptFileCombinations } from './support/corrupt-files.js';

describe('corrupt or truncated cache and config', () => {
  it('boots to the right view for every generated combination, without a crash (2000 combinations)', async () => {
    const seen = await runCorruptFileCombinations(2_000);
    // The generator reached every outcome.
    expect([...seen.keys()].sort()).toEqual(['booting', 'content', 'maintenance CFG-1', 'maintenance CFG-2', 'maintenance CFG-3']);
  }, 600_000);
});
