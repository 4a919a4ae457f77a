/**
 * The simulated fleet: N headless panels (the real PanelCore, real MQTT.js clients, no
 * renderer) spread over a few fleet processes, against a backend started for the run in a
 * process of its own (createBackend; embedded aedes or a real Mosquitto) or given by URL and
 * admin token. Panels are provisioned through the backend's admin API with bounded
 * concurrency; each gets a data dir with its panel.json under one temp tree.
 *
 *   const fleet = await Fleet.create({ panels: 1000 });
 *   await fleet.provision(); await fleet.startPanels(); await fleet.waitForLive();
 *   const { t0 } = await fleet.broadcastChange(); const times = await fleet.awaitChange(60_000);
 *   await fleet.stop();
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got, { type Method } from 'got';
import {
  DEFAULT_CONTENT_SET,
  PanelRegistration,
  panelConfigFromRegistration,
  type ContentSetBody,
  type PanelConfigInput,
} from '@airpanel/contract';
import type {
  BackendMemory,
  BackendProcessOptions,
  BrokerAccounts,
  CacheWrites,
  BrokerKind,
  FleetTuning,
  FromBackendProcess,
  FromFleetProcess,
  PanelSlot,
  ToBackendProcess,
  ToFleetProcess,
} from './protocol.js';
import { Channel, forkTs } from './child-channel.js';
import { formatCounts, pool, type FleetCounts } from './measures.js';
import { API_PREFIX } from '@airpanel/contract/api';

export {
  brokerAccountsFromFlag,
  formatCounts,
  mib,
  percentile,
  pool,
  summarize,
  type FleetCounts,
  type LatencySummary,
} from './measures.js';

export const FLEET_CONTENT_SET_ID = 'fleet-content';

export interface FleetOptions {
  panels: number;
  /** Fleet processes (default: 1 up to 2,000 panels, else 2: a 2-core machine). */
  processes?: number;
  /** Backend started for the run (default aedes); ignored when `backendUrl` is given. */
  broker?: BrokerKind;
  /** The cores' cache writes: synchronous (default, see CacheWrites) or asynchronous as on a panel. */
  cacheWrites?: CacheWrites;
  /** Mosquitto only: accounts through dynsec at run time (default) or seeded after provisioning. */
  brokerAccounts?: BrokerAccounts;
  /** An already running backend (its root URL) and its admin token. */
  backendUrl?: string;
  adminToken?: string;
  /** 'mqtt': push (poll only while MQTT is down); 'poll': panel.json without mqttUrl. */
  transport?: 'mqtt' | 'poll';
  tuning?: FleetTuning;
  /** Panel starts per second per fleet process (spreads the initial connection storm). */
  startsPerSecond?: number;
  /** Admin API requests in flight while provisioning. */
  provisionConcurrency?: number;
  /** Panel ids are `${idPrefix}-${i}`. */
  idPrefix?: string;
  /** Where the panels' data dirs go (default: /dev/shm when present, else the OS temp dir). */
  root?: string;
  /** Extra panel.json fields. */
  panelJson?: Partial<PanelConfigInput>;
  /** The backend over HTTPS and MQTTS with its private CA, which registration hands the panels (protocol.ts). */
  tls?: boolean;
  /** Old-space limit of each fleet process, MiB. */
  maxOldSpaceMb?: number;
}
export class Fleet {
  readonly options: Required<Omit<FleetOptions, 'backendUrl' | 'adminToken' | 'root' | 'panelJson'>> & FleetOptions;
  backendUrl = '';
  mqttUrl: string | null = null;
  /** The backend's CA when the run is over TLS (registration puts it in each panel.json). */
  caPem: string | null = null;
  adminToken = '';
  backendPid: number | null = null;
  private backend: Channel<ToBackendProcess, FromBackendProcess> | null = null;
  private readonly fleets: Channel<ToFleetProcess, FromFleetProcess>[] = [];
  private root = '';
  private ownRoot = false;
  private backendDataDir = '';
  private slots: PanelSlot[] = [];
  private contentVersion = 0;
  /** Time spent provisioning (ms) and panels created, for reports. */
  provisioning = { ms: 0, created: 0, reused: 0 };

  private constructor(options: FleetOptions) {
    this.options = {
      processes: options.processes ?? (options.panels <= 2_000 ? 1 : 2),
      broker: options.broker ?? 'aedes',
      brokerAccounts: options.brokerAccounts ?? 'dynsec',
      cacheWrites: options.cacheWrites ?? 'sync',
      transport: options.transport ?? 'mqtt',
      tuning: options.tuning ?? {},
      startsPerSecond: options.startsPerSecond ?? 1_000,
      provisionConcurrency: options.provisionConcurrency ?? 16,
      idPrefix: options.idPrefix ?? 'fleet',
      maxOldSpaceMb: options.maxOldSpaceMb ?? 4_096,
      tls: options.tls ?? false,
      ...options,
    };
  }

  /** Prepares the data tree and, unless a backend URL is given, starts the backend process. */
  static async create(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    const base = options.root ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
    fleet.root = await mkdtemp(join(base, 'airpanel-fleet-'));
    fleet.ownRoot = true;
    // Also when the run ends by an exception or process.exit before stop() (not on SIGKILL).
    const root = fleet.root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    try {
      if (options.backendUrl) {
        if (!options.adminToken) throw new Error('a backend URL needs its admin token');
        fleet.backendUrl = options.backendUrl.replace(/\/+$/, '');
        fleet.adminToken = options.adminToken;
      } else {
        await fleet.startBackend();
      }
      return fleet;
    } catch (error) {
      await fleet.stop();
      throw error;
    }
  }

  private async startBackend(): Promise<void> {
    this.backendDataDir = join(this.root, 'backend');
    const child = forkTs('backend-process.ts', 'backend', ['--max-old-space-size=4096']);
    this.backend = new Channel(child, 'backend');
    const started = this.backend.once('started');
    const options: BackendProcessOptions = {
      dataDir: this.backendDataDir,
      broker: this.options.broker,
      brokerAccounts: this.options.brokerAccounts,
      adminToken: `fleet-admin-token-${process.pid}-0123456789abcdef`,
      refreshIntervalSeconds: 300,
      tls: this.options.tls,
    };
    this.backend.send({ type: 'start', options });
    const s = await started;
    this.backendUrl = s.url;
    this.mqttUrl = s.mqttUrl;
    this.adminToken = s.adminToken;
    this.backendPid = s.pid;
    this.caPem = s.caPem;
  }

  get panelCount(): number {
    return this.options.panels;
  }

  private async admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const headers = { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    if (this.caPem) {
      // fetch cannot be given the backend's private CA; got can.
      const res = await got(`${this.backendUrl}${API_PREFIX}${path}`, {
        method: method as Method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        https: { certificateAuthority: this.caPem },
        throwHttpErrors: false,
        retry: { limit: 0 },
      });
      return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as unknown) : undefined };
    }
    const res = await fetch(`${this.backendUrl}${API_PREFIX}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }

  private contentBody(): ContentSetBody {
    const byLevel = Object.fromEntries(
      Object.entries(DEFAULT_CONTENT_SET.byLevel).map(([level, c]) => [
        level,
        { ...c, headline: `${c.headline} (${this.contentVersion})`.slice(0, 120) },
      ]),
    );
    return { name: 'Fleet content', locale: 'en', byLevel };
  }

  /**
   * Creates the fleet's content set and N panels through the admin API (at most
   * `provisionConcurrency` requests in flight; a panel left from an earlier run is deleted
   * and registered again),
   * and writes each panel.json. `onProgress(done)` after each panel.
   */
  async provision(onProgress?: (done: number) => void): Promise<void> {
    const started = performance.now();
    const set = await this.admin('POST', '/content-sets', { id: FLEET_CONTENT_SET_ID, ...this.contentBody() });
    if (set.status !== 201 && set.status !== 409)
      throw new Error(`creating the content set failed: HTTP ${set.status} ${JSON.stringify(set.json)}`);
    const ids = Array.from({ length: this.options.panels }, (_, i) => `${this.options.idPrefix}-${i}`);
    const slots: PanelSlot[] = new Array<PanelSlot>(ids.length);
    const accounts: { panelId: string; apiKey: string }[] = [];
    let done = 0;
    await pool(ids, this.options.provisionConcurrency, async (id, i) => {
      const body = { id, name: `Fleet panel ${i}`, contentSetId: FLEET_CONTENT_SET_ID };
      let r = await this.admin('POST', '/panels', body);
      if (r.status === 409) {
        // Left over from an earlier run against the same backend: register it afresh (the
        // registration is what hands out the key and the endpoints).
        const del = await this.admin('DELETE', `/panels/${id}`);
        if (del.status !== 204 && del.status !== 200) throw new Error(`removing the earlier ${id} failed: HTTP ${del.status}`);
        r = await this.admin('POST', '/panels', body);
        this.provisioning.reused++;
      } else {
        this.provisioning.created++;
      }
      if (r.status !== 201) throw new Error(`registering ${id} failed: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      const registration = PanelRegistration.parse(r.json);
      accounts.push({ panelId: id, apiKey: registration.apiKey });
      let config: PanelConfigInput = panelConfigFromRegistration(registration);
      if (this.options.transport === 'poll') config = { ...config, endpoints: { ...config.endpoints, mqttUrl: null } };
      const dataDir = join(this.root, 'panels', id);
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'panel.json'), JSON.stringify({ ...config, ...this.options.panelJson }));
      slots[i] = { panelId: id, dataDir };
      onProgress?.(++done);
    });
    this.slots = slots;
    if (this.options.broker === 'mosquitto' && this.options.brokerAccounts === 'seeded') {
      if (!this.backend) throw new Error('seeded broker accounts need the backend (and its Mosquitto) started by the fleet');
      await this.backend.request<Extract<FromBackendProcess, { type: 'seeded' }>>((rid) => ({
        type: 'seed-broker-accounts',
        id: rid,
        accounts,
      }));
    }
    this.provisioning.ms = performance.now() - started;
  }

  /** Forks the fleet processes and starts every panel (paced by `startsPerSecond`). */
  async startPanels(): Promise<void> {
    const n = Math.max(1, Math.min(this.options.processes, this.slots.length));
    const share = Math.ceil(this.slots.length / n);
    const starts: Promise<unknown>[] = [];
    for (let p = 0; p < n; p++) {
      const child = forkTs('fleet-process.ts', `fleet-${p}`, [`--max-old-space-size=${this.options.maxOldSpaceMb}`]);
      const channel = new Channel<ToFleetProcess, FromFleetProcess>(child, `fleet-${p}`);
      this.fleets.push(channel);
      await channel.once('ready');
      const startedMsg = channel.once('started');
      channel.send({
        type: 'start',
        panels: this.slots.slice(p * share, (p + 1) * share),
        tuning: this.options.tuning,
        startsPerSecond: this.options.startsPerSecond,
        firmwareVersion: '0.1.0-fleet',
        cacheWrites: this.options.cacheWrites,
      });
      starts.push(startedMsg);
    }
    await Promise.all(starts);
  }

  /** Counts summed over the fleet processes. */
  async counts(): Promise<FleetCounts> {
    const all = await Promise.all(
      this.fleets.map((f) => f.request<Extract<FromFleetProcess, { type: 'counts' }>>((id) => ({ type: 'counts', id }))),
    );
    const total: FleetCounts = {
      panels: 0,
      started: 0,
      mqttConnected: 0,
      mqttAttempts: 0,
      states: {},
      revisions: {},
      errors: 0,
      warnings: 0,
      lastErrors: [],
      rssBytes: 0,
      heapUsedBytes: 0,
      cpuMicros: 0,
      loopLagMs: 0,
      processes: all.length,
    };
    for (const { counts: c } of all) {
      total.panels += c.panels;
      total.started += c.started;
      total.mqttConnected += c.mqttConnected;
      total.mqttAttempts += c.mqttAttempts;
      total.errors += c.errors;
      total.warnings += c.warnings;
      total.rssBytes += c.rssBytes;
      total.heapUsedBytes += c.heapUsedBytes;
      total.cpuMicros += c.cpuMicros;
      total.loopLagMs = Math.max(total.loopLagMs, c.loopLagMs);
      for (const [k, v] of Object.entries(c.states)) total.states[k] = (total.states[k] ?? 0) + v;
      for (const [k, v] of Object.entries(c.revisions)) total.revisions[k] = (total.revisions[k] ?? 0) + v;
      for (const e of c.lastErrors) if (!total.lastErrors.includes(e)) total.lastErrors.push(e);
    }
    return total;
  }

  /** Polls the counts until `done` holds (each poll passed to `onTick`), or throws at the timeout. */
  async waitFor(
    what: string,
    done: (c: FleetCounts) => boolean,
    timeoutMs: number,
    onTick?: (c: FleetCounts) => void,
    everyMs = 500,
  ): Promise<FleetCounts> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.counts();
      onTick?.(c);
      if (done(c)) return c;
      if (Date.now() > deadline)
        throw new Error(
          `fleet: timed out after ${timeoutMs} ms waiting for ${what} (${formatCounts(c)}; last errors: ${c.lastErrors.join(' / ')})`,
        );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Every panel live (and, with MQTT, connected). */
  waitForLive(timeoutMs = 120_000, onTick?: (c: FleetCounts) => void): Promise<FleetCounts> {
    const mqtt = this.options.transport === 'mqtt';
    return this.waitFor(
      'every panel live',
      (c) => (c.states['live'] ?? 0) === this.options.panels && (!mqtt || c.mqttConnected === this.options.panels),
      timeoutMs,
      onTick,
    );
  }

  /** Remembers each panel's revision; then edits the fleet's content set (every panel's document changes). Returns t0 (epoch ms). */
  async broadcastChange(): Promise<{ t0: number; answeredMs: number }> {
    await Promise.all(this.fleets.map((f) => f.request((id) => ({ type: 'mark', id }))));
    this.contentVersion++;
    const t0 = performance.timeOrigin + performance.now();
    const r = await this.admin('PUT', `/content-sets/${FLEET_CONTENT_SET_ID}`, this.contentBody());
    const answeredMs = performance.timeOrigin + performance.now() - t0;
    if (r.status !== 200) throw new Error(`editing the content set failed: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    return { t0, answeredMs };
  }

  /** Each panel's acceptance time of a revision newer than the mark (null: not within the timeout). */
  async awaitChange(timeoutMs: number): Promise<(number | null)[]> {
    const deadlineMs = Date.now() + timeoutMs;
    const all = await Promise.all(
      this.fleets.map((f) => f.request<Extract<FromFleetProcess, { type: 'times' }>>((id) => ({ type: 'await-change', id, deadlineMs }))),
    );
    return all.flatMap((a) => a.times);
  }

  async markDisplay(): Promise<void> {
    await Promise.all(this.fleets.map((f) => f.request((id) => ({ type: 'mark-display', id }))));
  }

  /** Each panel's first display message after `markDisplay` (a re-subscribe delivers the retained one). */
  async awaitDisplay(timeoutMs: number): Promise<{ times: (number | null)[]; attempts: number }> {
    const deadlineMs = Date.now() + timeoutMs;
    const all = await Promise.all(
      this.fleets.map((f) => f.request<Extract<FromFleetProcess, { type: 'times' }>>((id) => ({ type: 'await-display', id, deadlineMs }))),
    );
    return { times: all.flatMap((a) => a.times), attempts: all.reduce((s, a) => s + a.attempts, 0) };
  }

  /** Backend (and Mosquitto) memory; null when the backend is not ours. */
  async memory(): Promise<BackendMemory | null> {
    if (!this.backend) return null;
    const m = await this.backend.request<Extract<FromBackendProcess, { type: 'memory' }>>((id) => ({ type: 'memory', id }));
    return m.memory;
  }

  /** Stops the broker and starts it again (aedes: the backend; `downMs` pause). */
  async restartBroker(downMs = 0): Promise<{ downAtMs: number; upAtMs: number }> {
    if (!this.backend) throw new Error('the backend is not ours: cannot restart its broker');
    const r = await this.backend.request<Extract<FromBackendProcess, { type: 'restarted' }>>((id) => ({
      type: 'restart-broker',
      id,
      downMs,
    }));
    return { downAtMs: r.downAtMs, upAtMs: r.upAtMs };
  }

  /** Stops the panels (clean MQTT disconnects), the backend, and removes the data tree. Safe twice. */
  async stop(): Promise<void> {
    const fleets = this.fleets.splice(0);
    await Promise.all(
      fleets.map(async (f) => {
        const stopped = f.request((id) => ({ type: 'stop', id })).catch(() => undefined);
        const timer = setTimeout(() => f.child.kill('SIGKILL'), 30_000);
        await Promise.race([stopped, f.exited]);
        await f.exited;
        clearTimeout(timer);
      }),
    );
    const b = this.backend;
    this.backend = null;
    if (b) {
      const timer = setTimeout(() => b.child.kill('SIGKILL'), 30_000);
      await b.request((id) => ({ type: 'stop', id })).catch(() => undefined);
      await b.exited;
      clearTimeout(timer);
    }
    if (this.ownRoot && this.root) await rm(this.root, { recursive: true, force: true });
  }
}
