// The panel (a real process) killed with SIGKILL while it writes its cache, 500 times in a row
// on one data dir: every boot shows a revision it had accepted, never a corrupt or partial one.
// The long run of panel-kill.test.ts (npm run test:faults), with kills up to 1 s into the stream.
import { afterEach, describe, expect, it } from 'vitest';
import { runPanelKillTrials } from './support/panel-kill.js';
import { Cleanups, report, tempDir } from './support/stack.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('panel killed (SIGKILL) while writing its cache', () => {
  it('boots from a valid cache after each of 500 kills, never crashes', async () => {
    const started = performance.now();
    const result = await runPanelKillTrials({
      trials: 500,
      maxKillDelayMs: 1_000,
      dataDir: await tempDir(cleanups, 'airpanel-faults-panel-'),
      buildDir: await tempDir(cleanups, 'airpanel-faults-build-'),
      log: (line) => console.log(line),
    });
    report('panel SIGKILL x500', {
      elapsed: performance.now() - started,
      meanBoot: result.meanBootMs,
      killedWhileReceiving: String(result.killedWhileReceiving),
      bootsFromCache: String(result.bootsFromCache),
      revisionsAccepted: String(result.accepted),
      tempFilesLeft: String(result.leftoverTempFiles),
    });
    expect(result.failures).toEqual([]);
    expect(result.corruptFiles).toBe(0);
    expect(result.leftoverTempFiles).toBeLessThanOrEqual(1);
    // The kills really landed in the middle of the stream.
    expect(result.killedWhileReceiving).toBeGreaterThanOrEqual(480);
    expect(result.bootsFromCache).toBeGreaterThanOrEqual(499);
  }, 1_800_000);
});
