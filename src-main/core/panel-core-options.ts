import type { Got } from 'got';
import type { LastStart } from '@airpanel/contract';
import type { FramePresented } from '@airpanel/contract/internal';
import type { Logger } from '@airpanel/node-support/logger';
import { type BackoffPolicy, DEFAULT_RECONNECT_BACKOFF } from './backoff.js';
import type { CacheDiskWriter } from './cache.js';
import type { MonotonicClock, RandomSource, Scheduler, WallClock } from './clock.js';
import type { UpdateChecker } from './commands.js';
import type { ConfigLoadResult } from './config.js';
import type { HostActions } from './host.js';
import type { MqttClientFactory } from './mqtt-link.js';
import type { SensorDriver } from './sensor/driver.js';
import type { OwnSensorTuning } from './sensor/own-sensor.js';
import type { SerialOpener } from './sensor/serial-sensor.js';

/** Knobs with production defaults; tests and the simulated fleet shorten them. */
export interface CoreTuning {
  reconnectBackoff: BackoffPolicy;
  stableConnectionMs: number;
  connectTimeoutMs: number;
  keepaliveSeconds: number;
  /** ± fraction of jitter on each poll period. */
  pollJitter: number;
  firstPollMaxDelayMs: number;
  httpTimeoutMs: number;
  /** Overrides of panel.json's seconds, for tests and simulations (panel.json has minimums). */
  freshnessWindowMs: number | null;
  pollIntervalMs: number | null;
  heartbeatMs: number | null;
  /** The panel's own sensor: reading interval, health windows, averaging rule, queue bound. */
  ownSensor: Partial<OwnSensorTuning>;
}

export const DEFAULT_CORE_TUNING: CoreTuning = {
  reconnectBackoff: DEFAULT_RECONNECT_BACKOFF,
  stableConnectionMs: 10_000,
  connectTimeoutMs: 10_000,
  keepaliveSeconds: 30,
  pollJitter: 0.2,
  firstPollMaxDelayMs: 5_000,
  httpTimeoutMs: 10_000,
  freshnessWindowMs: null,
  pollIntervalMs: null,
  heartbeatMs: null,
  ownSensor: {},
};

export interface PanelCoreOptions {
  dataDir: string;
  /** The result of `loadPanelConfig(dataDir)`: a bad config is a state, not an exception. */
  config: ConfigLoadResult;
  /** Production: `mqtt.connect`. */
  mqttConnect: MqttClientFactory;
  /** Production: `got` (or `got.extend(...)`). */
  http: Got;
  hostActions: HostActions;
  /** Absent → `check-update` is acked `rejected`. */
  updateChecker?: UpdateChecker | undefined;
  logger: Logger;
  firmwareVersion: string;
  /** Why the app last started (core/restart-reason.ts: the host reads it); reported in every status. */
  lastStart?: LastStart | null;
  wallClock?: WallClock;
  monotonicClock?: MonotonicClock;
  /** Jitter source, [0, 1). */
  random?: RandomSource;
  scheduler?: Scheduler;
  tuning?: Partial<CoreTuning>;
  /** How the last-known-good cache writes (see CacheDiskWriter); default asynchronous. */
  cacheDiskWriter?: CacheDiskWriter;
  /**
   * Told every painted frame and every answer from the backend; reports the bundle healthy
   * to the OTA loader once both content and the backend are there (update/health.ts).
   */
  healthGate?: { framePresented(frame: FramePresented): void; backendReached(via: 'mqtt' | 'poll'): void };
  /** Opens the serial device of an SDS011/PMS sensor; default: serialport, loaded on first use. */
  openSerial?: SerialOpener;
  /** Replaces the driver panel.json's `sensor` names (the simulator's virtual sensor). */
  sensorDriver?: SensorDriver;
}
