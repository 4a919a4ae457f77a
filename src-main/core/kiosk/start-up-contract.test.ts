import { describe, expect, it } from 'vitest';
import type { FramePresented, PanelView } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../host.js';
import { StartUpContract } from './start-up-contract.js';

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** Stand-in core: records what reaches it. */
function standInCore() {
  const frames: FramePresented[] = [];
  const faults: string[] = [];
  const core: PanelViewSource = {
    getView: () => ({ kind: 'booting' }) as PanelView,
    onView: () => () => undefined,
    framePresented: (f) => frames.push(f),
    rendererError: () => undefined,
    hostFault: (code) => faults.push(code),
  };
  return { core, frames, faults };
}

/** Stand-in timers: run on demand. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    setTimeout: (fn: () => void) => {
      pending.set(next, fn);
      return next++;
    },
    clearTimeout: (h: unknown) => {
      pending.delete(h as number);
    },
    fireAll: () => {
      const fns = [...pending.values()];
      pending.clear();
      fns.forEach((f) => f());
    },
    get count() {
      return pending.size;
    },
  };
}

function setUp() {
  const c = standInCore();
  const ready: string[] = [];
  const seen: FramePresented[] = [];
  const timers = manualTimers();
  const contract = new StartUpContract({
    core: c.core,
    stateName: () => 'live',
    log: quietLog,
    timers,
    notifier: {
      ready: async (s) => {
        ready.push(s);
      },
    },
    onFrame: (f) => seen.push(f),
  });
  return { ...c, contract, ready, timers, seen };
}

describe('StartUpContract', () => {
  it('content painted → READY=1, once; every frame still reaches the core', () => {
    const s = setUp();
    s.contract.source.framePresented({ kind: 'content', revision: 3 });
    s.contract.source.framePresented({ kind: 'content', revision: 4 });
    expect(s.ready).toEqual(['live']);
    expect(s.frames.map((f) => f.revision)).toEqual([3, 4]);
    expect(s.seen).toHaveLength(2);
    expect(s.contract.contentPainted).toBe(true);
  });

  it('a maintenance frame counts as painted (a reboot would not fix it)', () => {
    const s = setUp();
    s.contract.source.framePresented({ kind: 'maintenance', revision: null });
    expect(s.ready).toEqual(['live']);
  });

  it('splash only: READY=1 after the grace time', () => {
    const s = setUp();
    s.contract.source.framePresented({ kind: 'booting', revision: null });
    s.contract.source.framePresented({ kind: 'booting', revision: null });
    expect(s.timers.count).toBe(1);
    expect(s.ready).toEqual([]);
    s.timers.fireAll();
    expect(s.ready).toEqual(['booting']);
    expect(s.contract.contentPainted).toBe(false);
  });

  it('content before the grace ends cancels the splash timer', () => {
    const s = setUp();
    s.contract.source.framePresented({ kind: 'booting', revision: null });
    s.contract.source.framePresented({ kind: 'content', revision: 1 });
    expect(s.timers.count).toBe(0);
    expect(s.ready).toEqual(['live']);
  });

  it('passes host faults through to the core', () => {
    const s = setUp();
    s.contract.source.hostFault('RND-1', 'crash loop');
    expect(s.faults).toEqual(['RND-1']);
  });
});
