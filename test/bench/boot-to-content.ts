/**
 * Boot to content: from spawning the panel process to the cached content painted in
 * Chromium, with no backend reachable.
 *
 *   npx tsx test/bench/boot-to-content.ts [--rounds 8]
 *
 * Setup: a real backend and a real PanelCore run once to fill the panel's cache (a valid
 * cache/display.json), then the backend is closed: panel.json points at ports where nobody
 * listens. Each round spawns the headless host (the harness's panel runner test/harness/panel-child.ts with --renderer-dir,
 * bundled by vite and run with plain node, as a panel runs a bundle) and opens its page in a
 * fresh context of an already running headless Chromium (a kiosk's browser starts alongside
 * the app; its own start is not counted). One warm-up round is not counted.
 *
 * Breakdown, each from the spawn:
 *   node started     the child's performance.timeOrigin (exec + Node's own start)
 *   modules loaded   the bundle and the packages it imports are evaluated
 *   host ready       the core has shown the cache and the host listens (child's clock)
 *   navigation       Chromium starts loading the page (page's performance.timeOrigin;
 *                    the harness navigates as soon as it reads "ready")
 *   page loaded      the page's load event end
 *   content in DOM   a MutationObserver sees [data-view=content][data-revision=R] (its layer
 *                    is still transparent while the renderer fits it)
 *   fade-in starts   its layer turns "entering": the first pixels of the content (the figure)
 *   opaque           its layer is "shown" after the 320 ms cross-fade from the splash
 *   frame presented  the renderer's framePresented for revision R reaches the core
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from '@playwright/test';
import got from 'got';
import mqtt from 'mqtt';
import { PanelCore, loadPanelConfig } from '@airpanel/panel/core/index';
import {
  AdminApi,
  bundleLikeRelease,
  capturingLogger,
  Cleanups,
  PanelProcess,
  panelConfigFor,
  provisionPanel,
  RecordingHostActions,
  startBackend,
  summarize,
  writePanelConfig,
  type PanelEvent,
} from '../harness/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, loadLine, machineInfo, round, writeReport } from './support/report.js';

const REPO = join(import.meta.dirname, '..', '..');
const RENDERER_DIR = join(REPO, 'src-renderer', 'dist');
const now = () => performance.timeOrigin + performance.now();

/**
 * In-page watcher (runs before the page's own scripts): when `selector` first matches, the
 * time in window.__contentAt (its layer is still transparent, "pending"), when its layer
 * starts fading in in window.__visibleAt ("entering": the first pixels of the content), when
 * it is opaque in window.__paintAt ("shown"). Times are epoch ms (timeOrigin + now()).
 */
function contentWatcher(selector: string): string {
  return `(() => {
    const sel = ${JSON.stringify(selector)};
    const t = () => performance.timeOrigin + performance.now();
    const check = () => {
      const el = document.querySelector(sel);
      if (!el) return;
      if (window.__contentAt === undefined) window.__contentAt = t();
      const phase = el.closest('[data-phase]')?.getAttribute('data-phase');
      if ((phase === 'entering' || phase === 'shown') && window.__visibleAt === undefined) window.__visibleAt = t();
      if (phase === 'shown' && window.__paintAt === undefined) window.__paintAt = t();
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
  })();`;
}

/** Fills dataDir with panel.json and a valid cache from a real backend; returns the cached revision. */
async function prepareCachedPanel(root: string): Promise<{ dataDir: string; revision: number }> {
  const cleanups = new Cleanups();
  const { backend } = await startBackend({
    mode: 'in-process',
    cleanups,
    dataDir: join(root, 'backend'),
    mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
    adminToken: null,
    backend: { startLoops: false },
  });
  const dataDir = join(root, 'panel');
  try {
    const registration = await provisionPanel(new AdminApi(backend.url, backend.adminToken), {
      panelId: 'panel-boot-bench',
      name: 'Boot bench',
      sensorId: null,
    });
    await writePanelConfig(dataDir, panelConfigFor(registration));
    const { logger } = capturingLogger();
    const core = new PanelCore({
      dataDir,
      config: await loadPanelConfig(dataDir),
      logger,
      mqttConnect: (u, o) => mqtt.connect(u, o),
      http: got,
      hostActions: new RecordingHostActions(),
      firmwareVersion: 'bench',
    });
    await core.start();
    const until = Date.now() + 30_000;
    while (!(core.state.name === 'live' && existsSync(join(dataDir, 'cache', 'revision.json')))) {
      if (Date.now() > until) throw new Error(`the panel did not go live (${core.state.name})`);
      await sleep(20);
    }
    const revision = core.currentStatus().displayedRevision!;
    await sleep(200); // the cache write is asynchronous
    await core.stop();
    return { dataDir, revision };
  } finally {
    await cleanups.run();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' } } });
  const rounds = Number(values.rounds);
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) throw new Error('build the renderer first: npm run build:renderer');
  const bundle = await bundleLikeRelease('test/harness/panel-child.ts', 'panel-child');
  const root = await mkdtemp(join(tmpdir(), 'airpanel-boot-bench-'));
  const start = machineInfo();
  console.log(
    `boot-to-content: ${rounds} rounds (+1 warm-up), headless host bundled under plain node, no backend, cache on disk; ${loadLine(start)}`,
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const rows: Record<string, number>[] = [];
  try {
    const { dataDir, revision } = await prepareCachedPanel(root);
    console.log(
      `cache: revision ${revision} in ${relative(root, dataDir)}/cache (${(await stat(join(dataDir, 'cache', 'display.json'))).size} bytes); backend closed`,
    );
    for (let r = 0; r <= rounds; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      // A string, not a function: tsx would wrap inner functions in a helper the page lacks.
      await page.addInitScript({ content: contentWatcher(`[data-view="content"][data-revision="${revision}"]`) });
      const child = new PanelProcess({
        dataDir,
        program: { entry: bundle, nodeArgs: [] },
        rendererDir: RENDERER_DIR,
        stderr: 'inherit',
        firmwareVersion: 'bench',
      });
      try {
        const t0 = now();
        await child.start('spawned');
        const readyEvent = await child.nextEvent((e): e is Extract<PanelEvent, { type: 'started' }> => e.type === 'started', 30_000);
        if (!readyEvent) throw new Error(`the host did not start:\n${child.output}`);
        if (readyEvent.state !== 'showing-cached') throw new Error(`the core is ${readyEvent.state}, not showing-cached`);
        await page.goto(readyEvent.url!, { waitUntil: 'load' });
        await child.frame((f) => f.kind === 'content' && f.revision === revision, 20_000);
        await page.waitForFunction(() => (window as unknown as { __paintAt?: number }).__paintAt !== undefined, undefined, {
          timeout: 10_000,
        });
        const page_ = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          const w = window as unknown as { __contentAt: number; __visibleAt: number; __paintAt: number };
          return {
            origin: performance.timeOrigin,
            loadEnd: performance.timeOrigin + nav.loadEventEnd,
            contentAt: w.__contentAt,
            visibleAt: w.__visibleAt,
            paintAt: w.__paintAt,
          };
        });
        const events = child.events;
        const origin = (events.find((e) => e.type === 'origin') as { at: number }).at;
        const frame = (await child.frame((f) => f.kind === 'content' && f.revision === revision, 0)).at;
        const row = {
          nodeStarted: round(origin - t0, 1),
          modulesLoaded: round((events.find((e) => e.type === 'modules') as { at: number }).at - t0, 1),
          hostReady: round(readyEvent.at - t0, 1),
          navigation: round(page_.origin - t0, 1),
          pageLoaded: round(page_.loadEnd - t0, 1),
          contentInDom: round(page_.contentAt - t0, 1),
          fadeInStarts: round(page_.visibleAt - t0, 1),
          opaque: round(page_.paintAt - t0, 1),
          framePresented: round(frame - t0, 1),
        };
        const label = r === 0 ? 'warm-up' : `round ${r}`;
        console.log(
          `  ${label.padEnd(8)} node ${row.nodeStarted} · modules ${row.modulesLoaded} · host ready ${row.hostReady} · navigation ${row.navigation} · loaded ${row.pageLoaded} · in DOM ${row.contentInDom} · fade-in ${row.fadeInStarts} · opaque ${row.opaque} · frame presented ${row.framePresented} ms  ${loadLine()}`,
        );
        if (r > 0) rows.push(row);
      } finally {
        await child.stop();
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await rm(root, { recursive: true, force: true });
  }
  const stages = [
    'nodeStarted',
    'modulesLoaded',
    'hostReady',
    'navigation',
    'pageLoaded',
    'contentInDom',
    'fadeInStarts',
    'opaque',
    'framePresented',
  ] as const;
  const summary = Object.fromEntries(
    stages.map((s) => {
      const v = summarize(rows.map((row) => row[s]!));
      return [s, { median: round(v.p50, 1), min: round(v.min, 1), max: round(v.max, 1) }];
    }),
  ) as Record<(typeof stages)[number], { median: number; min: number; max: number }>;
  const end = machineInfo();
  console.log('');
  console.log('median (min…max) ms from spawning the host process:');
  const names: Record<(typeof stages)[number], string> = {
    nodeStarted: 'node started (time origin)',
    modulesLoaded: 'modules loaded (bundle + packages)',
    hostReady: 'host ready (cache shown, listening)',
    navigation: 'Chromium navigation starts',
    pageLoaded: 'page loaded (load event end)',
    contentInDom: 'cached content in the DOM (transparent)',
    fadeInStarts: 'fade-in starts (first content pixels)',
    opaque: 'content opaque (fade-in done)',
    framePresented: 'framePresented reaches the core',
  };
  for (const s of stages)
    console.log(`  ${names[s].padEnd(38)} ${String(summary[s].median).padStart(7)}  (${summary[s].min}…${summary[s].max})`);
  console.log(`end: ${loadLine(end)}`);
  const files = await writeReport(
    'boot-to-content',
    {
      settings: {
        rounds,
        child: 'bundled headless host under plain node',
        browser: 'headless Chromium, already running, fresh context per round',
      },
      loadAverageStart: start.loadAverage,
      rounds: rows,
      summary,
    },
    {
      title: 'Boot to cached content (headless host, no backend)',
      panels: [
        {
          kind: 'bars',
          title: 'Milliseconds from spawn (median of rounds)',
          unit: 'ms',
          bars: stages.map((s) => ({ label: names[s], value: summary[s].median })),
        },
      ],
    },
    end,
  );
  console.log(`written: ${files.map((f) => relative(REPO, f)).join(', ')}`);
}

await main();
