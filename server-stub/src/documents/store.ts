import type { LevelState } from '@airpanel/contract';
import type { Store } from '../db/store.js';
import type { EncodedDisplayDocument } from './draft.js';

export interface StoredDocument {
  /** The stored JSON, parsed but not checked: the one reader (the issuer's start) checks it. */
  document: unknown;
  fingerprint: string;
}

/** Each panel's current document with its draft's fingerprint, and its hysteresis memory. */
export class DocumentStore {
  constructor(private readonly store: Store) {}

  getLevelState(panelId: string): LevelState | null {
    const row = this.store.sql('SELECT state FROM level_states WHERE panel_id = ?').get(panelId) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as LevelState) : null;
  }

  putLevelState(panelId: string, state: LevelState): void {
    this.store
      .sql(
        `INSERT INTO level_states (panel_id, state) VALUES (?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET state = excluded.state`,
      )
      .run(panelId, JSON.stringify(state));
  }

  deleteLevelState(panelId: string): void {
    this.store.sql('DELETE FROM level_states WHERE panel_id = ?').run(panelId);
  }

  list(): StoredDocument[] {
    const rows = this.store.sql('SELECT body, fingerprint FROM display_documents ORDER BY panel_id').all() as {
      body: string;
      fingerprint: string;
    }[];
    return rows.map((r) => ({ document: JSON.parse(r.body) as unknown, fingerprint: r.fingerprint }));
  }

  put({ document, json }: EncodedDisplayDocument, fingerprint: string): void {
    this.store
      .sql(
        `INSERT INTO display_documents (panel_id, revision, fingerprint, body) VALUES (?, ?, ?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET revision = excluded.revision, fingerprint = excluded.fingerprint, body = excluded.body`,
      )
      .run(document.panelId, document.revision, fingerprint, json);
  }
}
