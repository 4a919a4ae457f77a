import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Got } from 'got';
import { z } from 'zod';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import {
  averageConcentrations,
  averagingHorizonMs,
  type AveragingRule,
  EAQI_AVERAGING,
  type PanelReading,
  type PanelSensorReport,
  type PanelSensorSettings,
  type Pollutant,
  PollutantValues,
  type TimedValues,
} from '@airpanel/contract';
import type { MonotonicClock, Scheduler, TimerHandle, WallClock } from '../clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import { AirrohrSensor } from './airrohr-sensor.js';
import type { SensorDriver } from './driver.js';
import { DEFAULT_SENSOR_HEALTH_TUNING, SensorHealthMonitor, type SensorHealthTuning } from './health.js';
import { ReadingQueue } from './reading-queue.js';
import { SerialParticulateSensor, type SerialOpener } from './serial-sensor.js';

export interface OwnSensorTuning {
  /** One reading (the mean of the samples) per interval. */
  readingIntervalMs: number;
  health: SensorHealthTuning;
  averaging: AveragingRule;
  queueMax: number;
  /** A publish without PUBACK for this long counts as failed (the reading stays queued). */
  publishTimeoutMs: number;
  /** Serial devices: wait before reopening one that vanished. */
  reopenDelayMs: number;
  /** How often acknowledged readings are confirmed with the backend (one HTTP call per batch). */
  confirmIntervalMs: number;
  /** The averaging window is saved every this many readings (and at stop), for a restart. */
  windowSaveEvery: number;
}

export const DEFAULT_OWN_SENSOR_TUNING: OwnSensorTuning = {
  readingIntervalMs: 60_000,
  health: DEFAULT_SENSOR_HEALTH_TUNING,
  averaging: EAQI_AVERAGING,
  queueMax: 7 * 24 * 60,
  publishTimeoutMs: 30_000,
  reopenDelayMs: 5_000,
  confirmIntervalMs: 10 * 60_000,
  windowSaveEvery: 10,
};

/** `sensor-queue/window.json`: the readings under the running averages, so a restart keeps them. */
const SavedWindow = z.object({
  format: z.literal(1),
  readings: z.array(z.tuple([z.number().int().min(0), PollutantValues])).max(100_000),
});

export interface OwnSensorOptions {
  panelId: string;
  settings: PanelSensorSettings;
  dataDir: string;
  http: Got;
  /** Production: openSerialPort (serial-port.ts). */
  openSerial: SerialOpener;
  wallClock: WallClock;
  monotonicClock: MonotonicClock;
  scheduler: Scheduler;
  logger: Logger;
  tuning?: Partial<OwnSensorTuning>;
  /** QoS 1 publish of one reading; true once the broker acknowledged it. */
  publish: (reading: PanelReading) => Promise<boolean>;
  /** Which of these reading ids the backend recorded; null when it cannot be asked now. */
  confirm: (ids: string[]) => Promise<string[] | null>;
  /** The sensor's health or its averaged values changed. */
  onChange: () => void;
  /** Replaces the driver built from `settings` (the simulator's virtual sensor). */
  driver?: SensorDriver;
}

/**
 * The panel's own sensor, end to end: driver → health monitor → one reading a minute (mean of
 * the samples) → on-disk queue → QoS 1 publish in order, each removed only once acknowledged;
 * and the running EAQI averages the panel decides on when the backend is away.
 */
export class OwnSensor {
  private readonly tuning: OwnSensorTuning;
  private readonly driver: SensorDriver;
  private readonly monitor: SensorHealthMonitor;
  private readonly queue: ReadingQueue;
  private samples: PollutantValues[] = [];
  private window: TimedValues[] = [];
  private readingTimer: TimerHandle | null = null;
  private confirmTimer: TimerHandle | null = null;
  private confirming = false;
  /** Resolves the publish in flight as failed when the link goes down (its PUBACK will not come). */
  private readonly onLinkDown = new Set<() => void>();
  private draining = false;
  private linkUp = false;
  private stopped = false;
  private appending: Promise<void> = Promise.resolve();

  constructor(private readonly o: OwnSensorOptions) {
    this.tuning = { ...DEFAULT_OWN_SENSOR_TUNING, ...o.tuning };
    this.driver = o.driver ?? this.buildDriver();
    this.queue = new ReadingQueue({ dir: join(o.dataDir, 'sensor-queue'), maxEntries: this.tuning.queueMax, logger: o.logger });
    this.monitor = new SensorHealthMonitor({
      kind: o.settings.kind,
      tuning: this.tuning.health,
      monotonicClock: o.monotonicClock,
      wallClock: o.wallClock,
      scheduler: o.scheduler,
      logger: o.logger,
      onSample: (values) => this.samples.push(values),
      onReportChange: () => o.onChange(),
    });
  }

  private buildDriver(): SensorDriver {
    const s = this.o.settings;
    if (s.kind === 'airrohr')
      return new AirrohrSensor({ url: s.url, pollMs: s.pollSeconds * 1000, http: this.o.http, scheduler: this.o.scheduler });
    return new SerialParticulateSensor({
      kind: s.kind,
      device: s.device,
      open: this.o.openSerial,
      scheduler: this.o.scheduler,
      logger: this.o.logger,
      reopenDelayMs: this.tuning.reopenDelayMs,
    });
  }

  private get windowFile(): string {
    return join(this.o.dataDir, 'sensor-queue', 'window.json');
  }

  /**
   * The readings of the averaging window from before a restart (a power cut loses at most
   * `windowSaveEvery` of them): without them a panel restarted during an outage could decide
   * nothing on PM for 18 hours.
   */
  private async loadWindow(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.windowFile, 'utf8');
    } catch {
      return; // first start
    }
    try {
      const saved = SavedWindow.parse(JSON.parse(raw));
      const now = this.o.wallClock.now();
      const horizon = now - averagingHorizonMs(this.tuning.averaging);
      this.window = saved.readings
        .filter(([at]) => at > horizon && at <= now)
        .map(([atMs, values]) => ({ atMs, values }))
        .sort((a, b) => a.atMs - b.atMs);
      this.o.logger.info('sensor averaging window restored', { readings: this.window.length });
    } catch (err) {
      this.o.logger.warn('sensor averaging window unreadable; starting empty', { error: String(err).slice(0, 200) });
    }
  }

  private saveWindow(): Promise<void> {
    const body = JSON.stringify({ format: 1, readings: this.window.map((r) => [r.atMs, r.values]) });
    return writeFileAtomic(this.windowFile, body).catch((err: unknown) => {
      this.o.logger.warn('sensor averaging window not saved', { error: String(err) });
    });
  }

  async start(): Promise<void> {
    await this.queue.open();
    await this.loadWindow();
    this.monitor.setQueued(this.queue.size);
    this.driver.start(this.monitor);
    this.scheduleReading();
    this.scheduleConfirm();
    void this.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.readingTimer) this.o.scheduler.clearTimeout(this.readingTimer);
    this.readingTimer = null;
    if (this.confirmTimer) this.o.scheduler.clearTimeout(this.confirmTimer);
    this.confirmTimer = null;
    this.monitor.stop();
    await this.driver.stop();
    await this.appending;
    if (this.window.length > 0) await this.saveWindow();
  }

  report(): PanelSensorReport {
    return { ...this.monitor.current(), queuedReadings: this.queue.size };
  }

  get healthy(): boolean {
    return this.monitor.healthy;
  }

  /**
   * The EAQI averages as of the newest reading of this run (null values while coverage is
   * short, or before the first reading), and that reading's time.
   */
  averaged(): { values: PollutantValues | null; coverage: Partial<Record<Pollutant, number>>; atMs: number | null } {
    const newest = this.window.at(-1);
    if (!newest) return { values: null, coverage: {}, atMs: null };
    return { ...averageConcentrations(this.window, newest.atMs, this.tuning.averaging), atMs: newest.atMs };
  }

  /** MQTT came up or went down: readings drain only while it is up. */
  setLinkUp(up: boolean): void {
    this.linkUp = up;
    if (up) void this.drain();
    else for (const abandon of [...this.onLinkDown]) abandon();
  }

  private scheduleReading(): void {
    if (this.stopped) return;
    this.readingTimer = this.o.scheduler.setTimeout(() => {
      this.readingTimer = null;
      this.takeReading();
      this.scheduleReading();
    }, this.tuning.readingIntervalMs);
  }

  private takeReading(): void {
    const samples = this.samples;
    this.samples = [];
    if (samples.length === 0 || !this.monitor.healthy) return;
    const values = meanOf(samples);
    const atMs = this.o.wallClock.now();
    const reading: PanelReading = {
      id: randomUUID(),
      panelId: this.o.panelId,
      seq: this.queue.takeSeq(),
      measuredAt: new Date(atMs).toISOString(),
      sensor: this.o.settings.kind,
      values,
      samples: Math.min(samples.length, 100_000),
    };
    this.window.push({ atMs, values });
    const horizon = atMs - averagingHorizonMs(this.tuning.averaging);
    if (this.window[0]!.atMs <= horizon) this.window = this.window.filter((r) => r.atMs > horizon);
    // Appends are chained so readings reach the disk (and the broker) in the order taken.
    this.appending = this.appending
      .then(() => this.queue.append(reading))
      .then(async () => {
        this.monitor.setQueued(this.queue.size);
        void this.drain();
        if (reading.seq % this.tuning.windowSaveEvery === 0) await this.saveWindow();
      })
      .catch((err: unknown) => {
        this.o.logger.error('reading not queued', { seq: reading.seq, error: String(err) });
      });
    this.o.onChange();
  }

  /** Publishes the queue head until it is empty or the broker stops acknowledging. */
  private async drain(): Promise<void> {
    if (this.draining || !this.linkUp || this.stopped) return;
    this.draining = true;
    try {
      for (let head = this.queue.firstUnsent(); head && this.linkUp && !this.stopped; head = this.queue.firstUnsent()) {
        if (!(await this.publishWithTimeout(head))) break;
        this.queue.markSent(head.id, this.o.monotonicClock.now());
      }
    } catch (err) {
      this.o.logger.error('reading queue drain failed', { error: String(err) });
    } finally {
      this.draining = false;
    }
  }

  private scheduleConfirm(): void {
    if (this.stopped) return;
    this.confirmTimer = this.o.scheduler.setTimeout(() => {
      this.confirmTimer = null;
      void this.confirmSent().finally(() => this.scheduleConfirm());
    }, this.tuning.confirmIntervalMs);
  }

  /**
   * Asks the backend which acknowledged readings it recorded: those are deleted; those it
   * lacks although acknowledged a whole interval ago are sent again (the backend recognises
   * a reading it has by its id, so a resend is never counted twice).
   */
  async confirmSent(): Promise<void> {
    if (this.confirming || this.stopped) return;
    this.confirming = true;
    try {
      for (;;) {
        const batch = this.queue.sentEntries(500);
        if (batch.length === 0) break;
        const recorded = await this.o.confirm(batch.map((b) => b.id));
        if (!recorded) break; // backend unreachable: ask again next time
        const removed = await this.queue.remove(recorded);
        const have = new Set(recorded);
        const tooOld = this.o.monotonicClock.now() - this.tuning.confirmIntervalMs;
        let resend = 0;
        for (const b of batch) {
          if (!have.has(b.id) && b.atMono <= tooOld) {
            this.queue.markUnsent(b.id);
            resend++;
          }
        }
        if (resend > 0)
          this.o.logger.warn('readings acknowledged by the broker but not recorded by the backend; sending them again', {
            readings: resend,
          });
        this.monitor.setQueued(this.queue.size);
        if (resend > 0) void this.drain();
        if (removed < batch.length) break; // the rest is not confirmed yet
      }
    } catch (err) {
      this.o.logger.warn('confirming readings failed', { error: String(err) });
    } finally {
      this.confirming = false;
    }
  }

  private publishWithTimeout(reading: PanelReading): Promise<boolean> {
    let timer: TimerHandle | null = null;
    let abandon: (() => void) | null = null;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.o.scheduler.setTimeout(() => resolve(false), this.tuning.publishTimeoutMs);
      abandon = () => resolve(false);
      this.onLinkDown.add(abandon);
    });
    return Promise.race([this.o.publish(reading), timeout]).finally(() => {
      if (timer) this.o.scheduler.clearTimeout(timer);
      if (abandon) this.onLinkDown.delete(abandon);
    });
  }
}

/** Per pollutant, the mean of the samples that have it, to 0.1 µg/m³. */
function meanOf(samples: PollutantValues[]): PollutantValues {
  const sums = new Map<Pollutant, { sum: number; n: number }>();
  for (const s of samples) {
    for (const [p, v] of Object.entries(s) as [Pollutant, number | undefined][]) {
      if (v === undefined) continue;
      const e = sums.get(p) ?? { sum: 0, n: 0 };
      e.sum += v;
      e.n++;
      sums.set(p, e);
    }
  }
  const out: PollutantValues = {};
  for (const [p, { sum, n }] of sums) out[p] = Math.round((sum / n) * 10) / 10;
  return out;
}
