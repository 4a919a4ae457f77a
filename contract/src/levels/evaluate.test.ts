import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LevelScheme } from '../product/levels.js';
import { LevelScheme as LevelSchemeSchema } from '../product/levels.js';
import { POLLUTANTS, type Pollutant, type PollutantValues } from '../product/readings.js';
import { DEFAULT_LEVEL_SCHEME } from './defaults.js';
import { evaluateLevel, type LevelState } from './evaluate.js';

// ---- generators ----

/** `count` strictly increasing positive breakpoints. */
const breakpoints = (count: number) =>
  fc.array(fc.double({ min: 0.5, max: 300, noNaN: true }), { minLength: count, maxLength: count }).map((steps) => {
    let total = 0;
    return steps.map((step) => (total += step));
  });

interface SchemeOptions {
  dwell?: fc.Arbitrary<number>;
  margin?: fc.Arbitrary<number>;
}

const scheme = (options: SchemeOptions = {}): fc.Arbitrary<LevelScheme> =>
  fc.integer({ min: 2, max: 5 }).chain((levelCount) =>
    fc
      .record({
        pollutants: fc.subarray([...POLLUTANTS], { minLength: 1, maxLength: 3 }),
        margin: options.margin ?? fc.double({ min: 0, max: 0.5, noNaN: true }),
        dwell: options.dwell ?? fc.integer({ min: 0, max: 3_600 }),
        bps: fc.array(breakpoints(levelCount - 1), { minLength: 3, maxLength: 3 }),
      })
      .map(({ pollutants, margin, dwell, bps }) =>
        LevelSchemeSchema.parse({
          id: 'generated',
          name: 'Generated',
          levels: Array.from({ length: levelCount }, (_, i) => ({ id: `level-${i}`, label: `Level ${i}` })),
          breakpoints: Object.fromEntries(pollutants.map((p, i) => [p, bps[i]!])),
          hysteresis: { marginFraction: margin, minDwellSeconds: dwell },
        }),
      ),
  );

const concentration = fc.double({ min: 0, max: 2_000, noNaN: true });

/** Values for some pollutants of the scheme, and perhaps one it has no breakpoints for. */
const valuesFor = (s: LevelScheme): fc.Arbitrary<PollutantValues> =>
  fc
    .record({
      used: fc.subarray(Object.keys(s.breakpoints) as Pollutant[], { minLength: 1 }),
      extra: fc.option(fc.constantFrom(...POLLUTANTS)),
      amounts: fc.array(concentration, { minLength: 6, maxLength: 6 }),
    })
    .map(({ used, extra, amounts }) => {
      const values: PollutantValues = {};
      for (const [i, p] of [...(extra ? [extra] : []), ...used].entries()) values[p] = amounts[i]!;
      return values;
    });

/** The level without hysteresis, computed independently: the worst pollutant decides. */
function rawLevel(s: LevelScheme, values: PollutantValues): number {
  let worst = 0;
  for (const [p, v] of Object.entries(values) as [Pollutant, number][]) {
    const bps = s.breakpoints[p];
    if (bps) worst = Math.max(worst, bps.filter((bp) => v >= bp).length);
  }
  return worst;
}

const previousState = (s: LevelScheme) =>
  fc.integer({ min: 0, max: s.levels.length - 1 }).map((index): LevelState => ({ index, pending: null }));

const NOW = Date.parse('2026-06-01T12:00:00Z');

// ---- properties ----

describe('evaluateLevel properties', () => {
  it('always answers a valid level index, consistent with its level and state', () => {
    fc.assert(
      fc.property(
        scheme().chain((s) =>
          fc.tuple(
            fc.constant(s),
            valuesFor(s),
            fc.option(
              fc.record({
                index: fc.integer({ min: -3, max: 10 }),
                pending: fc.option(
                  fc.record({ index: fc.integer({ min: 0, max: 7 }), sinceMs: fc.integer({ min: NOW - 7_200_000, max: NOW }) }),
                ),
              }),
            ),
          ),
        ),
        ([s, values, previous]) => {
          const result = evaluateLevel(s, values, previous, NOW);
          expect(result).not.toBeNull();
          const r = result!;
          expect(Number.isInteger(r.index)).toBe(true);
          expect(r.index).toBeGreaterThanOrEqual(0);
          expect(r.index).toBeLessThan(s.levels.length);
          expect(r.level).toEqual(s.levels[r.index]);
          expect(r.state.index).toBe(r.index);
          expect(r.rawIndex).toBe(rawLevel(s, values));
          if (r.dominant !== null) expect(s.breakpoints[r.dominant]).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with no previous state takes the raw level', () => {
    fc.assert(
      fc.property(
        scheme().chain((s) => fc.tuple(fc.constant(s), valuesFor(s))),
        ([s, values]) => {
          const r = evaluateLevel(s, values, null, NOW)!;
          expect(r.index).toBe(rawLevel(s, values));
          expect(r.state.pending).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is monotonic: higher values never give a lower level for the same previous state without pending', () => {
    fc.assert(
      fc.property(
        scheme({ dwell: fc.integer({ min: 0, max: 3_600 }) }).chain((s) =>
          fc.tuple(
            fc.constant(s),
            valuesFor(s),
            previousState(s),
            fc.double({ min: 1, max: 20, noNaN: true }),
            fc.double({ min: 0, max: 50, noNaN: true }),
          ),
        ),
        ([s, values, previous, factor, offset]) => {
          const higher: PollutantValues = {};
          for (const [p, v] of Object.entries(values) as [Pollutant, number][]) higher[p] = Math.min(v * factor + offset, 10_000);
          const low = evaluateLevel(s, values, previous, NOW)!;
          const high = evaluateLevel(s, higher, previous, NOW)!;
          expect(high.index).toBeGreaterThanOrEqual(low.index);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  // Regression: with no dwell and breakpoints closer together than the margin, a value past
  // the first breakpoint by the margin once moved only to `up` while a slightly lower value
  // inside the band moved straight to the raw level. Dwell now applies relative to the
  // margin's target, so a zero dwell always takes the raw level.
  it('is monotonic with a zero dwell too (breakpoints closer than the margin)', () => {
    const close = LevelSchemeSchema.parse({
      id: 'close',
      name: 'Close',
      levels: [
        { id: 'a', label: 'A' },
        { id: 'b', label: 'B' },
        { id: 'c', label: 'C' },
      ],
      breakpoints: { pm25: [20, 21] },
      hysteresis: { marginFraction: 0.1, minDwellSeconds: 0 },
    });
    const low = evaluateLevel(close, { pm25: 21.5 }, { index: 0, pending: null }, NOW)!;
    const high = evaluateLevel(close, { pm25: 22.5 }, { index: 0, pending: null }, NOW)!;
    expect(high.index).toBeGreaterThanOrEqual(low.index);
  });

  it('changes the level at most once while values oscillate inside the margin faster than the dwell', () => {
    fc.assert(
      fc.property(
        fc.record({
          breakpoint: fc.double({ min: 5, max: 500, noNaN: true }),
          margin: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
          dwell: fc.integer({ min: 2, max: 3_600 }),
          // Each reading: where inside the band (-1..1 of the margin, never the edges) and how long after the previous one.
          readings: fc.array(
            fc.record({
              position: fc.double({ min: -0.95, max: 0.95, noNaN: true }),
              stepFraction: fc.double({ min: 0, max: 0.99, noNaN: true }),
            }),
            { minLength: 2, maxLength: 40 },
          ),
          startAbove: fc.boolean(),
        }),
        ({ breakpoint, margin, dwell, readings, startAbove }) => {
          const s = LevelSchemeSchema.parse({
            id: 'two',
            name: 'Two',
            levels: [
              { id: 'low', label: 'Low' },
              { id: 'high', label: 'High' },
            ],
            breakpoints: { pm25: [breakpoint] },
            hysteresis: { marginFraction: margin, minDwellSeconds: dwell },
          });
          // Oscillation: every reading is on the other side of the breakpoint from the one before.
          let state: LevelState | null = null;
          let time = NOW;
          let changes = 0;
          let previousIndex: number | null = null;
          readings.forEach(({ position, stepFraction }, i) => {
            const above = (i % 2 === 0) === startAbove;
            const depth = Math.max(Math.abs(position), 0.01) * margin;
            const value = above ? breakpoint * (1 + depth) : breakpoint * (1 - depth);
            time += Math.floor(stepFraction * dwell * 1000);
            const r = evaluateLevel(s, { pm25: value }, state, time)!;
            if (previousIndex !== null && r.index !== previousIndex) changes++;
            previousIndex = r.index;
            state = r.state;
          });
          expect(changes).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('takes a raw level held inside the band for the minimum dwell, and not before', () => {
    fc.assert(
      fc.property(
        fc.record({
          breakpoint: fc.double({ min: 5, max: 500, noNaN: true }),
          margin: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
          dwell: fc.integer({ min: 1, max: 3_600 }),
          depth: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
          fromBelow: fc.boolean(),
          extraMs: fc.integer({ min: 0, max: 600_000 }),
        }),
        ({ breakpoint, margin, dwell, depth, fromBelow, extraMs }) => {
          const s = LevelSchemeSchema.parse({
            id: 'two',
            name: 'Two',
            levels: [
              { id: 'low', label: 'Low' },
              { id: 'high', label: 'High' },
            ],
            breakpoints: { pm25: [breakpoint] },
            hysteresis: { marginFraction: margin, minDwellSeconds: dwell },
          });
          const current = fromBelow ? 0 : 1;
          const value = fromBelow ? breakpoint * (1 + depth * margin) : breakpoint * (1 - depth * margin);
          const first = evaluateLevel(s, { pm25: value }, { index: current, pending: null }, NOW)!;
          expect(first.index).toBe(current);
          expect(first.state.pending).toEqual({ index: 1 - current, sinceMs: NOW });
          const early = evaluateLevel(s, { pm25: value }, first.state, NOW + dwell * 1000 - 1)!;
          expect(early.index).toBe(current);
          const held = evaluateLevel(s, { pm25: value }, early.state, NOW + dwell * 1000 + extraMs)!;
          expect(held.index).toBe(1 - current);
          expect(held.state.pending).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('default scheme (EAQI folded into three levels)', () => {
  const level = (values: PollutantValues, previous: LevelState | null = null) =>
    evaluateLevel(DEFAULT_LEVEL_SCHEME, values, previous, NOW)!;

  it('folds EAQI Good and Fair into good, Moderate and Poor into moderate, Very poor and worse into bad', () => {
    expect(level({ pm25: 5 }).level.id).toBe('good'); // EAQI Good
    expect(level({ pm25: 19.9 }).level.id).toBe('good'); // EAQI Fair
    expect(level({ pm25: 20 }).level.id).toBe('moderate'); // EAQI Moderate starts at 20
    expect(level({ pm25: 49 }).level.id).toBe('moderate'); // EAQI Poor
    expect(level({ pm25: 50 }).level.id).toBe('bad'); // EAQI Very poor starts at 50
    expect(level({ pm10: 39.9 }).level.id).toBe('good');
    expect(level({ pm10: 40 }).level.id).toBe('moderate');
    expect(level({ pm10: 100 }).level.id).toBe('bad');
    expect(level({ no2: 90 }).level.id).toBe('moderate');
    expect(level({ o3: 240 }).level.id).toBe('bad');
    expect(level({ so2: 199 }).level.id).toBe('good');
    expect(level({ so2: 500 }).level.id).toBe('bad');
  });

  it('lets the worst pollutant decide and names it', () => {
    const r = level({ pm25: 5, no2: 240, o3: 110 });
    expect(r.level.id).toBe('bad');
    expect(r.dominant).toBe('no2');
  });

  it('holds the level for a value just below a breakpoint, then drops after ten minutes', () => {
    const moderate: LevelState = { index: 1, pending: null };
    const first = evaluateLevel(DEFAULT_LEVEL_SCHEME, { pm25: 19 }, moderate, NOW)!;
    expect(first.level.id).toBe('moderate');
    expect(evaluateLevel(DEFAULT_LEVEL_SCHEME, { pm25: 19 }, first.state, NOW + 599_000)!.level.id).toBe('moderate');
    expect(evaluateLevel(DEFAULT_LEVEL_SCHEME, { pm25: 19 }, first.state, NOW + 600_000)!.level.id).toBe('good');
    // Well below (under 18 = 20 − 10 %): at once.
    expect(evaluateLevel(DEFAULT_LEVEL_SCHEME, { pm25: 17 }, moderate, NOW)!.level.id).toBe('good');
  });

  it('answers null when no value has breakpoints', () => {
    const onlyPm25: LevelScheme = { ...DEFAULT_LEVEL_SCHEME, breakpoints: { pm25: [20, 50] } };
    expect(evaluateLevel(onlyPm25, { no2: 300 }, null, NOW)).toBeNull();
  });
});
