/**
 * Change to pixel: an admin change over REST → the panel's renderer in Chromium shows it,
 * for a panel on MQTT push and a panel on HTTP polling, side by side in one run.
 *
 *   npx tsx test/bench/change-to-pixel.ts [--rounds 20] [--poll-ms 1000]
 *
 * One real backend in this process (the harness's: SQLite, embedded MQTT); two panels, each
 * a headless host process (the harness's panel runner test/harness/panel-child.ts, bundled, plain node: the real
 * PanelCore and the built renderer) with its page open in headless Chromium:
 *   push  panel.json with the broker's URL: documents arrive over MQTT;
 *   poll  no MQTT URL: conditional GETs every --poll-ms (± 20 % jitter, the core's default).
 * Each panel has its own simulated sensor. A round posts a reading to each panel's sensor in
 * turn (the contract's `postReading` with the admin token; the level flips between
 * good and bad so the screen changes), order alternating between rounds, with a random pause
 * before each change so it falls at a random point of the poll period.
 *
 * Measured from just before the REST call (epoch ms with sub-ms resolution, same machine):
 *   rest      the REST answer arrived (the backend made and published the document)
 *   dom       a MutationObserver in the page sees [data-view=content][data-revision=R]; the
 *             renderer inserts the new layer transparent ("pending") and fits it first
 *   visible   its layer turns "entering": the 320 ms cross-fade starts, the first pixels change
 *             (the headline figure)
 *   shown     the layer is opaque ("shown")
 *   frame     the renderer's framePresented for R (sent two animation frames after "shown")
 *             reaches the core
 * A change falls at a uniformly random point of a poll period I (I uniform in P ± 20 %), so
 * polling adds E[I²]/(2·E[I]) = 0.507·P on average: printed as "minus expected wait".
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Page } from '@playwright/test';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import {
  AdminApi,
  bundleLikeRelease,
  Cleanups,
  PanelProcess,
  panelConfigFor,
  provisionPanel,
  startBackend,
  summarize,
  writePanelConfig,
} from '../harness/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, loadLine, machineInfo, round, writeReport } from './support/report.js';

const REPO = join(import.meta.dirname, '..', '..');
const RENDERER_DIR = join(REPO, 'src-renderer', 'dist');
const now = () => performance.timeOrigin + performance.now();
const POLL_JITTER = 0.2;

/**
 * In-page, per revision of a content view, the first time it is: in the DOM (window.__revs;
 * its layer is still transparent, phase "pending"), fading in (window.__vis: phase
 * "entering", the first frames whose pixels change) and opaque (window.__shown: "shown").
 */
const REVISION_WATCHER = `(() => {
  window.__revs = {}; window.__vis = {}; window.__shown = {};
  const t = () => performance.timeOrigin + performance.now();
  const check = () => {
    for (const el of document.querySelectorAll('[data-view="content"][data-revision]')) {
      const r = el.getAttribute('data-revision');
      if (!(r in window.__revs)) window.__revs[r] = t();
      const phase = el.closest('[data-phase]')?.getAttribute('data-phase');
      if ((phase === 'entering' || phase === 'shown') && !(r in window.__vis)) window.__vis[r] = t();
      if (phase === 'shown' && !(r in window.__shown)) window.__shown[r] = t();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-revision', 'data-phase'] });
})();`;

type Mode = 'push' | 'poll';
interface Row {
  mode: Mode;
  round: number;
  revision: number;
  rest: number;
  dom: number;
  visible: number;
  shown: number;
  frame: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, 'poll-ms': { type: 'string', default: '1000' } } });
  const rounds = Number(values.rounds);
  const pollMs = Number(values['poll-ms']);
  const expectedWait = (pollMs * (1 + POLL_JITTER ** 2 / 3)) / 2;
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) throw new Error('build the renderer first: npm run build:renderer');
  const bundle = await bundleLikeRelease('test/harness/panel-child.ts', 'panel-child');
  const root = await mkdtemp(join(tmpdir(), 'airpanel-c2p-bench-'));
  const start = machineInfo();
  console.log(
    `change-to-pixel: ${rounds} rounds, push (MQTT) and poll (HTTP every ${pollMs} ms ± ${POLL_JITTER * 100} %) interleaved; ${loadLine(start)}`,
  );
  const backendCleanups = new Cleanups();
  const { backend } = await startBackend({
    mode: 'in-process',
    cleanups: backendCleanups,
    dataDir: join(root, 'backend'),
    mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
    adminToken: null,
    backend: { startLoops: false },
  });
  // A raw POST, timed: the typed client's validation would be part of the figure.
  const postReading = (sensorId: string, body: unknown) =>
    fetch(endpointUrl(backend.url, endpoints.postReading, { sensorId }), {
      method: 'POST',
      headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const adminApi = new AdminApi(backend.url, backend.adminToken);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const panels = new Map<Mode, { id: string; sensor: string; proc: PanelProcess; page: Page }>();
  const rows: Row[] = [];
  try {
    for (const mode of ['push', 'poll'] as const) {
      const id = `panel-${mode}`;
      const sensor = `sensor-${mode}`;
      const registration = await provisionPanel(adminApi, { panelId: id, sensorId: sensor, name: `Panel ${mode}`, firstPm25: null });
      const config = panelConfigFor(registration);
      if (mode === 'poll') config.endpoints = { ...config.endpoints, mqttUrl: null };
      const dataDir = join(root, id);
      await writePanelConfig(dataDir, config);
      const proc = new PanelProcess({
        dataDir,
        program: { entry: bundle, nodeArgs: [] },
        rendererDir: RENDERER_DIR,
        stderr: 'inherit',
        firmwareVersion: 'bench',
        tuning: mode === 'poll' ? { pollIntervalMs: pollMs, pollJitter: POLL_JITTER, firstPollMaxDelayMs: 100 } : {},
      });
      await proc.start();
      const ready = proc.started();
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
      await page.addInitScript({ content: REVISION_WATCHER });
      await page.goto(ready.url!);
      const revision = backend.documents.display(id)!.document.revision;
      await proc.frame((f) => f.kind === 'content' && f.revision === revision);
      panels.set(mode, { id, sensor, proc, page });
    }
    let level = 0;
    for (let r = 0; r <= rounds; r++) {
      const order: Mode[] = r % 2 ? ['push', 'poll'] : ['poll', 'push'];
      for (const mode of order) {
        const p = panels.get(mode)!;
        await sleep(200 + Math.random() * pollMs); // a random point of the poll period
        level++;
        const pm25 = level % 2 ? 80 : 5;
        const t0 = now();
        const res = await postReading(p.sensor, { values: { pm25 } });
        const tRest = now();
        if (res.status !== 201 && res.status !== 200) throw new Error(`reading: HTTP ${res.status} ${await res.text()}`);
        const revision = backend.documents.display(p.id)!.document.revision;
        const frame = await p.proc.frame((f) => f.kind === 'content' && f.revision === revision, 30_000);
        type W = { __revs: Record<string, number>; __vis: Record<string, number>; __shown: Record<string, number> };
        const times = await (
          await p.page.waitForFunction(
            (rev) => {
              const w = window as unknown as W;
              const k = String(rev);
              return k in w.__shown ? [w.__revs[k], w.__vis[k], w.__shown[k]] : undefined;
            },
            revision,
            { timeout: 10_000 },
          )
        ).jsonValue();
        const [inDom, visible, shown] = (times ?? []).map((x) => round(Number(x) - t0, 1));
        const row: Row = {
          mode,
          round: r,
          revision,
          rest: round(tRest - t0, 1),
          dom: inDom!,
          visible: visible!,
          shown: shown!,
          frame: round(frame.at - t0, 1),
        };
        if (r > 0) rows.push(row); // round 0 warms up
        console.log(
          `  ${(r === 0 ? 'warm-up' : `round ${r}`).padEnd(8)} ${mode}  REST ${row.rest} · in DOM ${row.dom} · fade-in starts ${row.visible} · opaque ${row.shown} · framePresented ${row.frame} ms  ${loadLine()}`,
        );
      }
    }
  } finally {
    for (const p of panels.values()) await p.proc.stop();
    await browser.close();
    await backendCleanups.run();
    await rm(root, { recursive: true, force: true });
  }
  const of = (m: Mode) => rows.filter((r) => r.mode === m);
  const stats = (m: Mode, k: 'rest' | 'dom' | 'visible' | 'shown' | 'frame') => {
    const s = summarize(of(m).map((r) => r[k]));
    return { p50: round(s.p50, 1), p90: round(s.p90, 1), max: round(s.max, 1), mean: round(s.mean, 1) };
  };
  const summary = {
    push: {
      rest: stats('push', 'rest'),
      dom: stats('push', 'dom'),
      visible: stats('push', 'visible'),
      shown: stats('push', 'shown'),
      frame: stats('push', 'frame'),
    },
    poll: {
      rest: stats('poll', 'rest'),
      dom: stats('poll', 'dom'),
      visible: stats('poll', 'visible'),
      shown: stats('poll', 'shown'),
      frame: stats('poll', 'frame'),
    },
    pollIntervalMs: pollMs,
    pollJitter: POLL_JITTER,
    expectedPollWaitMs: round(expectedWait, 1),
    pollVisibleMeanMinusExpectedWait: 0,
    pollVisibleMeanStandardError: 0,
    ratioPollToPushMedianVisible: 0,
  };
  summary.pollVisibleMeanMinusExpectedWait = round(summary.poll.visible.mean - expectedWait, 1);
  // The wait for the next poll is uniform over the period: its standard deviation is about
  // 0.29·P, so the mean of n rounds carries a standard error of about 0.29·P/√n.
  const pollSe = (summary.pollVisibleMeanStandardError = round(
    Math.sqrt(
      of('poll').reduce((a, r) => a + (r.visible - summary.poll.visible.mean) ** 2, 0) /
        Math.max(1, of('poll').length - 1) /
        of('poll').length,
    ),
    1,
  ));
  summary.ratioPollToPushMedianVisible = round(summary.poll.visible.p50 / summary.push.visible.p50, 2);
  const end = machineInfo();
  console.log('');
  for (const m of ['push', 'poll'] as const) {
    const s = summary[m];
    console.log(
      `${m === 'push' ? 'MQTT push' : 'HTTP poll'}  fade-in starts (first pixels) p50 ${s.visible.p50} ms, p90 ${s.visible.p90}, max ${s.visible.max}, mean ${s.visible.mean}`,
    );
    console.log(
      `           in DOM p50 ${s.dom.p50} · opaque p50 ${s.shown.p50} · framePresented p50 ${s.frame.p50} · REST answer p50 ${s.rest.p50} ms`,
    );
  }
  console.log(
    `poll: mean latency to first pixels ${summary.poll.visible.mean} ms − expected wait for the next poll ${summary.expectedPollWaitMs} ms (0.507 × ${pollMs}) = ${summary.pollVisibleMeanMinusExpectedWait} ms ± ${pollSe} (standard error of the mean over ${of('poll').length} rounds; push mean: ${summary.push.visible.mean} ms)`,
  );
  console.log(`ratio poll/push (median latency to first pixels): ${summary.ratioPollToPushMedianVisible}`);
  console.log(`end: ${loadLine(end)}`);
  const files = await writeReport(
    'change-to-pixel',
    {
      settings: {
        rounds,
        pollIntervalMs: pollMs,
        pollJitter: POLL_JITTER,
        change: `${endpoints.postReading.method} ${endpoints.postReading.path} (admin), level flips good/bad`,
      },
      loadAverageStart: start.loadAverage,
      rounds: rows,
      summary,
    },
    {
      title: 'Change to pixel: REST change → content in Chromium',
      panels: [
        {
          kind: 'bars',
          title: 'Latency to the first changed pixels (fade-in starts), median of rounds',
          unit: 'ms',
          bars: [
            { label: 'MQTT push', value: summary.push.visible.p50 },
            { label: `HTTP poll (${pollMs} ms)`, value: summary.poll.visible.p50 },
            {
              label: 'poll mean − expected wait',
              value: Math.max(0, summary.pollVisibleMeanMinusExpectedWait),
              text: `${summary.pollVisibleMeanMinusExpectedWait} ms ± ${summary.pollVisibleMeanStandardError} (s.e.)`,
            },
            { label: 'push: opaque', value: summary.push.shown.p50 },
            { label: 'push: framePresented', value: summary.push.frame.p50 },
          ],
        },
        {
          kind: 'lines',
          title: 'Latency to the first changed pixels by round (interleaved)',
          xLabel: 'round',
          yLabel: 'ms',
          series: [
            { label: 'push', points: of('push').map((r) => [r.round, r.visible]) },
            { label: 'poll', points: of('poll').map((r) => [r.round, r.visible]) },
          ],
        },
      ],
    },
    end,
  );
  console.log(`written: ${files.map((f) => relative(REPO, f)).join(', ')}`);
}

await main();
