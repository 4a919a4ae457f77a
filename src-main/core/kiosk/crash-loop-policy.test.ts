import { describe, expect, it } from 'vitest';
import { PanelView } from '@airpanel/contract/internal';
import { CRASH_LOOP_CODES, CrashLoopPolicy, HOST_FAULT_KINDS } from './crash-loop-policy.js';

describe('CrashLoopPolicy', () => {
  it('reloads with exponential backoff until the breaker trips', () => {
    const p = new CrashLoopPolicy({ maxFaults: 4, windowMs: 60_000, baseBackoffMs: 1_000, maxBackoffMs: 3_000 });
    expect(p.onFault('renderer-crash', 0)).toEqual({ action: 'reload', delayMs: 1_000, faultsInWindow: 1 });
    expect(p.onFault('renderer-crash', 1_000)).toEqual({ action: 'reload', delayMs: 2_000, faultsInWindow: 2 });
    expect(p.onFault('renderer-hang', 2_000)).toEqual({ action: 'reload', delayMs: 3_000, faultsInWindow: 3 });
    const d = p.onFault('renderer-crash', 3_000);
    expect(d).toMatchObject({ action: 'maintenance', code: 'RND-1', faultsInWindow: 4 });
    expect(p.maintenanceCode).toBe('RND-1');
  });

  it('forgets faults that left the window', () => {
    const p = new CrashLoopPolicy({ maxFaults: 2, windowMs: 10_000 });
    expect(p.onFault('renderer-crash', 0).action).toBe('reload');
    expect(p.onFault('renderer-crash', 10_000)).toMatchObject({ action: 'reload', faultsInWindow: 1 });
    expect(p.faultsInWindow(19_999)).toBe(1);
    expect(p.faultsInWindow(20_000)).toBe(0);
    expect(p.onFault('gpu-lost', 15_000)).toMatchObject({ action: 'maintenance', code: 'GPU-1' });
  });

  it('stays in maintenance until reset, then starts over', () => {
    const p = new CrashLoopPolicy({ maxFaults: 1 });
    expect(p.onFault('renderer-hang', 0)).toMatchObject({ action: 'maintenance', code: 'RND-2' });
    expect(p.onFault('renderer-crash', 10 * 60_000)).toMatchObject({ action: 'maintenance', code: 'RND-2' });
    p.reset();
    expect(p.maintenanceCode).toBeNull();
    expect(p.faultsInWindow(0)).toBe(0);
    expect(new CrashLoopPolicy({ maxFaults: 2 }).onFault('renderer-crash', 0).action).toBe('reload');
  });

  it('uses codes the maintenance view accepts', () => {
    for (const kind of HOST_FAULT_KINDS) {
      expect(PanelView.safeParse({ kind: 'maintenance', code: CRASH_LOOP_CODES[kind] }).success).toBe(true);
    }
  });

  it('rejects nonsensical options', () => {
    expect(() => new CrashLoopPolicy({ maxFaults: 0 })).toThrow(RangeError);
    expect(() => new CrashLoopPolicy({ baseBackoffMs: 10, maxBackoffMs: 5 })).toThrow(RangeError);
  });
});
