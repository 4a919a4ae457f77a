import type { FramePresented } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../host.js';
import type { Logger } from '@airpanel/node-support/logger';

/** Splash only (no cache, no backend yet) this long after it was painted: READY anyway. */
export const BOOTING_READY_GRACE_MS = 60_000;

export interface StartUpContractOptions {
  /** The core (or anything that is the bridge's source). */
  core: PanelViewSource;
  /** The core's state name, for `READY=1`'s `STATUS=`. */
  stateName: () => string;
  notifier: { ready(status: string): Promise<void> };
  log: Logger;
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  bootingReadyGraceMs?: number;
  /** Every frame the renderer reports (after the core saw it): the Node host's paint deadline. */
  onFrame?: (frame: FramePresented) => void;
}

/**
 * The start-up half of the unit contract (buildroot/README.md, "Watchdog contract"), the
 * same for both hosts: the first frame the renderer paints (content, cached content, or a
 * maintenance code: a reboot would not fix a bad panel.json) tells systemd the start is done
 * (`READY=1`). The OTA loader's health report is not sent from here: it needs content AND
 * the backend (LoaderHealthGate in ../update/health.ts, fed by the core).
 *
 * A first boot without network has nothing but the splash to show; systemd must not restart
 * (and finally reboot) a panel for that, so a painted splash sends `READY=1` after the grace
 * time. The loader's health report still waits for real content: a bundle that can only
 * ever show the splash is not proven healthy.
 *
 * Use `source` as the bridge's `PanelViewSource` in place of the core.
 */
export class StartUpContract {
  readonly source: PanelViewSource;
  private firstFrame = false;
  private bootingTimer: unknown = null;
  private readonly timers: NonNullable<StartUpContractOptions['timers']>;

  constructor(private readonly o: StartUpContractOptions) {
    this.timers = o.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const core = o.core;
    this.source = {
      getView: () => core.getView(),
      onView: (listener) => core.onView(listener),
      rendererError: (report) => core.rendererError(report),
      hostFault: (code, detail) => core.hostFault(code, detail),
      framePresented: (frame) => {
        core.framePresented(frame);
        this.onFramePresented(frame);
        o.onFrame?.(frame);
      },
    };
  }

  /** A frame other than the splash has been painted since start. */
  get contentPainted(): boolean {
    return this.firstFrame;
  }

  dispose(): void {
    if (this.bootingTimer !== null) this.timers.clearTimeout(this.bootingTimer);
    this.bootingTimer = null;
  }

  private onFramePresented(frame: FramePresented): void {
    if (this.firstFrame) return;
    if (frame.kind === 'booting') {
      this.bootingTimer ??= this.timers.setTimeout(() => {
        if (this.firstFrame) return;
        this.o.log.warn('no content within the start grace; telling systemd the start is done anyway', { graceMs: this.graceMs });
        void this.o.notifier.ready('booting');
      }, this.graceMs);
      return;
    }
    this.firstFrame = true;
    this.dispose();
    this.o.log.info('first frame on screen', { kind: frame.kind, revision: frame.revision, state: this.o.stateName() });
    void this.o.notifier.ready(this.o.stateName());
  }

  private get graceMs(): number {
    return this.o.bootingReadyGraceMs ?? BOOTING_READY_GRACE_MS;
  }
}
