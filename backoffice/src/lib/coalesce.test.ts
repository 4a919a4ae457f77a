import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { coalesced } from './coalesce.js';

describe('coalesced refresh', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once for a burst of requests, then once more for those that came during the run', async () => {
    let runs = 0;
    let release: () => void = () => {};
    const refresh = coalesced(
      () =>
        new Promise<void>((resolve) => {
          runs += 1;
          release = resolve;
        }),
      1_000,
    );
    for (let i = 0; i < 10; i++) refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    refresh();
    refresh();
    release();
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(runs).toBe(2);
    release();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(2);
  });
});
