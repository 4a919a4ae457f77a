import { describe, expect, it } from 'vitest';
import { SystemdNotifier, type NotifyRunner } from './systemd-notify.js';

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** Test implementation of the systemd-notify runner: records the arguments. */
function recorder() {
  const calls: string[][] = [];
  const run: NotifyRunner = async (args) => {
    calls.push(args);
    return 0;
  };
  return { calls, run };
}

/** Test implementation of setInterval: ticks on demand. */
function manualInterval() {
  let fn: (() => void) | null = null;
  let ms = 0;
  return {
    setInterval: (f: () => void, m: number) => {
      fn = f;
      ms = m;
      return 1;
    },
    clearInterval: () => {
      fn = null;
    },
    tick: async () => {
      fn?.();
      await new Promise((r) => setTimeout(r, 0));
      await new Promise((r) => setTimeout(r, 0));
    },
    get ms() {
      return ms;
    },
    get running() {
      return fn !== null;
    },
  };
}

describe('SystemdNotifier', () => {
  it('does nothing outside systemd', async () => {
    const { calls, run } = recorder();
    const n = new SystemdNotifier({ env: {}, log: quietLog, run });
    await n.ready('live');
    await n.status('stale');
    n.startWatchdog(async () => true);
    expect(n.enabled).toBe(false);
    expect(calls).toEqual([]);
  });

  it('sends READY once, STATUS on change, WATCHDOG only after a healthy renderer check', async () => {
    const { calls, run } = recorder();
    const timer = manualInterval();
    let alive = 0;
    const n = new SystemdNotifier({
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' },
      log: quietLog,
      run,
      ...timer,
      alive: () => alive++,
    });
    expect(n.watchdogIntervalMs).toBe(15_000);
    await n.ready('showing-cached');
    await n.ready('live');
    await n.status('showing-cached');
    await n.status('live');
    let healthy = true;
    n.startWatchdog(async () => healthy);
    expect(timer.ms).toBe(15_000);
    await timer.tick();
    healthy = false;
    await timer.tick();
    healthy = true;
    await timer.tick();
    n.stop();
    expect(timer.running).toBe(false);
    expect(calls).toEqual([['--ready', '--status=showing-cached'], ['--status=live'], ['WATCHDOG=1'], ['WATCHDOG=1']]);
    // The OTA loader hears of every ping (its liveness check), and of no other tick.
    expect(alive).toBe(2);
  });

  it('keeps pinging while an orderly stop closes the window, without asking the renderer', async () => {
    const { calls, run } = recorder();
    const timer = manualInterval();
    let alive = 0;
    const n = new SystemdNotifier({
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' },
      log: quietLog,
      run,
      ...timer,
      alive: () => alive++,
    });
    n.startWatchdog(async () => false);
    await timer.tick();
    expect(calls).toEqual([]);
    n.pingWhileStopping();
    expect(timer.running).toBe(true);
    expect(timer.ms).toBe(15_000);
    await timer.tick();
    await timer.tick();
    expect(calls).toEqual([['WATCHDOG=1'], ['WATCHDOG=1'], ['WATCHDOG=1']]);
    // A stopping host is not a healthy release: the loader hears nothing of these pings.
    expect(alive).toBe(0);
  });

  it('extends the start timeout only before READY=1', async () => {
    const { calls, run } = recorder();
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, log: quietLog, run });
    await n.extendStartTimeout(150_000);
    await n.ready('live');
    await n.extendStartTimeout(150_000);
    expect(calls).toEqual([['EXTEND_TIMEOUT_USEC=150000000'], ['--ready', '--status=live']]);
  });

  it('has no watchdog when the unit sets none', () => {
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '@abstract' }, log: quietLog });
    expect(n.enabled).toBe(true);
    expect(n.watchdogIntervalMs).toBeNull();
  });
});
