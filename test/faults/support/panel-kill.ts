// The SIGKILL-while-writing-the-cache trials, shared by the CI case (100 trials) and the slow
// one (more): a panel process (panel-runner.ts) receives a fast stream of documents over a
// real MQTT broker and is killed at a random moment; the next trial's process boots from what
// the killed one left on disk.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DisplayDocument, panelTopics } from '@airpanel/contract';
import { decodeEnvelope } from '../../../src-main/core/cache.js';
import { LoopbackBroker } from '../../../src-main/core/testing/loopback-broker.js';
import { makeConfig, makeDocument, writePanelJson } from '../../../src-main/core/testing/fixtures.js';
import { buildForNode } from '../../ota-support/build.js';

export interface PanelKillResult {
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

interface Line {
  type: string;
  kind?: string;
  revision?: number;
  stale?: boolean;
  error?: string;
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

export async function runPanelKillTrials(o: { trials: number; maxKillDelayMs?: number; dataDir: string; buildDir: string; random?: () => number; log?: (line: string) => void }): Promise<PanelKillResult> {
  const random = o.random ?? Math.random;
  const { entry, nodeArgs } = buildForNode(join(import.meta.dirname, 'panel-runner.ts'), join(o.buildDir, 'panel-runner.mjs'));
  const broker = await LoopbackBroker.start();
  const topics = panelTopics(PANEL_ID);
  // HTTP goes nowhere (a closed port): documents arrive over MQTT only.
  await writePanelJson(o.dataDir, makeConfig(PANEL_ID, 'http://127.0.0.1:9/api/v1', broker.url));
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

      const spawnedAt = performance.now();
      const child = spawn(process.execPath, [...nodeArgs, entry, '--data-dir', o.dataDir], {
        env: { ...process.env, AIRPANEL_TEST_TUNING: JSON.stringify({ firstPollMaxDelayMs: 60_000, pollIntervalMs: 60_000, reconnectBackoff: { minMs: 20, baseMs: 50, maxMs: 200 } }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      const lines: Line[] = [];
      let wake: (() => void) | null = null;
      createInterface({ input: child.stdout }).on('line', (text) => {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        if (line.type === 'view' && line.kind === 'content' && typeof line.revision === 'number') accepted.add(line.revision);
        wake?.();
      });
      const waitLine = (check: (l: Line) => boolean, timeoutMs: number) =>
        new Promise<Line | null>((resolve) => {
          const timer = setTimeout(() => {
            wake = null;
            resolve(null);
          }, timeoutMs);
          const test = () => {
            const found = lines.find(check);
            if (found) {
              clearTimeout(timer);
              wake = null;
              resolve(found);
            }
          };
          wake = test;
          test();
        });

      // The first view is what the process booted from: the cache the killed one left.
      const first = await waitLine((l) => l.type === 'view' || l.type === 'started' || l.type === 'fatal', 20_000);
      if (!first || first.type === 'fatal') {
        failures.push(`trial ${trial}: the panel did not boot: ${first?.error ?? 'no view within 20 s'}\n${stderr}`);
        child.kill('SIGKILL');
        await exited;
        break;
      }
      bootMsTotal += performance.now() - spawnedAt;
      // It boots from exactly what is on disk: that revision, not stale yet; nothing → booting.
      if (first.kind === 'content') bootsFromCache += 1;
      const expected = onDisk === null ? { kind: 'booting' } : { kind: 'content', revision: onDisk, stale: false };
      const got = { kind: first.kind, ...(first.kind === 'content' ? { revision: first.revision, stale: first.stale } : {}) };
      if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`trial ${trial}: booted with ${JSON.stringify(got)}, cache held ${JSON.stringify(expected)}`);

      // Let it take in documents, then kill it at a random moment of the stream.
      const bootRevision = first.revision ?? 0;
      await waitLine((l) => l.type === 'view' && (l.revision ?? 0) > bootRevision, 5_000);
      if (!everCached) {
        // The first run writes a whole cache before its kill, so every later boot has one to show
        // (however slow fsync is on a loaded machine).
        for (let i = 0; i < 1_000 && (await readCacheFile(join(o.dataDir, 'cache', 'display.json'))) === null; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * (o.maxKillDelayMs ?? 300))));
      if (lines.some((l) => l.type === 'view' && (l.revision ?? 0) > bootRevision)) killedWhileReceiving += 1;
      child.kill('SIGKILL');
      const exit = await exited;
      if (exit.signal !== 'SIGKILL') failures.push(`trial ${trial}: the panel exited by itself (${exit.code ?? exit.signal})\n${stderr}`);
      if (trial % 25 === 24) o.log?.(`[faults] panel kill: ${trial + 1}/${o.trials} trials, ${accepted.size} revisions accepted, ${failures.length} failures`);
    }
  } finally {
    publishing = false;
    await publisher.catch(() => undefined);
    await broker.close();
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
