import { Panel } from '@airpanel/contract';
import type { Store } from '../db/store.js';

export interface PanelRow {
  panel: Panel;
  keyHash: Buffer;
}

/** The columns by which panels refer to the definitions they use. */
export type PanelReference = 'sensor_source_id' | 'content_set_id' | 'level_scheme_id';

function panelFromRow(row: { body: string; key_hash: Buffer }): PanelRow {
  return { panel: Panel.parse(JSON.parse(row.body)), keyHash: row.key_hash };
}

/** The `panels` table: each panel's definition, its references and its key's digest. */
export class PanelStore {
  constructor(private readonly store: Store) {}

  list(): PanelRow[] {
    const rows = this.store.sql('SELECT body, key_hash FROM panels ORDER BY id').all() as { body: string; key_hash: Buffer }[];
    return rows.map(panelFromRow);
  }

  get(id: string): PanelRow | null {
    const row = this.store.sql('SELECT body, key_hash FROM panels WHERE id = ?').get(id) as { body: string; key_hash: Buffer } | undefined;
    return row ? panelFromRow(row) : null;
  }

  exists(id: string): boolean {
    return this.store.sql('SELECT 1 FROM panels WHERE id = ?').get(id) !== undefined;
  }

  insert(panel: Panel, keyHash: Buffer): void {
    this.store
      .sql(
        `INSERT INTO panels (id, body, sensor_source_id, content_set_id, level_scheme_id, key_hash, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(panel.id, JSON.stringify(panel), panel.sensorSourceId, panel.contentSetId, panel.levelSchemeId, keyHash, panel.createdAt);
  }

  update(panel: Panel): void {
    this.store
      .sql(`UPDATE panels SET body = ?, sensor_source_id = ?, content_set_id = ?, level_scheme_id = ? WHERE id = ?`)
      .run(JSON.stringify(panel), panel.sensorSourceId, panel.contentSetId, panel.levelSchemeId, panel.id);
  }

  setKeyHash(id: string, keyHash: Buffer): void {
    this.store.sql('UPDATE panels SET key_hash = ? WHERE id = ?').run(keyHash, id);
  }

  delete(id: string): boolean {
    return this.store.sql('DELETE FROM panels WHERE id = ?').run(id).changes > 0;
  }

  idsUsing(column: PanelReference, id: string): string[] {
    const rows = this.store.sql(`SELECT id FROM panels WHERE ${column} = ? ORDER BY id`).all(id) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
