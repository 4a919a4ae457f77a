import type { Store } from '../db/store.js';

/** The tables of the definitions panels refer to, all of one shape: id, JSON body, updated_at. */
export type DefinitionTable = 'level_schemes' | 'content_sets' | 'sensor_sources';

/**
 * One definition table. Bodies are validated with the contract schema when read back, so a
 * hand-edited or corrupt row fails loudly instead of reaching a panel.
 */
export class DefinitionStore<T extends { id: string }> {
  constructor(
    private readonly store: Store,
    private readonly table: DefinitionTable,
    private readonly parse: (json: unknown) => T,
  ) {}

  list(): T[] {
    const rows = this.store.sql(`SELECT body FROM ${this.table} ORDER BY id`).all() as { body: string }[];
    return rows.map((r) => this.parse(JSON.parse(r.body)));
  }

  get(id: string): T | null {
    const row = this.store.sql(`SELECT body FROM ${this.table} WHERE id = ?`).get(id) as { body: string } | undefined;
    return row ? this.parse(JSON.parse(row.body)) : null;
  }

  put(item: T, nowIso: string): void {
    this.store
      .sql(
        `INSERT INTO ${this.table} (id, body, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
      )
      .run(item.id, JSON.stringify(item), nowIso);
  }

  delete(id: string): boolean {
    return this.store.sql(`DELETE FROM ${this.table} WHERE id = ?`).run(id).changes > 0;
  }

  exists(id: string): boolean {
    return this.store.sql(`SELECT 1 FROM ${this.table} WHERE id = ?`).get(id) !== undefined;
  }
}
