/**
 * Mosquitto provisioning: what it costs to create panel accounts through Mosquitto's dynamic
 * security plugin one after the other, as the backend does when a panel is registered
 * (registerPanelCredentials → DynsecAdmin.upsertPanel: deleteClient, createRole,
 * createClient, each answered over MQTT).
 *
 *   npx tsx test/bench/mosquitto-provisioning.ts [--panels 3000] [--every 500]
 *
 * A real mosquitto (the generated deployment: dynsec, set_tcp_nodelay) and the backend's
 * real external gateway; panels registered sequentially; every `--every` panels it prints the
 * mean time per panel over the last block and the dynsec file's size. Mosquitto 2.0 rewrites
 * the whole file after each command, so the time per panel grows with the number of
 * accounts: that is why the fleet tools seed accounts above 2,000 panels
 * (--mosquitto-accounts) and why a fleet imported at once is best seeded the same way.
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createExternalGateway } from '@airpanel/backend/mqtt/external-gateway';
import { startMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
import { loadText, machineInfo, writeResults } from '../fleet/results.js';

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '3000' },
    every: { type: 'string', default: '500' },
  },
});
const panels = Number(values.panels);
const every = Number(values.every);
if (!Number.isInteger(panels) || panels < 1 || !Number.isInteger(every) || every < 1)
  throw new Error('--panels and --every: positive whole numbers');

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const machine = machineInfo();
process.stdout.write(`mosquitto-provisioning on ${machine.cpus} × ${machine.cpuModel}, load average ${loadText()}\n`);

const broker = await startMosquitto();
const gateway = createExternalGateway({
  url: broker.url,
  username: broker.backendUsername,
  password: broker.backendPassword,
  sink: { onStatus: () => undefined, onEvent: () => undefined },
  logger: quiet,
  // Late blocks take far longer than the default 5 s per dynsec answer.
  timeoutMs: 120_000,
});
const blocks: { upTo: number; msPerPanel: number; dynsecFileMB: number }[] = [];
try {
  await gateway.start();
  const started = performance.now();
  let blockStart = started;
  process.stdout.write('panels   ms per panel (last block)   dynsec file\n');
  for (let i = 1; i <= panels; i++) {
    await gateway.registerPanelCredentials(`prov-${i}`, `key-of-panel-${i}-0123456789abcdefghijklmnop`);
    if (i % every === 0 || i === panels) {
      const now = performance.now();
      const block = {
        upTo: i,
        msPerPanel: Math.round(((now - blockStart) / (i % every || every)) * 10) / 10,
        dynsecFileMB: Math.round(statSync(broker.deployment.dynsecPath).size / 1e5) / 10,
      };
      blocks.push(block);
      process.stdout.write(`${String(i).padStart(6)}   ${String(block.msPerPanel).padStart(24)}   ${block.dynsecFileMB} MB\n`);
      blockStart = now;
    }
  }
  const totalSeconds = Math.round((performance.now() - started) / 100) / 10;
  const first = blocks[0]!;
  const last = blocks[blocks.length - 1]!;
  process.stdout.write(
    `${panels} panels in ${totalSeconds} s; the last block cost ${(last.msPerPanel / first.msPerPanel).toFixed(1)}× the first per panel (load average ${loadText()})\n`,
  );
  const files = await writeResults(
    'mosquitto-provisioning',
    { benchmark: 'mosquitto-provisioning', at: new Date().toISOString(), machine, panels, totalSeconds, blocks },
    {
      title: 'Mosquitto dynsec: time per panel account, by accounts already there',
      subtitle: `${machine.cpus} cores, load average ${loadText()}; blocks of ${every}`,
      unit: 'milliseconds per panel',
      groups: blocks.map((b) => ({ label: `up to ${b.upTo}`, bars: [{ label: 'ms per panel', value: b.msPerPanel }] })),
    },
  );
  process.stdout.write(`results: ${files.json}${files.png ? `, ${files.png}` : ''}\n`);
} finally {
  await gateway.close();
  await broker.stop();
}
