import { spawn } from 'node:child_process';
import type { Logger } from '@airpanel/node-support/logger';
import { reportAliveToLoader } from '../update/health.js';

/**
 * The watchdog contract of the panel's systemd unit (buildroot/README.md, "Watchdog
 * contract"): `READY=1` once the first frame is on screen, `WATCHDOG=1` at least every
 * WatchdogSec/2 while the main process and the renderer are healthy (a renderer round-trip
 * must succeed first), `STATUS=<state>` for `systemctl status`.
 *
 * Node cannot send Unix datagrams, so each message is one `systemd-notify` run (it inherits
 * NOTIFY_SOCKET; without --no-block it waits until systemd processed the message, so the
 * sender is attributed to the unit). Without NOTIFY_SOCKET (not under systemd) it does
 * nothing. Free of Electron: main.ts gives it the renderer check.
 */
export type NotifyRunner = (args: string[]) => Promise<number>;

export const systemdNotifyRunner: NotifyRunner = (args) =>
  new Promise((resolve) => {
    const child = spawn('systemd-notify', args, { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code ?? -1));
  });

export interface SystemdNotifierOptions {
  env: NodeJS.ProcessEnv;
  log: Logger;
  run?: NotifyRunner;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
  /** Told with every WATCHDOG=1 ping: the OTA loader's liveness check. Default: `airpanel/alive` over the loader's IPC channel, if any. */
  alive?: () => void;
}

export class SystemdNotifier {
  readonly enabled: boolean;
  /** Half of WATCHDOG_USEC (systemd's advice), or null when the unit has no watchdog. */
  readonly watchdogIntervalMs: number | null;
  private readyDone = false;
  private timer: unknown = null;
  private lastStatus: string | null = null;
  private readonly run: NotifyRunner;

  constructor(private readonly o: SystemdNotifierOptions) {
    this.enabled = !!o.env.NOTIFY_SOCKET;
    const usec = Number(o.env.WATCHDOG_USEC);
    this.watchdogIntervalMs = this.enabled && Number.isFinite(usec) && usec > 0 ? Math.max(1_000, Math.floor(usec / 2_000)) : null;
    this.run = o.run ?? systemdNotifyRunner;
  }

  /** First frame on screen: READY=1 (once). */
  async ready(status: string): Promise<void> {
    if (!this.enabled || this.readyDone) return;
    this.readyDone = true;
    this.lastStatus = status;
    await this.send(['--ready', `--status=${status}`]);
  }

  /**
   * Before READY=1: systemd's start timeout becomes at least `ms` from now
   * (`EXTEND_TIMEOUT_USEC`), for a start that is slow but still progressing.
   */
  async extendStartTimeout(ms: number): Promise<void> {
    if (!this.enabled || this.readyDone) return;
    await this.send([`EXTEND_TIMEOUT_USEC=${Math.ceil(ms) * 1000}`]);
  }

  async status(status: string): Promise<void> {
    if (!this.enabled || status === this.lastStatus) return;
    this.lastStatus = status;
    await this.send([`--status=${status}`]);
  }

  /** Pings WATCHDOG=1 every interval, but only when `healthy()` says the renderer answered. */
  startWatchdog(healthy: () => Promise<boolean>): void {
    if (this.watchdogIntervalMs === null || this.timer !== null) return;
    const setI = this.o.setInterval ?? ((fn, ms) => setInterval(fn, ms));
    let busy = false;
    this.timer = setI(() => {
      if (busy) return;
      busy = true;
      void healthy()
        .catch(() => false)
        .then(async (ok) => {
          if (ok) {
            (this.o.alive ?? (() => reportAliveToLoader()))();
            await this.send(['WATCHDOG=1']);
          } else this.o.log.warn('watchdog: renderer did not answer; no ping this round');
        })
        .finally(() => {
          busy = false;
        });
    }, this.watchdogIntervalMs);
  }

  stop(): void {
    if (this.timer !== null) (this.o.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout)))(this.timer);
    this.timer = null;
  }

  /**
   * An orderly stop is under way (a requested restart, SIGTERM): WATCHDOG=1 now and at every
   * interval until the process exits, without the renderer check — the window is being closed
   * on purpose. Ending Chromium under slow emulation outlasted WatchdogSec (30 s) in the OTA
   * boot, and systemd killed a healthy restart as a hang. The caller bounds the stop with its
   * own deadline (process.exit), so a stuck stop still ends.
   */
  pingWhileStopping(): void {
    this.stop();
    if (this.watchdogIntervalMs === null) return;
    void this.send(['WATCHDOG=1']);
    const setI = this.o.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref());
    this.timer = setI(() => void this.send(['WATCHDOG=1']), this.watchdogIntervalMs);
  }

  private async send(args: string[]): Promise<void> {
    const code = await this.run(args);
    if (code !== 0) this.o.log.warn('systemd-notify failed', { args, code });
  }
}
