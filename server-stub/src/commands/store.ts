import { CommandAck, CommandRecord, type Command } from '@airpanel/contract';
import type { Store } from '../db/store.js';

/** Commands kept per panel. */
export const COMMANDS_KEPT_PER_PANEL = 200;

/** Commands sent to panels and the acks they answered with. */
export class CommandStore {
  constructor(private readonly store: Store) {}

  insert(command: Command): void {
    this.store
      .sql('INSERT INTO commands (id, panel_id, issued_at_ms, body) VALUES (?, ?, ?, ?)')
      .run(command.id, command.panelId, Date.parse(command.issuedAt), JSON.stringify(command));
    this.store
      .sql(
        `DELETE FROM commands WHERE panel_id = ? AND id NOT IN
      (SELECT id FROM commands WHERE panel_id = ? ORDER BY issued_at_ms DESC, rowid DESC LIMIT ${COMMANDS_KEPT_PER_PANEL})`,
      )
      .run(command.panelId, command.panelId);
  }

  commandPanelId(commandId: string): string | null {
    const row = this.store.sql('SELECT panel_id FROM commands WHERE id = ?').get(commandId) as { panel_id: string } | undefined;
    return row?.panel_id ?? null;
  }

  insertAck(ack: CommandAck): void {
    this.store.sql('INSERT INTO command_acks (command_id, body) VALUES (?, ?)').run(ack.commandId, JSON.stringify(ack));
  }

  private record(body: string): CommandRecord {
    const command = JSON.parse(body) as Command;
    const acks = (this.store.sql('SELECT body FROM command_acks WHERE command_id = ? ORDER BY id').all(command.id) as { body: string }[])
      .map((r) => CommandAck.parse(JSON.parse(r.body)))
      .map(({ status, detail, at }) => ({ status, detail, at }));
    return CommandRecord.parse({ ...command, acks });
  }

  get(panelId: string, commandId: string): CommandRecord | null {
    const row = this.store.sql('SELECT body FROM commands WHERE id = ? AND panel_id = ?').get(commandId, panelId) as
      { body: string } | undefined;
    return row ? this.record(row.body) : null;
  }

  list(panelId: string, limit: number): CommandRecord[] {
    const rows = this.store
      .sql('SELECT body FROM commands WHERE panel_id = ? ORDER BY issued_at_ms DESC, rowid DESC LIMIT ?')
      .all(panelId, limit) as { body: string }[];
    return rows.map((r) => this.record(r.body));
  }
}
