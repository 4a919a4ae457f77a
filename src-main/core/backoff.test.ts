import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, type BackoffPolicy, jitteredBackoffMs, jitteredIntervalMs } from './backoff.js';

const policyArb = fc
  .record({
    minMs: fc.integer({ min: 0, max: 5_000 }),
    baseMs: fc.integer({ min: 1, max: 60_000 }),
    extra: fc.integer({ min: 0, max: 3_600_000 }),
  })
  .map(({ minMs, baseMs, extra }): BackoffPolicy => ({ minMs, baseMs, maxMs: Math.max(minMs, baseMs) + extra }));
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('jitteredBackoffMs', () => {
  it('stays within [minMs, min(maxMs, baseMs·2^attempt)] for any attempt and random draw', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 10_000 }), randomArb, (policy, attempt, r) => {
        const delay = jitteredBackoffMs(attempt, policy, () => r);
        expect(delay).toBeGreaterThanOrEqual(policy.minMs);
        expect(delay).toBeLessThanOrEqual(Math.max(policy.minMs, Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 52))));
        expect(delay).toBeLessThanOrEqual(policy.maxMs);
      }),
    );
  });

  it('has a ceiling that never shrinks as attempts grow', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 200 }), (policy, attempt) => {
        expect(backoffCeilingMs(attempt + 1, policy)).toBeGreaterThanOrEqual(backoffCeilingMs(attempt, policy));
      }),
    );
  });

  it('spreads delays over the whole band (the low and high draws differ by the band width)', () => {
    const policy = { minMs: 500, baseMs: 2_000, maxMs: 300_000 };
    expect(jitteredBackoffMs(3, policy, () => 0)).toBe(500);
    expect(jitteredBackoffMs(3, policy, () => 1)).toBe(16_000);
    expect(jitteredBackoffMs(30, policy, () => 1)).toBe(300_000);
  });
});

describe('jitteredIntervalMs', () => {
  it('stays within base·(1 ± spread)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400_000 }), fc.double({ min: 0, max: 0.5, noNaN: true }), randomArb, (base, spread, r) => {
        const ms = jitteredIntervalMs(base, spread, () => r);
        expect(ms).toBeGreaterThanOrEqual(base * (1 - spread) - 1e-6);
        expect(ms).toBeLessThanOrEqual(base * (1 + spread) + 1e-6);
      }),
    );
  });
});
