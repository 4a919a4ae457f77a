import type { PanelSummary } from '@airpanel/contract';
import type { LiveEventBus } from './event-bus.js';

/**
 * Publishes a `panel-summary` event when what the fleet view shows of a panel changed. Told
 * which panels may have changed (status reports written, online/offline, acks, a periodic
 * look at the whole fleet), it compares each summary with the last one published and sends
 * only the changed ones, so a periodic pass costs no events when nothing moved.
 */
export class PanelSummaryFeed {
  private readonly published = new Map<string, string>();

  constructor(private readonly o: { bus: LiveEventBus; summaryOf(panelId: string): PanelSummary | null }) {}

  /** Looks at these panels again (after their status rows were written). */
  check(panelIds: Iterable<string>): void {
    for (const panelId of panelIds) {
      const summary = this.o.summaryOf(panelId);
      if (summary) this.offer(summary);
      else this.published.delete(panelId);
    }
  }

  /** Publishes `summary` when it differs from the last one published for its panel. */
  offer(summary: PanelSummary): void {
    const fingerprint = JSON.stringify(summary);
    if (this.published.get(summary.id) === fingerprint) return;
    this.published.set(summary.id, fingerprint);
    this.o.bus.publish({ type: 'panel-summary', panel: summary });
  }

  /** After a full pass over the fleet: forgets panels that no longer exist. */
  retainOnly(panelIds: ReadonlySet<string>): void {
    for (const panelId of this.published.keys()) if (!panelIds.has(panelId)) this.published.delete(panelId);
  }
}
