import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import {
  CdpAttachedEvent,
  CdpAttachResult,
  CdpDetachedEvent,
  CdpGetTargetsResult,
  CdpRequestPaused,
  CdpTargetEvent,
  CdpTargetIdEvent,
} from '@airpanel/contract/internal';
import type { Logger } from '@airpanel/node-support/logger';
import { maintenancePageUrl } from '../../core/kiosk/maintenance-page.js';
import { CdpConnection, pipeTransport } from '../cdp-connection.js';
import { CdpPage } from '../cdp-page.js';

/** The kiosk window as the Node kiosk host drives it (a stand-in replaces it in unit tests). */
export interface KioskWindow {
  readonly pid: number | undefined;
  /** Called once when the window is gone: the browser exited, the page crashed or closed. */
  onGone(listener: (detail: string) => void): void;
  /** Loads the panel page. */
  loadPanel(): Promise<void>;
  /** Replaces the page with the static maintenance screen. */
  showMaintenance(code: string): Promise<void>;
  /** A round-trip to the page's renderer. */
  evaluate(expression: string, timeoutMs: number, options?: { userGesture?: boolean }): Promise<unknown>;
  screenshot(): Promise<Uint8Array>;
  /** Ends the browser and every process it started. */
  close(): Promise<void>;
  /** The same at once, synchronously (the host is exiting). */
  kill(): void;
}

export interface ChromiumWindowOptions {
  /** `/usr/bin/chromium` on the Debian image. */
  chromiumPath: string;
  /** The panel page on the host, with its bridge token. */
  panelUrl: string;
  /** A profile directory this host owns (cleared by nobody else). */
  profileDir: string;
  /** Host-specific flags (the unit's environment file): `--ozone-platform=wayland`, or `--headless` in tests. */
  extraArgs?: readonly string[];
  log: Logger;
  /** DevTools commands once started, each within this. Default 30 s (TCG is slow). */
  timeoutMs?: number;
  /**
   * From spawn to the first DevTools answer and the page attached, all within this (else the
   * browser is ended and `WindowStartTimeoutError` thrown). Default 60 s: a first boot under
   * emulation and load was seen to take over 30 s.
   */
  startTimeoutMs?: number;
  /** Where Chromium's own stderr goes (the journal on a panel). */
  stderr?: 'inherit' | 'ignore';
}

/** Chromium did not answer on DevTools (or open its page) within the start deadline: slow, not crashed. */
export class WindowStartTimeoutError extends Error {
  constructor(readonly startTimeoutMs: number) {
    super(`chromium did not answer on DevTools within ${startTimeoutMs} ms of its start`);
    this.name = 'WindowStartTimeoutError';
  }
}

/**
 * The kiosk switches, without which Chromium would phone home, offer to translate, show
 * first-run and crash bubbles, or let a swipe navigate. Extensions, sync, component updates
 * and background networking are off: the panel talks to its own host only. The network
 * service runs in the browser process (NetworkServiceInProcess2): under slow emulation a
 * separate network process was seen to give up at start and leave a blank page.
 */
export function kioskChromiumArgs(profileDir: string, extraArgs: readonly string[] = []): string[] {
  return [
    '--remote-debugging-pipe',
    `--user-data-dir=${profileDir}`,
    '--kiosk',
    '--no-first-run',
    '--no-default-browser-check',
    '--noerrdialogs',
    '--disable-session-crashed-bubble',
    '--disable-infobars',
    '--disable-translate',
    '--disable-default-apps',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-extensions',
    '--disable-sync',
    '--disable-breakpad',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--metrics-recording-only',
    '--no-pings',
    '--password-store=basic',
    '--deny-permission-prompts',
    '--disable-pinch',
    '--overscroll-history-navigation=0',
    '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,TouchpadOverscrollHistoryNavigation',
    '--enable-features=NetworkServiceInProcess2',
    ...extraArgs,
    'about:blank',
  ];
}

/** Whether the kiosk may load `url` as a document: only the panel's origin (and the maintenance page). */
export function allowedDocument(url: string, panelOrigin: string): boolean {
  if (url === 'about:blank' || url.startsWith('data:text/html')) return true;
  try {
    return new URL(url).origin === panelOrigin;
  } catch {
    return false;
  }
}

/** Every process below `pid` (Chromium's zygotes, renderers, GPU process), deepest last. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(/\s+/).filter(Boolean).map(Number)) {
        if (!out.includes(c)) {
          out.push(c);
          walk(c);
        }
      }
    }
  };
  walk(pid);
  return out;
}

function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const p of [pid, ...descendantsOf(pid)]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Debian's Chromium as the kiosk window, driven over `--remote-debugging-pipe` (no TCP port
 * another local process could reach). It runs in the host's process group, so the OTA
 * loader's group kill ends it together with the host.
 *
 * Only the panel's origin can be a document (every navigation goes through `Fetch`, anything
 * else is failed); pages opened as new windows are closed; downloads are denied.
 */
export class ChromiumWindow implements KioskWindow {
  private goneListeners: ((detail: string) => void)[] = [];
  private goneDetail: string | null = null;
  private page: CdpPage | null = null;
  private targetId: string | null = null;
  private readonly closedOthers = new Set<string>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly conn: CdpConnection,
    private readonly o: ChromiumWindowOptions,
  ) {
    child.once('exit', (code, signal) => this.gone(`chromium exited (${signal ?? `code ${code}`})`));
    conn.onEvent((method, params, sessionId) => this.onEvent(method, params, sessionId));
  }

  static async launch(o: ChromiumWindowOptions): Promise<ChromiumWindow> {
    const args = kioskChromiumArgs(o.profileDir, o.extraArgs);
    const child = spawn(o.chromiumPath, args, { stdio: ['ignore', 'ignore', o.stderr ?? 'inherit', 'pipe', 'pipe'] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    const startMs = o.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + startMs;
    await spawned;
    const conn = new CdpConnection(pipeTransport(child.stdio[3] as Writable, child.stdio[4] as Readable), o.timeoutMs ?? 30_000);
    const w = new ChromiumWindow(child, conn, o);
    try {
      await w.attach(deadline);
    } catch (err) {
      await w.close();
      // Each start command waits only for what is left of the deadline: a timeout then is the deadline.
      throw Date.now() >= deadline - 100 ? new WindowStartTimeoutError(startMs) : err;
    }
    o.log.info('kiosk window: chromium started', { pid: child.pid });
    return w;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onGone(listener: (detail: string) => void): void {
    if (this.goneDetail !== null) listener(this.goneDetail);
    else this.goneListeners.push(listener);
  }

  async loadPanel(): Promise<void> {
    await this.requirePage().navigate(this.o.panelUrl);
  }

  async showMaintenance(code: string): Promise<void> {
    await this.requirePage().navigate(maintenancePageUrl(code));
  }

  evaluate(expression: string, timeoutMs: number, options: { userGesture?: boolean } = {}): Promise<unknown> {
    return this.requirePage().evaluate(expression, timeoutMs, options);
  }

  screenshot(): Promise<Uint8Array> {
    return this.requirePage().screenshot();
  }

  async close(): Promise<void> {
    this.gone('closed by the host');
    if (this.child.exitCode === null && this.child.signalCode === null && !this.conn.closed) {
      await this.conn.send('Browser.close', {}, undefined, 3_000).catch(() => undefined);
    }
    killTree(this.child.pid);
    this.conn.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5_000);
        this.child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  kill(): void {
    killTree(this.child.pid);
  }

  private requirePage(): CdpPage {
    if (!this.page || this.goneDetail !== null) throw new Error(`kiosk window gone (${this.goneDetail ?? 'not attached'})`);
    return this.page;
  }

  /** Finds the start page, attaches to it (flattened session) and arms the filters before anything loads. */
  private async attach(deadline: number): Promise<void> {
    const left = () => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new WindowStartTimeoutError(this.o.startTimeoutMs ?? 60_000);
      return ms;
    };
    await this.conn.send('Target.setDiscoverTargets', { discover: true }, undefined, left());
    let targetId: string | undefined;
    while (!targetId) {
      const { targetInfos } = CdpGetTargetsResult.parse(await this.conn.send('Target.getTargets', {}, undefined, left()));
      targetId = targetInfos.find((t) => t.type === 'page')?.targetId;
      if (targetId) break;
      left();
      await new Promise((r) => setTimeout(r, 200));
    }
    this.targetId = targetId;
    const { sessionId } = CdpAttachResult.parse(
      await this.conn.send('Target.attachToTarget', { targetId, flatten: true }, undefined, left()),
    );
    const page = new CdpPage(this.conn, sessionId);
    await page.call('Fetch.enable', { patterns: [{ urlPattern: '*', resourceType: 'Document', requestStage: 'Request' }] }, left());
    await page.call('Page.enable', {}, left());
    await page.call('Inspector.enable', {}, left());
    await this.conn.send('Browser.setDownloadBehavior', { behavior: 'deny' }, undefined, left()).catch(() => undefined);
    this.page = page;
    // Every later page (window.open, target=_blank) is attached paused, before it loads
    // anything, and closed (see onEvent).
    await this.conn.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, undefined, left());
  }

  private onEvent(method: string, params: Record<string, unknown>, sessionId: string | undefined): void {
    const ours = this.page !== null && sessionId === this.page.sessionId;
    switch (method) {
      case 'Fetch.requestPaused': {
        const p = CdpRequestPaused.safeParse(params);
        if (!p.success || !this.page || !ours) return;
        const origin = new URL(this.o.panelUrl).origin;
        if (allowedDocument(p.data.request.url, origin)) {
          void this.page.call('Fetch.continueRequest', { requestId: p.data.requestId }).catch(() => undefined);
        } else {
          this.o.log.warn('kiosk window: refused a navigation off the panel origin', { url: p.data.request.url.slice(0, 200) });
          void this.page.call('Fetch.failRequest', { requestId: p.data.requestId, errorReason: 'BlockedByClient' }).catch(() => undefined);
        }
        return;
      }
      case 'Inspector.targetCrashed':
        if (ours) this.gone('page renderer crashed');
        return;
      case 'Target.targetCrashed': {
        const p = CdpTargetIdEvent.safeParse(params);
        if (p.success && p.data.targetId === this.targetId) this.gone('page renderer crashed');
        return;
      }
      case 'Target.targetDestroyed': {
        const p = CdpTargetIdEvent.safeParse(params);
        if (p.success && p.data.targetId === this.targetId) this.gone('page closed');
        return;
      }
      case 'Target.detachedFromTarget': {
        const p = CdpDetachedEvent.safeParse(params);
        if (p.success && p.data.sessionId === this.page?.sessionId) this.gone('page detached');
        return;
      }
      case 'Target.attachedToTarget': {
        // Auto-attached (paused before loading): a second page is never shown on a panel; a
        // second session to the panel page itself is let go.
        const p = CdpAttachedEvent.safeParse(params);
        if (!p.success || sessionId !== undefined || this.targetId === null) return;
        const t = p.data.targetInfo;
        if (t.targetId === this.targetId) {
          if (this.page !== null && p.data.sessionId !== this.page.sessionId)
            void this.conn.send('Target.detachFromTarget', { sessionId: p.data.sessionId }).catch(() => undefined);
        } else if (t.type === 'page') {
          this.closeOther(t.targetId, t.url);
        } else {
          void this.conn.send('Runtime.runIfWaitingForDebugger', {}, p.data.sessionId).catch(() => undefined);
        }
        return;
      }
      case 'Target.targetCreated': {
        // A page that escaped auto-attach (created before it was on): closed as well.
        const p = CdpTargetEvent.safeParse(params);
        if (!p.success || this.targetId === null) return;
        const t = p.data.targetInfo;
        if (t.type === 'page' && t.targetId !== this.targetId) this.closeOther(t.targetId, t.url);
        return;
      }
      default:
    }
  }

  private closeOther(targetId: string, url: string): void {
    if (this.closedOthers.has(targetId)) return;
    this.closedOthers.add(targetId);
    this.o.log.warn('kiosk window: closed a new window', { url: url.slice(0, 200) });
    void this.conn.send('Target.closeTarget', { targetId }).catch(() => undefined);
  }

  private gone(detail: string): void {
    if (this.goneDetail !== null) return;
    this.goneDetail = detail;
    for (const l of this.goneListeners.splice(0)) l(detail);
  }
}
