import type { RandomSource } from './clock.js';

/**
 * Reconnect delays. After a broker restart every panel of the fleet loses its connection at
 * the same instant; without jitter they would all come back in lockstep (a reconnect storm),
 * every retry. "Full jitter" spreads each attempt uniformly over [minMs, ceiling], where the
 * ceiling doubles per attempt up to maxMs.
 */
export interface BackoffPolicy {
  /** Lower bound of every delay, so a flapping link never spins. */
  minMs: number;
  /** Ceiling of the first attempt (attempt 0). */
  baseMs: number;
  /** Ceiling of every attempt. */
  maxMs: number;
}

export const DEFAULT_RECONNECT_BACKOFF: BackoffPolicy = { minMs: 500, baseMs: 2_000, maxMs: 5 * 60_000 };

/** The ceiling for an attempt: baseMs·2^attempt, capped at maxMs (and never below minMs). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 52);
  return Math.max(policy.minMs, Math.min(policy.maxMs, policy.baseMs * 2 ** exponent));
}

/** A delay uniformly drawn in [minMs, ceiling(attempt)]. */
export function jitteredBackoffMs(attempt: number, policy: BackoffPolicy, random: RandomSource): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  const r = Math.min(Math.max(random(), 0), 1);
  return policy.minMs + r * (ceiling - policy.minMs);
}

/**
 * A periodic interval with ± `spread` jitter (0.2 → 80 % to 120 % of the base), so panels
 * that booted together (power restored to a street) do not poll in lockstep.
 */
export function jitteredIntervalMs(baseMs: number, spread: number, random: RandomSource): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return baseMs * (1 - spread + 2 * spread * r);
}
