// Corrupt or truncated cache and config, generated: random bytes, truncation at random
// offsets, a wrong checksum, valid JSON of the wrong shape, another panel's content. Each
// combination boots a whole PanelCore (no backend reachable) and must show the right view:
// the cached content, the maintenance CFG code, or the neutral booting screen. Never a crash.
// corrupt-files.slow.test.ts runs many more combinations.
import { describe, expect, it } from 'vitest';
import { runCorruptFileCombinations } from './support/corrupt-files.js';

describe('corrupt or truncated cache and config', () => {
  it('boots to the right view for every generated combination, without a crash', async () => {
    const seen = await runCorruptFileCombinations(150);
    // The generator reached every outcome.
    expect([...seen.keys()].sort()).toEqual(['booting', 'content', 'maintenance CFG-1', 'maintenance CFG-2', 'maintenance CFG-3']);
  }, 60_000);
});
