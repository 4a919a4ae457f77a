import type { PanelSummary } from '@airpanel/contract';
import type { LiveEventBus } from './event-bus.js';

/**
 * Publishes a `panel-summary` event when what the fleet view shows of a panel changed, and
 * keeps the latest summary of every panel it was told of (what the alert evaluator reads
 * between full passes over the fleet). Told which panels may have changed (status reports
 * written, online/offline, acks, audited edits) or handed the whole fleet now and then, it
 * compares each summary with the last one published and sends only the changed ones.
 */
export class PanelSummaryFeed {
  private readonly latest = new Map<string, { summary: PanelSummary; fingerprint: string }>();

  constructor(private readonly o: { bus: LiveEventBus; summaryOf(panelId: string): PanelSummary | null }) {}

  /** Looks at these panels again (after their status rows were written, or they were edited). */
  check(panelIds: Iterable<string>): void {
    for (const panelId of panelIds) {
      const summary = this.o.summaryOf(panelId);
      if (summary) this.offer(summary);
      else this.latest.delete(panelId);
    }
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
      this.offer(summary);
    }
    for (const panelId of this.latest.keys()) if (!ids.has(panelId)) this.latest.delete(panelId);
  }

  /** The latest summary of every panel known. */
  summaries(): PanelSummary[] {
    return Array.from(this.latest.values(), (entry) => entry.summary);
  }
}
