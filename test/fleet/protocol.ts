// The messages between the fleet orchestrator and its child processes (node:child_process IPC).
import type { BackoffPolicy } from '@airpanel/panel/core/backoff';

/** One simulated panel as a fleet process needs it: its data dir holds panel.json. */
export interface PanelSlot {
  panelId: string;
  dataDir: string;
}

/** Serializable subset of CoreTuning the fleet changes. */
export interface FleetTuning {
  reconnectBackoff?: BackoffPolicy;
  pollIntervalMs?: number;
  freshnessWindowMs?: number;
  heartbeatMs?: number;
  stableConnectionMs?: number;
  connectTimeoutMs?: number;
  keepaliveSeconds?: number;
}

export interface FleetProcessCounts {
  panels: number;
  started: number;
  /** MQTT clients connected right now (CONNACK received, not yet closed). */
  mqttConnected: number;
  /** MQTT connection attempts so far (every client the core asked for). */
  mqttAttempts: number;
  states: Record<string, number>;
  /** Panels per displayed revision (revision of the accepted document; "none" without one). */
  revisions: Record<string, number>;
  /** error / warn lines logged by the cores. */
  errors: number;
  warnings: number;
  /** Last few error messages (distinct), for the summary. */
  lastErrors: string[];
  rssBytes: number;
  heapUsedBytes: number;
  /** CPU time (user + system) the process used since it started, in microseconds. */
  cpuMicros: number;
  /** Event-loop lag sampled over the last summary period (ms, max). */
  loopLagMs: number;
}

export function cpuMicrosOfThisProcess(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * How the cores' last-known-good caches write: `sync` (the fleet's default) with the
 * synchronous file calls, `async` as a real panel does. Same files and fsyncs either way; on
 * tmpfs the synchronous calls cost ~1/8 of the CPU, and 5,000 cores share one process.
 */
export type CacheWrites = 'sync' | 'async';

export type ToFleetProcess =
  | { type: 'start'; panels: PanelSlot[]; tuning: FleetTuning; startsPerSecond: number; firmwareVersion: string; cacheWrites: CacheWrites }
  | { type: 'counts'; id: number }
  /** Remember each panel's revision now; `await-change` then waits for a newer one. */
  | { type: 'mark'; id: number }
  /**
   * Resolves when every panel accepted a revision newer than the mark (or at the deadline):
   * each panel's wall-clock acceptance time (epoch ms, fractional), null if it did not.
   */
  | { type: 'await-change'; id: number; deadlineMs: number }
  /** Forget the display messages seen; `await-display` then waits for one per panel. */
  | { type: 'mark-display'; id: number }
  /** Wall-clock time each panel received its display topic again after the mark (retained re-delivery). */
  | { type: 'await-display'; id: number; deadlineMs: number }
  | { type: 'stop'; id: number };

export type FromFleetProcess =
  | { type: 'ready' }
  | { type: 'started'; count: number }
  | { type: 'counts'; id: number; counts: FleetProcessCounts }
  | { type: 'marked'; id: number }
  | { type: 'times'; id: number; times: (number | null)[]; attempts: number }
  | { type: 'stopped'; id: number }
  | { type: 'fatal'; message: string };

export type BrokerKind = 'aedes' | 'mosquitto' | 'none';

/**
 * How panels get Mosquitto accounts: through dynsec at run time, one panel after the other (as
 * in production), or `seeded` into the stopped broker's dynsec file once provisioning is done,
 * with the backend in `managed-elsewhere` mode (a large fleet: dynsec at run time costs more
 * per panel the more there are, see test/bench/mosquitto-provisioning.ts).
 */
export type BrokerAccounts = 'dynsec' | 'seeded';

export interface BackendProcessOptions {
  dataDir: string;
  broker: BrokerKind;
  brokerAccounts: BrokerAccounts;
  adminToken: string;
  refreshIntervalSeconds: number;
  /**
   * The backend over TLS (createBackend's `tls` with a private CA directory beside its data
   * dir): HTTPS for the API, MQTTS for the embedded broker, the CA handed out at registration.
   */
  tls?: boolean;
}

export type ToBackendProcess =
  | { type: 'start'; options: BackendProcessOptions }
  | { type: 'memory'; id: number }
  /** Mosquitto with seeded accounts: write these into its dynsec file and restart it. */
  | { type: 'seed-broker-accounts'; id: number; accounts: { panelId: string; apiKey: string }[] }
  /** Stops the broker and starts it again (aedes: the whole backend, same ports and data). */
  | { type: 'restart-broker'; id: number; downMs: number }
  | { type: 'stop'; id: number };

export interface BackendMemory {
  backendRssBytes: number;
  backendHeapUsedBytes: number;
  /** Mosquitto's VmRSS from /proc, when it runs. */
  brokerRssBytes: number | null;
  /** CPU time (user + system) since start, in microseconds: the backend's and Mosquitto's. */
  backendCpuMicros: number;
  brokerCpuMicros: number | null;
  connectedPanels: number;
}

export type FromBackendProcess =
  | {
      type: 'started';
      url: string;
      mqttUrl: string | null;
      adminToken: string;
      pid: number;
      brokerPid: number | null;
      caPem: string | null;
    }
  | { type: 'memory'; id: number; memory: BackendMemory }
  | { type: 'restarted'; id: number; downAtMs: number; upAtMs: number }
  | { type: 'seeded'; id: number; ms: number }
  | { type: 'stopped'; id: number }
  | { type: 'fatal'; message: string };
