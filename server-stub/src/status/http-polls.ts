import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import type { StatusStore } from './store.js';

/**
 * The last HTTP poll of each panel: a panel fetching its document is alive, whatever MQTT
 * says. Kept in memory on the display route's hot path, flushed to the database periodically.
 */
export class HttpPollTracker {
  private readonly seen = new Map<string, number>();
  private readonly dirty = new Set<string>();

  constructor(private readonly o: { store: Store; status: StatusStore; clock: Clock; panelExists(panelId: string): boolean }) {}

  note(panelId: string): void {
    this.seen.set(panelId, this.o.clock.now());
    this.dirty.add(panelId);
  }

  /** When the panel last polled since this backend started, if it did. */
  lastMs(panelId: string): number | undefined {
    return this.seen.get(panelId);
  }

  forget(panelId: string): void {
    this.seen.delete(panelId);
    this.dirty.delete(panelId);
  }

  flush(): void {
    if (this.dirty.size === 0) return;
    const dirty = [...this.dirty];
    this.dirty.clear();
    this.o.store.transaction(() => {
      for (const panelId of dirty) {
        const at = this.seen.get(panelId);
        if (at !== undefined && this.o.panelExists(panelId)) this.o.status.recordHttpSeen(panelId, new Date(at).toISOString());
      }
    });
  }
}
