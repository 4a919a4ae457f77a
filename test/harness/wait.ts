// Waiting: one poll loop for conditions (sync or async), one sleep, one free-port helper.
import { freePort } from '@airpanel/backend/mqtt/test-support/mosquitto-process';

export { freePort };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Pause between checks; default 25 ms. */
  intervalMs?: number;
  /** Appended to the timeout error (e.g. the states seen so far). */
  detail?: () => string;
}

/**
 * Resolves with the first truthy value `check` returns (it may be async); rejects naming
 * `what` after the timeout.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  o: WaitOptions = {},
): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${o.detail ? `; ${o.detail()}` : ''}`);
    await sleep(o.intervalMs ?? 25);
  }
}
