// Test support for the fault suite: the real backend's admin API, a bounded reading feeder,
// an in-process PanelCore with short timings whose states are recorded with their times, and
// the line each case prints with its recovery figures.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got, { type Got } from 'got';
import type winston from 'winston';
import { connect } from 'mqtt';
import { PanelRegistration, PanelSummary, panelConfigFromRegistration, type PanelConfigInput, type PanelStateName } from '@airpanel/contract';
import { type PanelView } from '@airpanel/contract/internal';
import { loadPanelConfig } from '../../../src-main/core/config.js';
import { PanelCore, type CoreTuning } from '../../../src-main/core/panel-core.js';
import type { WallClock } from '../../../src-main/core/clock.js';
import { capturingLogger, type LogEntry, RecordingHostActions, writePanelJson } from '../../../src-main/core/testing/fixtures.js';
import { LinkProxy } from '../../../src-main/headless/simulator/link-proxy.js';
import { createBackend, type Backend } from '../../../server-stub/src/backend.js';
import { silentLogger } from '../../../server-stub/src/logger.js';

export const ADMIN_TOKEN = 'admin-token-for-the-fault-suite-0123456789';

/** Timings that keep each case to seconds: a 1.5 s freshness window, 250 ms polls. */
export const FAST_TUNING: Partial<CoreTuning> = {
  freshnessWindowMs: 1_500,
  pollIntervalMs: 250,
  pollJitter: 0.2,
  firstPollMaxDelayMs: 50,
  heartbeatMs: 1_000,
  reconnectBackoff: { minMs: 50, baseMs: 100, maxMs: 500 },
  stableConnectionMs: 200,
  connectTimeoutMs: 1_000,
  keepaliveSeconds: 1,
  httpTimeoutMs: 800,
};

/** Cleanups run in reverse order by the test file's afterEach. */
export class Cleanups {
  private readonly list: (() => Promise<void> | void)[] = [];
  add(fn: () => Promise<void> | void): void {
    this.list.push(fn);
  }
  async run(): Promise<void> {
    while (this.list.length) {
      try {
        await this.list.pop()!();
      } catch (err) {
        console.error('[faults] cleanup failed:', err);
      }
    }
  }
}

export async function tempDir(cleanups: Cleanups, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type BackendMqtt = Parameters<typeof createBackend>[0]['mqtt'];

/**
 * The real backend on 127.0.0.1 (embedded MQTT unless `mqtt` says otherwise) with one
 * registered panel and its simulated sensor; closed by `cleanups`.
 */
export async function startBackendWithPanel(
  cleanups: Cleanups, panelId: string, mqtt: BackendMqtt = { mode: 'embedded', port: 0, host: '127.0.0.1' },
): Promise<{ backend: Backend; api: AdminApi; registration: PanelRegistration; sensorId: string }> {
  const backend = await createBackend({
    dataDir: await tempDir(cleanups, 'airpanel-faults-backend-'),
    port: 0,
    mqtt,
    adminToken: ADMIN_TOKEN,
    logger: silentLogger,
  });
  cleanups.add(() => backend.close());
  const api = new AdminApi(backend.url);
  const { registration, sensorId } = await api.registerPanel(panelId);
  return { backend, api, registration, sensorId };
}

/** A listening LinkProxy in front of the backend's HTTP port and one in front of its MQTT port; closed by `cleanups`. */
export async function proxyBackendLinks(cleanups: Cleanups, backend: Backend): Promise<{ httpProxy: LinkProxy; mqttProxy: LinkProxy }> {
  const httpProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.url).port) });
  const mqttProxy = new LinkProxy({ host: '127.0.0.1', port: Number(new URL(backend.mqttUrl!).port) });
  await httpProxy.listen();
  await mqttProxy.listen();
  cleanups.add(() => httpProxy.close());
  cleanups.add(() => mqttProxy.close());
  return { httpProxy, mqttProxy };
}

/** The admin side of the real backend's REST API (the backend may be down: calls then throw). */
export class AdminApi {
  readonly http: Got;
  constructor(baseUrl: string, token = ADMIN_TOKEN) {
    this.http = got.extend({ prefixUrl: `${baseUrl}/api/v1`, headers: { authorization: `Bearer ${token}` }, retry: { limit: 0 }, timeout: { request: 3_000 } });
  }

  /** A simulated sensor and a panel that shows it, with a first reading. */
  async registerPanel(panelId: string): Promise<{ registration: PanelRegistration; sensorId: string }> {
    const sensorId = `${panelId}-sensor`;
    await this.http.post('sensors', { json: { id: sensorId, name: `Sensor of ${panelId}`, spec: { kind: 'simulated' } } });
    const registration = PanelRegistration.parse(
      await this.http.post('panels', { json: { id: panelId, name: `Panel ${panelId}`, location: { description: 'fault suite' }, sensorSourceId: sensorId } }).json(),
    );
    await this.postReading(sensorId, 10);
    return { registration, sensorId };
  }

  async postReading(sensorId: string, pm25: number): Promise<void> {
    await this.http.post(`sensors/${sensorId}/readings`, { json: { values: { pm25, pm10: 20 } } });
  }

  async panels(): Promise<PanelSummary[]> {
    return PanelSummary.array().parse(await this.http.get('panels').json());
  }

  async panel(id: string): Promise<PanelSummary> {
    return PanelSummary.parse(await this.http.get(`panels/${id}`).json());
  }
}

/**
 * Posts a new reading every `everyMs` so the backend issues a new document each time: what
 * keeps a panel live under a short freshness window while the backend is reachable. Errors
 * (backend down) are counted, not thrown. Stops by itself after `maxReadings`.
 */
export class ReadingFeeder {
  posted = 0;
  failed = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private n = 0;

  constructor(private readonly api: () => AdminApi | null, private readonly sensorId: string, private readonly everyMs = 250, private readonly maxReadings = 2_000) {}

  start(): this {
    const tick = async () => {
      if (this.stopped || this.n >= this.maxReadings) return;
      this.n += 1;
      const api = this.api();
      try {
        if (!api) throw new Error('no backend');
        // Values cycle so each document differs from the previous one.
        await api.postReading(this.sensorId, 5 + (this.n % 20));
        this.posted += 1;
      } catch {
        this.failed += 1;
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.everyMs);
    };
    void tick();
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

export interface RecordedState {
  name: PanelStateName;
  reason: string;
  at: number;
}

/** A PanelCore in this process, with its transitions recorded on the monotonic clock. */
export interface TestPanel {
  core: PanelCore;
  entries: LogEntry[];
  states: RecordedState[];
  dataDir: string;
  config: PanelConfigInput;
  /** Revisions the panel accepted, with the source (from its log). */
  accepted(): { revision: number; source: string }[];
  /** Resolves with the time (performance.now) when `check` first holds. */
  waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<number>;
  shownRevision(): number | null;
  view(): PanelView;
}

export async function startPanel(o: {
  cleanups: Cleanups;
  registration: PanelRegistration;
  dataDir: string;
  apiBaseUrl?: string;
  mqttUrl?: string | null;
  tuning?: Partial<CoreTuning>;
  wallClock?: WallClock;
  start?: boolean;
  /** A winston logger of the test's making (e.g. the real file logger), captured into `entries`. */
  logger?: winston.Logger;
}): Promise<TestPanel> {
  const base = panelConfigFromRegistration(o.registration);
  const config: PanelConfigInput = {
    ...base,
    endpoints: {
      ...base.endpoints,
      ...(o.apiBaseUrl ? { apiBaseUrl: o.apiBaseUrl } : {}),
      ...(o.mqttUrl !== undefined ? { mqttUrl: o.mqttUrl } : {}),
    },
  };
  await writePanelJson(o.dataDir, config);
  const captured = capturingLogger();
  const entries = captured.entries;
  let logger = captured.logger;
  if (o.logger) {
    // The capturing transport joins the given logger: one logger, both destinations.
    for (const t of captured.logger.transports) o.logger.add(t);
    logger = o.logger;
  }
  const states: RecordedState[] = [];
  const core = new PanelCore({
    dataDir: o.dataDir,
    config: await loadPanelConfig(o.dataDir),
    mqttConnect: connect,
    http: got,
    hostActions: new RecordingHostActions(),
    logger,
    firmwareVersion: '1.0.0-faults',
    tuning: { ...FAST_TUNING, ...o.tuning },
    ...(o.wallClock ? { wallClock: o.wallClock } : {}),
  });
  // State changes are seen through the log line the core writes on each transition; the
  // view listener catches them at once (the view changes on every transition but live→live).
  let last: PanelStateName | null = null;
  const record = () => {
    const s = core.state;
    if (s.name !== last) {
      last = s.name;
      states.push({ name: s.name, reason: s.reason, at: performance.now() });
    }
  };
  core.onView(() => record());
  const poll = setInterval(record, 5);
  o.cleanups.add(async () => {
    clearInterval(poll);
    await core.stop();
  });
  if (o.start !== false) {
    await core.start();
    record();
  }
  const panel: TestPanel = {
    core,
    entries,
    states,
    dataDir: o.dataDir,
    config,
    accepted: () =>
      entries.filter((e) => e.message === 'document accepted').map((e) => ({ revision: Number(e['revision']), source: String(e['source']) })),
    async waitUntil(what, check, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        record();
        if (check()) return performance.now();
        if (performance.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states: ${states.map((s) => s.name).join(' → ')}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    shownRevision() {
      const v = core.getView();
      return v.kind === 'content' ? v.document.revision : null;
    },
    view: () => core.getView(),
  };
  return panel;
}

/** States entered at or after `since` (performance.now). */
export function statesSince(panel: TestPanel, since: number): PanelStateName[] {
  return panel.states.filter((s) => s.at >= since).map((s) => s.name);
}

/** One line per case with its recovery figures, in seconds. */
export function report(caseName: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'number' ? `${(v / 1000).toFixed(2)}s` : v}`);
  console.log(`[faults] ${caseName}: ${parts.join(' ')}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
