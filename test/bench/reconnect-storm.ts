/**
 * Reconnect storm: restart the broker under N connected panels → time until every panel is
 * back (reconnected, subscribed, and its retained display document delivered again), with
 * the core's jittered exponential backoff and without it (a fixed 1 s retry for everyone,
 * what MQTT.js's default `reconnectPeriod` does).
 *
 *   npx tsx test/bench/reconnect-storm.ts [--panels 1000] [--brokers aedes] [--modes jitter,fixed] [--down-ms 0] [--tls]
 *   npm run bench -- reconnect-storm -- --panels 2000 --brokers aedes,mosquitto
 *
 * --tls: every storm runs twice in the same run, plain and over TLS (the backend's own HTTPS and
 * MQTTS with its private CA, which registration hands the panels), printed side by side: after
 * a broker restart every panel pays a full TLS handshake.
 *
 * Per broker and mode: a fresh backend process and fleet (test/fleet), N real PanelCores.
 * Once all are connected and their connections have been up longer than
 * `stableConnectionMs` (3 s here, so a restart finds every link "stable": attempt 0 of the
 * backoff), the broker is restarted: aedes lives in the backend, so the whole backend
 * closes and starts again on the same ports and data (plus --down-ms); Mosquitto gets
 * SIGTERM and is started again on the same port and files. Times are counted from the
 * moment the broker was back up; connection attempts made during the storm are counted too.
 *
 * jitter = the core's default policy (delay uniform in [0.5 s, min(5 min, 2 s · 2^failures)]);
 * fixed  = { minMs: 1000, baseMs: 1000, maxMs: 1000 }: every panel retries every second, in step.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_RECONNECT_BACKOFF, type BackoffPolicy } from '@airpanel/panel/core/backoff';
import type { BrokerKind } from '../fleet/protocol.js';
import { Fleet, formatCounts, summarize, type LatencySummary } from '../fleet/fleet.js';
import { loadText, machineInfo, writeResults } from '../fleet/results.js';

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '1000' },
    brokers: { type: 'string', default: 'aedes' },
    modes: { type: 'string', default: 'jitter,fixed' },
    'down-ms': { type: 'string', default: '0' },
    processes: { type: 'string' },
    'starts-per-second': { type: 'string', default: '200' },
    'timeout-s': { type: 'string', default: '300' },
    tls: { type: 'boolean', default: false },
  },
});
const transports: ('plain' | 'tls')[] = values.tls ? ['plain', 'tls'] : ['plain'];
const panels = Number(values.panels);
const brokers = values.brokers.split(',').map((b) => b.trim()) as BrokerKind[];
const modes = values.modes.split(',').map((m) => m.trim()) as ('jitter' | 'fixed')[];
const downMs = Number(values['down-ms']);
const timeoutMs = Number(values['timeout-s']) * 1000;
const STABLE_MS = 3_000;
const POLICIES: Record<'jitter' | 'fixed', BackoffPolicy> = {
  jitter: DEFAULT_RECONNECT_BACKOFF,
  fixed: { minMs: 1_000, baseMs: 1_000, maxMs: 1_000 },
};

interface Storm {
  broker: BrokerKind;
  mode: 'jitter' | 'fixed';
  transport: 'plain' | 'tls';
  policy: BackoffPolicy;
  panels: number;
  /** How long the broker was away (restart). */
  brokerDownMs: number;
  /** ms after the broker was back until each panel had its document again. */
  back: LatencySummary;
  /** Connection attempts the fleet made between the restart and the last panel back. */
  attempts: number;
  attemptsPerPanel: number;
  liveAfter: number;
  staleAfter: number;
  errors: number;
  warnings: number;
  loadAverage: string;
}

async function storm(broker: BrokerKind, mode: 'jitter' | 'fixed', transport: 'plain' | 'tls'): Promise<Storm> {
  process.stdout.write(`\n-- ${broker}, ${mode} backoff, ${transport} × ${panels} panels (load average ${loadText()})\n`);
  const policy = POLICIES[mode];
  const fleet = await Fleet.create({
    panels,
    broker,
    startsPerSecond: Number(values['starts-per-second']),
    idPrefix: `storm-${mode}-${transport}`,
    tls: transport === 'tls',
    tuning: { reconnectBackoff: policy, stableConnectionMs: STABLE_MS },
    ...(values.processes ? { processes: Number(values.processes) } : {}),
  });
  try {
    await fleet.provision();
    await fleet.startPanels();
    let lastPrint = Date.now();
    await fleet.waitForLive(Math.max(180_000, panels * 40), (c) => {
      if (Date.now() - lastPrint < 5_000) return;
      lastPrint = Date.now();
      process.stdout.write(`   ${formatCounts(c)}\n`);
    });
    await new Promise((r) => setTimeout(r, STABLE_MS + 1_000));
    const before = await fleet.counts();
    await fleet.markDisplay();
    const { downAtMs, upAtMs } = await fleet.restartBroker(downMs);
    process.stdout.write(`   broker restarted: away ${upAtMs - downAtMs} ms\n`);
    const { times, attempts } = await fleet.awaitDisplay(timeoutMs);
    const back = summarize(times, upAtMs);
    const after = await fleet.counts();
    const stormAttempts = attempts - before.mqttAttempts;
    process.stdout.write(
      `   back: ${back.count}/${panels}, p50 ${back.p50} p95 ${back.p95} p99 ${back.p99} max ${back.max} ms after the broker was up; ${stormAttempts} connection attempts; load ${loadText()}\n`,
    );
    return {
      broker,
      mode,
      transport,
      policy,
      panels,
      brokerDownMs: upAtMs - downAtMs,
      back,
      attempts: stormAttempts,
      attemptsPerPanel: Math.round((stormAttempts / panels) * 100) / 100,
      liveAfter: after.states['live'] ?? 0,
      staleAfter: after.states['stale'] ?? 0,
      errors: after.errors,
      warnings: after.warnings,
      loadAverage: loadText(),
    };
  } finally {
    await fleet.stop();
  }
}

const machine = machineInfo();
process.stdout.write(`reconnect-storm on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, load average ${loadText()}\n`);
const results: Storm[] = [];
for (const broker of brokers)
  for (const mode of modes) for (const transport of transports) results.push(await storm(broker, mode, transport));

process.stdout.write(`\nreconnect storm, ${panels} panels: time from the broker back up to each panel having its document again (ms)\n`);
process.stdout.write(
  'broker     backoff  transport broker away      p50      p95      p99   all back  missing  attempts  per panel  live after\n',
);
for (const r of results) {
  process.stdout.write(
    `${r.broker.padEnd(10)} ${r.mode.padEnd(8)} ${r.transport.padEnd(9)} ${String(r.brokerDownMs).padStart(11)} ${String(r.back.p50).padStart(8)} ${String(r.back.p95).padStart(8)} ${String(r.back.p99).padStart(8)} ${String(r.back.max).padStart(10)} ${String(r.back.missing).padStart(8)} ${String(r.attempts).padStart(9)} ${String(r.attemptsPerPanel).padStart(10)} ${String(r.liveAfter).padStart(11)}\n`,
  );
}
for (const broker of brokers) {
  for (const transport of transports) {
    const j = results.find((r) => r.broker === broker && r.mode === 'jitter' && r.transport === transport);
    const f = results.find((r) => r.broker === broker && r.mode === 'fixed' && r.transport === transport);
    if (j && f)
      process.stdout.write(
        `${broker} ${transport}: all back, fixed / jitter = ${(f.back.max / j.back.max).toFixed(2)}; attempts fixed / jitter = ${(f.attempts / Math.max(1, j.attempts)).toFixed(2)}\n`,
      );
  }
  for (const mode of modes) {
    const p = results.find((r) => r.broker === broker && r.mode === mode && r.transport === 'plain');
    const t = results.find((r) => r.broker === broker && r.mode === mode && r.transport === 'tls');
    if (p && t)
      process.stdout.write(
        `${broker} ${mode}: TLS / plain, p50 ${(t.back.p50 / Math.max(1, p.back.p50)).toFixed(2)}, all back ${(t.back.max / Math.max(1, p.back.max)).toFixed(2)}\n`,
      );
  }
}
process.stdout.write(`load average at the end: ${loadText()} (${machine.cpus} cores)\n`);

const files = await writeResults(
  'reconnect-storm',
  {
    benchmark: 'reconnect-storm',
    at: new Date().toISOString(),
    machine,
    machineAtEnd: machineInfo(),
    panels,
    downMs,
    stableConnectionMs: STABLE_MS,
    transports,
    results,
  },
  {
    title: `Reconnect storm: broker restart under ${panels} panels`,
    subtitle: `${machine.cpus} cores, load average ${loadText()}; seconds from the broker up to the document re-delivered`,
    unit: 'seconds',
    groups: results.map((r) => ({
      label: `${r.broker} ${r.mode}${transports.length > 1 ? ` ${r.transport}` : ''} (${r.attempts} attempts)`,
      bars: [
        { label: 'p50', value: r.back.p50 / 1000 },
        { label: 'p95', value: r.back.p95 / 1000 },
        { label: 'p99', value: r.back.p99 / 1000 },
        { label: 'all back', value: r.back.max / 1000 },
      ],
    })),
  },
);
process.stdout.write(`results: ${files.json}${files.png ? `, ${files.png}` : ''}\n`);
