import { PanelReading, type TimedValues } from '@airpanel/contract';
import type { StoredPanelReading } from '@airpanel/contract/api';
import type { Db } from '../db/database.js';

export type { StoredPanelReading };

/**
 * Raw readings kept per panel: two days of one a minute, the 24-hour PM mean plus a day of
 * history to look at. A fleet's raw readings are the bulk of the database (BENCHMARKS.md).
 */
export const PANEL_READINGS_KEPT = 2 * 24 * 60;

/**
 * The `panel_readings` table (migration 2): every reading a panel sent, once. The reading's
 * own id is the key, so a reading that arrives again (a retry after a lost PUBACK, a queue
 * drained twice) is recognised and not counted again.
 */
export class PanelReadingStore {
  private readonly insertStmt;
  private readonly recentStmt;
  private readonly listStmt;
  private readonly pruneStmt;
  private readonly countStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO panel_readings (reading_id, panel_id, seq, measured_at_ms, received_at_ms, body)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reading_id) DO NOTHING`);
    this.recentStmt = db.prepare(
      'SELECT measured_at_ms, body FROM panel_readings WHERE panel_id = ? AND measured_at_ms > ? AND measured_at_ms <= ?',
    );
    this.listStmt = db.prepare('SELECT body, received_at_ms FROM panel_readings WHERE panel_id = ? AND seq > ? ORDER BY seq LIMIT ?');
    this.pruneStmt = db.prepare(`DELETE FROM panel_readings WHERE panel_id = ? AND seq <= ?`);
    this.countStmt = db.prepare('SELECT COUNT(*) AS n FROM panel_readings WHERE panel_id = ?');
  }

  /** Stores a reading; false when it was recorded before (same id). */
  insert(reading: PanelReading, receivedAtMs: number): boolean {
    const result = this.insertStmt.run(
      reading.id,
      reading.panelId,
      reading.seq,
      Date.parse(reading.measuredAt),
      receivedAtMs,
      JSON.stringify(reading),
    );
    if (result.changes === 0) return false;
    // Pruned by sequence: cheap (index) and exact, and it runs once per PANEL_READINGS_KEPT/8.
    if (reading.seq % Math.ceil(PANEL_READINGS_KEPT / 8) === 0) this.pruneStmt.run(reading.panelId, reading.seq - PANEL_READINGS_KEPT);
    return true;
  }

  /** Values measured in (fromMs, toMs], for the averaging rule. */
  valuesBetween(panelId: string, fromMs: number, toMs: number): TimedValues[] {
    const rows = this.recentStmt.all(panelId, fromMs, toMs) as { measured_at_ms: number; body: string }[];
    return rows.map((r) => ({ atMs: r.measured_at_ms, values: (JSON.parse(r.body) as PanelReading).values }));
  }

  /** In the order the panel took them (seq), after `afterSeq`. */
  list(panelId: string, afterSeq: number, limit: number): StoredPanelReading[] {
    const rows = this.listStmt.all(panelId, afterSeq, limit) as { body: string; received_at_ms: number }[];
    return rows.map((r) => ({ reading: PanelReading.parse(JSON.parse(r.body)), receivedAt: new Date(r.received_at_ms).toISOString() }));
  }

  /** Which of `ids` are recorded for this panel. */
  recorded(panelId: string, ids: readonly string[]): string[] {
    if (ids.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT reading_id FROM panel_readings WHERE panel_id = ? AND reading_id IN (${ids.map(() => '?').join(',')})`)
      .all(panelId, ...ids) as { reading_id: string }[];
    return rows.map((r) => r.reading_id);
  }

  count(panelId: string): number {
    return (this.countStmt.get(panelId) as { n: number }).n;
  }
}
