import { displayETag, type DisplayDocument, type PanelStatus, type PanelConfig } from '@airpanel/contract';
import { type FramePresented, type PanelView, type RendererErrorReport } from '@airpanel/contract/internal';
import { LastKnownGoodCache } from './cache.js';
import {
  type MonotonicClock,
  type RandomSource,
  type Scheduler,
  systemMonotonicClock,
  systemWallClock,
  type TimerHandle,
  unrefScheduler,
  type WallClock,
} from './clock.js';
import type { ConfigLoadResult } from './config.js';
import { type Connected, connectionOf, type CoreLifecycle, isStopping } from './core-lifecycle.js';
import { judgeDocument } from './document-gate.js';
import { type CoreTuning, DEFAULT_CORE_TUNING, type PanelCoreOptions } from './panel-core-options.js';
import type { PanelViewSource } from './host.js';
import type { Logger } from '@airpanel/node-support/logger';
import { buildPanelConnection } from './panel-connection.js';
import { PollOutcomePolicy } from './poll-outcome-policy.js';
import { type PanelState, PanelStateMachine, sameView, type StateTransition, viewOfState } from './state-machine.js';
import type { OwnMeasurement } from './sensor/own-measurement.js';
import { wireOwnMeasurement } from './own-measurement-wiring.js';
import { type StatusFacts, StatusReporter } from './status-reporter.js';
import { PanelTransport } from './transport/panel-transport.js';
import { TrustStore } from './transport/trust-store.js';

export { DEFAULT_CORE_TUNING, type CoreTuning, type PanelCoreOptions } from './panel-core-options.js';

/** Used when a host reports a code the maintenance screen could not show. */
export const HOST_FAULT_FALLBACK_CODE = 'HST-1';
const MAINTENANCE_CODE = /^[A-Z]{2,5}-[0-9]{1,3}$/;

/**
 * The panel firmware core: config → last known good cache → sync (MQTT push, HTTP poll) →
 * state machine → the view the host draws; status, events and commands over MQTT.
 * Hosts (Electron, headless, the simulated fleet) construct it and call start()/stop().
 */
export class PanelCore implements PanelViewSource {
  private readonly o: PanelCoreOptions;
  private readonly tuning: CoreTuning;
  private readonly wall: WallClock;
  private readonly mono: MonotonicClock;
  private readonly random: RandomSource;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly cache: LastKnownGoodCache;
  private readonly machine: PanelStateMachine;
  private readonly reporter: StatusReporter;
  /** The trust store for every connection; names certificate problems (transport/README.md). */
  private readonly transport: PanelTransport;
  private readonly viewListeners = new Set<(view: PanelView) => void>();
  private view: PanelView = { kind: 'booting' };
  private lifecycle: CoreLifecycle = { type: 'new' };
  private highestRevision = 0;
  /** What the renderer last reported painted; undefined until it reports at all. */
  private paintedRevision: number | null | undefined = undefined;
  private lastError: string | null = null;
  private freshnessTimer: TimerHandle | null = null;
  private stopUpdateReports: (() => void) | null = null;
  /** The panel's own sensor and the level it decides itself; null without a sensor. */
  private own: OwnMeasurement | null = null;

  constructor(options: PanelCoreOptions) {
    this.logger = options.logger;
    this.transport = new PanelTransport({
      trust: (options.config.ok ? options.config.trust : undefined) ?? TrustStore.systemRoots,
      logger: this.logger,
      onCertificateProblem: (_problem, summary) => {
        this.lastError = summary.slice(0, 1000);
        this.reporter.publish();
      },
    });
    // Every HTTP call of the core (polling, screenshots, confirmations) goes through the trust store.
    this.o = { ...options, http: this.transport.http(options.http) };
    this.tuning = { ...DEFAULT_CORE_TUNING, ...options.tuning };
    this.wall = options.wallClock ?? systemWallClock;
    this.mono = options.monotonicClock ?? systemMonotonicClock;
    this.random = options.random ?? Math.random;
    this.scheduler = options.scheduler ?? unrefScheduler;
    this.reporter = new StatusReporter({
      firmwareVersion: options.firmwareVersion,
      lastStart: options.lastStart ?? null,
      facts: () => this.statusFacts(),
      displayedRevision: () => this.displayedRevision(),
      route: () => connectionOf(this.lifecycle),
      wallClock: this.wall,
      monotonicClock: this.mono,
      scheduler: this.scheduler,
      logger: this.logger,
    });
    this.cache = new LastKnownGoodCache({
      dataDir: options.dataDir,
      wallClock: this.wall,
      logger: this.logger,
      diskWriter: options.cacheDiskWriter,
    });
    const freshnessWindowMs =
      this.tuning.freshnessWindowMs ?? (options.config.ok ? options.config.config.freshnessWindowSeconds : 900) * 1000;
    this.machine = new PanelStateMachine({
      monotonicClock: this.mono,
      wallClock: this.wall,
      freshnessWindowMs,
      onTransition: (t, s) => this.onTransition(t, s),
    });
  }

  /** The state machine's current state (read-only view for hosts and tests). */
  get state(): PanelState {
    return this.machine.state;
  }

  /** Shows the cache, then connects; resolves once the cached view (if any) is up. */
  async start(): Promise<void> {
    if (this.lifecycle.type !== 'new') return;
    this.enter({ type: 'starting', reason: 'start() called' });
    const cfg = this.o.config;
    const cached = await this.cache.load(cfg.ok ? cfg.config.panelId : null);
    this.highestRevision = cached.highestRevision;
    if (cached.document) {
      this.machine.showCached(cached.document, `last known good revision ${cached.document.revision} from cache`);
      this.afterChange();
    }
    if (!cfg.ok) {
      this.lastError = `${cfg.code}: ${cfg.detail}`.slice(0, 1000);
      this.logger.error('panel config unusable', { code: cfg.code, file: cfg.path, detail: cfg.detail, fields: cfg.fields });
      if (!cached.document) this.machine.fault(cfg.code, cfg.detail);
      else this.logger.warn('showing cached content without a backend: config unusable', { code: cfg.code });
      this.afterChange();
      if (this.isIn('starting')) this.enter({ type: 'running', reason: `config unusable (${cfg.code}): no backend`, connected: null });
      return;
    }
    const connected = this.connect(cfg.config);
    if (!this.isIn('starting')) return; // stopped while connecting
    this.enter({
      type: 'running',
      reason: connected.link ? 'connecting: MQTT push, HTTP poll as fallback' : 'connecting: HTTP polling only',
      connected,
    });
    this.stopUpdateReports =
      this.o.updateChecker?.onReport?.(() => {
        if (this.isIn('running')) this.reporter.publishThrottled();
      }) ?? null;
    await this.startOwnSensor(cfg, connected);
    if (!this.isIn('running')) return;
    connected.sync.start();
    this.reporter.startHeartbeat(this.tuning.heartbeatMs ?? connected.config.heartbeatSeconds * 1000);
  }

  /** A call, not a property read: the lifecycle changes across the awaits of start(). */
  private isIn(type: CoreLifecycle['type']): boolean {
    return this.lifecycle.type === type;
  }

  /** Every change of the lifecycle goes through here, with its reason. */
  private enter(next: CoreLifecycle): void {
    const from = this.lifecycle.type;
    this.lifecycle = next;
    this.logger.debug('core lifecycle', { from, to: next.type, reason: 'reason' in next ? next.reason : null });
  }

  private async startOwnSensor(cfg: Extract<ConfigLoadResult, { ok: true }>, c: Connected): Promise<void> {
    if (cfg.sensorFault) {
      this.lastError = `${cfg.sensorFault.code}: ${cfg.sensorFault.detail}`.slice(0, 1000);
      this.logger.error('sensor settings unusable; running without the own sensor', {
        code: cfg.sensorFault.code,
        detail: cfg.sensorFault.detail,
      });
    }
    const settings = cfg.config.sensor;
    if (!settings) return;
    const own = wireOwnMeasurement({
      config: cfg.config,
      settings,
      connection: c,
      core: this.o,
      tuning: this.tuning,
      wallClock: this.wall,
      monotonicClock: this.mono,
      scheduler: this.scheduler,
      logger: this.logger,
      onChange: (changed) => this.onOwnSensorChange(changed),
      publishStatus: () => this.reporter.publish(),
      reportEvent: (event) => this.reporter.report(event),
    });
    this.own = own;
    try {
      await own.start();
      own.setLinkUp(c.link?.isUp ?? false);
    } catch (err) {
      this.lastError = `sensor: ${String(err)}`.slice(0, 1000);
      this.logger.error('own sensor could not start', { error: String(err) });
    }
  }

  private onOwnSensorChange(own: OwnMeasurement): void {
    if (!this.isIn('running')) return;
    const change = own.takeHealthChange();
    if (change) {
      if (change.lastError) this.lastError = change.lastError;
      this.reporter.publish();
    }
    this.afterChange();
  }

  /** Publishes the offline status, closes MQTT cleanly, stops every timer. Safe twice. */
  async stop(): Promise<void> {
    if (isStopping(this.lifecycle)) return;
    const c = connectionOf(this.lifecycle);
    this.enter({ type: 'stopping', reason: 'stop() called', connected: c });
    this.clearFreshnessTimer();
    this.reporter.stop();
    this.stopUpdateReports?.();
    this.stopUpdateReports = null;
    await this.own?.stop();
    if (c) {
      c.sync.stop();
      await c.link?.stop(this.reporter.farewell());
    }
    await this.cache.flush();
    this.viewListeners.clear();
    this.enter({ type: 'stopped', reason: 'offline status sent, MQTT closed, cache flushed', connected: c });
  }

  // ── PanelViewSource ────────────────────────────────────────────────────────────────

  getView(): PanelView {
    return this.view;
  }

  onView(listener: (view: PanelView) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  framePresented(frame: FramePresented): void {
    this.o.healthGate?.framePresented(frame);
    this.paintedRevision = frame.kind === 'content' ? frame.revision : null;
    if (this.reporter.publishIfRevisionChanged()) {
      this.logger.info('frame presented', { kind: frame.kind, revision: frame.revision });
    }
  }

  rendererError(report: RendererErrorReport): void {
    this.lastError = `renderer: ${report.message}`.slice(0, 1000);
    this.logger.warn('renderer error', { message: report.message });
  }

  hostFault(code: string, detail: string): void {
    const shown = MAINTENANCE_CODE.test(code) ? code : HOST_FAULT_FALLBACK_CODE;
    if (shown !== code) this.logger.warn('host fault code not displayable; using fallback', { code, fallback: shown });
    this.lastError = `${code}: ${detail}`.slice(0, 1000);
    this.logger.error('host fault', { code, detail });
    this.machine.fault(shown, detail.slice(0, 500));
    this.afterChange();
  }

  // ── status ──────────────────────────────────────────────────────────────────────────

  /**
   * The status as it would be published now (hosts and tests read it). Without a usable
   * panel.json there is no panel id: `panelId` is then empty and nothing is published.
   */
  currentStatus(): PanelStatus {
    return this.reporter.build(true);
  }

  private displayedRevision(): number | null {
    if (this.paintedRevision !== undefined) return this.paintedRevision;
    return this.machine.document?.revision ?? null;
  }

  private statusFacts(): StatusFacts {
    return {
      panelId: connectionOf(this.lifecycle)?.config.panelId ?? '',
      state: this.machine.state,
      lastError: this.lastError,
      update: this.o.updateChecker?.getReport?.() ?? null,
      sensor: this.own?.report() ?? null,
      ownDecision: this.own?.decisionStatus() ?? null,
    };
  }

  // ── sync ────────────────────────────────────────────────────────────────────────────

  private connect(config: PanelConfig): Connected {
    const pollOutcomes = new PollOutcomePolicy({
      logger: this.logger,
      backendReached: () => this.o.healthGate?.backendReached('poll'),
      document: (body) => this.onDocumentBytes(body, 'http'),
      notModified: () => {
        if (this.machine.document) this.confirm(`revision ${this.machine.document.revision} confirmed by poll (304)`);
      },
      refused: (lastError) => {
        this.lastError = lastError;
      },
    });
    const connected: Connected = buildPanelConnection({
      config,
      http: this.o.http,
      mqttConnect: this.o.mqttConnect,
      transport: this.transport,
      tuning: this.tuning,
      hostActions: this.o.hostActions,
      updateChecker: this.o.updateChecker ?? null,
      wallClock: this.wall,
      monotonicClock: this.mono,
      random: this.random,
      scheduler: this.scheduler,
      logger: this.logger,
      currentETag: () => {
        const doc = this.machine.document;
        return doc ? displayETag(doc) : null;
      },
      onLinkUp: () => {
        this.transport.connected('mqtt');
        this.o.healthGate?.backendReached('mqtt');
        this.reporter.linkUp();
        connected.sync.mqttUp();
        this.own?.setLinkUp(true);
      },
      onLinkDown: () => {
        this.own?.setLinkUp(false);
        connected.sync.mqttDown();
      },
      onDocument: (bytes, source) => this.onDocumentBytes(bytes, source),
      onPollOutcome: (outcome) => pollOutcomes.handle(outcome),
      publishAck: (ack) => this.reporter.publishEvent({ type: 'command-ack', ack }),
    });
    return connected;
  }

  private onDocumentBytes(bytes: Buffer, source: 'mqtt' | 'http'): void {
    const c = connectionOf(this.lifecycle);
    if (!c || isStopping(this.lifecycle)) return;
    if (this.machine.state.name === 'maintenance') {
      this.logger.debug('document ignored in maintenance', { source });
      return;
    }
    const verdict = judgeDocument(bytes, {
      panelId: c.config.panelId,
      shownRevision: this.machine.document?.revision ?? null,
      highestRevision: this.highestRevision,
    });
    switch (verdict.kind) {
      case 'reject':
        this.logger.warn('document rejected', { source, reason: verdict.reason });
        return;
      case 'confirm':
        this.confirm(`revision ${verdict.revision} confirmed via ${source}`);
        return;
      case 'accept':
        this.accept(verdict.document, source);
        return;
    }
  }

  private accept(document: DisplayDocument, source: 'mqtt' | 'http'): void {
    this.highestRevision = Math.max(this.highestRevision, document.revision);
    this.logger.info('document accepted', { source, revision: document.revision, level: document.level.id });
    this.machine.accept(document, `revision ${document.revision} received via ${source}`);
    this.afterChange();
    this.cache.save(document).catch((err: unknown) => {
      this.lastError = `cache write failed: ${String(err)}`.slice(0, 1000);
      this.logger.error('cache write failed', { revision: document.revision, error: String(err) });
    });
  }

  private confirm(reason: string): void {
    this.machine.confirm(reason);
    this.afterChange();
  }

  // ── state and view ──────────────────────────────────────────────────────────────────

  private onTransition(t: StateTransition, state: PanelState): void {
    this.logger.info('state transition', { from: t.from, to: t.to, reason: t.reason });
    const panelId = this.o.config.ok ? this.o.config.config.panelId : null;
    if (panelId) {
      this.reporter.report({
        type: 'state-transition',
        panelId,
        from: t.from,
        to: t.to,
        reason: t.reason.slice(0, 500),
        at: new Date(t.atWallMs).toISOString(),
      });
    }
    this.reporter.publish();
    if (state.name === 'maintenance') this.logger.error('maintenance', { code: state.code, reason: state.reason });
  }

  /** After any input: re-arm the freshness timer and emit the view if it changed. */
  private afterChange(): void {
    this.armFreshnessTimer();
    this.reporter.publishIfRevisionChanged();
    const ofState = viewOfState(this.machine.state);
    const next = this.own
      ? this.own.applyTo(ofState, this.machine.state, this.view, connectionOf(this.lifecycle)?.config.panelId ?? '')
      : ofState;
    if (sameView(next, this.view)) return;
    this.view = next;
    for (const listener of this.viewListeners) {
      try {
        listener(next);
      } catch (err) {
        this.logger.error('view listener threw', { error: String(err) });
      }
    }
  }

  private armFreshnessTimer(): void {
    this.clearFreshnessTimer();
    if (isStopping(this.lifecycle)) return;
    const remaining = this.machine.msUntilStale();
    if (remaining === null) return;
    // +1: a timer may fire a hair early relative to the monotonic clock; re-checked anyway.
    this.freshnessTimer = this.scheduler.setTimeout(
      () => {
        this.freshnessTimer = null;
        this.machine.evaluateFreshness();
        this.afterChange();
      },
      Math.max(0, remaining) + 1,
    );
  }

  private clearFreshnessTimer(): void {
    if (this.freshnessTimer) this.scheduler.clearTimeout(this.freshnessTimer);
    this.freshnessTimer = null;
  }
}
