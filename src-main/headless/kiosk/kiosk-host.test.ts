import { describe, expect, it } from 'vitest';
import type { RendererErrorReport } from '@airpanel/contract/internal';
import { CrashLoopPolicy } from '../../core/kiosk/crash-loop-policy.js';
import { WindowStartTimeoutError, type KioskWindow } from './chromium-window.js';
import { KioskHost } from './kiosk-host.js';

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** Stand-in for ChromiumWindow: records what the host asks, and can die or hang on demand. */
class StandInWindow implements KioskWindow {
  readonly pid = 1000;
  loaded = 0;
  maintenance: string[] = [];
  closed = false;
  answers = true;
  private goneListener: ((d: string) => void) | null = null;
  onGone(l: (d: string) => void): void {
    this.goneListener = l;
  }
  async loadPanel(): Promise<void> {
    this.loaded++;
  }
  async showMaintenance(code: string): Promise<void> {
    this.maintenance.push(code);
  }
  async evaluate(): Promise<unknown> {
    if (!this.answers) throw new Error('DevTools Runtime.evaluate: no answer');
    return 2;
  }
  async screenshot(): Promise<Uint8Array> {
    return new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  kill(): void {
    this.closed = true;
  }
  die(detail: string): void {
    this.goneListener?.(detail);
  }
}

/** Stand-in timers: a manual clock; due callbacks run on `advance`. */
function manualClock() {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      due.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h: unknown) => {
      due.delete(h as number);
    },
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const [id, t] = [...due.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
        if (id === undefined || !t) break;
        due.delete(id);
        now = t.at;
        t.fn();
        await flush();
      }
      now = end;
      await flush();
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

interface SetUpOptions {
  failLaunch?: () => boolean;
  /**
   * The stand-in browser answers this long after its start (index: the start, from 0):
   * 'late-ignoring' resolves after the delay whatever the deadline; otherwise, as
   * ChromiumWindow does, it throws WindowStartTimeoutError at its deadline.
   */
  answerAfterMs?: (start: number) => number;
  ignoresDeadline?: boolean;
  /** A stand-in that honours its deadline takes this long to end its browser before it throws. */
  closeTakesMs?: number;
  /** Default 0 here: the host gives up exactly at the deadline. */
  graceMs?: number;
  policy?: CrashLoopPolicy;
}

function setUp(opts: SetUpOptions = {}) {
  const clock = manualClock();
  const windows: StandInWindow[] = [];
  const faults: { code: string; detail: string }[] = [];
  const errors: RendererErrorReport[] = [];
  const shown: string[] = [];
  const startTimeouts: number[] = [];
  const budgets: number[] = [];
  const gaveUp: string[] = [];
  const host = new KioskHost({
    launchWindow: async ({ startTimeoutMs }) => {
      const n = startTimeouts.push(startTimeoutMs) - 1;
      if (opts.failLaunch?.()) throw new Error('chromium: cannot open display');
      const after = opts.answerAfterMs?.(n) ?? 0;
      if (after > 0) {
        const late = after > startTimeoutMs && !opts.ignoresDeadline;
        await new Promise((r) => clock.setTimeout(() => r(undefined), late ? startTimeoutMs + (opts.closeTakesMs ?? 0) : after));
        if (late) throw new WindowStartTimeoutError(startTimeoutMs);
      }
      const w = new StandInWindow();
      windows.push(w);
      return w;
    },
    onWindowStarting: (ms) => budgets.push(ms),
    onGiveUp: (detail) => gaveUp.push(detail),
    windowStartGraceMs: opts.graceMs ?? 0,
    ...(opts.policy ? { policy: opts.policy } : {}),
    source: { hostFault: (code, detail) => faults.push({ code, detail }), rendererError: (r) => errors.push(r) },
    log: quietLog,
    timers: clock,
    paintDeadlineMs: 60_000,
    livenessIntervalMs: 5_000,
    maintenanceRelaunchMs: 30_000,
    onMaintenanceShown: (code) => shown.push(code),
  });
  return { host, clock, windows, faults, errors, shown, startTimeouts, budgets, gaveUp, current: () => windows.at(-1)! };
}

describe('KioskHost (stand-in window, manual clock)', () => {
  it('starts a window, loads the panel, and is healthy once painted', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    expect(s.host.phase).toBe('loading');
    expect(s.current().loaded).toBe(1);
    s.host.framePainted();
    expect(s.host.phase).toBe('showing');
    expect(await s.host.healthy()).toBe(true);
    expect(
      Buffer.from((await s.host.screenshot())!)
        .subarray(1, 4)
        .toString('latin1'),
    ).toBe('PNG');
  });

  it('a window that dies is closed and started again after the backoff, and reported', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    s.host.framePainted();
    s.current().die('chromium exited (SIGKILL)');
    expect(s.host.phase).toBe('recovering');
    expect(s.windows[0]!.closed).toBe(true);
    expect(s.errors.at(-1)?.message).toMatch(/renderer-crash \(chromium exited \(SIGKILL\)\); reload #1 in 1000 ms/);
    // Still recovering within the policy: the watchdog keeps pinging.
    expect(await s.host.healthy()).toBe(true);
    await s.clock.advance(999);
    expect(s.windows).toHaveLength(1);
    await s.clock.advance(1);
    expect(s.windows).toHaveLength(2);
    expect(s.host.phase).toBe('loading');
    s.host.framePainted();
    expect(s.host.phase).toBe('showing');
  });

  it('a window not painted within the deadline is restarted', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    await s.clock.advance(59_999);
    expect(s.host.phase).toBe('loading');
    await s.clock.advance(1);
    expect(s.host.phase).toBe('recovering');
    expect(s.errors.at(-1)?.message).toMatch(/renderer-hang \(not painted within 60000 ms/);
    await s.clock.advance(1_000);
    expect(s.windows).toHaveLength(2);
  });

  it('a page that stops answering is a hang: restarted after two missed checks', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    s.host.framePainted();
    s.current().answers = false;
    expect(await s.host.healthy()).toBe(false);
    await s.clock.advance(5_000);
    expect(s.host.phase).toBe('showing');
    await s.clock.advance(5_000);
    expect(s.host.phase).toBe('recovering');
    expect(s.errors.at(-1)?.message).toMatch(/renderer-hang \(the page did not answer 2 liveness checks/);
  });

  it('the third fault within five minutes shows the maintenance screen and tells the core; it stays up', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    s.current().die('crash 1');
    await s.clock.advance(1_000);
    s.current().die('crash 2');
    await s.clock.advance(2_000);
    s.current().die('crash 3');
    await flush();
    expect(s.host.phase).toBe('maintenance');
    expect(s.faults).toEqual([{ code: 'RND-1', detail: expect.stringMatching(/crash 3/) }]);
    expect(s.current().maintenance).toEqual(['RND-1']);
    expect(s.shown).toEqual(['RND-1']);
    expect(await s.host.healthy()).toBe(true);
    // The maintenance window is lost: no ping until it is shown again 30 s later.
    s.current().die('chromium exited');
    expect(await s.host.healthy()).toBe(false);
    await s.clock.advance(30_000);
    expect(s.current().maintenance).toEqual(['RND-1']);
    expect(s.windows).toHaveLength(5);
    expect(await s.host.healthy()).toBe(true);
    expect(s.faults).toHaveLength(1);
  });

  it('an operator reload from maintenance resets the breaker and loads the panel', async () => {
    const s = setUp();
    s.host.start('APP-1');
    await flush();
    expect(s.host.phase).toBe('maintenance');
    expect(s.current().maintenance).toEqual(['APP-1']);
    await s.host.reload();
    await flush();
    expect(s.host.phase).toBe('loading');
    expect(s.current().loaded).toBe(1);
  });

  it('a window that cannot start counts as a fault each time, bounded by the crash-loop policy', async () => {
    const s = setUp({ failLaunch: () => true });
    s.host.start();
    await flush();
    expect(s.host.phase).toBe('recovering');
    await s.clock.advance(1_000);
    await s.clock.advance(2_000);
    expect(s.host.phase).toBe('maintenance');
    expect(s.faults[0]?.code).toBe('RND-1');
    expect(await s.host.healthy()).toBe(false);
  });

  it('a maintenance window that cannot start is tried again every 30 s', async () => {
    let failing = false;
    const s = setUp({ failLaunch: () => failing });
    s.host.start();
    await flush();
    failing = true;
    s.current().die('crash 1');
    await s.clock.advance(1_000);
    await s.clock.advance(2_000);
    expect(s.host.phase).toBe('maintenance');
    expect(await s.host.healthy()).toBe(false);
    failing = false;
    await s.clock.advance(30_000);
    expect(s.current().maintenance).toEqual(['RND-1']);
    expect(await s.host.healthy()).toBe(true);
  });

  it('a browser that answers after the start deadline is started again with twice the time, as no fault, and then shows the panel', async () => {
    const s = setUp({ answerAfterMs: (n) => (n === 0 ? 75_000 : 70_000) });
    s.host.start();
    await flush();
    // Slow, not dead: the watchdog pings on while it starts.
    expect(await s.host.healthy()).toBe(true);
    await s.clock.advance(60_000);
    expect(s.host.phase).toBe('starting');
    await s.clock.advance(1_000);
    expect(s.startTimeouts).toEqual([60_000, 120_000]);
    // systemd is told each start's budget (start + paint deadline) before READY=1.
    expect(s.budgets).toEqual([120_000, 180_000]);
    await s.clock.advance(70_000);
    expect(s.host.phase).toBe('loading');
    expect(s.current().loaded).toBe(1);
    s.host.framePainted();
    expect(s.host.phase).toBe('showing');
    expect(s.errors).toEqual([]);
    expect(s.faults).toEqual([]);
    // The paint deadline runs from the window's start, not from the spawn: 60 s after it, no fault.
    await s.clock.advance(60_000);
    expect(s.host.phase).toBe('showing');
  });

  it('a late window that arrives after the host gave up on it is closed, and the next start gets the time', async () => {
    const s = setUp({ answerAfterMs: (n) => (n === 0 ? 65_000 : 1_000), ignoresDeadline: true });
    s.host.start();
    await flush();
    await s.clock.advance(61_000);
    expect(s.startTimeouts).toEqual([60_000, 120_000]);
    // The second start answers at 62 s and shows the panel; the first arrives at 65 s.
    await s.clock.advance(1_000);
    expect(s.windows).toHaveLength(1);
    expect(s.windows[0]!.loaded).toBe(1);
    await s.clock.advance(3_000);
    expect(s.windows).toHaveLength(2);
    expect(s.windows[1]!.closed).toBe(true);
    expect(s.windows[1]!.loaded).toBe(0);
    expect(s.windows[0]!.closed).toBe(false);
    expect(s.host.phase).toBe('loading');
  });

  it('a browser that never answers: longer deadlines up to the cap, then the host stops (systemd restarts the unit)', async () => {
    const s = setUp({ answerAfterMs: () => Number.MAX_SAFE_INTEGER });
    s.host.start();
    await s.clock.advance(60_000 + 1_000 + 120_000 + 1_000 + 240_000 + 1_000 + 240_000);
    expect(s.startTimeouts).toEqual([60_000, 120_000, 240_000, 240_000]);
    expect(s.gaveUp).toEqual([expect.stringMatching(/did not answer within its start deadline 4 times in a row \(last 240000 ms\)/)]);
    expect(s.errors).toEqual([]);
    // Stopped: no watchdog ping, so systemd restarts the unit.
    expect(s.host.phase).toBe('stopped');
    expect(await s.host.healthy()).toBe(false);
    await s.clock.advance(600_000);
    expect(s.startTimeouts).toHaveLength(4);
  });

  it('the next start waits until the slow window has ended its browser (no race over the profile), within the grace', async () => {
    const s = setUp({ answerAfterMs: (n) => (n === 0 ? Number.MAX_SAFE_INTEGER : 0), closeTakesMs: 4_000, graceMs: 10_000 });
    s.host.start();
    await flush();
    // Its own deadline (60 s) plus 4 s to end the browser, then the 1 s pause: the next start at 65 s.
    await s.clock.advance(64_999);
    expect(s.startTimeouts).toEqual([60_000]);
    await s.clock.advance(1);
    expect(s.startTimeouts).toEqual([60_000, 120_000]);
    expect(s.host.phase).toBe('loading');
  });

  it('a start that never settles is given up at its deadline plus the grace', async () => {
    const s = setUp({ answerAfterMs: (n) => (n === 0 ? Number.MAX_SAFE_INTEGER : 0), ignoresDeadline: true, graceMs: 10_000 });
    s.host.start();
    await flush();
    await s.clock.advance(70_999);
    expect(s.startTimeouts).toEqual([60_000]);
    await s.clock.advance(1_001);
    expect(s.startTimeouts).toEqual([60_000, 120_000]);
  });

  it('a maintenance window being started counts as progress for the watchdog', async () => {
    const s = setUp({ answerAfterMs: (n) => (n === 0 ? 0 : 10_000) });
    s.host.start('APP-1');
    await flush();
    expect(s.shown).toEqual(['APP-1']);
    s.current().die('chromium exited');
    expect(await s.host.healthy()).toBe(false);
    await s.clock.advance(30_000);
    expect(await s.host.healthy()).toBe(true);
    await s.clock.advance(10_000);
    expect(s.current().maintenance).toEqual(['APP-1']);
    expect(s.shown).toEqual(['APP-1', 'APP-1']);
  });

  it('faults before any frame was painted put the maintenance screen up even when spaced wider than the policy window', async () => {
    // A policy that would never trip on these: its window is shorter than the faults' spacing.
    const s = setUp({ policy: new CrashLoopPolicy({ windowMs: 30_000 }) });
    s.host.start();
    await flush();
    await s.clock.advance(60_000); // not painted: fault 1
    await s.clock.advance(1_000);
    await s.clock.advance(60_000); // fault 2
    expect(s.host.phase).toBe('recovering');
    await s.clock.advance(1_000);
    await s.clock.advance(60_000); // fault 3
    await flush();
    expect(s.host.phase).toBe('maintenance');
    expect(s.current().maintenance).toEqual(['RND-2']);
    expect(s.shown).toEqual(['RND-2']);
    expect(s.faults).toEqual([{ code: 'RND-2', detail: expect.stringMatching(/3 window faults before any frame was painted/) }]);
  });

  it('once painted, faults follow the crash-loop policy alone', async () => {
    const s = setUp({ policy: new CrashLoopPolicy({ windowMs: 30_000 }) });
    s.host.start();
    await flush();
    s.host.framePainted();
    for (let i = 0; i < 4; i++) {
      s.current().die(`crash ${i}`);
      await s.clock.advance(40_000);
    }
    expect(s.host.phase).toBe('loading');
    expect(s.faults).toEqual([]);
  });

  it('stop closes the window, and nothing restarts it', async () => {
    const s = setUp();
    s.host.start();
    await flush();
    s.host.framePainted();
    await s.host.stop();
    expect(s.current().closed).toBe(true);
    expect(s.host.phase).toBe('stopped');
    expect(await s.host.healthy()).toBe(false);
    await s.clock.advance(120_000);
    expect(s.windows).toHaveLength(1);
  });
});
