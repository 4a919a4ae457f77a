import { describe, expect, it } from 'vitest';
import { averageConcentrations, averagingHorizonMs, EAQI_AVERAGING, type TimedValues } from './averaging.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** One reading a minute for `minutes`, ending at NOW. */
function minutes(count: number, values: (i: number) => TimedValues['values']): TimedValues[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: NOW - i * MIN, values: values(i) }));
}

describe('EAQI averaging', () => {
  it('PM: the 24-hour running mean of hourly means; one noisy minute barely moves it', () => {
    const day = minutes(24 * 60, (i) => ({ pm25: i === 0 ? 900 : 10 }));
    const { values } = averageConcentrations(day, NOW);
    // hour 0 mean = (900 + 59·10)/60 = 24.83; the 24-hour mean = (24.83 + 23·10)/24 = 10.6
    expect(values?.pm25).toBe(10.6);
  });

  it('PM needs 18 of 24 valid hours, an hour 45 of its 60 minutes', () => {
    expect(
      averageConcentrations(
        minutes(17 * 60, () => ({ pm10: 30 })),
        NOW,
      ).values,
    ).toBe(null);
    expect(
      averageConcentrations(
        minutes(18 * 60, () => ({ pm10: 30 })),
        NOW,
      ).values,
    ).toEqual({ pm10: 30 });
    // 24 hours with only every other minute: no hour reaches 45 minutes.
    const sparse = minutes(24 * 60, () => ({ pm10: 30 })).filter((_, i) => i % 2 === 0);
    const r = averageConcentrations(sparse, NOW);
    expect(r.values).toBe(null);
    expect(r.coverage.pm10).toBeCloseTo(0.5, 2);
  });

  it('NO2 / O3: the hourly mean of the last hour, 45 minutes needed; older readings do not count', () => {
    const hour = minutes(60, () => ({ no2: 120, o3: 80 }));
    const old = Array.from({ length: 60 }, (_, i) => ({ atMs: NOW - 2 * HOUR - i * MIN, values: { no2: 400 } }));
    expect(averageConcentrations([...hour, ...old], NOW).values).toEqual({ no2: 120, o3: 80 });
    expect(
      averageConcentrations(
        minutes(44, () => ({ no2: 120 })),
        NOW,
      ).values,
    ).toBe(null);
  });

  it('ignores readings from the future (a panel clock ahead) and keeps each pollutant separate', () => {
    const r = averageConcentrations([...minutes(60, () => ({ no2: 50 })), { atMs: NOW + MIN, values: { no2: 5000 } }], NOW);
    expect(r.values).toEqual({ no2: 50 });
    expect(averagingHorizonMs()).toBe(24 * HOUR);
    expect(averagingHorizonMs(EAQI_AVERAGING)).toBe(24 * HOUR);
  });
});
