import { Alert, AlertSettingsBody, type AlertKind, type AlertThresholds } from '@airpanel/contract';
import type { Store } from '../db/store.js';

/** Cleared alerts kept (the newest); older ones are deleted as new ones clear. */
export const CLEARED_ALERTS_KEPT = 1_000;

interface AlertRow {
  id: number;
  panel_id: string;
  kind: string;
  since: string;
  raised_at: string;
  cleared_at: string | null;
  detail: string;
}

function toAlert(row: AlertRow): Alert {
  return Alert.parse({
    id: `alert-${row.id}`,
    panelId: row.panel_id,
    kind: row.kind,
    since: row.since,
    raisedAt: row.raised_at,
    clearedAt: row.cleared_at,
    detail: row.detail,
  });
}

/** The settings as stored: the webhook's secret with them (never answered to a reader). */
export interface StoredAlertSettings {
  thresholds: AlertThresholds;
  webhook: { url: string | null; secret: string | null };
}

/**
 * Alerts and their settings in SQLite (`alerts`, `alert_settings`). Alerts are not tied to
 * their panel by a foreign key: an alert outlives a deleted panel in the history.
 */
export class AlertStore {
  constructor(private readonly store: Store) {}

  raise(panelId: string, kind: AlertKind, sinceIso: string, raisedAtIso: string, detail: string): Alert {
    const row = this.store
      .sql('INSERT INTO alerts (panel_id, kind, since, raised_at, cleared_at, detail) VALUES (?, ?, ?, ?, NULL, ?) RETURNING *')
      .get(panelId, kind, sinceIso, raisedAtIso, detail) as AlertRow;
    return toAlert(row);
  }

  clear(alertId: string, clearedAtIso: string, detail: string): Alert | null {
    const id = Number(alertId.slice('alert-'.length));
    const row = this.store
      .sql('UPDATE alerts SET cleared_at = ?, detail = ? WHERE id = ? AND cleared_at IS NULL RETURNING *')
      .get(clearedAtIso, detail, id) as AlertRow | undefined;
    if (!row) return null;
    this.store
      .sql(
        `DELETE FROM alerts WHERE cleared_at IS NOT NULL AND id NOT IN
        (SELECT id FROM alerts WHERE cleared_at IS NOT NULL ORDER BY id DESC LIMIT ${CLEARED_ALERTS_KEPT})`,
      )
      .run();
    return toAlert(row);
  }

  active(): Alert[] {
    return (this.store.sql('SELECT * FROM alerts WHERE cleared_at IS NULL ORDER BY id DESC').all() as AlertRow[]).map(toAlert);
  }

  recentlyCleared(limit: number): Alert[] {
    return (this.store.sql('SELECT * FROM alerts WHERE cleared_at IS NOT NULL ORDER BY id DESC LIMIT ?').all(limit) as AlertRow[]).map(
      toAlert,
    );
  }

  /** The stored settings, or null before an admin saved any. */
  settings(): StoredAlertSettings | null {
    const row = this.store.sql('SELECT body FROM alert_settings WHERE id = 1').get() as { body: string } | undefined;
    if (!row) return null;
    const parsed = AlertSettingsBody.parse(JSON.parse(row.body));
    return { thresholds: parsed.thresholds, webhook: { url: parsed.webhook.url, secret: parsed.webhook.secret ?? null } };
  }

  saveSettings(settings: StoredAlertSettings, updatedAtIso: string): void {
    const body = JSON.stringify(AlertSettingsBody.parse(settings));
    this.store
      .sql(
        'INSERT INTO alert_settings (id, body, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at',
      )
      .run(body, updatedAtIso);
  }
}
