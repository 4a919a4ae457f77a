import { PANEL_TRANSITIONS_KEPT, PanelTransition, type PanelStateName } from '@airpanel/contract';
import type { Store } from '../db/store.js';

/** What a panel's status row said before a report, or after it. */
export interface ReportedCondition {
  state: PanelStateName | null;
  online: boolean;
}

interface TransitionRow {
  id: number;
  at: string;
  kind: string;
  from_state: string | null;
  to_state: string | null;
  online: number | null;
  reason: string;
}

function transitionFromRow(row: TransitionRow): PanelTransition {
  return PanelTransition.parse(
    row.kind === 'connection'
      ? { kind: 'connection', id: row.id, at: row.at, online: row.online === 1, reason: row.reason }
      : { kind: 'state', id: row.id, at: row.at, from: row.from_state, to: row.to_state, reason: row.reason },
  );
}

/**
 * A panel's state transitions and connection changes (`panel_transitions`), the newest
 * `kept` per panel. The status store tells it each report's before and after; only changes
 * are kept, so a heartbeat, or a status repeating the state-transition event before it, adds nothing.
 */
export class PanelTransitionStore {
  private readonly kept: number;

  constructor(
    private readonly store: Store,
    o: { kept?: number } = {},
  ) {
    this.kept = o.kept ?? PANEL_TRANSITIONS_KEPT;
  }

  /**
   * Appends what changed between `before` (null: no status on record) and `after`, with why
   * the state changed (the panel's words) and how the connection did.
   */
  observe(
    panelId: string,
    before: ReportedCondition | null,
    after: ReportedCondition,
    reasons: { state: string; connection: string },
    atIso: string,
  ): void {
    let appended = false;
    // The connection first: a panel comes online, then says what it shows.
    if (after.online !== (before?.online ?? false)) {
      this.store
        .sql('INSERT INTO panel_transitions (panel_id, at, kind, online, reason) VALUES (?, ?, ?, ?, ?)')
        .run(panelId, atIso, 'connection', after.online ? 1 : 0, reasons.connection);
      appended = true;
    }
    if (after.state !== null && after.state !== (before?.state ?? null)) {
      this.store
        .sql('INSERT INTO panel_transitions (panel_id, at, kind, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)')
        .run(panelId, atIso, 'state', before?.state ?? null, after.state, reasons.state.slice(0, 500));
      appended = true;
    }
    if (appended) this.prune(panelId);
  }

  /** Newest first; `beforeId` pages to older ones. */
  list(panelId: string, limit: number, beforeId?: number): PanelTransition[] {
    const rows = this.store
      .sql('SELECT * FROM panel_transitions WHERE panel_id = ? AND id < ? ORDER BY id DESC LIMIT ?')
      .all(panelId, beforeId ?? Number.MAX_SAFE_INTEGER, limit) as TransitionRow[];
    return rows.map(transitionFromRow);
  }

  private prune(panelId: string): void {
    this.store
      .sql(
        `DELETE FROM panel_transitions WHERE panel_id = ? AND id <= (
          SELECT id FROM panel_transitions WHERE panel_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      )
      .run(panelId, panelId, this.kept);
  }
}
