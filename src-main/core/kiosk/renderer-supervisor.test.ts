import { describe, expect, it } from 'vitest';
import { CrashLoopPolicy } from './crash-loop-policy.js';
import type { RendererErrorReport } from '@airpanel/contract/internal';
import { RendererSupervisor, type SupervisedWindow, type SupervisorTimers } from './renderer-supervisor.js';

/** Test implementation of timers: a manual clock. */
class ManualTimers implements SupervisorTimers {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

/** Test implementation of the kiosk window: records what the supervisor asked of it. */
class RecordingWindow implements SupervisedWindow {
  calls: string[] = [];
  reloadApp() {
    this.calls.push('reload');
  }
  showMaintenance(code: string) {
    this.calls.push(`maintenance ${code}`);
  }
}

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

function setup(policy = new CrashLoopPolicy({ maxFaults: 3, windowMs: 60_000, baseBackoffMs: 1_000, maxBackoffMs: 10_000 })) {
  const timers = new ManualTimers();
  const window = new RecordingWindow();
  const faults: { code: string; detail: string }[] = [];
  const errors: RendererErrorReport[] = [];
  const sup = new RendererSupervisor({
    window,
    timers,
    log: quietLog,
    policy,
    hangGraceMs: 5_000,
    source: { hostFault: (code, detail) => faults.push({ code, detail }), rendererError: (r) => errors.push(r) },
  });
  return { timers, window, faults, errors, sup };
}

describe('RendererSupervisor', () => {
  it('reloads a crashed renderer after the backoff and reports each recovery', () => {
    const { timers, window, errors, sup } = setup();
    sup.fault('renderer-crash', 'crashed');
    expect(window.calls).toEqual([]);
    timers.advance(999);
    expect(window.calls).toEqual([]);
    timers.advance(1);
    expect(window.calls).toEqual(['reload']);
    sup.fault('renderer-crash', 'oom');
    timers.advance(2_000);
    expect(window.calls).toEqual(['reload', 'reload']);
    expect(errors.map((e) => e.message)).toEqual([
      'host recovery: renderer-crash (crashed); reload #1 in 1000 ms',
      'host recovery: renderer-crash (oom); reload #2 in 2000 ms',
    ]);
    expect(sup.recoveries).toHaveLength(2);
  });

  it('shows maintenance and tells the core on a crash loop, and a reset starts over', () => {
    const { timers, window, faults, sup } = setup();
    sup.fault('renderer-crash', 'a');
    sup.fault('gpu-lost', 'b');
    expect(sup.fault('renderer-crash', 'c')).toMatchObject({ action: 'maintenance', code: 'RND-1' });
    timers.advance(60_000);
    expect(window.calls).toEqual(['maintenance RND-1']);
    expect(faults).toEqual([{ code: 'RND-1', detail: expect.stringContaining('3 renderer faults') }]);
    sup.resetAndReload();
    expect(window.calls).toEqual(['maintenance RND-1', 'reload']);
    expect(sup.fault('renderer-crash', 'd').action).toBe('reload');
  });

  it('counts a hang only if the renderer stays unresponsive', () => {
    const { timers, window, sup } = setup();
    sup.unresponsive();
    timers.advance(4_000);
    sup.responsive();
    timers.advance(10_000);
    expect(window.calls).toEqual([]);
    expect(sup.policy.faultsInWindow(timers.now())).toBe(0);
    sup.unresponsive();
    timers.advance(5_000);
    expect(sup.recoveries.at(-1)).toMatchObject({ kind: 'renderer-hang' });
    timers.advance(1_000);
    expect(window.calls).toEqual(['reload']);
  });

  it('GPU loss in a loop gives its own code', () => {
    const { window, faults, sup } = setup(new CrashLoopPolicy({ maxFaults: 2 }));
    sup.fault('gpu-lost', 'x');
    sup.fault('gpu-lost', 'y');
    expect(window.calls).toEqual(['maintenance GPU-1']);
    expect(faults[0]?.code).toBe('GPU-1');
  });
});
