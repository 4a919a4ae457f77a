// The panel (a real process) killed with SIGKILL while it writes its cache, 100 times in a row
// on one data dir: every boot shows a revision it had accepted, never a corrupt or partial one.
// test/faults/panel-kill.slow.test.ts runs many more trials (npm run test:faults).
import { afterEach, describe, expect, it } from 'vitest';
import { runPanelKillTrials } from './support/panel-kill.js';
import { Cleanups, report, tempDir } from './support/stack.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('panel killed (SIGKILL) while writing its cache', () => {
  it('boots from a valid cache after each of 100 kills, never crashes', async () => {
    const started = performance.now();
    const result = await runPanelKillTrials({
      trials: 100,
      maxKillDelayMs: 200,
      dataDir: await tempDir(cleanups, 'airpanel-faults-panel-'),
      buildDir: await tempDir(cleanups, 'airpanel-faults-build-'),
      log: (line) => console.log(line),
    });
    report('panel SIGKILL x100', {
      elapsed: performance.now() - started,
      meanBoot: result.meanBootMs,
      killedWhileReceiving: String(result.killedWhileReceiving),
      bootsFromCache: String(result.bootsFromCache),
      revisionsAccepted: String(result.accepted),
      tempFilesLeft: String(result.leftoverTempFiles),
    });
    expect(result.failures).toEqual([]);
    expect(result.corruptFiles).toBe(0);
    // Each boot removes the temp files of the write its predecessor was killed in: at most the
    // last process's one is left.
    expect(result.leftoverTempFiles).toBeLessThanOrEqual(1);
    // The kills really landed in the middle of the stream.
    expect(result.killedWhileReceiving).toBeGreaterThanOrEqual(95);
    expect(result.bootsFromCache).toBeGreaterThanOrEqual(99);
  }, 300_000);
});
