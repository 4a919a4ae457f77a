/**
 * Change-to-display: an admin edits the content set every panel shows → each panel's core
 * accepts the new revision (the moment `onView` reports it). p50/p95/p99/max over the fleet,
 * for MQTT push and for HTTP polling.
 *
 *   npx tsx test/bench/change-to-display.ts [--mqtt 1000,10000] [--poll 1000] [--poll-interval-ms 1000]
 *                                           [--rounds 3] [--broker aedes|mosquitto] [--processes P] [--starts-per-second 200]
 *                                           [--mosquitto-accounts dynsec|seeded|auto] [--cache-writes sync|async] [--tls]
 *   npm run bench -- change-to-display -- --mqtt 200 --poll 200      (a quick run; --poll 0: MQTT only)
 *
 * --tls: every scenario runs twice in the same run, plain and over TLS (the backend's own HTTPS
 * and MQTTS with its private CA, which registration hands the panels), printed side by side.
 *
 * Each scenario runs its own fleet (test/fleet): a fresh backend process (createBackend,
 * SQLite, embedded aedes), N panels provisioned through the admin API, real PanelCores with
 * real MQTT.js clients in 1–2 fleet processes, all on this machine. One warm-up change, then
 * `--rounds` changes 2 s apart; latencies of all rounds are pooled. t0 is taken just before
 * the admin's PUT /content-sets/{id} is sent, so the figures include the backend reissuing
 * N documents. Polling panels have no mqttUrl in panel.json and poll every
 * --poll-interval-ms (± 20 % jitter): their latency is bounded below by that period.
 *
 * The fleet's cores write their caches with the synchronous file calls by default (the same
 * files and fsyncs; --cache-writes async for a panel's own asynchronous calls, which cost the
 * simulator ~8× the CPU per file on tmpfs). Each round prints the CPU each side used.
 *
 * Target (issue 6): p99 < 1 s at 1,000 panels and < 3 s at 10,000 on one 2-core machine
 * running backend, broker and fleet together (the original system: up to 5 minutes).
 */
import { parseArgs } from 'node:util';
import type { BrokerKind } from '../fleet/protocol.js';
import { brokerAccountsFromFlag, Fleet, formatCounts, summarize, type LatencySummary } from '../fleet/fleet.js';
import { loadText, machineInfo, writeResults } from '../fleet/results.js';

const { values } = parseArgs({
  options: {
    mqtt: { type: 'string', default: '1000' },
    broker: { type: 'string', default: 'aedes' },
    'mosquitto-accounts': { type: 'string', default: 'auto' },
    'cache-writes': { type: 'string', default: 'sync' },
    poll: { type: 'string', default: '1000' },
    'poll-interval-ms': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    processes: { type: 'string' },
    'starts-per-second': { type: 'string', default: '200' },
    'timeout-s': { type: 'string', default: '60' },
    tls: { type: 'boolean', default: false },
  },
});
const encryptions: ('plain' | 'tls')[] = values.tls ? ['plain', 'tls'] : ['plain'];
/** Fleet sizes of a `--mqtt` / `--poll` list; 0 (or an empty list) runs no scenario of that transport. */
const sizes = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw new Error(`fleet size "${x}" is not a whole number of panels`);
      return n;
    })
    .filter((n) => n > 0);
const rounds = Number(values.rounds);
const pollIntervalMs = Number(values['poll-interval-ms']);
const timeoutMs = Number(values['timeout-s']) * 1000;
const TARGETS: Record<number, number> = { 1000: 1000, 10000: 3000 };

interface Scenario {
  broker: string;
  transport: 'mqtt' | 'poll';
  encryption: 'plain' | 'tls';
  panels: number;
  processes: number;
  provisionSeconds: number;
  warmup: LatencySummary;
  /**
   * afterAnswer: from the PUT's answer (the backend has reissued every document) to acceptance.
   * cpu: CPU seconds each side used from the PUT to the last acceptance (both on the same cores).
   */
  rounds: (LatencySummary & { putAnsweredMs: number; afterAnswer: LatencySummary; cpu: RoundCpu | null })[];
  pooled: LatencySummary;
  targetP99Ms: number | null;
  met: boolean | null;
  fleetRssMiB: number;
  backendRssMiB: number | null;
  maxLoopLagMs: number;
  errors: number;
  loadAverage: string;
}

interface RoundCpu {
  backendSeconds: number;
  brokerSeconds: number | null;
  fleetSeconds: number;
  /** Fleet CPU per panel and document: the simulator's own cost, which shares the cores. */
  fleetMsPerPanel: number;
}

/** CPU used by the backend (and Mosquitto) and the fleet processes so far, in microseconds. */
async function cpuNow(fleet: Fleet): Promise<{ backend: number; broker: number | null; fleet: number } | null> {
  const [memory, counts] = await Promise.all([fleet.memory(), fleet.counts()]);
  return memory ? { backend: memory.backendCpuMicros, broker: memory.brokerCpuMicros, fleet: counts.cpuMicros } : null;
}

async function scenario(transport: 'mqtt' | 'poll', panels: number, encryption: 'plain' | 'tls'): Promise<Scenario> {
  process.stdout.write(`\n-- ${transport} (${encryption}) × ${panels} panels, broker ${values.broker} (load average ${loadText()})\n`);
  const fleet = await Fleet.create({
    panels,
    broker: values.broker as BrokerKind,
    brokerAccounts: brokerAccountsFromFlag(values['mosquitto-accounts'], panels),
    cacheWrites: values['cache-writes'] === 'async' ? 'async' : 'sync',
    transport,
    tuning: transport === 'poll' ? { pollIntervalMs } : {},
    startsPerSecond: Number(values['starts-per-second']),
    idPrefix: `c2d-${transport}-${encryption}`,
    tls: encryption === 'tls',
    ...(values.processes ? { processes: Number(values.processes) } : {}),
  });
  try {
    await fleet.provision();
    process.stdout.write(`   provisioned in ${(fleet.provisioning.ms / 1000).toFixed(1)} s; starting panels…\n`);
    await fleet.startPanels();
    let lastPrint = Date.now();
    await fleet.waitForLive(Math.max(120_000, panels * 60), (c) => {
      if (Date.now() - lastPrint < 5_000) return;
      lastPrint = Date.now();
      process.stdout.write(`   ${formatCounts(c)}\n`);
    });
    const measure = async () => {
      const { t0, answeredMs } = await fleet.broadcastChange();
      const s = summarize(await fleet.awaitChange(timeoutMs), t0);
      return { ...s, putAnsweredMs: Math.round(answeredMs) };
    };
    const warmup = await measure();
    process.stdout.write(`   warm-up: p50 ${warmup.p50} p99 ${warmup.p99} max ${warmup.max} ms (${warmup.missing} missing)\n`);
    const results: Scenario['rounds'] = [];
    const all: (number | null)[] = [];
    for (let r = 0; r < rounds; r++) {
      await new Promise((res) => setTimeout(res, 2_000));
      const cpuBefore = await cpuNow(fleet);
      const { t0, answeredMs } = await fleet.broadcastChange();
      const times = await fleet.awaitChange(timeoutMs);
      const cpuAfter = await cpuNow(fleet);
      const cpu: RoundCpu | null =
        cpuBefore && cpuAfter
          ? {
              backendSeconds: Math.round((cpuAfter.backend - cpuBefore.backend) / 1e4) / 100,
              brokerSeconds:
                cpuAfter.broker !== null && cpuBefore.broker !== null ? Math.round((cpuAfter.broker - cpuBefore.broker) / 1e4) / 100 : null,
              fleetSeconds: Math.round((cpuAfter.fleet - cpuBefore.fleet) / 1e4) / 100,
              fleetMsPerPanel: Math.round((cpuAfter.fleet - cpuBefore.fleet) / panels / 10) / 100,
            }
          : null;
      all.push(...times.map((t) => (t === null ? null : t - t0)));
      // The backend reissues every document before it answers the PUT: split that from delivery.
      const afterAnswer = summarize(times, t0 + answeredMs);
      const s = { ...summarize(times, t0), putAnsweredMs: Math.round(answeredMs), afterAnswer, cpu };
      results.push(s);
      process.stdout.write(
        `   round ${r + 1}: p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} max ${s.max} ms, ${s.missing} missing (admin PUT answered after ${s.putAnsweredMs} ms; after the answer p50 ${afterAnswer.p50} p99 ${afterAnswer.p99} ms) load ${loadText()}\n`,
      );
      if (cpu) {
        process.stdout.write(
          `            CPU until the last panel: backend ${cpu.backendSeconds} s${cpu.brokerSeconds !== null ? `, mosquitto ${cpu.brokerSeconds} s` : ''}, fleet ${cpu.fleetSeconds} s (${cpu.fleetMsPerPanel} ms per panel)\n`,
        );
      }
    }
    const counts = await fleet.counts();
    const memory = await fleet.memory();
    const pooled = summarize(all, 0);
    const target = TARGETS[panels] ?? null;
    return {
      broker: values.broker,
      transport,
      encryption,
      panels,
      processes: counts.processes,
      provisionSeconds: Math.round(fleet.provisioning.ms / 100) / 10,
      warmup,
      rounds: results,
      pooled,
      targetP99Ms: target,
      met: target === null ? null : pooled.missing === 0 && pooled.p99 < target,
      fleetRssMiB: Math.round(counts.rssBytes / 2 ** 20),
      backendRssMiB: memory ? Math.round(memory.backendRssBytes / 2 ** 20) : null,
      maxLoopLagMs: counts.loopLagMs,
      errors: counts.errors,
      loadAverage: loadText(),
    };
  } finally {
    await fleet.stop();
  }
}

const machine = machineInfo();
process.stdout.write(`change-to-display on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, load average ${loadText()}\n`);
const scenarios: Scenario[] = [];
for (const n of sizes(values.mqtt)) for (const e of encryptions) scenarios.push(await scenario('mqtt', n, e));
for (const n of sizes(values.poll)) for (const e of encryptions) scenarios.push(await scenario('poll', n, e));

process.stdout.write('\nchange-to-display (ms from the admin PUT to each core accepting the revision; pooled rounds)\n');
process.stdout.write('transport  tls    panels      p50      p95      p99      max  missing  target p99  met   backend RSS  fleet RSS\n');
for (const s of scenarios) {
  const p = s.pooled;
  const met = s.met === null ? 'n/a' : s.met ? 'yes' : 'NO';
  process.stdout.write(
    `${s.transport.padEnd(9)} ${s.encryption.padEnd(5)} ${String(s.panels).padStart(7)} ${String(p.p50).padStart(8)} ${String(p.p95).padStart(8)} ${String(p.p99).padStart(8)} ${String(p.max).padStart(8)} ${String(p.missing).padStart(8)} ${String(s.targetP99Ms ?? '-').padStart(11)}  ${met.padEnd(4)} ${String(s.backendRssMiB ?? '-').padStart(8)} MiB ${String(s.fleetRssMiB).padStart(6)} MiB\n`,
  );
}
for (const t of scenarios.filter((s) => s.encryption === 'tls')) {
  const p = scenarios.find((s) => s.encryption === 'plain' && s.transport === t.transport && s.panels === t.panels);
  if (p)
    process.stdout.write(
      `${t.transport} × ${t.panels}: TLS / plain, p50 ${(t.pooled.p50 / Math.max(1, p.pooled.p50)).toFixed(2)}, p99 ${(t.pooled.p99 / Math.max(1, p.pooled.p99)).toFixed(2)}\n`,
    );
}
process.stdout.write(`load average at the end: ${loadText()} (${machine.cpus} cores)\n`);
if (scenarios.some((s) => s.transport === 'poll'))
  process.stdout.write(`polling period ${pollIntervalMs} ms ± 20 %: the latency floor of polling\n`);

const files = await writeResults(
  'change-to-display',
  { benchmark: 'change-to-display', at: new Date().toISOString(), machine, machineAtEnd: machineInfo(), pollIntervalMs, rounds, scenarios },
  {
    title: 'Change to display: admin edit → every core accepts the revision',
    subtitle: `${machine.cpus} cores, load average ${loadText()}; ${rounds} rounds pooled; poll every ${pollIntervalMs} ms ± 20 %`,
    unit: 'milliseconds',
    groups: scenarios.map((s) => ({
      label: `${s.transport === 'mqtt' ? `mqtt (${s.broker})` : 'poll'}${encryptions.length > 1 ? ` ${s.encryption}` : ''} × ${s.panels}`,
      bars: [
        { label: 'p50', value: s.pooled.p50 },
        { label: 'p95', value: s.pooled.p95 },
        { label: 'p99', value: s.pooled.p99 },
        { label: 'max', value: s.pooled.max },
      ],
    })),
    lines: [...new Set(scenarios.map((s) => s.targetP99Ms).filter((t): t is number => t !== null))].map((t) => ({
      label: `p99 target ${t / 1000} s`,
      value: t,
    })),
  },
);
process.stdout.write(`results: ${files.json}${files.png ? `, ${files.png}` : ''}\n`);
