/**
 * Alert evaluation: what the backend's periodic passes over the fleet cost at fleet size. Every
 * 5 s the evaluator runs over the summaries the live-event feed keeps; every 60 s a full pass
 * reads every panel's summary (PanelService.list), compares each with the last one published
 * and evaluates (server-stub/src/alerts/fleet-watch.ts).
 *
 *   npx tsx test/bench/alert-evaluation.ts [--panels 10000] [--outage 1000] [--rounds 20]
 *   npm run bench -- alert-evaluation -- --panels 10000
 *
 * The harness's in-process backend (SQLite, no MQTT, loops off, an injected clock) with N registered
 * panels, `--outage` of which polled their display over HTTP (so they were seen). Measured,
 * each over `--rounds` passes (`backend.evaluateAlerts()`) with one event-stream client
 * reading:
 *   - the first full pass (every summary new: N panel-summary events to the stream);
 *   - steady full passes and steady evaluations (nothing changed: no event, no alert), and
 *     from them the share of one core the defaults cost (a full pass per 60 s, an evaluation
 *     per 5 s);
 *   - the outage pass: the clock moved past the HTTP online window, the polled panels turn
 *     offline at once: their summary events and one offline alert each (no webhook set).
 */
import { parseArgs } from 'node:util';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { openEventStream } from '@airpanel/backend/events/sse-client.test-support';
import { Cleanups, median, percentile, startBackend, waitUntil } from '../harness/index.js';
import { loadLine, machineInfo, round, writeReport } from './support/report.js';

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '10000' },
    outage: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '20' },
  },
});
const N = Number(values.panels);
const OUTAGE = Math.min(N, Number(values.outage));
const ROUNDS = Number(values.rounds);
const TARGET_CORE_SHARE = 0.02; // of one core, with the default intervals
const EVALUATION_MS = 5_000;
const FULL_PASS_MS = 60_000;

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const timeMs = (work: () => void): number => {
  const t = performance.now();
  work();
  return performance.now() - t;
};

const cleanups = new Cleanups();
let nowMs = Date.now();
try {
  const { backend, admin } = await startBackend({
    mode: 'in-process',
    cleanups,
    mqtt: { mode: 'none' },
    backend: {
      startLoops: false,
      clock: { now: () => nowMs },
      liveEvents: { maxBufferedBytes: 64 * 1024 * 1024, replayLength: 10 },
    },
  });
  console.log(`alert-evaluation: ${N} panels, ${OUTAGE} of them seen then gone; ${loadLine()}`);
  const ids = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const keys = new Map<string, string>();
  let t = performance.now();
  for (const id of ids) keys.set(id, (await backend.panels.create({ id, name: `Panel ${id}` })).apiKey);
  console.log(`  registered in ${round((performance.now() - t) / 1000, 1)} s`);
  t = performance.now();
  await pool(ids.slice(0, OUTAGE), 16, async (id) => {
    await admin.panelClient(keys.get(id)!).call('getDisplay', { params: { panelId: id } });
  });
  console.log(`  ${OUTAGE} display polls in ${round((performance.now() - t) / 1000, 1)} s`);

  const stream = await openEventStream(endpointUrl(backend.url, endpoints.streamEvents, {}, {}), { token: backend.adminToken });
  const firstMs = timeMs(() => backend.evaluateAlerts());
  await waitUntil('the first pass streamed', () => stream.events.length >= N, { timeoutMs: 120_000 });

  const steady: number[] = [];
  const evaluations: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    nowMs += 5_000;
    steady.push(timeMs(() => backend.evaluateAlerts()));
    evaluations.push(timeMs(() => backend.alerts.evaluate(backend.liveEvents.panelSummaries.summaries())));
  }
  const eventsAfterSteady = stream.events.length;

  nowMs += 16 * 60_000; // past the 15 min during which one HTTP poll counts as online
  const outageMs = timeMs(() => backend.evaluateAlerts());
  const alerts = backend.alerts.evaluator.activeCount();
  await waitUntil('the outage streamed', () => stream.events.length >= eventsAfterSteady + 2 * OUTAGE, { timeoutMs: 120_000 });
  await stream.close();

  const summary = {
    firstPassMs: round(firstMs, 1),
    fullPassMs: { p50: round(median(steady), 1), p95: round(percentile(steady, 95), 1), max: round(Math.max(...steady), 1) },
    evaluationMs: { p50: round(median(evaluations), 1), p95: round(percentile(evaluations, 95), 1) },
    coreShare: round((median(steady) + median(evaluations) * (FULL_PASS_MS / EVALUATION_MS - 1)) / FULL_PASS_MS, 4),
    steadyEvents: eventsAfterSteady - N,
    outagePassMs: round(outageMs, 1),
    alertsRaised: alerts,
    streamedEvents: stream.events.length,
  };
  const met = summary.coreShare < TARGET_CORE_SHARE;
  console.log(`  first full pass (${N} summaries streamed): ${summary.firstPassMs} ms`);
  console.log(`  steady full pass: p50 ${summary.fullPassMs.p50} ms, p95 ${summary.fullPassMs.p95} ms; events ${summary.steadyEvents}`);
  console.log(`  steady evaluation over the kept summaries: p50 ${summary.evaluationMs.p50} ms, p95 ${summary.evaluationMs.p95} ms`);
  console.log(
    `  share of one core with the defaults: ${(summary.coreShare * 100).toFixed(2)} % (target < ${TARGET_CORE_SHARE * 100} %: ${met ? 'met' : 'NOT met'})`,
  );
  console.log(`  outage pass (${OUTAGE} offline, ${alerts} alerts raised): ${summary.outagePassMs} ms`);
  const files = await writeReport(
    'alert-evaluation',
    {
      settings: { panels: N, outage: OUTAGE, rounds: ROUNDS },
      loadAverageStart: machineInfo().loadAverage,
      fullPasses: steady,
      evaluations,
      summary,
      targetMet: met,
    },
    {
      title: 'Alert evaluation: one pass over the fleet',
      panels: [
        {
          kind: 'bars',
          title: `${N} panels`,
          unit: 'ms',
          bars: [
            { label: 'first full pass (all streamed)', value: summary.firstPassMs },
            { label: 'full pass p50', value: summary.fullPassMs.p50 },
            { label: 'evaluation p50', value: summary.evaluationMs.p50 },
            { label: `outage pass (${OUTAGE} alerts)`, value: summary.outagePassMs },
          ],
        },
      ],
    },
  );
  console.log(`  wrote ${files.join(', ')}`);
} finally {
  await cleanups.run();
}
