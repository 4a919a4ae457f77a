import { CRASH_LOOP_CODES, type CrashLoopPolicy, type HostFaultKind } from '../../core/kiosk/crash-loop-policy.js';
import type { PanelViewSource } from '../../core/host.js';
import type { Logger } from '@airpanel/node-support/logger';
import { RendererSupervisor, type SupervisorTimers } from '../../core/kiosk/renderer-supervisor.js';
import { WindowStartTimeoutError, type KioskWindow } from './chromium-window.js';
import { windowStep, type WindowEvent, type WindowState } from './window-machine.js';

export interface KioskHostOptions {
  /**
   * Starts a new kiosk window (Chromium; a stand-in in unit tests): spawned, answering on
   * DevTools and its page attached within `startTimeoutMs` (else it ends itself and throws
   * `WindowStartTimeoutError`; the host gives up on it at that time in any case).
   */
  launchWindow: (o: { startTimeoutMs: number }) => Promise<KioskWindow>;
  /** Where recoveries and the crash loop are reported (the core). */
  source: Pick<PanelViewSource, 'hostFault' | 'rendererError'>;
  log: Logger;
  timers?: SupervisorTimers;
  policy?: CrashLoopPolicy;
  /** From the window's start (DevTools answered) to the renderer's first painted frame. Default 90 s: Chromium under TCG emulation needs ~40 s. */
  paintDeadlineMs?: number;
  /**
   * A window start (spawn → first DevTools answer → page attached) within this. Default 60 s.
   * A start that misses it is slow, not broken (a first boot under emulation and load took
   * over 30 s): it is tried again with twice the time, up to `maxWindowStartMs` (240 s), and
   * counts as no renderer fault.
   */
  windowStartMs?: number;
  maxWindowStartMs?: number;
  /**
   * The host gives up on a start this long after the window's own deadline: the window ends
   * its browser and throws first, so the next start never races a dying browser over the
   * profile directory (seen: ENOTEMPTY). Default 10 s.
   */
  windowStartGraceMs?: number;
  /** Slow starts in a row after which the host gives up (`onGiveUp`). Default 4 (60 + 120 + 240 + 240 s). */
  maxSlowStarts?: number;
  /**
   * Faults before the panel was ever painted that put the maintenance screen up whatever
   * their spacing (the crash-loop policy counts only those within its five minutes, and slow
   * starts can space them wider). Default 3.
   */
  maxFaultsBeforeFirstPaint?: number;
  /** A window start begins; the panel should be on screen within `budgetMs` (systemd's start timeout is extended by it). */
  onWindowStarting?: (budgetMs: number) => void;
  /**
   * Chromium never answered `maxSlowStarts` times in a row: nothing can be shown. The host
   * stops (no more windows, no watchdog ping), so systemd restarts the unit: at its start
   * timeout before READY=1, else at the watchdog.
   */
  onGiveUp: (detail: string) => void;
  /** A liveness round-trip this often while the window shows something. Default 5 s. */
  livenessIntervalMs?: number;
  /** A round-trip answered later than this is missed. Default 5 s. */
  livenessTimeoutMs?: number;
  /** This many missed round-trips in a row: the page hangs. Default 2. */
  missedForHang?: number;
  /** A lost maintenance window is shown again after this. Default 30 s. */
  maintenanceRelaunchMs?: number;
  /** The maintenance screen is on (for `READY=1`: a restart would not change it). */
  onMaintenanceShown?: (code: string) => void;
}

const realTimers: SupervisorTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Keeps a kiosk window (Chromium) showing the panel, with the Electron host's recovery rules
 * (`RendererSupervisor` + `CrashLoopPolicy`, shared in core/kiosk): a browser that exits, a
 * page that crashes or stops answering, or a window not painted within the deadline is
 * closed and started again after a backoff; the third fault within five minutes puts the
 * static maintenance screen up and tells the core (`hostFault`: RND-1 crash loop, RND-2 hang
 * loop). The phases are `window-machine.ts`.
 */
export class KioskHost {
  private state: WindowState;
  private readonly supervisor: RendererSupervisor;
  private readonly timers: SupervisorTimers;
  private window: KioskWindow | null = null;
  /** Bumped whenever the current window is given up: late events of an older one are ignored. */
  private generation = 0;
  private deadlineTimer: unknown = null;
  private livenessTimer: unknown = null;
  private relaunchTimer: unknown = null;
  private startTimer: unknown = null;
  private missed = 0;
  private windowStarts = 0;
  /** Window starts that timed out in a row (reset by a start that answered). */
  private slowStarts = 0;
  /** A window start is under way (launchWindow not settled). */
  private startInFlight = false;
  private everPainted = false;
  private faultsBeforeFirstPaint = 0;

  constructor(private readonly o: KioskHostOptions) {
    this.timers = o.timers ?? realTimers;
    this.state = { phase: 'starting', since: this.timers.now() };
    this.supervisor = new RendererSupervisor({
      window: {
        reloadApp: () => this.restartWindow(),
        showMaintenance: (code) => this.enterMaintenance(code),
      },
      source: o.source,
      log: o.log,
      timers: this.timers,
      ...(o.policy ? { policy: o.policy } : {}),
    });
  }

  get phase(): WindowState['phase'] {
    return this.state.phase;
  }

  /** Windows started so far (for logs and tests). */
  get starts(): number {
    return this.windowStarts;
  }

  /** Shows the panel; or, with a code, the maintenance screen (a bundle without a renderer). */
  start(maintenanceCode?: string): void {
    if (maintenanceCode) this.enterMaintenance(maintenanceCode);
    else this.launch('panel');
  }

  /** The renderer reported a painted frame (StartUpContract's onFrame). */
  framePainted(): void {
    if (this.state.phase === 'starting') this.apply({ type: 'launched' });
    if (!this.apply({ type: 'painted' })) return;
    this.everPainted = true;
    this.cancel('deadlineTimer');
    this.startLiveness(this.generation);
  }

  /** Operator `reload`: forget the faults and load the panel in a fresh window. */
  async reload(): Promise<void> {
    if (!this.apply({ type: 'operator-reload' })) return;
    this.supervisor.resetAndReload();
  }

  async screenshot(): Promise<Uint8Array | null> {
    return this.window ? this.window.screenshot() : null;
  }

  /**
   * For `WATCHDOG=1`: the page answers a round-trip now. While the window is being restarted
   * within the crash-loop policy (each attempt bounded by the paint deadline, at most three
   * in five minutes before the maintenance screen) the host is making progress and pings on:
   * a window restart under slow emulation can take longer than the watchdog interval. The
   * same holds while a maintenance window is being started (each start bounded, at most
   * `maxSlowStarts` in a row). A maintenance screen that could not be shown and waits for its
   * next try, or a stopped host, gets no ping.
   */
  async healthy(): Promise<boolean> {
    switch (this.state.phase) {
      case 'showing':
        return this.roundTrip();
      case 'maintenance':
        return this.state.windowUp ? this.roundTrip() : this.startInFlight;
      case 'starting':
      case 'loading':
      case 'recovering':
        return this.supervisor.policy.maintenanceCode === null;
      case 'stopped':
        return false;
    }
  }

  async stop(): Promise<void> {
    this.apply({ type: 'stop' });
    this.generation++;
    this.cancelAll();
    this.supervisor.dispose();
    const w = this.window;
    this.window = null;
    await w?.close().catch(() => undefined);
  }

  /** The host process is exiting (even on an uncaught error): no browser may outlive it. */
  killWindowNow(): void {
    this.window?.kill();
  }

  private apply(event: WindowEvent): boolean {
    const t = windowStep(this.state, event, this.timers.now());
    if (!t) return false;
    this.o.log.info('kiosk window: transition', { from: this.state.phase, to: t.state.phase, reason: t.reason });
    this.state = t.state;
    return true;
  }

  /** The supervisor's reload: after a fault's backoff, or an operator reload. */
  private restartWindow(): void {
    if (this.state.phase === 'recovering') this.apply({ type: 'restart-due' });
    if (this.state.phase !== 'starting') return;
    this.launch('panel');
  }

  /** The crash-loop breaker tripped (or no renderer): the maintenance screen, in a fresh window. */
  private enterMaintenance(code: string): void {
    this.apply({ type: 'maintenance', code });
    this.launch('maintenance');
  }

  private launch(mode: 'panel' | 'maintenance'): void {
    const gen = ++this.generation;
    this.cancelAll();
    this.missed = 0;
    const old = this.window;
    this.window = null;
    const startMs = Math.min(this.o.maxWindowStartMs ?? 240_000, (this.o.windowStartMs ?? 60_000) * 2 ** this.slowStarts);
    const paintMs = this.o.paintDeadlineMs ?? 90_000;
    this.o.onWindowStarting?.(startMs + (mode === 'panel' ? paintMs : 0));
    this.startTimer = this.timers.setTimeout(
      () => {
        this.startTimer = null;
        if (gen === this.generation) this.slowStart(mode, startMs);
      },
      startMs + (this.o.windowStartGraceMs ?? 10_000),
    );
    const run = async () => {
      if (old) await old.close().catch(() => undefined);
      if (gen !== this.generation) return;
      this.windowStarts++;
      this.startInFlight = true;
      const w = await this.o.launchWindow({ startTimeoutMs: startMs }).finally(() => {
        if (gen === this.generation) this.startInFlight = false;
      });
      if (gen !== this.generation) {
        await w.close().catch(() => undefined);
        return;
      }
      this.cancel('startTimer');
      this.slowStarts = 0;
      this.window = w;
      w.onGone((detail) => {
        if (gen === this.generation) this.fault(detail, 'renderer-crash');
      });
      if (mode === 'panel') {
        this.deadlineTimer = this.timers.setTimeout(() => {
          this.deadlineTimer = null;
          if (gen === this.generation) this.fault(`not painted within ${paintMs} ms of the window start`, 'renderer-hang');
        }, paintMs);
        await w.loadPanel();
        if (gen === this.generation && this.state.phase === 'starting') this.apply({ type: 'launched' });
      } else {
        const code = this.state.phase === 'maintenance' ? this.state.code : 'HST-1';
        await w.showMaintenance(code);
        if (gen === this.generation && this.apply({ type: 'maintenance-shown' })) {
          this.startLiveness(gen);
          this.o.onMaintenanceShown?.(code);
        }
      }
    };
    run().catch((err: unknown) => {
      if (gen !== this.generation) return;
      if (err instanceof WindowStartTimeoutError) this.slowStart(mode, startMs);
      else this.fault(`window start failed: ${err instanceof Error ? err.message : String(err)}`, 'renderer-crash');
    });
  }

  /** Chromium did not answer in time: not a crash; the same window is started again with more time. */
  private slowStart(mode: 'panel' | 'maintenance', startMs: number): void {
    this.generation++;
    this.cancelAll();
    this.startInFlight = false;
    this.slowStarts++;
    const max = this.o.maxSlowStarts ?? 4;
    if (this.slowStarts >= max) {
      const detail = `chromium did not answer within its start deadline ${this.slowStarts} times in a row (last ${startMs} ms)`;
      this.o.log.error('kiosk window: giving up', { detail });
      this.apply({ type: 'stop' });
      this.o.onGiveUp(detail);
      return;
    }
    this.o.log.warn('kiosk window: chromium did not answer in time; starting it again with more time', {
      startMs,
      slowStarts: this.slowStarts,
    });
    this.relaunchTimer = this.timers.setTimeout(() => {
      this.relaunchTimer = null;
      if (mode === 'maintenance' ? this.state.phase === 'maintenance' : this.state.phase === 'starting') this.launch(mode);
    }, 1_000);
  }

  private fault(detail: string, kind: HostFaultKind): void {
    const inMaintenance = this.state.phase === 'maintenance';
    // In maintenance a window that could not even start (windowUp still false) is retried too.
    if (!this.apply({ type: 'fault', detail }) && !inMaintenance) return;
    this.generation++;
    this.cancelAll();
    const w = this.window;
    this.window = null;
    void w?.close().catch(() => undefined);
    if (inMaintenance) {
      // The breaker stays open: show the maintenance screen again after a pause.
      this.o.log.warn('kiosk window: maintenance window lost; showing it again', { detail, afterMs: this.relaunchMs });
      this.relaunchTimer = this.timers.setTimeout(() => {
        this.relaunchTimer = null;
        if (this.state.phase === 'maintenance') this.launch('maintenance');
      }, this.relaunchMs);
      return;
    }
    const decision = this.supervisor.fault(kind, detail);
    if (decision.action === 'reload' && !this.everPainted && ++this.faultsBeforeFirstPaint >= (this.o.maxFaultsBeforeFirstPaint ?? 3)) {
      // Never painted since the host started: the maintenance screen rather than a dark panel.
      const code = CRASH_LOOP_CODES[kind];
      this.o.log.error('kiosk window: no frame painted after repeated faults; showing maintenance', {
        code,
        faults: this.faultsBeforeFirstPaint,
      });
      this.enterMaintenance(code);
      this.o.source.hostFault(code, `${this.faultsBeforeFirstPaint} window faults before any frame was painted; last: ${detail}`);
    }
  }

  private startLiveness(gen: number): void {
    this.cancel('livenessTimer');
    const interval = this.o.livenessIntervalMs ?? 5_000;
    const tick = () => {
      this.livenessTimer = null;
      if (gen !== this.generation) return;
      void this.roundTrip().then((ok) => {
        if (gen !== this.generation) return;
        this.missed = ok ? 0 : this.missed + 1;
        const limit = this.o.missedForHang ?? 2;
        if (this.missed >= limit) {
          this.fault(`the page did not answer ${limit} liveness checks in a row`, 'renderer-hang');
          return;
        }
        this.livenessTimer = this.timers.setTimeout(tick, interval);
      });
    };
    this.livenessTimer = this.timers.setTimeout(tick, interval);
  }

  /** A renderer round-trip, bounded: a hung renderer never answers. */
  private async roundTrip(): Promise<boolean> {
    const w = this.window;
    if (!w) return false;
    const timeout = this.o.livenessTimeoutMs ?? 5_000;
    try {
      return (await w.evaluate('1 + 1', timeout)) === 2;
    } catch {
      return false;
    }
  }

  private get relaunchMs(): number {
    return this.o.maintenanceRelaunchMs ?? 30_000;
  }

  private cancel(which: 'deadlineTimer' | 'livenessTimer' | 'relaunchTimer' | 'startTimer'): void {
    if (this[which] !== null) this.timers.clearTimeout(this[which]);
    this[which] = null;
  }

  private cancelAll(): void {
    this.cancel('deadlineTimer');
    this.cancel('livenessTimer');
    this.cancel('relaunchTimer');
    this.cancel('startTimer');
  }
}
