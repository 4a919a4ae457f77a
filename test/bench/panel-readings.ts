/**
 * Panel readings: the backend's CPU and database cost per reading when every panel of a fleet
 * sends its own sensor's reading once a minute.
 *
 *   npx tsx test/bench/panel-readings.ts [--panels 10000] [--minutes 2] [--idle-s 30]
 *   npm run bench -- panel-readings -- --panels 10000
 *
 * The backend runs as a child process (support/readings-backend.ts: createBackend, embedded
 * aedes, SQLite), with an averaging rule that decides on every reading: the steady state of a
 * panel with its 24 hours of history, each reading inserted, averaged, evaluated and, as the
 * values move, a new document stored and published. N panels are registered through the admin
 * API, then N real MQTT.js clients (one per panel: the broker lets a panel publish only as
 * itself) connect from this process. Each sends a `sensor-reading` event (QoS 1, as a panel
 * does) once a minute at its own phase, so the backend sees N/60 readings a second.
 *
 * Measured from /proc/<pid>/stat of the backend (user + system CPU): an idle window with every
 * panel connected and nothing sent (keepalives only), then the reading window. CPU per
 * reading = (CPU in the reading window − idle CPU for as long) / readings. Database: growth of
 * the SQLite files (main + WAL) per reading, and the rows in panel_readings (every reading
 * recorded once: checked).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { panelTopics, type PanelReading } from '@airpanel/contract';
import { AdminApi } from '../harness/index.js';
import { DATABASE_FILE } from '@airpanel/backend/db/database';
import { loadLine, machineInfo, round, writeReport } from './support/report.js';

const { values } = parseArgs({
  options: {
    panels: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '2' },
    'idle-s': { type: 'string', default: '30' },
  },
});
const N = Number(values.panels);
const MINUTES = Number(values.minutes);
const IDLE_S = Number(values['idle-s']);
const ADMIN = `bench-admin-${randomUUID()}`;
const REPO = join(import.meta.dirname, '..', '..');
const CLK_TCK = 100; // Linux USER_HZ

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

function dbBytes(dir: string): number {
  let total = 0;
  for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`]) {
    try {
      total += statSync(join(dir, f)).size;
    } catch {
      // not this name
    }
  }
  return total;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const dataDir = await mkdtemp(join(tmpdir(), 'airpanel-bench-readings-'));
const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(REPO, 'test/bench/support/readings-backend.ts'), '--data-dir', dataDir, '--admin-token', ADMIN],
  { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
);
const [httpUrl, mqttUrl] = await new Promise<[string, string]>((resolve, reject) => {
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /READY (\S+) (\S+)/.exec(out);
    if (m) resolve([m[1]!, m[2]!]);
  });
  child.once('exit', (code) => reject(new Error(`backend exited ${code}`)));
});
const pid = child.pid!;
const clients: MqttClient[] = [];
try {
  console.log(`panel-readings: ${N} panels, ${MINUTES} min of readings; ${loadLine()}`);
  const admin = new AdminApi(httpUrl, ADMIN);
  const ids = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const keys = new Map<string, string>();
  let t = performance.now();
  await pool(ids, 16, async (id) => {
    const reg = await admin.client.call('createPanel', { body: { id, name: id } });
    keys.set(id, reg.apiKey);
  });
  console.log(`  registered in ${round((performance.now() - t) / 1000, 1)} s`);

  t = performance.now();
  await pool(ids, 50, async (id) => {
    const client: MqttClient = mqtt.connect(mqttUrl, {
      clientId: id,
      username: id,
      password: keys.get(id)!,
      clean: false,
      protocolVersion: 4,
      keepalive: 60,
      reconnectPeriod: 1_000,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
  });
  console.log(`  ${N} panels connected in ${round((performance.now() - t) / 1000, 1)} s`);

  // Warm-up: each panel's first reading creates its `panel` sensor source and assigns it (a
  // one-time cost per panel, not what a reading costs in steady state).
  t = performance.now();
  const seqs = new Map<string, number>();
  await pool(
    ids.map((id, i) => [id, i] as const),
    50,
    async ([id, i]) => {
      seqs.set(id, 1);
      const reading: PanelReading = {
        id: randomUUID(),
        panelId: id,
        seq: 1,
        measuredAt: new Date().toISOString(),
        sensor: 'sds011',
        values: { pm25: 5 + (i % 60), pm10: 10 + (i % 60) },
        samples: 60,
      };
      await clients[i]!.publishAsync(panelTopics(id).events, JSON.stringify({ type: 'sensor-reading', reading }), { qos: 1 });
    },
  );
  console.log(`  warm-up (first reading of each panel: its source created) in ${round((performance.now() - t) / 1000, 1)} s`);
  await sleep(5_000); // let the connection storm settle
  const idleStart = cpuSeconds(pid);
  await sleep(IDLE_S * 1000);
  const idleCpuPerS = (cpuSeconds(pid) - idleStart) / IDLE_S;
  console.log(`  idle (connected, nothing sent): ${round(idleCpuPerS * 100, 1)} % of a core`);

  const dbBefore = dbBytes(dataDir);
  const rowsBefore = N;
  let sent = 0;
  let acked = 0;
  let failed = 0;
  const windowMs = MINUTES * 60_000;
  const cpuStart = cpuSeconds(pid);
  const started = performance.now();
  // Each panel sends at its own phase within every minute: N/60 readings a second in all.
  const timers = ids.map((id, i) => {
    const phase = (i / N) * 60_000;
    const send = () => {
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      const reading: PanelReading = {
        id: randomUUID(),
        panelId: id,
        seq,
        measuredAt: new Date().toISOString(),
        sensor: 'sds011',
        values: { pm25: 5 + ((i + seq) % 60), pm10: 10 + ((i + seq) % 60) },
        samples: 60,
      };
      sent++;
      clients[i]!.publishAsync(panelTopics(id).events, JSON.stringify({ type: 'sensor-reading', reading }), { qos: 1 }).then(
        () => acked++,
        () => failed++,
      );
    };
    const first = setTimeout(() => {
      send();
      const every = setInterval(send, 60_000);
      timers2.push(every);
    }, phase);
    return first;
  });
  const timers2: NodeJS.Timeout[] = [];
  await sleep(windowMs);
  for (const tm of timers) clearTimeout(tm);
  for (const tm of timers2) clearInterval(tm);
  const elapsedS = (performance.now() - started) / 1000;
  await sleep(3_000); // acks in flight
  const cpuWindow = cpuSeconds(pid) - cpuStart;
  const dbAfter = dbBytes(dataDir);
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM panel_readings').get() as { n: number }).n - rowsBefore;
  db.close();
  const cpuPerReadingMs = ((cpuWindow - idleCpuPerS * (elapsedS + 3)) / acked) * 1000;
  const result = {
    panels: N,
    minutes: MINUTES,
    readingsSent: sent,
    readingsAcked: acked,
    publishFailures: failed,
    rowsRecorded: rows,
    readingsPerSecond: round(acked / elapsedS, 1),
    idleCpuPercentOfCore: round(idleCpuPerS * 100, 1),
    windowCpuPercentOfCore: round((cpuWindow / (elapsedS + 3)) * 100, 1),
    cpuMsPerReading: round(cpuPerReadingMs, 3),
    dbBytesPerReading: round((dbAfter - dbBefore) / Math.max(1, rows), 1),
  };
  console.log(`  ${acked}/${sent} readings acknowledged (${failed} failed), ${rows} rows recorded, ${result.readingsPerSecond}/s`);
  console.log(
    `  backend CPU: ${result.windowCpuPercentOfCore} % of a core while sending (idle ${result.idleCpuPercentOfCore} %): ${result.cpuMsPerReading} ms per reading`,
  );
  console.log(`  database: ${result.dbBytesPerReading} bytes per reading (SQLite main + WAL growth)`);
  const files = await writeReport(
    'panel-readings',
    { result },
    {
      title: `Panel readings: ${N} panels, one reading a minute each`,
      panels: [
        {
          kind: 'bars',
          title: 'backend CPU, % of one core',
          unit: '%',
          bars: [
            { label: 'idle (connected)', value: result.idleCpuPercentOfCore },
            { label: 'one reading a minute each', value: result.windowCpuPercentOfCore },
          ],
        },
      ],
    },
    machineInfo(),
  );
  console.log(`  ${files.join(', ')}`);
  if (rows !== acked) throw new Error(`rows ${rows} differ from acknowledged readings ${acked}`);
} finally {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}
