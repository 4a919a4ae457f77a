import type { Reading, SensorSource } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ProviderRegistry } from './providers.js';

export interface RefreshLoopOptions {
  clock: Clock;
  logger: Logger;
  providers: ProviderRegistry;
  /** The sources to keep fresh (read at every tick, so edits apply at once). */
  listSources: () => SensorSource[];
  /** A new reading arrived for a source. */
  onReading: (sourceId: string, reading: Reading) => void | Promise<void>;
  /** A source failed (for metrics). */
  onFailure?: (source: SensorSource, error: Error) => void;
  /** Lag of the most overdue source at each tick, in seconds (for metrics). */
  onLag?: (lagSeconds: number) => void;
  refreshIntervalSeconds: number;
  /** At most this many fetches run at once, so a large fleet cannot flood vendors or sockets. */
  concurrency?: number;
  /** How often the loop looks for due sources. */
  tickMs?: number;
  /** Backoff after a failure: first delay, doubled per consecutive failure, capped. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface SourceHealth {
  sourceId: string;
  nextDueMs: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastSuccessMs: number | null;
}

/**
 * Keeps polled sensor sources fresh: a source is fetched when its data is older than the
 * refresh interval. Fetches run on a bounded worker pool; a failing source is logged and
 * retried with exponential backoff on its own schedule, and never holds up the others
 * (a slow one occupies one worker at most, for at most its own timeout).
 */
export class RefreshLoop {
  private readonly health = new Map<string, SourceHealth>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private readonly intervalMs: number;
  private readonly concurrency: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(private readonly options: RefreshLoopOptions) {
    this.intervalMs = options.refreshIntervalSeconds * 1000;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.backoffBaseMs = options.backoffBaseMs ?? Math.min(5_000, this.intervalMs);
    this.backoffMaxMs = Math.max(options.backoffMaxMs ?? Math.min(3_600_000, 10 * this.intervalMs), this.backoffBaseMs);
  }

  start(): void {
    if (this.timer || this.abort.signal.aborted) return;
    const tickMs = this.options.tickMs ?? Math.min(1_000, this.intervalMs);
    // The timer only queues due sources; it never waits for the pool, so a busy pool
    // cannot pile up waiters.
    this.timer = setInterval(() => this.enqueueDue(), tickMs);
    this.timer.unref();
    this.enqueueDue();
  }

  /** Stops scheduling and aborts fetches in flight; an aborted poll is simply redone at the next start. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queued.clear();
    this.abort.abort();
    await this.whenIdle();
  }

  /** Forget a source's schedule (edited or deleted): it is fetched again at the next tick. */
  invalidate(sourceId: string): void {
    this.health.delete(sourceId);
  }

  healthOf(sourceId: string): SourceHealth | null {
    return this.health.get(sourceId) ?? null;
  }

  /** Queues every due source and resolves when the queue has drained (tests call this directly). */
  async runOnce(): Promise<void> {
    this.enqueueDue();
    await this.whenIdle();
  }

  private enqueueDue(): void {
    if (this.abort.signal.aborted) return;
    const now = this.options.clock.now();
    let sources: SensorSource[];
    try {
      sources = this.options.listSources().filter((s) => this.options.providers[s.spec.kind].polled);
    } catch (error) {
      this.options.logger.error('refresh: cannot list sensor sources', { error: (error as Error).message });
      return;
    }
    const known = new Set(sources.map((s) => s.id));
    for (const id of this.health.keys()) if (!known.has(id)) this.health.delete(id);
    let oldestDue = now;
    for (const source of sources) {
      const due = this.health.get(source.id)?.nextDueMs ?? now;
      if (due > now) continue;
      // Sources still waiting for a worker count too: that wait is the lag.
      oldestDue = Math.min(oldestDue, due);
      if (this.queued.has(source.id)) continue;
      this.queued.add(source.id);
      this.queue.push(source.id);
    }
    this.options.onLag?.((now - oldestDue) / 1000);
    this.pump(sources);
  }

  private pump(sources: SensorSource[]): void {
    const byId = new Map(sources.map((s) => [s.id, s]));
    while (this.active < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const source = byId.get(id) ?? this.options.listSources().find((s) => s.id === id);
      if (!source) {
        this.queued.delete(id);
        continue;
      }
      this.active++;
      void this.fetchOne(source).finally(() => {
        this.active--;
        this.queued.delete(id);
        this.pump(sources);
        if (this.active === 0 && this.queue.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  private whenIdle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async fetchOne(source: SensorSource): Promise<void> {
    const { clock, logger } = this.options;
    const previous = this.health.get(source.id);
    try {
      const reading = await this.options.providers[source.spec.kind].fetch(source, this.abort.signal);
      if (this.abort.signal.aborted) return;
      this.health.set(source.id, {
        sourceId: source.id,
        nextDueMs: clock.now() + this.intervalMs,
        consecutiveFailures: 0,
        lastError: null,
        lastSuccessMs: clock.now(),
      });
      if (previous && previous.consecutiveFailures > 0)
        logger.info('refresh: sensor source recovered', { sourceId: source.id, failures: previous.consecutiveFailures });
      try {
        await this.options.onReading(source.id, reading);
      } catch (error) {
        // Recording is the backend's failure, not the vendor's: no backoff for the source.
        logger.error('refresh: could not record a reading', { sourceId: source.id, error: (error as Error).message });
      }
    } catch (error) {
      if (this.abort.signal.aborted) return;
      const failures = (previous?.consecutiveFailures ?? 0) + 1;
      const delay = Math.min(this.backoffBaseMs * 2 ** (failures - 1), this.backoffMaxMs);
      const message = (error as Error).message;
      this.health.set(source.id, {
        sourceId: source.id,
        nextDueMs: clock.now() + delay,
        consecutiveFailures: failures,
        lastError: message,
        lastSuccessMs: previous?.lastSuccessMs ?? null,
      });
      logger.warn('refresh: sensor source failed', { sourceId: source.id, failures, retryInMs: delay, error: message });
      this.options.onFailure?.(source, error as Error);
    }
  }
}
