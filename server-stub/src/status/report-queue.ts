import type { Store } from '../db/store.js';
import type { Logger } from '../logger.js';

/**
 * What panels report is written in order, in one transaction per event-loop turn: a fleet
 * reporting its new revision at once would otherwise cost one commit per panel (10,000 after
 * a fleet-wide edit). Every read of those rows flushes first, so nothing reads stale data.
 * A write for a panel deleted in the meantime is dropped.
 */
export class PanelReportQueue {
  private readonly writes: { panelId: string; write: () => void }[] = [];
  private scheduled = false;
  /** Told which panels' rows a flush wrote (the live event stream's panel summaries). */
  afterFlush: ((panelIds: ReadonlySet<string>) => void) | null = null;

  constructor(private readonly o: { store: Store; logger: Logger; isKnownPanel(panelId: string): boolean }) {}

  queue(panelId: string, write: () => void): void {
    this.writes.push({ panelId, write });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.writes.length === 0) return;
    const writes = this.writes.splice(0);
    let written = false;
    try {
      this.o.store.transaction(() => {
        for (const { panelId, write } of writes) {
          if (!this.o.isKnownPanel(panelId)) continue;
          try {
            write();
          } catch (error) {
            // One bad record must not lose the others of the batch.
            this.o.logger.error('recording a panel message failed', { panelId, error: (error as Error).message });
          }
        }
      });
      written = true;
    } catch (error) {
      // Runs from setImmediate: a throw here would end the process. The database is gone
      // (a report that arrived while the backend was shutting down) or failing as a whole.
      this.o.logger.error('recording panel messages failed', { count: writes.length, error: (error as Error).message });
    }
    if (written && this.afterFlush) {
      try {
        this.afterFlush(new Set(writes.map((w) => w.panelId)));
      } catch (error) {
        this.o.logger.error('after-flush listener failed', { error: (error as Error).message });
      }
    }
  }
}
