import type { LevelDefinition, LevelScheme } from '../product/levels.js';
import type { Pollutant, PollutantValues } from '../product/readings.js';

/**
 * What the evaluator remembers between readings of one panel, so that hysteresis works.
 * `pending` is a level the raw readings have pointed at, inside the margin band, since
 * `sinceMs`; it is taken once it held for the scheme's minimum dwell.
 */
export interface LevelState {
  index: number;
  pending: { index: number; sinceMs: number } | null;
}

export interface LevelEvaluation {
  index: number;
  level: LevelDefinition;
  /** The pollutant whose value decides the level (the worst one), null if none evaluable. */
  dominant: Pollutant | null;
  /** The level the values point at without hysteresis. */
  rawIndex: number;
  /** Feed this back as `previous` at the next reading. */
  state: LevelState;
}

/** How many of `breakpoints` (each scaled by `factor`) the value has reached. */
function bandIndex(value: number, breakpoints: readonly number[], factor: number): number {
  let n = 0;
  for (const bp of breakpoints) if (value >= bp * factor) n++;
  return n;
}

interface Bands {
  /** Worst level clearly reached (past a breakpoint by the margin). */
  up: number;
  /** Worst level without hysteresis. */
  raw: number;
  /** Worst level not yet clearly left (within the margin below a breakpoint counts). */
  down: number;
  dominant: Pollutant | null;
}

function bands(scheme: LevelScheme, values: PollutantValues): Bands | null {
  const m = scheme.hysteresis.marginFraction;
  let result: Bands | null = null;
  let dominantRatio = -1;
  for (const [pollutant, value] of Object.entries(values) as [Pollutant, number | undefined][]) {
    const bps = scheme.breakpoints[pollutant];
    if (value === undefined || !bps || bps.length === 0) continue;
    const raw = bandIndex(value, bps, 1);
    const up = bandIndex(value, bps, 1 + m);
    const down = bandIndex(value, bps, 1 - m);
    // The dominant pollutant is the one with the worst band; ties go to the one furthest
    // into its band relative to the first breakpoint, so the choice is stable.
    const ratio = value / bps[0]!;
    if (!result) {
      result = { up, raw, down, dominant: pollutant };
      dominantRatio = ratio;
      continue;
    }
    if (raw > result.raw || (raw === result.raw && ratio > dominantRatio)) {
      result.dominant = pollutant;
      dominantRatio = ratio;
    }
    result.up = Math.max(result.up, up);
    result.raw = Math.max(result.raw, raw);
    result.down = Math.max(result.down, down);
  }
  return result;
}

/**
 * The level a panel should show for `values`, given what it showed before.
 *
 * The worst pollutant decides. Hysteresis keeps a noisy sensor near a breakpoint from
 * flickering a roadside panel: the level moves at once only when a value is past a
 * breakpoint by `marginFraction` of it (worse: value ≥ bp·(1+m); better: every value
 * < bp·(1−m)); inside that band the raw level must hold for `minDwellSeconds` first
 * (so with a zero dwell the raw level is always taken). With no previous state the raw
 * level is taken as is.
 *
 * Returns null when no value has breakpoints in this scheme (nothing to evaluate).
 */
export function evaluateLevel(
  scheme: LevelScheme,
  values: PollutantValues,
  previous: LevelState | null,
  nowMs: number,
): LevelEvaluation | null {
  const b = bands(scheme, values);
  if (!b) return null;
  const maxIndex = scheme.levels.length - 1;
  const clamp = (i: number) => Math.min(Math.max(i, 0), maxIndex);
  const done = (index: number, pending: LevelState['pending']): LevelEvaluation => ({
    index: clamp(index),
    level: scheme.levels[clamp(index)]!,
    dominant: b.dominant,
    rawIndex: clamp(b.raw),
    state: { index: clamp(index), pending },
  });

  // A previous index from another scheme (fewer levels) is clamped, not trusted blindly.
  if (!previous) return done(b.raw, null);
  const current = clamp(previous.index);
  // Where the margin alone takes the panel: a level clearly reached (up) or clearly left
  // (down); otherwise it stays. The dwell rule then applies relative to that target, so a
  // raw level the margin does not confirm is taken only after it held long enough.
  const target = b.up > current ? b.up : b.down < current ? b.down : current;
  if (b.raw === target) return done(target, null);

  const dwellMs = scheme.hysteresis.minDwellSeconds * 1000;
  const pending = previous.pending && previous.pending.index === b.raw ? previous.pending : { index: b.raw, sinceMs: nowMs };
  if (nowMs - pending.sinceMs >= dwellMs) return done(b.raw, null);
  return done(target, pending);
}
