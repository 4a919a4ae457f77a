import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isInRollout, rolloutBucket } from './rollout.js';
import { compareVersions } from './version.js';

describe('rollout bucket', () => {
  it('is stable, in [0,1), and monotone in the share', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (id, v, a, b) => {
          const x = rolloutBucket(id, v);
          expect(x).toBe(rolloutBucket(id, v));
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          if (isInRollout(id, v, lo)) expect(isInRollout(id, v, hi)).toBe(true);
        },
      ),
    );
  });

  it('spreads a fleet close to the share, and differently per release', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `panel-${i}`);
    const in1 = ids.filter((id) => isInRollout(id, '1.0.0', 0.25));
    const in2 = ids.filter((id) => isInRollout(id, '1.1.0', 0.25));
    expect(in1.length / ids.length).toBeGreaterThan(0.22);
    expect(in1.length / ids.length).toBeLessThan(0.28);
    const overlap = in1.filter((id) => in2.includes(id)).length / in1.length;
    expect(overlap).toBeLessThan(0.4); // ~0.25 if independent; 1.0 if the same panels always went first
    expect(ids.every((id) => isInRollout(id, '1.0.0', 1))).toBe(true);
    expect(ids.some((id) => isInRollout(id, '1.0.0', 0))).toBe(false);
  });
});

describe('compareVersions', () => {
  it('orders numerically and puts pre-releases first', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('45.0.0', '45.0.0')).toBe(0);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('33.1.0', '45.0.0')).toBeLessThan(0);
  });
});
