import type { PanelSummary } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { PanelSummaryFeed } from '../events/panel-summary-feed.js';

/**
 * The periodic passes behind alerts and the fleet's live summaries. Reading every panel's
 * summary (PanelService.list) took 0.14–0.25 ms per panel on the shared 2-core machines
 * (benchmark `alert-evaluation`: 1.4–2 s for 10,000 panels), so it is done every `fleetRefreshMs`
 * only; in between, the evaluator reads the summaries the feed keeps, which status reports,
 * online/offline and audited edits update as they happen. The full read catches what changes
 * with time alone (an HTTP poll growing old) and documents reissued to panels that did not
 * answer (lagging): those are seen up to `fleetRefreshMs` late, except a panel online only by
 * its HTTP polls: it is read again as soon as its last sighting is older than the online
 * window (then at most once per window while nothing changes).
 */
export class FleetWatch {
  private lastFullMs = -Infinity;
  /** Panel → when it was last read again because its online window had passed. */
  private readonly rechecked = new Map<string, number>();

  constructor(
    private readonly o: {
      clock: Clock;
      feed: PanelSummaryFeed;
      listPanels(): PanelSummary[];
      evaluate(fleet: readonly PanelSummary[]): void;
      fleetRefreshMs: number;
      /** A panel seen by HTTP only is online for this long after its last poll. */
      onlineWindowMs: number;
    },
  ) {}

  /** One periodic pass: the whole fleet when due, then the evaluation. */
  tick(): void {
    const now = this.o.clock.now();
    if (now - this.lastFullMs >= this.o.fleetRefreshMs || now < this.lastFullMs) this.refresh();
    else this.recheckExpiredWindows(now);
    this.o.evaluate(this.o.feed.summaries());
  }

  /** Reads the whole fleet and evaluates now. */
  now(): void {
    this.refresh();
    this.o.evaluate(this.o.feed.summaries());
  }

  private refresh(): void {
    this.lastFullMs = this.o.clock.now();
    this.rechecked.clear();
    this.o.feed.replaceAll(this.o.listPanels());
  }

  private recheckExpiredWindows(now: number): void {
    const window = this.o.onlineWindowMs;
    const due: string[] = [];
    for (const summary of this.o.feed.summaries()) {
      if (!summary.online || summary.lastSeenAt === null || now < Date.parse(summary.lastSeenAt) + window) continue;
      if (now < (this.rechecked.get(summary.id) ?? -Infinity) + window) continue;
      this.rechecked.set(summary.id, now);
      due.push(summary.id);
    }
    if (due.length > 0) this.o.feed.check(due);
  }
}
