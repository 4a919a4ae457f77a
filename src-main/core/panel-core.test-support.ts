// Shared fixtures of the PanelCore tests: a panel started against loopback brokers and backends.
import { createServer } from 'node:net';
import got from 'got';
import { connect } from 'mqtt';
import { afterEach } from 'vitest';
import type { PanelStatus } from '@airpanel/contract';
import { PanelEvent, panelTopics } from '@airpanel/contract';
import { LastKnownGoodCache } from './cache.js';
import type { UpdateChecker } from './commands.js';
import { loadPanelConfig } from './config.js';
import { type CoreTuning, PanelCore } from './panel-core.js';
import { LoopbackBackend } from './testing/display-server.js';
import {
  capturingLogger,
  type LogEntry,
  makeConfig,
  makeDataDir,
  makeDocument,
  RecordingHostActions,
  writePanelJson,
} from './testing/fixtures.js';
import { LoopbackBroker } from './testing/loopback-broker.js';

export const PANEL = 'panel-001';
export const topics = panelTopics(PANEL);
export const POLL_MS = 150;
export const FAST: Partial<CoreTuning> = {
  reconnectBackoff: { minMs: 30, baseMs: 80, maxMs: 300 },
  stableConnectionMs: 200,
  connectTimeoutMs: 1_000,
  keepaliveSeconds: 5,
  firstPollMaxDelayMs: 30,
  httpTimeoutMs: 1_000,
  pollIntervalMs: POLL_MS,
  freshnessWindowMs: 60_000,
};

/** A TCP port on 127.0.0.1 with nobody listening (a backend that is down). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export const cleanups: (() => Promise<void>)[] = [];
/** Runs what each test registered in `cleanups` after it, last first (call once per file). */
export function useCleanups(): void {
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
}

export interface Harness {
  core: PanelCore;
  host: RecordingHostActions;
  logs: LogEntry[];
  dataDir: string;
}

export async function startPanel(options: {
  apiBaseUrl: string;
  mqttUrl: string | null;
  dataDir?: string;
  tuning?: Partial<CoreTuning>;
  updateChecker?: UpdateChecker;
  seedCache?: number;
}): Promise<Harness> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    const made = await makeDataDir();
    cleanups.push(made.cleanup);
    dataDir = made.dir;
  }
  await writePanelJson(dataDir, makeConfig(PANEL, options.apiBaseUrl, options.mqttUrl));
  const { logger, entries } = capturingLogger();
  if (options.seedCache)
    await new LastKnownGoodCache({ dataDir, wallClock: { now: Date.now }, logger }).save(makeDocument(PANEL, options.seedCache));
  const host = new RecordingHostActions();
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: connect,
    http: got,
    hostActions: host,
    updateChecker: options.updateChecker,
    logger,
    firmwareVersion: '1.2.3-test',
    tuning: { ...FAST, ...options.tuning },
  });
  cleanups.push(() => core.stop());
  await core.start();
  return { core, host, logs: entries, dataDir };
}

export async function startBroker(): Promise<LoopbackBroker> {
  const broker = await LoopbackBroker.start();
  cleanups.push(() => broker.close());
  return broker;
}

export async function startBackend(): Promise<LoopbackBackend> {
  const backend = await LoopbackBackend.start();
  cleanups.push(() => backend.close());
  return backend;
}

export function shownRevision(core: PanelCore): number | null {
  const view = core.getView();
  return view.kind === 'content' ? view.document.revision : null;
}

export function statuses(broker: LoopbackBroker): PanelStatus[] {
  return broker.received.filter((p) => p.topic === topics.status).map((p) => JSON.parse(p.payload) as PanelStatus);
}

export function events(broker: LoopbackBroker): PanelEvent[] {
  return broker.received.filter((p) => p.topic === topics.events).map((p) => PanelEvent.parse(JSON.parse(p.payload)));
}

export function countLogs(logs: LogEntry[], message: string): number {
  return logs.filter((e) => e.message === message).length;
}
