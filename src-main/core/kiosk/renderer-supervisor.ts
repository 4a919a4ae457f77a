import { CrashLoopPolicy, type HostFaultKind, type RecoveryDecision } from './crash-loop-policy.js';
import type { PanelViewSource } from '../host.js';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * Renderer recovery for a host: crash, hang and GPU loss go through the CrashLoopPolicy;
 * the supervisor carries out its decisions (reload after a backoff, or the maintenance page)
 * and reports each one to the core (so it reaches the panel's status) and the log.
 *
 * Free of Electron on purpose: main.ts wires it to BrowserWindow / webContents events, and
 * the unit test drives it with a test window and a manual clock.
 */

/** The window as the supervisor needs it. */
export interface SupervisedWindow {
  /** Load the panel app again (a fresh renderer process if the old one is gone). */
  reloadApp(): void;
  /** Replace the app with the static maintenance page served by the main process. */
  showMaintenance(code: string): void;
}

export interface SupervisorTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RecoveryRecord {
  at: number;
  kind: HostFaultKind;
  detail: string;
  decision: RecoveryDecision;
}

export interface RendererSupervisorOptions {
  window: SupervisedWindow;
  source: Pick<PanelViewSource, 'hostFault' | 'rendererError'>;
  log: Logger;
  timers: SupervisorTimers;
  policy?: CrashLoopPolicy;
  /** A renderer unresponsive this long counts as hung (Electron's `unresponsive` comes early). */
  hangGraceMs?: number;
}

export class RendererSupervisor {
  readonly policy: CrashLoopPolicy;
  private readonly history: RecoveryRecord[] = [];
  private reloadTimer: unknown = null;
  private hangTimer: unknown = null;
  private readonly hangGraceMs: number;

  constructor(private readonly o: RendererSupervisorOptions) {
    this.policy = o.policy ?? new CrashLoopPolicy();
    this.hangGraceMs = o.hangGraceMs ?? 5_000;
  }

  /** `render-process-gone` (any reason but a clean exit), or `child-process-gone` of the GPU. */
  fault(kind: HostFaultKind, detail: string): RecoveryDecision {
    this.cancel('hangTimer');
    const at = this.o.timers.now();
    const decision = this.policy.onFault(kind, at);
    this.history.push({ at, kind, detail, decision });
    if (this.history.length > 20) this.history.shift();
    if (decision.action === 'reload') {
      this.o.log.warn('renderer recovery: reload scheduled', {
        kind,
        detail,
        delayMs: decision.delayMs,
        faultsInWindow: decision.faultsInWindow,
      });
      this.o.source.rendererError({
        message: `host recovery: ${kind} (${detail}); reload #${decision.faultsInWindow} in ${decision.delayMs} ms`.slice(0, 2000),
      });
      this.cancel('reloadTimer');
      this.reloadTimer = this.o.timers.setTimeout(() => {
        this.reloadTimer = null;
        if (this.policy.maintenanceCode) return;
        this.o.log.info('renderer recovery: reloading', { kind });
        this.o.window.reloadApp();
      }, decision.delayMs);
    } else {
      this.cancel('reloadTimer');
      this.o.log.error('renderer recovery: crash loop, showing maintenance', {
        kind,
        detail,
        code: decision.code,
        reason: decision.reason,
      });
      this.o.window.showMaintenance(decision.code);
      this.o.source.hostFault(decision.code, `${decision.reason}; last: ${detail}`);
    }
    return decision;
  }

  /** The window went unresponsive: a hang if it does not come back within the grace time. */
  unresponsive(): void {
    if (this.hangTimer !== null || this.policy.maintenanceCode) return;
    this.o.log.warn('renderer unresponsive', { graceMs: this.hangGraceMs });
    this.hangTimer = this.o.timers.setTimeout(() => {
      this.hangTimer = null;
      this.fault('renderer-hang', `unresponsive for ${this.hangGraceMs} ms`);
    }, this.hangGraceMs);
  }

  responsive(): void {
    if (this.hangTimer === null) return;
    this.o.log.info('renderer responsive again');
    this.cancel('hangTimer');
  }

  /** Operator reload/restart: forget the faults, close the breaker, load the app. */
  resetAndReload(): void {
    this.cancel('reloadTimer');
    this.cancel('hangTimer');
    this.policy.reset();
    this.o.log.info('renderer recovery: reset by operator; reloading');
    this.o.window.reloadApp();
  }

  /** For status and the simulator: recent recoveries, newest last. */
  get recoveries(): readonly RecoveryRecord[] {
    return this.history;
  }

  get reloadPending(): boolean {
    return this.reloadTimer !== null;
  }

  dispose(): void {
    this.cancel('reloadTimer');
    this.cancel('hangTimer');
  }

  private cancel(which: 'reloadTimer' | 'hangTimer'): void {
    if (this[which] !== null) this.o.timers.clearTimeout(this[which]);
    this[which] = null;
  }
}
