import type { PanelSensorKind, PanelSensorReport, PollutantValues } from '@airpanel/contract';
import type { MonotonicClock, Scheduler, TimerHandle, WallClock } from '../clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import type { SensorSink } from './driver.js';

/**
 * Technician's codes of the panel's own sensor (README "Maintenance codes"). They are reported
 * in the status (`sensor.code`, `lastError`), never shown as a maintenance screen: a panel
 * without its sensor keeps showing the backend's content.
 */
export const SENSOR_FAULT_CODES = {
  /** Device cannot be opened or vanished (USB adapter unplugged); node does not answer. */
  unreachable: 'SNS-1',
  /** Reachable, but no frame at all within the silence window. */
  silent: 'SNS-2',
  /** Data arrives but none of it validates (checksums, garbage, implausible values). */
  invalid: 'SNS-3',
  /** The same values for longer than a real sensor can hold them. */
  stuck: 'SNS-4',
  /** `sensor` in panel.json is invalid; the panel runs without it. */
  badSettings: 'CFG-5',
} as const;

export interface SensorHealthTuning {
  /** No valid sample for this long → silent (SNS-2) or invalid (SNS-3). */
  silenceMs: number;
  /** Identical samples for this long (and at least `stuckMinSamples`) → stuck (SNS-4). */
  stuckMs: number;
  stuckMinSamples: number;
}

export const DEFAULT_SENSOR_HEALTH_TUNING: SensorHealthTuning = {
  // Serial sensors stream every ~1 s and an airrohr node re-measures every 145 s.
  silenceMs: 5 * 60_000,
  // Real particulate readings move by at least one resolution step within minutes.
  stuckMs: 30 * 60_000,
  stuckMinSamples: 10,
};

export interface SensorHealthMonitorOptions {
  kind: PanelSensorKind;
  tuning: SensorHealthTuning;
  monotonicClock: MonotonicClock;
  wallClock: WallClock;
  scheduler: Scheduler;
  logger: Logger;
  /** Every accepted sample (not while the sensor is judged stuck). */
  onSample: (values: PollutantValues, atWallMs: number) => void;
  /** The report changed state or code. */
  onReportChange: (report: PanelSensorReport) => void;
}

/**
 * Judges a sensor from what its driver reports, with one set of rules for every kind: the
 * sink a driver writes to. Problems are logged on change (not per frame), and every change
 * of state or code is reported; a sample that arrives again ends any fault but `stuck`.
 */
export class SensorHealthMonitor implements SensorSink {
  private report: PanelSensorReport;
  private connected = false;
  private lastValidMono: number;
  private lastInvalidMono = Number.NEGATIVE_INFINITY;
  private lastInvalidDetail = '';
  private invalidSinceValid = 0;
  private unreachableDetail: string | null = null;
  private sameValues: { key: string; sinceMono: number; count: number } | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly o: SensorHealthMonitorOptions) {
    this.lastValidMono = o.monotonicClock.now();
    this.report = { kind: o.kind, state: 'starting', code: null, detail: null, lastSampleAt: null, queuedReadings: 0 };
    this.arm();
  }

  current(): PanelSensorReport {
    return this.report;
  }

  /** True when its samples may decide a level. */
  get healthy(): boolean {
    return this.report.state === 'ok';
  }

  setQueued(n: number): void {
    this.report = { ...this.report, queuedReadings: n };
  }

  sample(values: PollutantValues): void {
    if (this.stopped) return;
    const now = this.o.monotonicClock.now();
    this.connected = true;
    this.unreachableDetail = null;
    this.lastValidMono = now;
    this.invalidSinceValid = 0;
    const key = JSON.stringify(values);
    if (this.sameValues?.key === key) this.sameValues.count++;
    else this.sameValues = { key, sinceMono: now, count: 1 };
    const atWallMs = this.o.wallClock.now();
    const stuckFor = now - this.sameValues.sinceMono;
    if (this.sameValues.count >= this.o.tuning.stuckMinSamples && stuckFor >= this.o.tuning.stuckMs) {
      this.set('faulty', 'stuck', `the same values ${key} for ${Math.round(stuckFor / 1000)} s (${this.sameValues.count} samples)`);
      return;
    }
    this.report = { ...this.report, lastSampleAt: new Date(atWallMs).toISOString() };
    this.set('ok', null, null);
    this.o.onSample(values, atWallMs);
  }

  reachable(): void {
    if (this.stopped) return;
    this.connected = true;
    this.unreachableDetail = null;
    // Silence is counted from when the device came back, not from before it vanished.
    this.lastValidMono = Math.max(this.lastValidMono, this.o.monotonicClock.now());
    if (this.report.code === 'SNS-1') this.set('starting', null, null);
  }

  unreachable(detail: string): void {
    if (this.stopped) return;
    this.connected = false;
    this.unreachableDetail = detail;
    this.set('faulty', 'unreachable', detail);
  }

  invalid(detail: string): void {
    if (this.stopped) return;
    this.invalidSinceValid++;
    this.lastInvalidMono = this.o.monotonicClock.now();
    this.lastInvalidDetail = detail;
    if (this.invalidSinceValid === 1 || this.invalidSinceValid % 100 === 0) {
      this.o.logger.warn('sensor data rejected', { kind: this.o.kind, detail, rejectedSinceLastValid: this.invalidSinceValid });
    }
  }

  private arm(): void {
    if (this.stopped) return;
    const wait = Math.max(250, Math.min(this.o.tuning.silenceMs / 4, 30_000));
    this.timer = this.o.scheduler.setTimeout(() => {
      this.timer = null;
      this.checkSilence();
      this.arm();
    }, wait);
  }

  /** Runs on a timer: a sensor that stops talking sends nothing that could tell us. */
  checkSilence(): void {
    const now = this.o.monotonicClock.now();
    if (!this.connected && this.unreachableDetail) return; // SNS-1 already says it
    if (now - this.lastValidMono < this.o.tuning.silenceMs) return;
    const seconds = Math.round((now - this.lastValidMono) / 1000);
    if (now - this.lastInvalidMono < this.o.tuning.silenceMs) {
      this.set('faulty', 'invalid', `no valid data for ${seconds} s; last problem: ${this.lastInvalidDetail}`);
    } else {
      this.set('faulty', 'silent', `no data for ${seconds} s`);
    }
  }

  private set(state: PanelSensorReport['state'], fault: keyof typeof SENSOR_FAULT_CODES | null, detail: string | null): void {
    const code = fault ? SENSOR_FAULT_CODES[fault] : null;
    if (this.report.state === state && this.report.code === code) {
      // Same fault, newer wording (e.g. "closed" → "cannot open"): kept, not re-reported.
      if (detail !== this.report.detail) this.report = { ...this.report, detail: detail?.slice(0, 500) ?? null };
      return;
    }
    this.report = { ...this.report, state, code, detail: detail?.slice(0, 500) ?? null };
    if (state === 'faulty') this.o.logger.warn('sensor faulty', { kind: this.o.kind, code, detail });
    else this.o.logger.info('sensor state', { kind: this.o.kind, state });
    this.o.onReportChange(this.report);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.o.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }
}
