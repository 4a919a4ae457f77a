import type { PanelEvent, PanelStatus } from '@airpanel/contract';
import type { PanelView } from '@airpanel/contract/internal';
import type { Logger } from '@airpanel/node-support/logger';
import type { WallClock } from '../clock.js';
import type { PanelState } from '../state-machine.js';
import { OwnLevelDecider } from './own-decision.js';
import { OwnSensor, type OwnSensorOptions } from './own-sensor.js';

export interface OwnMeasurementOptions {
  /** The sensor's own options; its `onChange` is this piece's. */
  sensor: Omit<OwnSensorOptions, 'onChange'>;
  wallClock: WallClock;
  logger: Logger;
  /** The sensor's health or averages changed (the core re-evaluates its view). */
  onChange: () => void;
  /** The own decision started, changed level or ended: the status must say so. */
  publishStatus: () => void;
  /** A fresh backend document disagreed with the level the panel showed itself. */
  reportEvent: (event: PanelEvent) => void;
}

/**
 * The panel's own sensor as the core sees it: its part of the status, and the level the panel
 * shows itself while the backend's document is stale and the sensor is healthy with enough
 * data (README "Deciding alone"). A fresh backend document ends that; a different level in it
 * is reported as a disagreement.
 */
export class OwnMeasurement {
  private readonly o: OwnMeasurementOptions;
  private readonly sensor: OwnSensor;
  private readonly decider = new OwnLevelDecider();
  /** State and code of the sensor last reported, so only a change publishes the status. */
  private reportedHealth = '';

  constructor(options: OwnMeasurementOptions) {
    this.o = options;
    this.sensor = new OwnSensor({ ...options.sensor, onChange: () => options.onChange() });
  }

  start(): Promise<void> {
    return this.sensor.start();
  }

  stop(): Promise<void> {
    return this.sensor.stop();
  }

  setLinkUp(up: boolean): void {
    this.sensor.setLinkUp(up);
  }

  /** `status.sensor`. */
  report(): NonNullable<PanelStatus['sensor']> {
    return this.sensor.report();
  }

  /** `status.ownDecision`: set while the panel shows the level it evaluated itself. */
  decisionStatus(): PanelStatus['ownDecision'] {
    const active = this.decider.active;
    return active ? { levelId: active.levelId, since: new Date(active.sinceWallMs).toISOString() } : null;
  }

  /**
   * Null when the sensor's state and code are those last reported; otherwise the change is
   * taken as reported, with the `lastError` its code calls for (null without a code).
   */
  takeHealthChange(): { lastError: string | null } | null {
    const r = this.sensor.report();
    const key = `${r.state}/${r.code ?? ''}`;
    if (key === this.reportedHealth) return null;
    this.reportedHealth = key;
    return { lastError: r.code ? `${r.code}: ${r.detail ?? ''}`.slice(0, 1000) : null };
  }

  /**
   * The view to show for `view` (the state's own) in `state`: the same, or the same content
   * with the level this panel decided itself. `shown` is the view on screen now.
   */
  applyTo(view: PanelView, state: PanelState, shown: PanelView, panelId: string): PanelView {
    if (view.kind !== 'content' || state.name !== 'stale' || !this.sensor.healthy) {
      if (this.decider.active) this.endDecision(view.kind === 'content' && state.name !== 'stale' ? view : null, panelId);
      return view;
    }
    const averaged = this.sensor.averaged();
    const decision =
      averaged.values && averaged.atMs !== null
        ? this.decider.decide(
            { document: view.document, values: averaged.values, measuredAtMs: averaged.atMs, panelId, sensor: this.sensor.report().kind },
            this.o.wallClock.now(),
          )
        : null;
    if (!decision) {
      if (this.decider.active) this.endDecision(null, panelId);
      return view;
    }
    if (shown.kind !== 'content' || !shown.ownMeasurement || shown.document.level.id !== decision.levelId) {
      this.o.logger.info('own decision', { level: decision.levelId, values: averaged.values, backendRevision: view.document.revision });
      queueMicrotask(() => this.o.publishStatus());
    }
    return { ...view, document: decision.document, ownMeasurement: { since: new Date(decision.sinceWallMs).toISOString() } };
  }

  private endDecision(backendView: Extract<PanelView, { kind: 'content' }> | null, panelId: string): void {
    const was = this.decider.end();
    if (!was) return;
    const backendDocument = backendView?.document ?? null;
    this.o.logger.info('own decision ended', { ownLevel: was.levelId, backendLevel: backendDocument?.level.id ?? null });
    if (backendDocument && panelId && backendDocument.level.id !== was.levelId) {
      this.o.logger.warn('level disagreement', {
        ownLevel: was.levelId,
        backendLevel: backendDocument.level.id,
        revision: backendDocument.revision,
      });
      this.o.reportEvent({
        type: 'level-disagreement',
        panelId,
        ownLevel: was.levelId,
        backendLevel: backendDocument.level.id,
        backendRevision: backendDocument.revision,
        at: new Date(this.o.wallClock.now()).toISOString(),
      });
    }
    queueMicrotask(() => this.o.publishStatus());
  }
}
