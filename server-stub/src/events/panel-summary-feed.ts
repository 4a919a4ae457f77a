import type { PanelSummary } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { LiveEventBus } from './event-bus.js';

/** Runs `work` after `ms` (0: after the I/O already waiting); returns the cancel. */
export type Schedule = (work: () => void, ms: number) => () => void;

/** Real timers that never keep the process alive. */
export const realSchedule: Schedule = (work, ms) => {
  if (ms <= 0) {
    const handle = setImmediate(work);
    handle.unref();
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(work, ms);
  handle.unref();
  return () => clearTimeout(handle);
};

export interface PanelSummaryFeedOptions {
  bus: LiveEventBus;
  summaryOf(panelId: string): PanelSummary | null;
  clock: Clock;
  logger: Logger;
  schedule?: Schedule;
  /** `checkSoon` waits for this long without new reports… */
  quietMs?: number;
  /** …but never longer than this after the first report it holds. */
  maxDelayMs?: number;
  /** Summaries read per event-loop turn while catching up. */
  sliceSize?: number;
}

export const SUMMARY_FEED_DEFAULTS = { quietMs: 250, maxDelayMs: 5_000, sliceSize: 200 } as const;

/**
 * Publishes a `panel-summary` event when what the fleet view shows of a panel changed, and
 * keeps the latest summary of every panel it was told of (what the alert evaluator reads
 * between full passes over the fleet). Told which panels may have changed (status reports
 * written, online/offline, acks, audited edits) or handed the whole fleet now and then, it
 * compares each summary with the last one published and sends only the changed ones.
 *
 * Status reports come in bursts: a fleet-wide edit makes every panel report its new revision
 * within seconds, while the backend is busy delivering that edit. Reading a summary costs
 * ~50 µs (two SQLite rows, JSON, the contract's check), 0.5 s for 10,000 panels, which
 * would lengthen the delivery itself; so what reports change is read once the burst is
 * over (`quietMs` without a report, at most `maxDelayMs` late), each panel once however
 * often it reported, a slice per event-loop turn. Operators' edits are read at once (`check`).
 */
export class PanelSummaryFeed {
  private readonly latest = new Map<string, { summary: PanelSummary; fingerprint: string }>();
  /** Panels reported since the last catch-up, in the order first reported. */
  private readonly pending = new Set<string>();
  private firstPendingAtMs: number | null = null;
  private cancelWait: (() => void) | null = null;
  private catchingUp = false;
  private closed = false;
  private readonly schedule: Schedule;
  private readonly timing: { quietMs: number; maxDelayMs: number; sliceSize: number };

  constructor(private readonly o: PanelSummaryFeedOptions) {
    this.schedule = o.schedule ?? realSchedule;
    this.timing = {
      quietMs: o.quietMs ?? SUMMARY_FEED_DEFAULTS.quietMs,
      maxDelayMs: o.maxDelayMs ?? SUMMARY_FEED_DEFAULTS.maxDelayMs,
      sliceSize: Math.max(1, o.sliceSize ?? SUMMARY_FEED_DEFAULTS.sliceSize),
    };
  }

  /** Looks at these panels again now (they were edited, or their online window passed). */
  check(panelIds: Iterable<string>): void {
    for (const panelId of panelIds) {
      this.pending.delete(panelId);
      this.read(panelId);
    }
  }

  /** Looks at these panels again once their reports have quietened down (see the class). */
  checkSoon(panelIds: Iterable<string>): void {
    if (this.closed) return;
    for (const panelId of panelIds) this.pending.add(panelId);
    if (this.pending.size === 0 || this.catchingUp) return;
    const now = this.o.clock.now();
    this.firstPendingAtMs ??= now;
    const waitMs = Math.max(0, Math.min(this.timing.quietMs, this.firstPendingAtMs + this.timing.maxDelayMs - now));
    this.cancelWait?.();
    this.cancelWait = this.schedule(() => {
      this.cancelWait = null;
      this.catchUp();
    }, waitMs);
  }

  /** Panels reported and not read yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Reads every pending panel now, in this turn. */
  flushPending(): void {
    this.cancelWait?.();
    this.cancelWait = null;
    this.catchingUp = false;
    this.firstPendingAtMs = null;
    this.check([...this.pending]);
  }

  /** Publishes `summary` when it differs from the last one published for its panel. */
  offer(summary: PanelSummary): void {
    const fingerprint = JSON.stringify(summary);
    if (this.latest.get(summary.id)?.fingerprint === fingerprint) return;
    this.latest.set(summary.id, { summary, fingerprint });
    this.o.bus.publish({ type: 'panel-summary', panel: summary });
  }

  /** The whole fleet as it is now: every summary offered, panels that are gone forgotten. */
  replaceAll(fleet: readonly PanelSummary[]): void {
    const ids = new Set<string>();
    for (const summary of fleet) {
      ids.add(summary.id);
      this.pending.delete(summary.id);
      this.offer(summary);
    }
    for (const panelId of this.latest.keys()) if (!ids.has(panelId)) this.latest.delete(panelId);
  }

  /** The latest summary of every panel known. */
  summaries(): PanelSummary[] {
    return Array.from(this.latest.values(), (entry) => entry.summary);
  }

  /** Stops waiting; what is pending is not read. */
  close(): void {
    this.closed = true;
    this.cancelWait?.();
    this.cancelWait = null;
    this.pending.clear();
  }

  private read(panelId: string): void {
    const summary = this.o.summaryOf(panelId);
    if (summary) this.offer(summary);
    else this.latest.delete(panelId);
  }

  /** One slice of the pending panels, then the next slice after the I/O waiting meanwhile. */
  private catchUp(): void {
    if (this.closed) return;
    this.catchingUp = true;
    let left = this.timing.sliceSize;
    for (const panelId of this.pending) {
      if (left-- === 0) break;
      this.pending.delete(panelId);
      try {
        this.read(panelId);
      } catch (error) {
        // Runs from a timer: a throw here would end the process (the database closing under it).
        this.o.logger.error('reading a panel summary failed', { panelId, error: (error as Error).message });
      }
    }
    if (this.pending.size > 0) {
      this.cancelWait = this.schedule(() => {
        this.cancelWait = null;
        this.catchUp();
      }, 0);
      return;
    }
    this.catchingUp = false;
    this.firstPendingAtMs = null;
  }
}
