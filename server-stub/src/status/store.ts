import { LastStart, PanelSensorReport, type PanelStatus, type StatusMessage } from '@airpanel/contract';
import type { Store } from '../db/store.js';
import type { PanelTransitionStore, ReportedCondition } from './transitions.js';

export interface StatusRow {
  online: boolean;
  lastSeenAt: string | null;
  httpSeenAt: string | null;
  state: PanelStatus['state'] | null;
  firmwareVersion: string | null;
  displayedRevision: number | null;
  lastError: string | null;
  ownSensor: PanelSensorReport | null;
  lastStart: LastStart | null;
}

/** What a summary shows of the last full status body: its parts that validate (older panels lack some). */
function partsOfBody(body: string | null): { ownSensor: PanelSensorReport | null; lastStart: LastStart | null } {
  if (!body) return { ownSensor: null, lastStart: null };
  const parsed = JSON.parse(body) as { sensor?: unknown; lastStart?: unknown };
  const sensor = PanelSensorReport.safeParse(parsed.sensor);
  const lastStart = LastStart.safeParse(parsed.lastStart);
  return { ownSensor: sensor.success ? sensor.data : null, lastStart: lastStart.success ? lastStart.data : null };
}

function statusFromRow(row: Record<string, unknown>): StatusRow {
  return {
    online: row.online === 1,
    lastSeenAt: (row.last_seen_at as string | null) ?? null,
    httpSeenAt: (row.http_seen_at as string | null) ?? null,
    state: (row.state as StatusRow['state']) ?? null,
    firmwareVersion: (row.firmware_version as string | null) ?? null,
    displayedRevision: (row.displayed_revision as number | null) ?? null,
    lastError: (row.last_error as string | null) ?? null,
    ...partsOfBody(row.status_body as string | null),
  };
}

/**
 * What each panel last reported (`panel_status`): its status, state, and last HTTP poll.
 * Each report's change of state or connection is handed to the transition store.
 */
export class StatusStore {
  constructor(
    private readonly store: Store,
    private readonly transitions: PanelTransitionStore,
  ) {}

  private condition(panelId: string): ReportedCondition | null {
    const row = this.store.sql('SELECT state, online FROM panel_status WHERE panel_id = ?').get(panelId) as
      { state: PanelStatus['state'] | null; online: number } | undefined;
    return row ? { state: row.state, online: row.online === 1 } : null;
  }

  get(panelId: string): StatusRow | null {
    const row = this.store.sql('SELECT * FROM panel_status WHERE panel_id = ?').get(panelId) as Record<string, unknown> | undefined;
    return row ? statusFromRow(row) : null;
  }

  list(): Map<string, StatusRow> {
    const rows = this.store.sql('SELECT * FROM panel_status').all() as Record<string, unknown>[];
    return new Map(rows.map((r) => [r.panel_id as string, statusFromRow(r)]));
  }

  listUpdateReports(): { panelId: string; firmwareVersion: string | null; update: unknown }[] {
    const rows = this.store.sql('SELECT panel_id, firmware_version, status_body FROM panel_status ORDER BY panel_id').all() as {
      panel_id: string;
      firmware_version: string | null;
      status_body: string | null;
    }[];
    return rows.map((r) => ({
      panelId: r.panel_id,
      firmwareVersion: r.firmware_version,
      update: r.status_body ? ((JSON.parse(r.status_body) as { update?: unknown }).update ?? null) : null,
    }));
  }

  /** Records what a panel reported on its status topic (a full status or its last will). */
  recordStatus(panelId: string, message: StatusMessage, receivedAtIso: string): void {
    const before = this.condition(panelId);
    if ('firmwareVersion' in message) {
      this.store
        .sql(
          `INSERT INTO panel_status (panel_id, online, last_seen_at, state, firmware_version, displayed_revision, last_error, status_body)
        VALUES (@panelId, @online, @seen, @state, @firmware, @displayed, @lastError, @body)
        ON CONFLICT (panel_id) DO UPDATE SET online = excluded.online, last_seen_at = excluded.last_seen_at, state = excluded.state,
          firmware_version = excluded.firmware_version, displayed_revision = excluded.displayed_revision,
          last_error = excluded.last_error, status_body = excluded.status_body`,
        )
        .run({
          panelId,
          online: message.online ? 1 : 0,
          seen: receivedAtIso,
          state: message.state,
          firmware: message.firmwareVersion,
          displayed: message.displayedRevision,
          lastError: message.lastError,
          body: JSON.stringify(message),
        });
      const connection = message.online ? 'reported online' : 'reported offline';
      this.transitions.observe(
        panelId,
        before,
        { state: message.state, online: message.online },
        { state: message.stateReason, connection },
        receivedAtIso,
      );
    } else {
      // The last will says only "offline"; what the panel said before stays on record.
      this.store
        .sql(
          `INSERT INTO panel_status (panel_id, online) VALUES (?, 0)
        ON CONFLICT (panel_id) DO UPDATE SET online = 0`,
        )
        .run(panelId);
      const after = { state: before?.state ?? null, online: false };
      this.transitions.observe(panelId, before, after, { state: '', connection: 'went offline (last will)' }, receivedAtIso);
    }
  }

  recordStateTransition(panelId: string, state: PanelStatus['state'], reason: string, atIso: string): void {
    const before = this.condition(panelId);
    this.store
      .sql(
        `INSERT INTO panel_status (panel_id, online, last_seen_at, state) VALUES (?, 1, ?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET state = excluded.state, last_seen_at = excluded.last_seen_at`,
      )
      .run(panelId, atIso, state);
    this.transitions.observe(
      panelId,
      before,
      { state, online: before?.online ?? true },
      { state: reason, connection: 'reported online' },
      atIso,
    );
  }

  recordHttpSeen(panelId: string, atIso: string): void {
    this.store
      .sql(
        `INSERT INTO panel_status (panel_id, online, http_seen_at) VALUES (?, 0, ?)
      ON CONFLICT (panel_id) DO UPDATE SET http_seen_at = excluded.http_seen_at`,
      )
      .run(panelId, atIso);
  }

  /** After a restart nobody is connected until it says so again. */
  markAllOffline(): void {
    this.store.sql('UPDATE panel_status SET online = 0').run();
  }
}
