/**
 * One fleet process: many headless panels, each the real PanelCore (no renderer) with its
 * own real MQTT.js client, sharing one `got` and one event loop. Started by the orchestrator
 * (fleet.ts) with node:child_process.fork; driven over IPC (protocol.ts).
 */
import http from 'node:http';
import https from 'node:https';
import got from 'got';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { panelTopics } from '@airpanel/contract';
import { type PanelView } from '@airpanel/contract/internal';
import { fsyncDirSync, writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import type { CacheDiskWriter } from '@airpanel/panel/core/cache';
import { PanelCore, loadPanelConfig, type HostActions, type Logger } from '@airpanel/panel/core/index';
import {
  cpuMicrosOfThisProcess,
  type FleetProcessCounts,
  type FleetTuning,
  type FromFleetProcess,
  type PanelSlot,
  type ToFleetProcess,
} from './protocol.js';

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/** Counts what the cores log at warn and error (the fleet summary's "errors"); drops the rest. */
export class CountingLogger implements Logger {
  errors = 0;
  warnings = 0;
  readonly recent: string[] = [];
  error(message: string, meta?: Record<string, unknown>): void {
    this.errors++;
    this.remember(message, meta);
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.warnings++;
    this.remember(message, meta);
  }
  info(): void {}
  debug(): void {}
  private remember(message: string, meta?: Record<string, unknown>): void {
    const line = `${message} ${meta ? JSON.stringify(meta).slice(0, 160) : ''}`.trim();
    if (this.recent.includes(line)) return;
    this.recent.push(line);
    if (this.recent.length > 5) this.recent.shift();
  }
}

/** A panel without a screen: commands that need a renderer do nothing, screenshots are absent. */
export const screenlessHost: HostActions = {
  reloadRenderer: async () => undefined,
  restartApp: async () => undefined,
  captureScreenshot: async () => null,
};

interface Panel {
  slot: PanelSlot;
  displayTopic: string;
  core: PanelCore | null;
  revision: number | null;
  /** Revision at the last `mark`, and when a newer one was first accepted after it. */
  markRevision: number | null;
  changedAt: number | null;
  /** First display message after the last `mark-display`. */
  displaySeenAt: number | null;
}

const panels: Panel[] = [];
const logger = new CountingLogger();
let mqttConnected = 0;
let mqttAttempts = 0;
let started = 0;
let loopLagMs = 0;

const send = (message: FromFleetProcess): void => {
  process.send?.(message);
};

// Event-loop lag: how late a 100 ms timer fires (max since the last counts request).
let expected = performance.now() + 100;
setInterval(() => {
  const now = performance.now();
  loopLagMs = Math.max(loopLagMs, now - expected);
  expected = now + 100;
}, 100).unref();

/** The MQTT client factory given to each core: the real MQTT.js client, observed. */
function observedConnect(panel: Panel) {
  return (url: string, options: IClientOptions): MqttClient => {
    mqttAttempts++;
    const client = mqtt.connect(url, options);
    let up = false;
    client.on('connect', () => {
      if (!up) mqttConnected++;
      up = true;
    });
    client.on('close', () => {
      if (up) mqttConnected--;
      up = false;
    });
    client.on('message', (topic) => {
      if (topic === panel.displayTopic && panel.displaySeenAt === null) panel.displaySeenAt = nowMs();
    });
    return client;
  };
}

function onView(panel: Panel, view: PanelView): void {
  if (view.kind !== 'content') return;
  const revision = view.document.revision;
  if (revision === panel.revision) return;
  panel.revision = revision;
  if (panel.changedAt === null && (panel.markRevision === null || revision > panel.markRevision)) panel.changedAt = nowMs();
}

/** The same atomic writes and fsyncs as a panel's, with the synchronous calls (see CacheWrites). */
const synchronousCacheWrites: CacheDiskWriter = {
  writeFileAtomic: (path, data, options) => {
    writeFileAtomicSync(path, data, options);
    return Promise.resolve();
  },
  fsyncDir: (dir) => {
    fsyncDirSync(dir);
    return Promise.resolve();
  },
};

async function startAll(
  slots: PanelSlot[],
  tuning: FleetTuning,
  startsPerSecond: number,
  firmwareVersion: string,
  cacheDiskWriter: CacheDiskWriter | undefined,
): Promise<void> {
  // One keep-alive agent for every poller in this process. Each panel keeps its own connection
  // idle between polls, as a panel does: over HTTPS, a connection closed by the agent's default
  // cap of 256 idle sockets would cost a full TLS handshake at every poll.
  const idle = { keepAlive: true, maxFreeSockets: Math.max(256, slots.length) };
  const http_ = got.extend({ agent: { http: new http.Agent(idle), https: new https.Agent(idle) } });
  for (const slot of slots) {
    panels.push({
      slot,
      displayTopic: panelTopics(slot.panelId).display,
      core: null,
      revision: null,
      markRevision: null,
      changedAt: null,
      displaySeenAt: null,
    });
  }
  const tickMs = 50;
  const perTick = Math.max(1, Math.ceil((startsPerSecond * tickMs) / 1000));
  for (let i = 0; i < panels.length; i += perTick) {
    const tickStart = performance.now();
    await Promise.all(
      panels.slice(i, i + perTick).map(async (panel) => {
        const core = new PanelCore({
          dataDir: panel.slot.dataDir,
          config: await loadPanelConfig(panel.slot.dataDir),
          mqttConnect: observedConnect(panel),
          http: http_,
          hostActions: screenlessHost,
          logger,
          firmwareVersion,
          cacheDiskWriter,
          tuning,
        });
        panel.core = core;
        core.onView((view) => onView(panel, view));
        await core.start();
        started++;
      }),
    );
    const wait = tickMs - (performance.now() - tickStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

function counts(): FleetProcessCounts {
  const states: Record<string, number> = {};
  const revisions: Record<string, number> = {};
  for (const p of panels) {
    const state = p.core?.state.name ?? 'not-started';
    states[state] = (states[state] ?? 0) + 1;
    const rev = p.revision === null ? 'none' : String(p.revision);
    revisions[rev] = (revisions[rev] ?? 0) + 1;
  }
  const mem = process.memoryUsage();
  const lag = loopLagMs;
  loopLagMs = 0;
  return {
    panels: panels.length,
    started,
    mqttConnected,
    mqttAttempts,
    states,
    revisions,
    errors: logger.errors,
    warnings: logger.warnings,
    lastErrors: [...logger.recent],
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    cpuMicros: cpuMicrosOfThisProcess(),
    loopLagMs: Math.round(lag),
  };
}

async function awaitAll(done: (p: Panel) => boolean, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs && !panels.every(done)) await new Promise((r) => setTimeout(r, 20));
}

async function stopAll(): Promise<void> {
  for (let i = 0; i < panels.length; i += 500) {
    await Promise.all(panels.slice(i, i + 500).map((p) => p.core?.stop().catch(() => undefined)));
  }
}

process.on('message', (raw) => {
  const message = raw as ToFleetProcess;
  void (async () => {
    switch (message.type) {
      case 'start':
        await startAll(
          message.panels,
          message.tuning,
          message.startsPerSecond,
          message.firmwareVersion,
          message.cacheWrites === 'sync' ? synchronousCacheWrites : undefined,
        );
        send({ type: 'started', count: started });
        return;
      case 'counts':
        send({ type: 'counts', id: message.id, counts: counts() });
        return;
      case 'mark':
        for (const p of panels) {
          p.markRevision = p.revision;
          p.changedAt = null;
        }
        send({ type: 'marked', id: message.id });
        return;
      case 'await-change':
        await awaitAll((p) => p.changedAt !== null, message.deadlineMs);
        send({ type: 'times', id: message.id, times: panels.map((p) => p.changedAt), attempts: mqttAttempts });
        return;
      case 'mark-display':
        for (const p of panels) p.displaySeenAt = null;
        send({ type: 'marked', id: message.id });
        return;
      case 'await-display':
        await awaitAll((p) => p.displaySeenAt !== null, message.deadlineMs);
        send({ type: 'times', id: message.id, times: panels.map((p) => p.displaySeenAt), attempts: mqttAttempts });
        return;
      case 'stop':
        await stopAll();
        send({ type: 'stopped', id: message.id });
        process.disconnect?.();
        return;
    }
  })().catch((error: unknown) => send({ type: 'fatal', message: String((error as Error).stack ?? error) }));
});
// The orchestrator went away: do not linger.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
