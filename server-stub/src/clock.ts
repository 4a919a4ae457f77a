/** Wall-clock time in epoch milliseconds; injected so tests can drive time without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
