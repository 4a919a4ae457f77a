import type { Statement } from 'better-sqlite3';
import {
  CommandAck,
  CommandRecord,
  ContentSet,
  LevelScheme,
  Panel,
  PanelSensorReport,
  Reading,
  SensorSource,
} from '@airpanel/contract';
import type { Command, LevelState, StatusMessage ,
  PanelStatus} from '@airpanel/contract';
import type { EncodedDisplayDocument } from '../documents.js';
import type { Db } from './database.js';

/** Readings kept per sensor source; older ones are pruned (the level needs only the latest). */
export const READINGS_KEPT_PER_SOURCE = 500;
/** Commands kept per panel. */
export const COMMANDS_KEPT_PER_PANEL = 200;

export interface PanelRow {
  panel: Panel;
  keyHash: Buffer;
}

export interface StoredDocument {
  /** The stored JSON, parsed but not checked: the one reader (the service's start) checks it. */
  document: unknown;
  fingerprint: string;
}

export interface StatusRow {
  online: boolean;
  lastSeenAt: string | null;
  httpSeenAt: string | null;
  state: PanelStatus['state'] | null;
  firmwareVersion: string | null;
  displayedRevision: number | null;
  lastError: string | null;
  ownSensor: PanelSensorReport | null;
}

type Resource = 'level_schemes' | 'content_sets' | 'sensor_sources';

/**
 * Every SQL statement of the backend, over one better-sqlite3 connection. Synchronous by
 * design: SQLite answers in microseconds and a transaction cannot interleave with another
 * request. JSON bodies are validated with the contract schemas when read back, so a
 * hand-edited or corrupt row fails loudly instead of reaching a panel.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  /** Statements handed out so far: lets a test prove a path never touches the database. */
  queryCount = 0;

  constructor(readonly db: Db) {}

  private sql(text: string): Statement {
    this.queryCount++;
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Takes `count` consecutive display revisions and returns the first of them: one counter
   * for the whole backend, persisted, never reused.
   */
  takeRevisions(count: number): number {
    if (!Number.isInteger(count) || count < 1) throw new Error(`takeRevisions: count must be a positive integer, got ${count}`);
    const row = this.sql("UPDATE counters SET value = value + ? WHERE name = 'display_revision' RETURNING value").get(count) as { value: number };
    return row.value - count + 1;
  }

  // ---- level schemes, content sets, sensor sources (same shape of storage) ----

  private listResource<T>(table: Resource, parse: (json: unknown) => T): T[] {
    const rows = this.sql(`SELECT body FROM ${table} ORDER BY id`).all() as { body: string }[];
    return rows.map((r) => parse(JSON.parse(r.body)));
  }

  private getResource<T>(table: Resource, id: string, parse: (json: unknown) => T): T | null {
    const row = this.sql(`SELECT body FROM ${table} WHERE id = ?`).get(id) as { body: string } | undefined;
    return row ? parse(JSON.parse(row.body)) : null;
  }

  private putResource(table: Resource, id: string, body: unknown, nowIso: string): void {
    this.sql(`INSERT INTO ${table} (id, body, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`).run(id, JSON.stringify(body), nowIso);
  }

  private deleteResource(table: Resource, id: string): boolean {
    return this.sql(`DELETE FROM ${table} WHERE id = ?`).run(id).changes > 0;
  }

  private exists(table: Resource | 'panels', id: string): boolean {
    return this.sql(`SELECT 1 FROM ${table} WHERE id = ?`).get(id) !== undefined;
  }

  listLevelSchemes(): LevelScheme[] {
    return this.listResource('level_schemes', (j) => LevelScheme.parse(j));
  }
  getLevelScheme(id: string): LevelScheme | null {
    return this.getResource('level_schemes', id, (j) => LevelScheme.parse(j));
  }
  putLevelScheme(scheme: LevelScheme, nowIso: string): void {
    this.putResource('level_schemes', scheme.id, scheme, nowIso);
  }
  deleteLevelScheme(id: string): boolean {
    return this.deleteResource('level_schemes', id);
  }
  levelSchemeExists(id: string): boolean {
    return this.exists('level_schemes', id);
  }

  listContentSets(): ContentSet[] {
    return this.listResource('content_sets', (j) => ContentSet.parse(j));
  }
  getContentSet(id: string): ContentSet | null {
    return this.getResource('content_sets', id, (j) => ContentSet.parse(j));
  }
  putContentSet(set: ContentSet, nowIso: string): void {
    this.putResource('content_sets', set.id, set, nowIso);
  }
  deleteContentSet(id: string): boolean {
    return this.deleteResource('content_sets', id);
  }
  contentSetExists(id: string): boolean {
    return this.exists('content_sets', id);
  }

  listSensorSources(): SensorSource[] {
    return this.listResource('sensor_sources', (j) => SensorSource.parse(j));
  }
  getSensorSource(id: string): SensorSource | null {
    return this.getResource('sensor_sources', id, (j) => SensorSource.parse(j));
  }
  putSensorSource(source: SensorSource, nowIso: string): void {
    this.putResource('sensor_sources', source.id, source, nowIso);
  }
  deleteSensorSource(id: string): boolean {
    return this.deleteResource('sensor_sources', id);
  }
  sensorSourceExists(id: string): boolean {
    return this.exists('sensor_sources', id);
  }

  // ---- panels ----

  private static panelFromRow(row: { body: string; key_hash: Buffer }): PanelRow {
    return { panel: Panel.parse(JSON.parse(row.body)), keyHash: row.key_hash };
  }

  listPanels(): PanelRow[] {
    const rows = this.sql('SELECT body, key_hash FROM panels ORDER BY id').all() as { body: string; key_hash: Buffer }[];
    return rows.map(Store.panelFromRow);
  }

  getPanel(id: string): PanelRow | null {
    const row = this.sql('SELECT body, key_hash FROM panels WHERE id = ?').get(id) as { body: string; key_hash: Buffer } | undefined;
    return row ? Store.panelFromRow(row) : null;
  }

  panelExists(id: string): boolean {
    return this.exists('panels', id);
  }

  insertPanel(panel: Panel, keyHash: Buffer): void {
    this.sql(`INSERT INTO panels (id, body, sensor_source_id, content_set_id, level_scheme_id, key_hash, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(panel.id, JSON.stringify(panel), panel.sensorSourceId, panel.contentSetId, panel.levelSchemeId, keyHash, panel.createdAt);
  }

  updatePanel(panel: Panel): void {
    this.sql(`UPDATE panels SET body = ?, sensor_source_id = ?, content_set_id = ?, level_scheme_id = ? WHERE id = ?`)
      .run(JSON.stringify(panel), panel.sensorSourceId, panel.contentSetId, panel.levelSchemeId, panel.id);
  }

  setPanelKeyHash(id: string, keyHash: Buffer): void {
    this.sql('UPDATE panels SET key_hash = ? WHERE id = ?').run(keyHash, id);
  }

  deletePanel(id: string): boolean {
    return this.sql('DELETE FROM panels WHERE id = ?').run(id).changes > 0;
  }

  panelIdsUsing(column: 'sensor_source_id' | 'content_set_id' | 'level_scheme_id', id: string): string[] {
    const rows = this.sql(`SELECT id FROM panels WHERE ${column} = ? ORDER BY id`).all(id) as { id: string }[];
    return rows.map((r) => r.id);
  }

  // ---- readings ----

  /** Stores a reading (replacing one of the same source and time); true if it is now the latest. */
  putReading(sourceId: string, reading: Reading): boolean {
    const measuredAtMs = Date.parse(reading.measuredAt);
    this.sql(`INSERT INTO readings (source_id, measured_at_ms, body) VALUES (?, ?, ?)
      ON CONFLICT (source_id, measured_at_ms) DO UPDATE SET body = excluded.body`).run(sourceId, measuredAtMs, JSON.stringify(reading));
    this.sql(`DELETE FROM readings WHERE source_id = ? AND id NOT IN
      (SELECT id FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT ${READINGS_KEPT_PER_SOURCE})`).run(sourceId, sourceId);
    const latest = this.sql('SELECT MAX(measured_at_ms) AS t FROM readings WHERE source_id = ?').get(sourceId) as { t: number };
    return latest.t === measuredAtMs;
  }

  latestReading(sourceId: string): Reading | null {
    const row = this.sql('SELECT body FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT 1').get(sourceId) as { body: string } | undefined;
    return row ? Reading.parse(JSON.parse(row.body)) : null;
  }

  listReadings(sourceId: string, limit: number): Reading[] {
    const rows = this.sql('SELECT body FROM readings WHERE source_id = ? ORDER BY measured_at_ms DESC LIMIT ?').all(sourceId, limit) as { body: string }[];
    return rows.map((r) => Reading.parse(JSON.parse(r.body)));
  }

  // ---- level states and documents ----

  getLevelState(panelId: string): LevelState | null {
    const row = this.sql('SELECT state FROM level_states WHERE panel_id = ?').get(panelId) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as LevelState) : null;
  }

  putLevelState(panelId: string, state: LevelState): void {
    this.sql(`INSERT INTO level_states (panel_id, state) VALUES (?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET state = excluded.state`).run(panelId, JSON.stringify(state));
  }

  deleteLevelState(panelId: string): void {
    this.sql('DELETE FROM level_states WHERE panel_id = ?').run(panelId);
  }

  listDocuments(): StoredDocument[] {
    const rows = this.sql('SELECT body, fingerprint FROM display_documents ORDER BY panel_id').all() as { body: string; fingerprint: string }[];
    return rows.map((r) => ({ document: JSON.parse(r.body) as unknown, fingerprint: r.fingerprint }));
  }

  putDocument({ document, json }: EncodedDisplayDocument, fingerprint: string): void {
    this.sql(`INSERT INTO display_documents (panel_id, revision, fingerprint, body) VALUES (?, ?, ?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET revision = excluded.revision, fingerprint = excluded.fingerprint, body = excluded.body`)
      .run(document.panelId, document.revision, fingerprint, json);
  }

  // ---- status ----

  getStatus(panelId: string): StatusRow | null {
    const row = this.sql('SELECT * FROM panel_status WHERE panel_id = ?').get(panelId) as Record<string, unknown> | undefined;
    return row ? Store.statusFromRow(row) : null;
  }

  listStatuses(): Map<string, StatusRow> {
    const rows = this.sql('SELECT * FROM panel_status').all() as Record<string, unknown>[];
    return new Map(rows.map((r) => [r.panel_id as string, Store.statusFromRow(r)]));
  }

  private static statusFromRow(row: Record<string, unknown>): StatusRow {
    return {
      online: row.online === 1,
      lastSeenAt: (row.last_seen_at as string | null) ?? null,
      httpSeenAt: (row.http_seen_at as string | null) ?? null,
      state: (row.state as StatusRow['state']) ?? null,
      firmwareVersion: (row.firmware_version as string | null) ?? null,
      displayedRevision: (row.displayed_revision as number | null) ?? null,
      lastError: (row.last_error as string | null) ?? null,
      ownSensor: Store.ownSensorOf(row.status_body as string | null),
    };
  }

  /** The `sensor` part of the last full status, if it validates (older panels have none). */
  private static ownSensorOf(body: string | null): PanelSensorReport | null {
    if (!body) return null;
    const parsed = PanelSensorReport.safeParse((JSON.parse(body) as { sensor?: unknown }).sensor);
    return parsed.success ? parsed.data : null;
  }

  listUpdateReports(): { panelId: string; firmwareVersion: string | null; update: unknown }[] {
    const rows = this.sql('SELECT panel_id, firmware_version, status_body FROM panel_status ORDER BY panel_id').all() as { panel_id: string; firmware_version: string | null; status_body: string | null }[];
    return rows.map((r) => ({
      panelId: r.panel_id,
      firmwareVersion: r.firmware_version,
      update: r.status_body ? ((JSON.parse(r.status_body) as { update?: unknown }).update ?? null) : null,
    }));
  }

  /** Records what a panel reported on its status topic (a full status or its last will). */
  recordStatus(panelId: string, message: StatusMessage, receivedAtIso: string): void {
    if ('firmwareVersion' in message) {
      this.sql(`INSERT INTO panel_status (panel_id, online, last_seen_at, state, firmware_version, displayed_revision, last_error, status_body)
        VALUES (@panelId, @online, @seen, @state, @firmware, @displayed, @lastError, @body)
        ON CONFLICT (panel_id) DO UPDATE SET online = excluded.online, last_seen_at = excluded.last_seen_at, state = excluded.state,
          firmware_version = excluded.firmware_version, displayed_revision = excluded.displayed_revision,
          last_error = excluded.last_error, status_body = excluded.status_body`).run({
        panelId,
        online: message.online ? 1 : 0,
        seen: receivedAtIso,
        state: message.state,
        firmware: message.firmwareVersion,
        displayed: message.displayedRevision,
        lastError: message.lastError,
        body: JSON.stringify(message),
      });
    } else {
      // The last will says only "offline"; what the panel said before stays on record.
      this.sql(`INSERT INTO panel_status (panel_id, online) VALUES (?, 0)
        ON CONFLICT (panel_id) DO UPDATE SET online = 0`).run(panelId);
    }
  }

  recordStateTransition(panelId: string, state: PanelStatus['state'], atIso: string): void {
    this.sql(`INSERT INTO panel_status (panel_id, online, last_seen_at, state) VALUES (?, 1, ?, ?)
      ON CONFLICT (panel_id) DO UPDATE SET state = excluded.state, last_seen_at = excluded.last_seen_at`).run(panelId, atIso, state);
  }

  recordHttpSeen(panelId: string, atIso: string): void {
    this.sql(`INSERT INTO panel_status (panel_id, online, http_seen_at) VALUES (?, 0, ?)
      ON CONFLICT (panel_id) DO UPDATE SET http_seen_at = excluded.http_seen_at`).run(panelId, atIso);
  }

  /** After a restart nobody is connected until it says so again. */
  markAllOffline(): void {
    this.sql('UPDATE panel_status SET online = 0').run();
  }

  // ---- commands ----

  insertCommand(command: Command): void {
    this.sql('INSERT INTO commands (id, panel_id, issued_at_ms, body) VALUES (?, ?, ?, ?)').run(command.id, command.panelId, Date.parse(command.issuedAt), JSON.stringify(command));
    this.sql(`DELETE FROM commands WHERE panel_id = ? AND id NOT IN
      (SELECT id FROM commands WHERE panel_id = ? ORDER BY issued_at_ms DESC, rowid DESC LIMIT ${COMMANDS_KEPT_PER_PANEL})`).run(command.panelId, command.panelId);
  }

  commandPanelId(commandId: string): string | null {
    const row = this.sql('SELECT panel_id FROM commands WHERE id = ?').get(commandId) as { panel_id: string } | undefined;
    return row?.panel_id ?? null;
  }

  insertAck(ack: CommandAck): void {
    this.sql('INSERT INTO command_acks (command_id, body) VALUES (?, ?)').run(ack.commandId, JSON.stringify(ack));
  }

  private commandRecord(body: string): CommandRecord {
    const command = JSON.parse(body) as Command;
    const acks = (this.sql('SELECT body FROM command_acks WHERE command_id = ? ORDER BY id').all(command.id) as { body: string }[])
      .map((r) => CommandAck.parse(JSON.parse(r.body)))
      .map(({ status, detail, at }) => ({ status, detail, at }));
    return CommandRecord.parse({ ...command, acks });
  }

  getCommand(panelId: string, commandId: string): CommandRecord | null {
    const row = this.sql('SELECT body FROM commands WHERE id = ? AND panel_id = ?').get(commandId, panelId) as { body: string } | undefined;
    return row ? this.commandRecord(row.body) : null;
  }

  listCommands(panelId: string, limit: number): CommandRecord[] {
    const rows = this.sql('SELECT body FROM commands WHERE panel_id = ? ORDER BY issued_at_ms DESC, rowid DESC LIMIT ?').all(panelId, limit) as { body: string }[];
    return rows.map((r) => this.commandRecord(r.body));
  }
}
