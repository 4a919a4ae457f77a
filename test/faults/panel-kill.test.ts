// The panel (a real process, the harness's panel runner) killed with SIGKILL while it writes
// its cache, many times in a row on one data dir: every boot shows a revision it had accepted,
// never a corrupt or partial one. A fast stream of documents arrives over a real MQTT broker
// and the process is killed at a random moment; the next trial's process boots from what the
// killed one left on disk. `npm test`: 100 trials, kills up to 200 ms into the stream;
// `npm run test:faults`: 500 trials, kills up to 1 s in.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DisplayDocument, panelTopics } from '@airpanel/contract';
import { decodeEnvelope } from '@airpanel/panel/core/cache';
import {
  buildForNode,
  forRunLength,
  LoopbackBroker,
  makeConfig,
  makeDocument,
  makeTempDir,
  PANEL_CHILD_SOURCE,
  PanelProcess,
  reportFigures,
  useCleanups,
  writePanelJson,
  type PanelEvent,
} from '../harness/index.js';
import { API_PREFIX } from '@airpanel/contract/api';

const cleanups = useCleanups();
const RUN = forRunLength({
  short: { trials: 100, maxKillDelayMs: 200, minKilledWhileReceiving: 95, timeoutMs: 300_000 },
  long: { trials: 500, maxKillDelayMs: 1_000, minKilledWhileReceiving: 480, timeoutMs: 1_800_000 },
});

interface PanelKillResult {
  trials: number;
  /** Trials whose process had accepted at least one new document before the kill. */
  killedWhileReceiving: number;
  /** Boots that showed cached content (the others had no document yet: booting). */
  bootsFromCache: number;
  /** Revisions accepted by all processes. */
  accepted: number;
  /** Temp files of interrupted atomic writes left in cache/ at the end. */
  leftoverTempFiles: number;
  /** Cache files moved aside as corrupt (must stay 0: atomic writes leave none). */
  corruptFiles: number;
  /** Spawn → first view, averaged (ms). */
  meanBootMs: number;
  failures: string[];
}

const PANEL_ID = 'panel-kill';

/** Reads a cache file as the core would, without moving anything aside. */
async function readCacheFile(path: string): Promise<{ ok: true; value: unknown } | { ok: false; problem: string } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    return { ok: true, value: decodeEnvelope(text) };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

const isView = (e: PanelEvent): e is Extract<PanelEvent, { type: 'view' }> => e.type === 'view';

async function runPanelKillTrials(o: {
  trials: number;
  maxKillDelayMs?: number;
  dataDir: string;
  buildDir: string;
  random?: () => number;
  log?: (line: string) => void;
}): Promise<PanelKillResult> {
  const random = o.random ?? Math.random;
  const panel = new PanelProcess({
    dataDir: o.dataDir,
    program: buildForNode(PANEL_CHILD_SOURCE, join(o.buildDir, 'panel-child.mjs')),
    tuning: { firstPollMaxDelayMs: 60_000, pollIntervalMs: 60_000, reconnectBackoff: { minMs: 20, baseMs: 50, maxMs: 200 } },
    logLevel: 'warn',
  });
  const broker = await LoopbackBroker.start();
  const topics = panelTopics(PANEL_ID);
  // HTTP goes nowhere (a closed port): documents arrive over MQTT only.
  await writePanelJson(o.dataDir, makeConfig(PANEL_ID, `http://127.0.0.1:9${API_PREFIX}`, broker.url));
  const accepted = new Set<number>();
  const failures: string[] = [];
  let revision = 0;
  let killedWhileReceiving = 0;
  let bootsFromCache = 0;
  let bootMsTotal = 0;
  let everCached = false;
  let publishing = true;
  // The stream: a new retained document every ~15 ms, across trials. A cache write (two atomic
  // writes, four fsyncs) takes longer than that, so the panel is writing nearly all the time.
  const publisher = (async () => {
    while (publishing) {
      revision += 1;
      const level = (['good', 'moderate', 'bad'] as const)[revision % 3]!;
      await broker.publish(topics.display, JSON.stringify(makeDocument(PANEL_ID, revision, level)), true);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  try {
    for (let trial = 0; trial < o.trials; trial++) {
      // What the previous process left: both files decode (or are absent) and hold a revision it had on screen.
      let onDisk: number | null = null;
      for (const name of ['display.json', 'revision.json']) {
        const file = await readCacheFile(join(o.dataDir, 'cache', name));
        if (file === null) continue;
        if (!file.ok) {
          failures.push(`trial ${trial}: cache/${name} is corrupt after the kill: ${file.problem}`);
          continue;
        }
        const rev = name === 'display.json' ? DisplayDocument.parse(file.value).revision : (file.value as { revision: number }).revision;
        if (name === 'display.json') onDisk = rev;
        if (!accepted.has(rev)) failures.push(`trial ${trial}: cache/${name} holds revision ${rev}, never accepted`);
      }
      if (onDisk !== null) everCached = true;
      else if (everCached) failures.push(`trial ${trial}: cache/display.json vanished`);

      await panel.start('spawned');
      const noteAccepted = () => {
        for (const e of panel.events) if (isView(e) && e.kind === 'content' && typeof e.revision === 'number') accepted.add(e.revision);
      };

      // The first view is what the process booted from: the cache the killed one left.
      const first = await panel.nextEvent((e) => e.type === 'view' || e.type === 'started' || e.type === 'fatal', 20_000);
      if (!first || first.type === 'fatal') {
        failures.push(
          `trial ${trial}: the panel did not boot: ${first?.type === 'fatal' ? first.error : 'no view within 20 s'}\n${panel.output}`,
        );
        await panel.kill('SIGKILL');
        break;
      }
      bootMsTotal += performance.now() - panel.spawnedAt;
      const firstView = first as Extract<PanelEvent, { type: 'view' | 'started' }>;
      // It boots from exactly what is on disk: that revision, not stale yet; nothing → booting.
      if (firstView.kind === 'content') bootsFromCache += 1;
      const expected = onDisk === null ? { kind: 'booting' } : { kind: 'content', revision: onDisk, stale: false };
      const got = {
        kind: firstView.kind,
        ...(firstView.kind === 'content' ? { revision: firstView.revision, stale: firstView.stale } : {}),
      };
      if (JSON.stringify(got) !== JSON.stringify(expected))
        failures.push(`trial ${trial}: booted with ${JSON.stringify(got)}, cache held ${JSON.stringify(expected)}`);

      // Let it take in documents, then kill it at a random moment of the stream.
      const bootRevision = firstView.revision ?? 0;
      await panel.nextEvent((e) => isView(e) && (e.revision ?? 0) > bootRevision, 5_000);
      if (!everCached) {
        // The first run writes a whole cache before its kill, so every later boot has one to show
        // (however slow fsync is on a loaded machine).
        for (let i = 0; i < 1_000 && (await readCacheFile(join(o.dataDir, 'cache', 'display.json'))) === null; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * (o.maxKillDelayMs ?? 300))));
      if (panel.events.some((e) => isView(e) && (e.revision ?? 0) > bootRevision)) killedWhileReceiving += 1;
      const exit = await panel.kill('SIGKILL');
      noteAccepted();
      if (exit.signal !== 'SIGKILL')
        failures.push(`trial ${trial}: the panel exited by itself (${exit.code ?? exit.signal})\n${panel.output}`);
      if (trial % 25 === 24)
        o.log?.(`[faults] panel kill: ${trial + 1}/${o.trials} trials, ${accepted.size} revisions accepted, ${failures.length} failures`);
    }
  } finally {
    publishing = false;
    await publisher.catch(() => undefined);
    await broker.close();
    await panel.kill('SIGKILL');
  }
  const cacheFiles = await readdir(join(o.dataDir, 'cache')).catch(() => [] as string[]);
  return {
    trials: o.trials,
    killedWhileReceiving,
    bootsFromCache,
    accepted: accepted.size,
    leftoverTempFiles: cacheFiles.filter((n) => n.endsWith('.tmp')).length,
    corruptFiles: cacheFiles.filter((n) => n.includes('.corrupt-')).length,
    meanBootMs: bootMsTotal / Math.max(1, o.trials),
    failures,
  };
}

describe('panel killed (SIGKILL) while writing its cache', () => {
  it(
    `boots from a valid cache after each of ${RUN.trials} kills, never crashes`,
    async () => {
      const started = performance.now();
      const result = await runPanelKillTrials({
        trials: RUN.trials,
        maxKillDelayMs: RUN.maxKillDelayMs,
        dataDir: await makeTempDir(cleanups, 'airpanel-faults-panel-'),
        buildDir: await makeTempDir(cleanups, 'airpanel-faults-build-'),
        log: (line) => console.log(line),
      });
      reportFigures('faults', `panel SIGKILL x${RUN.trials}`, {
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
      expect(result.killedWhileReceiving).toBeGreaterThanOrEqual(RUN.minKilledWhileReceiving);
      expect(result.bootsFromCache).toBeGreaterThanOrEqual(RUN.trials - 1);
    },
    RUN.timeoutMs,
  );
});
