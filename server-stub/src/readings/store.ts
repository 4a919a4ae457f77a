import { Reading } from '@airpanel/contract';
import type { Store } from '../db/store.js';

/** Readings kept per sensor source; older ones are pruned (the level needs only the latest). */
export const READINGS_KEPT_PER_SOURCE = 500;

/** The readings of each sensor source. */
export class ReadingStore {
  constructor(private readonly store: Store) {}

  /** Stores a reading (replacing one of the same source and time); true if it is now the latest. */
  put(sourceId: string, reading: Reading): boolean {
    const measuredAtMs = Date.parse(reading.measuredAt);
    this.store
      .sql(
        `INSERT INTO readings (source_id, measured_at_ms, body) VALUES (?, ?, ?)
      ON CONFLICT (source_id, measured_at_ms) DO UPDATE SET body = excluded.body`,
      )
      .run(sourceId, measuredAtMs, JSON.stringify(reading));
    this.store
      .sql(
        `DELETE FROM readings WHERE source_id = ? AND id NOT IN
      (SELECT id FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT ${READINGS_KEPT_PER_SOURCE})`,
      )
      .run(sourceId, sourceId);
    const latest = this.store.sql('SELECT MAX(measured_at_ms) AS t FROM readings WHERE source_id = ?').get(sourceId) as { t: number };
    return latest.t === measuredAtMs;
  }

  latest(sourceId: string): Reading | null {
    const row = this.store.sql('SELECT body FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT 1').get(sourceId) as
      { body: string } | undefined;
    return row ? Reading.parse(JSON.parse(row.body)) : null;
  }

  list(sourceId: string, limit: number): Reading[] {
    const rows = this.store
      .sql('SELECT body FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT ?')
      .all(sourceId, limit) as { body: string }[];
    return rows.map((r) => Reading.parse(JSON.parse(r.body)));
  }
}
