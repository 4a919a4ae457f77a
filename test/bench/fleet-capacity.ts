/**
 * Fleet capacity: connected panels and memory per connection with the embedded broker
 * (aedes, inside the backend) and with Mosquitto (external, dynamic security), side by side
 * in one run; then a broadcast that changes every panel's document (an edit of the content
 * set they share), delivered to all.
 *
 *   npx tsx test/bench/fleet-capacity.ts [--panels 2000] [--brokers aedes,mosquitto] [--processes P]
 *                                        [--mosquitto-accounts dynsec|seeded|auto]
 *   npm run bench -- fleet-capacity -- --panels 10000
 *
 * Mosquitto accounts: above 2,000 panels (auto) they are seeded into the stopped broker's
 * dynsec file after provisioning, with the backend in managed-elsewhere mode: the same
 * entries dynsec would create, without its per-command rewrite of the whole file (creating
 * 10,000 one by one would take tens of minutes; test/bench/mosquitto-provisioning.ts).
 *
 * Per broker: a fresh backend process (createBackend) — for Mosquitto also a real mosquitto
 * started by it — N panels provisioned through the admin API, then started as real PanelCores
 * with real MQTT.js clients in 1–2 fleet processes. Memory: backend RSS (process.memoryUsage
 * in the backend process) and Mosquitto's VmRSS from /proc, before the panels connect and
 * once all are connected; "per connection" = the difference / N. The backend RSS is sampled
 * every second throughout; its peak is reported.
 *
 * Target (issue 6): 10,000 panels with the backend under 1.5 GB.
 */
import { parseArgs } from 'node:util';
import type { BrokerKind } from '../fleet/protocol.js';
import { brokerAccountsFromFlag, Fleet, formatCounts, summarize, type LatencySummary } from '../fleet/fleet.js';
import { loadText, machineInfo, writeResults } from '../fleet/results.js';

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '2000' },
    brokers: { type: 'string', default: 'aedes,mosquitto' },
    'mosquitto-accounts': { type: 'string', default: 'auto' },
    processes: { type: 'string' },
    'starts-per-second': { type: 'string', default: '200' },
    'timeout-s': { type: 'string', default: '120' },
  },
});
const panels = Number(values.panels);
const brokers = values.brokers.split(',').map((b) => b.trim()) as BrokerKind[];
const timeoutMs = Number(values['timeout-s']) * 1000;
const MiB = 2 ** 20;
const BACKEND_TARGET_BYTES = 1.5 * 1024 * MiB;

interface Capacity {
  broker: BrokerKind;
  panels: number;
  connected: number;
  brokerConnectedCount: number;
  live: number;
  provisionSeconds: number;
  connectSeconds: number;
  mqttAttempts: number;
  backendRssBeforeMiB: number;
  backendRssConnectedMiB: number;
  backendRssPeakMiB: number;
  brokerRssBeforeMiB: number | null;
  brokerRssConnectedMiB: number | null;
  backendKiBPerConnection: number;
  brokerKiBPerConnection: number | null;
  /** Backend + Mosquitto per connection. */
  totalKiBPerConnection: number;
  fleetRssMiB: number;
  broadcast: LatencySummary & { putAnsweredMs: number };
  backendUnderTarget: boolean;
  errors: number;
  warnings: number;
  loadAverage: string;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

async function measure(broker: BrokerKind): Promise<Capacity> {
  process.stdout.write(`\n-- ${broker} × ${panels} panels (load average ${loadText()})\n`);
  const brokerAccounts = brokerAccountsFromFlag(values['mosquitto-accounts'], panels);
  if (broker === 'mosquitto')
    process.stdout.write(
      `   Mosquitto accounts: ${brokerAccounts === 'seeded' ? 'seeded into its dynsec file after provisioning (backend in managed-elsewhere mode)' : 'created through dynsec, one per panel'}\n`,
    );
  const fleet = await Fleet.create({
    panels,
    broker,
    brokerAccounts,
    startsPerSecond: Number(values['starts-per-second']),
    idPrefix: `cap-${broker}`,
    ...(values.processes ? { processes: Number(values.processes) } : {}),
  });
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await fleet.memory().catch(() => null);
      if (m) peak = Math.max(peak, m.backendRssBytes);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  try {
    let lastPrint = 0;
    await fleet.provision((done) => {
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        process.stdout.write(`   provisioned ${done}/${panels}\n`);
      }
    });
    process.stdout.write(`   provisioned in ${(fleet.provisioning.ms / 1000).toFixed(1)} s\n`);
    const before = await fleet.memory();
    const connectStart = performance.now();
    const starting = fleet.startPanels();
    const live = await fleet.waitForLive(Math.max(180_000, panels * 40), (c) => {
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        process.stdout.write(`   ${formatCounts(c)}\n`);
      }
    });
    await starting;
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await new Promise((r) => setTimeout(r, 2_000)); // let status messages settle
    const connected = await fleet.memory();
    if (!before || !connected) throw new Error('backend memory unavailable');
    process.stdout.write(
      `   all live in ${connectSeconds.toFixed(1)} s; backend RSS ${(before.backendRssBytes / MiB).toFixed(0)} → ${(connected.backendRssBytes / MiB).toFixed(0)} MiB${connected.brokerRssBytes ? `, mosquitto ${((before.brokerRssBytes ?? 0) / MiB).toFixed(0)} → ${(connected.brokerRssBytes / MiB).toFixed(0)} MiB` : ''}\n`,
    );
    const { t0, answeredMs } = await fleet.broadcastChange();
    const broadcast = { ...summarize(await fleet.awaitChange(timeoutMs), t0), putAnsweredMs: Math.round(answeredMs) };
    process.stdout.write(
      `   broadcast delivered to ${broadcast.count}/${panels}: p50 ${broadcast.p50} p99 ${broadcast.p99} max ${broadcast.max} ms (PUT answered after ${broadcast.putAnsweredMs} ms)\n`,
    );
    const after = await fleet.counts();
    peak = Math.max(peak, connected.backendRssBytes);
    const backendDelta = connected.backendRssBytes - before.backendRssBytes;
    const brokerDelta =
      connected.brokerRssBytes !== null && before.brokerRssBytes !== null ? connected.brokerRssBytes - before.brokerRssBytes : null;
    const result: Capacity = {
      broker,
      panels,
      connected: live.mqttConnected,
      brokerConnectedCount: connected.connectedPanels,
      live: live.states['live'] ?? 0,
      provisionSeconds: round1(fleet.provisioning.ms / 1000),
      connectSeconds: round1(connectSeconds),
      mqttAttempts: live.mqttAttempts,
      backendRssBeforeMiB: round1(before.backendRssBytes / MiB),
      backendRssConnectedMiB: round1(connected.backendRssBytes / MiB),
      backendRssPeakMiB: 0, // the sampler's peak, below
      brokerRssBeforeMiB: before.brokerRssBytes === null ? null : round1(before.brokerRssBytes / MiB),
      brokerRssConnectedMiB: connected.brokerRssBytes === null ? null : round1(connected.brokerRssBytes / MiB),
      backendKiBPerConnection: round1(backendDelta / 1024 / panels),
      brokerKiBPerConnection: brokerDelta === null ? null : round1(brokerDelta / 1024 / panels),
      totalKiBPerConnection: round1((backendDelta + (brokerDelta ?? 0)) / 1024 / panels),
      fleetRssMiB: round1(after.rssBytes / MiB),
      broadcast,
      backendUnderTarget: false, // below
      errors: after.errors,
      warnings: after.warnings,
      loadAverage: loadText(),
    };
    sampling = false;
    await sampler;
    result.backendRssPeakMiB = round1(peak / MiB);
    result.backendUnderTarget = peak < BACKEND_TARGET_BYTES;
    return result;
  } finally {
    sampling = false;
    await sampler;
    await fleet.stop();
  }
}

const machine = machineInfo();
process.stdout.write(`fleet-capacity on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, load average ${loadText()}\n`);
const results: Capacity[] = [];
for (const broker of brokers) results.push(await measure(broker));

process.stdout.write(`\nfleet capacity, ${panels} panels, side by side\n`);
const rows: [string, (r: Capacity) => string][] = [
  ['connected (fleet / broker count)', (r) => `${r.connected} / ${r.brokerConnectedCount}`],
  ['live', (r) => String(r.live)],
  ['provisioning (s)', (r) => String(r.provisionSeconds)],
  ['all live after start (s)', (r) => String(r.connectSeconds)],
  ['MQTT connection attempts', (r) => String(r.mqttAttempts)],
  ['backend RSS before → connected (MiB)', (r) => `${r.backendRssBeforeMiB} → ${r.backendRssConnectedMiB}`],
  ['backend RSS peak (MiB)', (r) => String(r.backendRssPeakMiB)],
  [
    'mosquitto RSS before → connected (MiB)',
    (r) => (r.brokerRssBeforeMiB === null ? '-' : `${r.brokerRssBeforeMiB} → ${r.brokerRssConnectedMiB}`),
  ],
  ['KiB per connection: backend', (r) => String(r.backendKiBPerConnection)],
  ['KiB per connection: mosquitto', (r) => String(r.brokerKiBPerConnection ?? '-')],
  ['KiB per connection: total', (r) => String(r.totalKiBPerConnection)],
  ['broadcast delivered', (r) => `${r.broadcast.count}/${r.panels}`],
  ['broadcast p50 / p99 / max (ms)', (r) => `${r.broadcast.p50} / ${r.broadcast.p99} / ${r.broadcast.max}`],
  ['fleet processes RSS (MiB)', (r) => String(r.fleetRssMiB)],
  ['core errors / warnings', (r) => `${r.errors} / ${r.warnings}`],
];
process.stdout.write(`${''.padEnd(40)}${results.map((r) => ` ${r.broker.padStart(25)}`).join('')}\n`);
for (const [label, f] of rows) process.stdout.write(`${label.padEnd(40)}${results.map((r) => ` ${f(r).padStart(25)}`).join('')}\n`);
process.stdout.write(
  `backend under 1.5 GB at ${panels} panels: ${results.map((r) => `${r.broker} ${r.backendUnderTarget ? 'yes' : 'NO'}`).join(', ')}${panels < 10_000 ? ' (target is stated for 10,000 panels)' : ''}\n`,
);
process.stdout.write(`load average at the end: ${loadText()} (${machine.cpus} cores)\n`);

const files = await writeResults(
  'fleet-capacity',
  { benchmark: 'fleet-capacity', at: new Date().toISOString(), machine, machineAtEnd: machineInfo(), panels, results },
  {
    title: `Fleet capacity: ${panels} connected panels, memory`,
    subtitle: `${machine.cpus} cores, load average ${loadText()}; per connection: ${results.map((r) => `${r.broker} ${r.totalKiBPerConnection} KiB`).join(', ')}`,
    unit: 'MiB',
    groups: results.map((r) => ({
      label: r.broker,
      bars: [
        { label: 'backend before', value: r.backendRssBeforeMiB },
        { label: 'backend connected', value: r.backendRssConnectedMiB },
        { label: 'backend peak', value: r.backendRssPeakMiB },
        { label: 'mosquitto connected', value: r.brokerRssConnectedMiB ?? 0 },
      ],
    })),
    lines: [{ label: 'backend target 1.5 GB', value: 1536 }],
  },
);
process.stdout.write(`results: ${files.json}${files.png ? `, ${files.png}` : ''}\n`);
