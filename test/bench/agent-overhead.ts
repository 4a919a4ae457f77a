/**
 * Panel agent overhead: RSS and CPU of one headless panel (the real PanelCore, real MQTT to
 * the real backend, no renderer) idle and at one update per second, then a soak of many
 * updates with network outages in between, with heap (after a forced GC) and RSS at
 * checkpoints and their slope.
 *
 *   npx tsx test/bench/agent-overhead.ts [--idle-seconds 30] [--rate-seconds 60] [--updates 100000] [--outages 10]
 *                                        [--pace cache|display] [--batch 100] [--heap-diff]
 *
 * --heap-diff: heap snapshots of the panel at the first and the last checkpoint, and the
 * kinds of objects that grew between them (what a growing heap retains). A diagnostic run:
 * writing a snapshot inflates the RSS of every later checkpoint.
 *
 * This process runs the backend (the harness's, in process: SQLite, embedded aedes broker) and two link
 * proxies (HTTP, MQTT) that can cut the panel's network; the panel runs in a child process
 * (`node --expose-gc`, the harness's panel runner test/harness/panel-child.ts bundled by vite as the Electron
 * build bundles main.js, so tsx's compiler is not counted) of its own, so its figures are its
 * own: process.memoryUsage(), process.cpuUsage() and utime/stime of /proc/self/stat,
 * sampled on request over IPC.
 *
 * Updates are sensor readings posted to the backend's service (the same call as
 * `POST /sensors/{id}/readings`, without the HTTP hop so the backend's own cost stays small
 * on a 2-core machine): each one makes a new DisplayDocument (a new revision), published
 * retained QoS 1 to the panel, which judges it, shows it and writes its cache.
 * - 1 update/s phase: one reading per second over the REST API (as an operator would).
 * - Soak: readings in batches of --batch; the next batch starts when the panel shows the
 *   backend's current revision and (--pace cache, the default) its cache/revision.json holds
 *   it: as fast as the whole pipeline accepts them, persistence included. With --pace
 *   display only the screen paces the soak: the cache, which writes every accepted document
 *   in order (two atomic writes with fsync each), falls behind and its queue holds the
 *   documents in memory. Every updates/outages updates: an outage (both links cut for
 *   --outage-ms, a few updates made meanwhile), then the links come back and the soak waits
 *   until the panel has caught up. Checkpoint after each outage: the cache's lag and the heap
 *   (after GC) at that moment, then, once the cache has caught up, heap after GC and RSS:
 *   the slope is computed on those.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadLine, machineInfo, round, writeReport } from './support/report.js';
import { API_PREFIX, endpointUrl, endpoints, type ClientEndpoint } from '@airpanel/contract/api';
import { bundleLikeRelease, Cleanups, linearFit, PanelProcess, startBackend, type PanelSample as Sample } from '../harness/index.js';
import { heapDiff } from './support/heap-diff.js';

const REPO = join(import.meta.dirname, '..', '..');
const PANEL_ID = 'panel-agent-bench';
const SENSOR_ID = 'sensor-agent-bench';

// ---------------------------------------------------------------- the driver (parent)

/**
 * Production timings except how fast an outage is noticed and recovered from: the soak would
 * otherwise spend minutes waiting for back-off timers.
 */
const PANEL_TUNING = {
  reconnectBackoff: { minMs: 100, baseMs: 200, maxMs: 1_000 },
  stableConnectionMs: 200,
  pollIntervalMs: 1_000,
  firstPollMaxDelayMs: 200,
  connectTimeoutMs: 2_000,
  httpTimeoutMs: 2_000,
};

const MB = 1024 * 1024;
const mb = (b: number) => round(b / MB, 2);

/** CPU share of one core between two samples, from process.cpuUsage and from /proc/self/stat. */
function cpuBetween(a: Sample, b: Sample): { wallS: number; cpuPct: number; statPct: number | null } {
  const wallMs = b.monoMs - a.monoMs;
  const cpuUs = b.cpuUserUs - a.cpuUserUs + (b.cpuSystemUs - a.cpuSystemUs);
  const statPct = a.statTicks !== null && b.statTicks !== null ? (((b.statTicks - a.statTicks) * 10) / wallMs) * 100 : null;
  return {
    wallS: round(wallMs / 1000, 1),
    cpuPct: round((cpuUs / 1000 / wallMs) * 100, 3),
    statPct: statPct === null ? null : round(statPct, 2),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'idle-seconds': { type: 'string', default: '30' },
      'rate-seconds': { type: 'string', default: '60' },
      updates: { type: 'string', default: '100000' },
      outages: { type: 'string', default: '10' },
      'outage-ms': { type: 'string', default: '3000' },
      batch: { type: 'string', default: '100' },
      'max-minutes': { type: 'string', default: '40' },
      'heap-diff': { type: 'boolean', default: false },
      pace: { type: 'string', default: 'cache' },
    },
  });
  const idleSeconds = Number(values['idle-seconds']);
  const rateSeconds = Number(values['rate-seconds']);
  const updates = Number(values.updates);
  const outages = Number(values.outages);
  const outageMs = Number(values['outage-ms']);
  const batch = Number(values.batch);
  const pace = values.pace;
  if (pace !== 'cache' && pace !== 'display') throw new Error('--pace is cache or display');
  const deadline = Date.now() + Number(values['max-minutes']) * 60_000;

  const { LinkProxy } = await import('@airpanel/panel/headless/simulator/link-proxy');
  const { PanelRegistration, panelConfigFromRegistration } = await import('@airpanel/contract');
  const { writePanelJson } = await import('@airpanel/panel/core/testing/fixtures');

  // The panel runs bundled (as on a panel: one ES module, packages from node_modules) under
  // plain node, not under tsx, whose compiler and cached source maps would be counted.
  const agentBundle = await bundleLikeRelease('test/harness/panel-child.ts', 'panel-child');
  const root = await mkdtemp(join(tmpdir(), 'airpanel-agent-bench-'));
  const start = machineInfo();
  console.log(`agent-overhead: one headless panel (PanelCore, real MQTT, no renderer) against the real backend; ${loadLine(start)}`);
  const backendCleanups = new Cleanups();
  const { backend } = await startBackend({
    mode: 'in-process',
    cleanups: backendCleanups,
    dataDir: join(root, 'backend'),
    mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
    adminToken: null,
    backend: { startLoops: false },
  });
  const httpProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.url).port) });
  const mqttProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.mqttUrl!).port) });
  await httpProxy.listen();
  await mqttProxy.listen();
  let child: PanelProcess | null = null;
  try {
    const admin = (endpoint: ClientEndpoint, params: Record<string, string>, body: unknown) =>
      fetch(endpointUrl(backend.url, endpoint, params), {
        method: 'POST',
        headers: { authorization: `Bearer ${backend.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    if (
      (await admin(endpoints.createSensorSource, {}, { id: SENSOR_ID, name: 'Bench sensor', spec: { kind: 'simulated' } })).status !== 201
    )
      throw new Error('creating the sensor failed');
    const created = await admin(endpoints.createPanel, {}, { id: PANEL_ID, name: 'Bench panel', sensorSourceId: SENSOR_ID });
    if (created.status !== 201) throw new Error(`registering the panel failed: HTTP ${created.status}`);
    const reg = PanelRegistration.parse(await created.json());
    const config = panelConfigFromRegistration(reg);
    config.endpoints = {
      ...config.endpoints,
      apiBaseUrl: `http://127.0.0.1:${httpProxy.port}${API_PREFIX}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttProxy.port}`,
    };
    const panelDir = join(root, 'panel');
    await writePanelJson(panelDir, config);

    let n = 0;
    let lastMeasured = 0;
    /** One reading: a new document every time (the value changes), always the newest reading. */
    const reading = () => {
      n++;
      lastMeasured = Math.max(Date.now(), lastMeasured + 1);
      return { values: { pm25: 3 + (n % 7), pm10: 10 + (n % 5) }, measuredAt: new Date(lastMeasured).toISOString() };
    };
    const current = () => backend.documents.display(PANEL_ID)!.document.revision;
    /** The revision in the panel's cache/revision.json (written after display.json): what is on disk. */
    const cachedRevision = async (): Promise<number> => {
      try {
        const envelope = JSON.parse(await readFile(join(panelDir, 'cache', 'revision.json'), 'utf8')) as { payload: string };
        return (JSON.parse(envelope.payload) as { revision: number }).revision;
      } catch {
        return -1; // mid-rename or not yet written
      }
    };
    const cacheDrained = async (what: string, timeoutMs = 600_000) => {
      const until = Date.now() + timeoutMs;
      while ((await cachedRevision()) !== current()) {
        if (Date.now() > until) throw new Error(`${what}: the cache did not catch up within ${timeoutMs} ms`);
        await sleep(20);
      }
    };
    await backend.readings.post(SENSOR_ID, reading());

    child = new PanelProcess({
      dataDir: panelDir,
      program: { entry: agentBundle, nodeArgs: [] },
      execArgv: ['--expose-gc'],
      ipc: true,
      stderr: 'inherit',
      tuning: PANEL_TUNING,
      firmwareVersion: 'bench',
      viewEvents: false,
    });
    const p = child;
    await p.start();
    const caughtUp = async (what: string, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const s = await p.sample();
        if (s.revision === current() && s.state === 'live') return s;
        if (Date.now() > until) throw new Error(`${what}: the panel shows ${s.revision} (${s.state}), the backend ${current()}`);
        await sleep(2);
      }
    };
    await caughtUp('start');

    // ── idle ────────────────────────────────────────────────────────────────────────────
    await sleep(5_000);
    const idleA = await p.sample(true);
    await sleep(idleSeconds * 1000);
    const idleB = await p.sample();
    const idle = { ...cpuBetween(idleA, idleB), rssMB: mb(idleB.rss), heapUsedMB: mb(idleB.heapUsed), heapAfterGcMB: mb(idleA.heapUsed) };
    console.log(
      `idle ${idle.wallS} s:       CPU ${idle.cpuPct} % of a core (/proc/self/stat: ${idle.statPct} %), RSS ${idle.rssMB} MB, heap ${idle.heapUsedMB} MB (${idle.heapAfterGcMB} MB after GC)  ${loadLine()}`,
    );

    // ── one update per second, over REST ────────────────────────────────────────────────
    const rateA = await p.sample(true);
    const t0 = performance.now();
    for (let i = 1; i <= rateSeconds; i++) {
      const r = await admin(endpoints.postReading, { sensorId: SENSOR_ID }, reading());
      if (r.status !== 201 && r.status !== 200) throw new Error(`reading: HTTP ${r.status} ${await r.text()}`);
      await sleep(Math.max(0, t0 + i * 1000 - performance.now()));
    }
    const rateB = await caughtUp('1/s phase');
    const rate = {
      ...cpuBetween(rateA, rateB),
      rssMB: mb(rateB.rss),
      heapUsedMB: mb(rateB.heapUsed),
      updates: rateB.accepted - rateA.accepted,
    };
    console.log(
      `1 update/s ${rate.wallS} s: CPU ${rate.cpuPct} % of a core (/proc/self/stat: ${rate.statPct} %), RSS ${rate.rssMB} MB, heap ${rate.heapUsedMB} MB, ${rate.updates} documents shown  ${loadLine()}`,
    );

    // ── soak ────────────────────────────────────────────────────────────────────────────
    console.log(
      `soak: ${updates} updates in batches of ${batch} (next batch when the panel shows the backend's revision${pace === 'cache' ? ' and its cache holds it' : ''}), ${outages} outages of ${outageMs} ms (HTTP and MQTT links cut, 5 updates made meanwhile)`,
    );
    const checkpoints: {
      updates: number;
      cacheLag: number;
      heapAfterGcUndrainedMB: number;
      drainSeconds: number;
      heapAfterGcMB: number;
      rssMB: number;
      externalMB: number;
      seconds: number;
      updatesPerSecond: number;
      cpuPct: number;
    }[] = [];
    const soakA = await p.sample(true);
    checkpoints.push({
      updates: 0,
      cacheLag: 0,
      heapAfterGcUndrainedMB: mb(soakA.heapUsed),
      drainSeconds: 0,
      heapAfterGcMB: mb(soakA.heapUsed),
      rssMB: mb(soakA.rss),
      externalMB: mb(soakA.external),
      seconds: 0,
      updatesPerSecond: 0,
      cpuPct: 0,
    });
    const every = Math.ceil(updates / outages);
    let done = 0;
    let prev = soakA;
    let stoppedEarly: string | null = null;
    const snapshots: string[] = [];
    const soakStart = performance.now();
    while (done < updates) {
      const segmentEnd = Math.min(updates, done + every);
      while (done < segmentEnd) {
        const k = Math.min(batch, segmentEnd - done);
        for (let i = 0; i < k; i++) await backend.readings.post(SENSOR_ID, reading());
        done += k;
        await caughtUp(`soak at ${done}`);
        if (pace === 'cache') await cacheDrained(`soak at ${done}`);
      }
      // Outage: links cut, the backend moves on, links back, the panel catches up.
      httpProxy.cut();
      mqttProxy.cut();
      for (let i = 0; i < 5; i++) {
        await backend.readings.post(SENSOR_ID, reading());
        done++;
        await sleep(outageMs / 5);
      }
      httpProxy.restore();
      mqttProxy.restore();
      await caughtUp(`after the outage at ${done}`);
      // Documents shown but not yet on disk (the cache writes each one, in order), and the
      // heap while they wait; then the heap once the cache has caught up.
      const cacheLag = current() - (await cachedRevision());
      const undrained = await p.sample(true);
      const drainStart = performance.now();
      await cacheDrained(`after the outage at ${done}`);
      const drainSeconds = round((performance.now() - drainStart) / 1000, 1);
      const last = done >= updates || Date.now() > deadline;
      const snapshot =
        values['heap-diff'] && (checkpoints.length === 1 || last) ? join(root, `heap-${checkpoints.length}.heapsnapshot`) : undefined;
      const s = await p.sample(true, snapshot);
      if (snapshot) snapshots.push(snapshot);
      const c = cpuBetween(prev, s);
      const cp = {
        updates: done,
        cacheLag,
        heapAfterGcUndrainedMB: mb(undrained.heapUsed),
        drainSeconds,
        heapAfterGcMB: mb(s.heapUsed),
        rssMB: mb(s.rss),
        externalMB: mb(s.external),
        seconds: round((performance.now() - soakStart) / 1000, 1),
        updatesPerSecond: round((s.accepted - prev.accepted) / c.wallS, 0),
        cpuPct: round(c.cpuPct, 1),
      };
      checkpoints.push(cp);
      prev = s;
      console.log(
        `  ${String(cp.updates).padStart(7)} updates  ${String(cp.seconds).padStart(6)} s  cache lag ${cp.cacheLag} (heap ${cp.heapAfterGcUndrainedMB.toFixed(1)} MB, drained in ${cp.drainSeconds} s)  heap after GC ${cp.heapAfterGcMB.toFixed(2)} MB  RSS ${cp.rssMB.toFixed(1)} MB  external ${cp.externalMB.toFixed(2)} MB  ${cp.updatesPerSecond} updates/s  panel CPU ${cp.cpuPct} %  ${loadLine()}`,
      );
      if (Date.now() > deadline && done < updates) {
        stoppedEarly = `stopped at ${done} updates: --max-minutes reached`;
        console.log(`  ${stoppedEarly}`);
        break;
      }
    }
    // Slope over the checkpoints after the first outage (the first segment includes warm-up).
    const steady = checkpoints.slice(1);
    const heapFit = linearFit(steady.map((c) => [c.updates, c.heapAfterGcMB]));
    const rssFit = linearFit(steady.map((c) => [c.updates, c.rssMB]));
    const heapValues = steady.map((c) => c.heapAfterGcMB);
    const soak = {
      updates: done,
      outages: checkpoints.length - 1,
      seconds: round((performance.now() - soakStart) / 1000, 1),
      heapSlopeKBPer10kUpdates: round(heapFit.slope * 1024 * 10_000, 2),
      rssSlopeKBPer10kUpdates: round(rssFit.slope * 1024 * 10_000, 2),
      heapAfterGcRangeMB: [Math.min(...heapValues), Math.max(...heapValues)],
      heapGrowthFirstToLastMB: round(steady.at(-1)!.heapAfterGcMB - steady[0]!.heapAfterGcMB, 3),
      rssGrowthFirstToLastMB: round(steady.at(-1)!.rssMB - steady[0]!.rssMB, 2),
      stoppedEarly,
    };
    console.log('');
    console.log(`soak: ${soak.updates} updates, ${soak.outages} outages in ${soak.seconds} s`);
    console.log(
      `  heap after GC: slope ${soak.heapSlopeKBPer10kUpdates} KB per 10k updates; range ${soak.heapAfterGcRangeMB.join('…')} MB; first → last checkpoint ${soak.heapGrowthFirstToLastMB} MB`,
    );
    console.log(
      `  RSS:           slope ${soak.rssSlopeKBPer10kUpdates} KB per 10k updates; first → last checkpoint ${soak.rssGrowthFirstToLastMB} MB`,
    );
    let heapGrowth: Awaited<ReturnType<typeof heapDiff>> | null = null;
    if (snapshots.length === 2) {
      heapGrowth = await heapDiff(snapshots[0]!, snapshots[1]!);
      console.log(`heap growth between the first and the last checkpoint, by kind of object (--heap-diff):`);
      for (const g of heapGrowth)
        console.log(`  ${String(g.sizeDeltaKB).padStart(9)} KB  ${String(g.countDelta).padStart(8)} objects  ${g.name}`);
    }
    const end = machineInfo();
    console.log(`end: ${loadLine(end)}`);

    const files = await writeReport(
      'agent-overhead',
      {
        settings: {
          idleSeconds,
          rateSeconds,
          updates,
          outages,
          outageMs,
          batch,
          pace,
          how: 'readings via backend.readings.post (same call as POST /sensors/{id}/readings), next batch when the panel shows the current revision; 1/s phase over REST',
        },
        loadAverageStart: start.loadAverage,
        idle,
        oneUpdatePerSecond: rate,
        soak,
        checkpoints,
        ...(heapGrowth ? { heapGrowth } : {}),
      },
      {
        title: 'Panel agent overhead (PanelCore, real MQTT, no renderer)',
        panels: [
          {
            kind: 'bars',
            title: 'CPU (% of one core)',
            unit: '%',
            bars: [
              { label: 'idle', value: idle.cpuPct },
              { label: '1 update/s', value: rate.cpuPct },
            ],
          },
          {
            kind: 'bars',
            title: 'RSS',
            unit: 'MB',
            bars: [
              { label: 'idle', value: idle.rssMB },
              { label: '1 update/s', value: rate.rssMB },
            ],
          },
          {
            kind: 'lines',
            title: `Soak: memory at checkpoints (after each outage, heap after GC)`,
            xLabel: 'updates',
            yLabel: 'MB',
            series: [
              { label: 'heap after GC', points: checkpoints.map((c) => [c.updates, c.heapAfterGcMB]) },
              { label: 'RSS', points: checkpoints.map((c) => [c.updates, c.rssMB]) },
            ],
          },
        ],
      },
      end,
    );
    console.log(`written: ${files.map((f) => relative(REPO, f)).join(', ')}`);
  } finally {
    await child?.stop();
    await httpProxy.close();
    await mqttProxy.close();
    await backendCleanups.run();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
