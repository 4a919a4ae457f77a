/**
 * npm run fleet -- --panels N [options]
 *
 * Runs N headless panels (the real PanelCore, real MQTT.js) in 1–2 fleet processes against
 * a backend started for the run (its own process; embedded aedes or Mosquitto) or an
 * existing one (--backend-url, --admin-token or AIRPANEL_ADMIN_TOKEN). Shows a progress bar
 * while panels provision and connect, then a live summary every second until --duration
 * runs out or Ctrl-C. --change-every S edits the fleet's content set every S seconds (every
 * panel's document changes) and prints how fast the change reached the panels.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { BrokerKind } from './protocol.js';
import { brokerAccountsFromFlag, Fleet, formatCounts, mib, summarize } from './fleet.js';

const HELP = `npm run fleet -- --panels N [options]
  --panels N             panels to simulate (default 100)
  --processes P          fleet processes (default 1 up to 2,000 panels, else 2)
  --broker B             aedes (default) | mosquitto | none   (backend started for the run)
  --mosquitto-accounts A dynsec | seeded | auto (default: seeded above 2,000 panels): panel
                         accounts created through dynsec one by one, or written into the
                         stopped broker's dynsec file after provisioning
  --backend-url URL      use a running backend instead (root URL, e.g. http://127.0.0.1:8080)
  --admin-token T        its admin token (or AIRPANEL_ADMIN_TOKEN)
  --transport T          mqtt (default) | poll   (poll: panel.json without mqttUrl)
  --poll-interval-ms MS  poll period when polling (default 1000)
  --starts-per-second R  panel starts per second per process (default 1000)
  --duration S           stop after S seconds (default: until Ctrl-C)
  --change-every S       edit the shared content set every S seconds and time its delivery
  --id-prefix P          panel ids P-0, P-1, ... (default fleet)
`;

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '100' },
    processes: { type: 'string' },
    broker: { type: 'string', default: 'aedes' },
    'mosquitto-accounts': { type: 'string', default: 'auto' },
    'backend-url': { type: 'string' },
    'admin-token': { type: 'string' },
    transport: { type: 'string', default: 'mqtt' },
    'poll-interval-ms': { type: 'string', default: '1000' },
    'starts-per-second': { type: 'string', default: '1000' },
    duration: { type: 'string' },
    'change-every': { type: 'string' },
    'id-prefix': { type: 'string', default: 'fleet' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const panels = Number(values.panels);
const broker = values.broker as BrokerKind;
const transport = values.transport as 'mqtt' | 'poll';
if (!Number.isInteger(panels) || panels < 1) throw new Error('--panels must be a positive whole number');
if (!['aedes', 'mosquitto', 'none'].includes(broker)) throw new Error('--broker: aedes, mosquitto or none');
if (!['mqtt', 'poll'].includes(transport)) throw new Error('--transport: mqtt or poll');
const durationMs = values.duration ? Number(values.duration) * 1000 : Number.POSITIVE_INFINITY;
const changeEveryMs = values['change-every'] ? Number(values['change-every']) * 1000 : null;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const fleet = await Fleet.create({
  panels,
  broker,
  brokerAccounts: brokerAccountsFromFlag(values['mosquitto-accounts'], panels),
  transport: broker === 'none' ? 'poll' : transport,
  ...(values.processes ? { processes: Number(values.processes) } : {}),
  ...(values['backend-url']
    ? { backendUrl: values['backend-url'], adminToken: values['admin-token'] ?? process.env['AIRPANEL_ADMIN_TOKEN'] ?? '' }
    : {}),
  tuning: { pollIntervalMs: Number(values['poll-interval-ms']) },
  startsPerSecond: Number(values['starts-per-second']),
  idPrefix: values['id-prefix'],
});
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping the fleet…\n');
  await fleet.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  process.stdout.write(
    `backend ${fleet.backendUrl} (mqtt ${fleet.mqttUrl ?? 'as the backend registers panels'}), load average ${load()}\n`,
  );
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total} {extra}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 5_000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(panels, 0, { phase: 'provision', extra: '' });
  await fleet.provision((done) => bar.update(done));
  bar.update(panels, { extra: `${(fleet.provisioning.ms / 1000).toFixed(1)} s` });
  bar.stop();
  bar.start(panels, 0, { phase: 'live     ', extra: '' });
  const startPanels = fleet.startPanels();
  const live = await fleet.waitForLive(600_000, (c) =>
    bar.update(c.states['live'] ?? 0, {
      extra: `connected ${c.mqttConnected}, attempts ${c.mqttAttempts}, warnings ${c.warnings}${c.lastErrors.length ? `, last: ${c.lastErrors[c.lastErrors.length - 1]?.slice(0, 100)}` : ''}`,
    }),
  );
  await startPanels;
  bar.stop();
  process.stdout.write(`all ${panels} live: ${formatCounts(live)}\n`);

  const endAt = Date.now() + durationMs;
  let nextChange = changeEveryMs ? Date.now() + changeEveryMs : Number.POSITIVE_INFINITY;
  while (!stopping && Date.now() < endAt) {
    if (Date.now() >= nextChange) {
      const { t0, answeredMs } = await fleet.broadcastChange();
      const s = summarize(await fleet.awaitChange(60_000), t0);
      process.stdout.write(
        `change delivered: ${s.count}/${panels} p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} max ${s.max} ms (admin PUT answered in ${answeredMs.toFixed(0)} ms)\n`,
      );
      nextChange = Date.now() + (changeEveryMs ?? 0);
    }
    const c = await fleet.counts();
    const m = await fleet.memory();
    process.stdout.write(
      `${new Date().toISOString().slice(11, 19)} ${formatCounts(c, panels)}${m ? ` | backend RSS ${mib(m.backendRssBytes)}${m.brokerRssBytes ? ` mosquitto RSS ${mib(m.brokerRssBytes)}` : ''}` : ''} | load ${load()}\n`,
    );
    for (const e of c.lastErrors.slice(-2)) process.stdout.write(`  last error: ${e}\n`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await stop(0);
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  await stop(1);
}
