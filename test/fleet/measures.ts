// Measures of a fleet run: latency percentiles, the counts line, and the tools' shared flags.
import type { BrokerAccounts, FleetProcessCounts } from './protocol.js';

export interface FleetCounts extends Omit<FleetProcessCounts, 'lastErrors' | 'loopLagMs'> {
  lastErrors: string[];
  /** Max event-loop lag over the fleet processes. */
  loopLagMs: number;
  processes: number;
}
/**
 * The `--mosquitto-accounts` flag of the fleet tools: `dynsec`, `seeded`, or `auto` (seeded
 * above 2,000 panels, where creating accounts one by one through dynsec takes minutes).
 */
export function brokerAccountsFromFlag(flag: string, panels: number): BrokerAccounts {
  if (flag === 'dynsec' || flag === 'seeded') return flag;
  if (flag === 'auto') return panels > 2_000 ? 'seeded' : 'dynsec';
  throw new Error(`--mosquitto-accounts: dynsec, seeded or auto, not "${flag}"`);
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  });
  await Promise.all(runners);
}

/** p-th percentile (nearest rank) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface LatencySummary {
  count: number;
  missing: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(times: readonly (number | null)[], t0: number): LatencySummary {
  const ms = times
    .filter((t): t is number => t !== null)
    .map((t) => t - t0)
    .sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    count: ms.length,
    missing: times.length - ms.length,
    p50: r(percentile(ms, 50)),
    p95: r(percentile(ms, 95)),
    p99: r(percentile(ms, 99)),
    max: r(ms[ms.length - 1] ?? Number.NaN),
  };
}
export function formatCounts(c: FleetCounts, total = c.panels): string {
  const st = (k: string) => c.states[k] ?? 0;
  // Revisions come from one backend-wide counter: each panel's differs. Show the spread.
  const nums = Object.keys(c.revisions)
    .filter((r) => r !== 'none')
    .map(Number);
  const none = c.revisions['none'] ?? 0;
  const revText =
    nums.length === 0 ? `none yet` : `${nums.length} distinct, ${Math.min(...nums)}–${Math.max(...nums)}${none ? `, ${none} without` : ''}`;
  return [
    `connected ${c.mqttConnected}/${total}`,
    `live ${st('live')} stale ${st('stale')} maintenance ${st('maintenance')} booting ${st('booting') + st('showing-cached') + st('not-started')}`,
    `revisions ${revText}`,
    `errors ${c.errors} warnings ${c.warnings}`,
    `fleet RSS ${mib(c.rssBytes)} lag ${c.loopLagMs} ms`,
  ].join(' | ');
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
