/**
 * Time, injected. Two clocks on purpose: the wall clock (epoch ms) only labels things for
 * humans and the backend (`sentAt`, `since`, command expiry); the monotonic clock (ms from an
 * arbitrary origin) decides freshness, so an NTP step or an RTC reset cannot flip a panel
 * between live and stale.
 */
export interface WallClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface MonotonicClock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
}

export const systemWallClock: WallClock = { now: () => Date.now() };

export const systemMonotonicClock: MonotonicClock = { now: () => performance.now() };

/** Opaque handle of a scheduled callback. */
export type TimerHandle = object;

/**
 * Where the core schedules its timers. The default unrefs them so an idle core (or a fleet of
 * thousands in one process) never keeps Node alive on its own.
 */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const unrefScheduler: Scheduler = {
  setTimeout(callback, delayMs) {
    const t = setTimeout(callback, Math.max(0, delayMs));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A uniform random number in [0, 1); injected so jitter is reproducible in tests. */
export type RandomSource = () => number;
