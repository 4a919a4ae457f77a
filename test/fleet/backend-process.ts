/**
 * The backend of a fleet run in a process of its own (so its RSS is its own): the real
 * createBackend with the embedded aedes broker, or joined to a real Mosquitto that this
 * process starts (dynamic security). Driven over IPC (protocol.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackend, type Backend, type MqttOptions } from '@airpanel/backend/backend';
import type { Logger } from '@airpanel/backend/logger';
import { startMosquitto, type RunningMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
import { cpuMicrosOfThisProcess, type BackendProcessOptions, type FromBackendProcess, type ToBackendProcess } from './protocol.js';

/** Backend warnings and errors go to stderr, the first 20 of them; the rest are counted. */
let logged = 0;
const stderrLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, meta) => report('warn', message, meta),
  error: (message, meta) => report('error', message, meta),
};
function report(level: string, message: string, meta?: Record<string, unknown>): void {
  logged++;
  if (logged <= 20) process.stderr.write(`[backend ${level}] ${message} ${meta ? JSON.stringify(meta).slice(0, 300) : ''}\n`);
  else if (logged === 21) process.stderr.write('[backend] further warnings not shown\n');
}

let backend: Backend | null = null;
let mosquitto: RunningMosquitto | null = null;
let options: BackendProcessOptions | null = null;
let httpPort = 0;
let mqttPort = 0;
/** With `tls`: the CA the panels (and the fleet's admin calls) trust. */
let caPem: string | null = null;

const send = (message: FromBackendProcess): void => {
  process.send?.(message);
};

/** The pid of the mosquitto running our config (found in /proc by its command line). */
export function findPidByCommandLine(fragment: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(fragment)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}

/** utime + stime of another process from /proc/<pid>/stat (clock ticks: 100 per second on Linux). */
export function cpuMicrosOfPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from state = field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

export function rssOfPid(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function brokerPid(): number | null {
  return mosquitto ? findPidByCommandLine(mosquitto.deployment.confPath) : null;
}

async function start(o: BackendProcessOptions): Promise<Backend> {
  let mqtt: MqttOptions;
  if (o.broker === 'mosquitto') {
    mosquitto ??= await startMosquitto();
    mqtt = {
      mode: 'external',
      url: mosquitto.url,
      username: mosquitto.backendUsername,
      password: mosquitto.backendPassword,
      credentials: o.brokerAccounts === 'seeded' ? 'managed-elsewhere' : 'dynsec',
    };
  } else if (o.broker === 'aedes') {
    mqtt = { mode: 'embedded', port: mqttPort, host: '127.0.0.1' };
  } else {
    mqtt = { mode: 'none' };
  }
  const b = await createBackend({
    dataDir: o.dataDir,
    host: '127.0.0.1',
    port: httpPort,
    mqtt,
    adminToken: o.adminToken,
    refreshIntervalSeconds: o.refreshIntervalSeconds,
    logger: stderrLogger,
    releaseFeed: false,
    // The same CA directory across broker restarts: the panels keep trusting it.
    ...(o.tls ? { tls: { caDir: join(o.dataDir, '..', 'tls-ca') } } : {}),
  });
  caPem = b.tls?.caCertificateForPanels ?? null;
  httpPort = Number(new URL(b.url).port);
  if (o.broker === 'aedes' && b.mqttUrl) mqttPort = Number(new URL(b.mqttUrl).port);
  return b;
}

process.on('message', (raw) => {
  const message = raw as ToBackendProcess;
  void (async () => {
    switch (message.type) {
      case 'start': {
        options = message.options;
        backend = await start(options);
        send({
          type: 'started',
          url: backend.url,
          mqttUrl: backend.mqttUrl,
          adminToken: backend.adminToken,
          pid: process.pid,
          brokerPid: brokerPid(),
          caPem,
        });
        return;
      }
      case 'memory': {
        const pid = brokerPid();
        const mem = process.memoryUsage();
        const connectedPanels = backend ? backend.metrics.connectedPanelCount() : 0;
        send({
          type: 'memory',
          id: message.id,
          memory: {
            backendRssBytes: mem.rss,
            backendHeapUsedBytes: mem.heapUsed,
            brokerRssBytes: pid ? rssOfPid(pid) : null,
            connectedPanels,
            backendCpuMicros: cpuMicrosOfThisProcess(),
            brokerCpuMicros: pid ? cpuMicrosOfPid(pid) : null,
          },
        });
        return;
      }
      case 'seed-broker-accounts': {
        if (!mosquitto || options?.brokerAccounts !== 'seeded')
          throw new Error('seeding needs Mosquitto started with brokerAccounts "seeded"');
        const started = performance.now();
        await mosquitto.seedPanelAccounts(message.accounts);
        send({ type: 'seeded', id: message.id, ms: performance.now() - started });
        return;
      }
      case 'restart-broker': {
        if (!options || !backend) throw new Error('backend not started');
        const downAtMs = Date.now();
        if (mosquitto) {
          await mosquitto.restart();
        } else {
          // The embedded broker lives in the backend: restart the backend on the same ports.
          const old = backend;
          backend = null;
          await old.close();
          await new Promise((r) => setTimeout(r, message.downMs));
          backend = await start(options);
        }
        send({ type: 'restarted', id: message.id, downAtMs, upAtMs: Date.now() });
        return;
      }
      case 'stop': {
        await backend?.close();
        backend = null;
        await mosquitto?.stop();
        mosquitto = null;
        send({ type: 'stopped', id: message.id });
        process.disconnect?.();
        return;
      }
    }
  })().catch((error: unknown) => send({ type: 'fatal', message: String((error as Error).stack ?? error) }));
});
process.on('disconnect', () => {
  void (async () => {
    await backend?.close().catch(() => undefined);
    await mosquitto?.stop().catch(() => undefined);
    process.exit(0);
  })();
});
// A crash of the backend must not leave Mosquitto running: report it, stop the broker, exit.
const crash = (error: unknown) => {
  send({ type: 'fatal', message: `backend process crashed: ${String((error as Error).stack ?? error)}` });
  void (mosquitto?.stop() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(1));
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
