// The panel's data partition fills up (ENOSPC) while it runs against the real backend: a real
// tmpfs of 512 KiB holds panel.json, the cache and the real rotating log file. The panel must
// keep showing new content from memory, log the failed cache writes, keep a valid (older)
// cache on disk, and catch up as soon as space returns.
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DisplayDocument } from '@airpanel/contract';
import { decodeEnvelope } from '@airpanel/panel/core/cache';
import { createPanelLogger } from '@airpanel/panel/core/logger';
import {
  ReadingFeeder,
  mountTinyTmpfs,
  reportFigures,
  sleep,
  startBackendWithPanel,
  startPanel,
  useCleanups,
  type TinyFs,
} from '../harness/index.js';

const cleanups = useCleanups();

// Can a tiny real filesystem be made here? (Mounted and unmounted again: each case makes its own.)
const probe: TinyFs = await mountTinyTmpfs(64 * 1024);
if (probe.ok) await probe.unmount();
else console.log(`[faults] disk full: skipped, no tiny real filesystem here (${probe.reason})`);

async function cachedRevision(dataDir: string): Promise<number | null> {
  try {
    return DisplayDocument.parse(decodeEnvelope(await readFile(join(dataDir, 'cache', 'display.json'), 'utf8'))).revision;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

describe.skipIf(!probe.ok)('disk full (ENOSPC) on the panel data partition', () => {
  it('keeps showing new content from memory, logs the error, and writes the cache again when space returns', async () => {
    const tiny = await mountTinyTmpfs(512 * 1024);
    if (!tiny.ok) throw new Error(tiny.reason);
    cleanups.add(() => tiny.unmount());
    const { api, registration, sensorId } = await startBackendWithPanel({ cleanups, panelId: 'panel-disk' });
    const feeder = new ReadingFeeder(() => api, sensorId, 250).start();
    cleanups.add(() => feeder.stop());
    const dataDir = join(tiny.dir, 'airpanel');
    const fileLogger = createPanelLogger({ dataDir, level: 'info' });
    cleanups.add(() => void fileLogger.close());
    const panel = await startPanel({
      mode: 'in-process',
      cleanups,
      registration,
      dataDir,
      logger: fileLogger,
      tuning: { freshnessWindowMs: 3_000 },
    });
    await panel.waitUntil('live with a cached document', () => panel.core.state.name === 'live' && panel.accepted().length >= 2, 10_000);
    const logFile = join(dataDir, 'logs', 'panel.log');

    // The partition fills up.
    const filler = await tiny.fill();
    const fullAt = performance.now();
    const revisionOnDiskWhenFull = await cachedRevision(dataDir);
    const linesBefore = panel.entries.length;
    const failedAt = await panel.waitUntil(
      'a failed cache write',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'cache write failed' && /ENOSPC/.test(String(e['error']))),
      10_000,
    );
    // New documents keep coming and are shown from memory; the panel stays live.
    const shownWhenFailed = panel.shownRevision()!;
    await panel.waitUntil('newer documents shown while the disk is full', () => (panel.shownRevision() ?? 0) > shownWhenFailed + 2, 10_000);
    expect(panel.core.state.name).toBe('live');
    expect(panel.core.currentStatus().lastError).toMatch(/cache write failed.*ENOSPC/);
    // On disk: still a valid, older document, and no half-written temp files.
    const onDiskWhileFull = await cachedRevision(dataDir);
    expect(onDiskWhileFull).not.toBeNull();
    expect(onDiskWhileFull!).toBeLessThan(panel.shownRevision()!);
    expect(onDiskWhileFull!).toBeGreaterThanOrEqual(revisionOnDiskWhenFull ?? 0);
    // (A temp file exists while a write is in flight; a failed write removes its own.)
    let tempFiles: string[] = [];
    for (let i = 0; i < 200; i++) {
      tempFiles = (await readdir(join(dataDir, 'cache'))).filter((n) => n.endsWith('.tmp'));
      if (tempFiles.length === 0) break;
      await sleep(5);
    }
    expect(tempFiles).toEqual([]);
    const logSizeWhileFull = (await stat(logFile)).size;

    // Space returns.
    await rm(filler.path);
    const freedAt = performance.now();
    let cacheCurrentAt = 0;
    for (let i = 0; i < 1_000 && !cacheCurrentAt; i++) {
      const onDisk = await cachedRevision(dataDir);
      if (onDisk !== null && onDisk === panel.shownRevision() && onDisk > onDiskWhileFull!) cacheCurrentAt = performance.now();
      else await sleep(10);
    }
    expect(cacheCurrentAt, 'the cache caught up within 10 s of space returning').toBeGreaterThan(0);
    // The file log takes lines again.
    let logBackAt = 0;
    for (let i = 0; i < 500 && !logBackAt; i++) {
      if ((await stat(logFile)).size > logSizeWhileFull) logBackAt = performance.now();
      else await sleep(10);
    }
    expect(panel.core.state.name).toBe('live');
    expect(panel.states.map((s) => s.name)).not.toContain('maintenance');
    reportFigures('faults', 'disk full (ENOSPC, real 512 KiB tmpfs)', {
      filler: `${filler.bytes}B`,
      firstFailedWrite: failedAt - fullAt,
      cacheCurrentAfterSpaceReturns: cacheCurrentAt - freedAt,
      logFileGrowsAgain: logBackAt ? logBackAt - freedAt : 'no',
      failedCacheWrites: String(panel.entries.filter((e) => e.message === 'cache write failed').length),
    });
    expect(logBackAt, 'the file log is written again after space returns').toBeGreaterThan(0);
  }, 60_000);
});
