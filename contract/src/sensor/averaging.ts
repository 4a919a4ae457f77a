import type { Pollutant, PollutantValues } from '../product/readings.js';

/**
 * How the European Air Quality Index averages concentrations before banding them, applied by
 * the panel to its own sensor and by the backend to the readings panels send back, so both
 * decide on the same numbers.
 *
 * The EEA's index (https://airindex.eea.europa.eu, "About the index"; band table and notes
 * of the index as revised in 2021) is computed hourly from:
 *   - NO2, O3, SO2: the hourly concentration;
 *   - PM2.5, PM10: the 24-hour running mean of the hourly concentrations (particulate limits
 *     are daily values, and a single dusty hour is not the air of the day).
 * Coverage: an average is only as good as the data under it. We take the EU aggregation rule
 * for valid means (Directive 2008/50/EC, Annex VII and the data-quality rules of Implementing
 * Decision 2011/850/EU: 75 % of the values): an hourly mean needs 75 % of its minutes (45 of
 * 60), a 24-hour mean 75 % of its hours (18 of 24). The thresholds are this project's reading
 * of those rules for a one-reading-a-minute sensor, not a text of the EEA's own.
 * Consequence on a panel: after a cold start its sensor decides nothing on PM for 18 hours
 * (the backend's document still decides while it is fresh), and one noisy minute moves a PM
 * mean by at most 1/1440 of its excess.
 */
export interface AveragingRule {
  /** Length of one averaging bucket ("hour"). */
  bucketMs: number;
  /** Slots per bucket ("minutes"): a bucket's coverage counts the slots holding a reading. */
  slotsPerBucket: number;
  /** Buckets in the running mean, per pollutant (24 for PM, 1 for the gases). */
  bucketsByPollutant: Record<Pollutant, number>;
  /** Share of slots a bucket needs, and of buckets a running mean needs. */
  minCoverage: number;
}

export const EAQI_AVERAGING: AveragingRule = {
  bucketMs: 3_600_000,
  slotsPerBucket: 60,
  bucketsByPollutant: { pm25: 24, pm10: 24, no2: 1, o3: 1, so2: 1 },
  minCoverage: 0.75,
};

export interface TimedValues {
  atMs: number;
  values: PollutantValues;
}

export interface AveragedConcentrations {
  /** Only pollutants with enough coverage; null when none has. */
  values: PollutantValues | null;
  /** Per pollutant seen, the share of its window covered (0…1), for status and logs. */
  coverage: Partial<Record<Pollutant, number>>;
}

/**
 * The rule's averages at `nowMs` from readings (any order; readings after `nowMs` are
 * ignored). Buckets are aligned on `nowMs`: bucket k covers (now − (k+1)·bucket, now − k·bucket].
 */
export function averageConcentrations(
  readings: Iterable<TimedValues>,
  nowMs: number,
  rule: AveragingRule = EAQI_AVERAGING,
): AveragedConcentrations {
  const slotMs = rule.bucketMs / rule.slotsPerBucket;
  // pollutant → bucket index → { sum, n, slots }
  const acc = new Map<Pollutant, Map<number, { sum: number; n: number; slots: Set<number> }>>();
  for (const r of readings) {
    const age = nowMs - r.atMs;
    if (age < 0) continue;
    const bucket = Math.floor(age / rule.bucketMs);
    const slot = Math.floor((age % rule.bucketMs) / slotMs);
    for (const [pollutant, value] of Object.entries(r.values) as [Pollutant, number | undefined][]) {
      if (value === undefined || bucket >= rule.bucketsByPollutant[pollutant]) continue;
      let buckets = acc.get(pollutant);
      if (!buckets) acc.set(pollutant, (buckets = new Map()));
      let b = buckets.get(bucket);
      if (!b) buckets.set(bucket, (b = { sum: 0, n: 0, slots: new Set() }));
      b.sum += value;
      b.n++;
      b.slots.add(slot);
    }
  }
  const values: PollutantValues = {};
  const coverage: AveragedConcentrations['coverage'] = {};
  const neededSlots = Math.ceil(rule.slotsPerBucket * rule.minCoverage);
  for (const [pollutant, buckets] of acc) {
    const wanted = rule.bucketsByPollutant[pollutant];
    const means: number[] = [];
    let covered = 0;
    for (const b of buckets.values()) {
      covered += b.slots.size;
      if (b.slots.size >= neededSlots) means.push(b.sum / b.n);
    }
    coverage[pollutant] = Math.min(1, covered / (wanted * rule.slotsPerBucket));
    if (means.length >= Math.ceil(wanted * rule.minCoverage)) {
      // Rounded to 0.1 µg/m³, the sensors' resolution: no false precision in documents.
      values[pollutant] = Math.round((means.reduce((a, b) => a + b, 0) / means.length) * 10) / 10;
    }
  }
  return { values: Object.keys(values).length > 0 ? values : null, coverage };
}

/** The longest window of a rule: readings older than this can be dropped. */
export function averagingHorizonMs(rule: AveragingRule = EAQI_AVERAGING): number {
  return rule.bucketMs * Math.max(...Object.values(rule.bucketsByPollutant));
}
