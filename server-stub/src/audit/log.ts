import type { AuditActor, AuditEntry, AuditObject, AuditQuery } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';

/** What is recorded; the log adds the id and the time. */
export interface AuditRecord {
  actor: AuditActor;
  action: string;
  object: AuditObject;
  before: unknown;
  after: unknown;
  summary: string;
}

/** A before/after larger than this is replaced by a note saying so: the log must stay readable. */
export const AUDIT_SNAPSHOT_MAX_BYTES = 64 * 1024;
const SUMMARY_MAX = 500;

interface AuditRow {
  id: number;
  at: string;
  actor_kind: AuditActor['kind'];
  actor_name: string;
  action: string;
  object_type: string;
  object_id: string | null;
  before_json: string | null;
  after_json: string | null;
  summary: string;
}

function snapshotJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const json = JSON.stringify(value);
  if (json === undefined) return null;
  if (Buffer.byteLength(json) <= AUDIT_SNAPSHOT_MAX_BYTES) return json;
  return JSON.stringify({ omitted: `larger than ${AUDIT_SNAPSHOT_MAX_BYTES} bytes` });
}

function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return (flat.length > SUMMARY_MAX ? `${flat.slice(0, SUMMARY_MAX - 1)}…` : flat) || '(no summary)';
}

function entryOf(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: { kind: row.actor_kind, name: row.actor_name },
    action: row.action,
    object: { type: row.object_type, id: row.object_id },
    before: row.before_json === null ? null : (JSON.parse(row.before_json) as unknown),
    after: row.after_json === null ? null : (JSON.parse(row.after_json) as unknown),
    summary: row.summary,
  };
}

/**
 * The audit log, in the database (table audit_log): appended to, never changed. Listeners
 * (`onAppend`) learn of each entry as it is written, e.g. the live event stream of the web app.
 */
export class AuditLog {
  private readonly listeners = new Set<(entry: AuditEntry) => void>();

  constructor(private readonly deps: { store: Store; clock: Clock; onListenerError?: (error: unknown) => void }) {}

  append(record: AuditRecord): AuditEntry {
    const row = this.deps.store
      .sql(
        `INSERT INTO audit_log (at, actor_kind, actor_name, action, object_type, object_id, before_json, after_json, summary)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      )
      .get(
        new Date(this.deps.clock.now()).toISOString(),
        record.actor.kind,
        record.actor.name.slice(0, 128),
        record.action,
        record.object.type,
        record.object.id,
        snapshotJson(record.before),
        snapshotJson(record.after),
        oneLine(record.summary),
      ) as AuditRow;
    const entry = entryOf(row);
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch (error) {
        this.deps.onListenerError?.(error);
      }
    }
    return entry;
  }

  /** Calls `listener` with every entry appended from now on; returns the function that stops it. */
  onAppend(listener: (entry: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Entries newest first, filtered by actor name, object type and id, before an entry id. */
  list(query: AuditQuery): AuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.user !== undefined) {
      where.push('actor_name = ?');
      args.push(query.user);
    }
    if (query.objectType !== undefined) {
      where.push('object_type = ?');
      args.push(query.objectType);
    }
    if (query.objectId !== undefined) {
      where.push('object_id = ?');
      args.push(query.objectId);
    }
    if (query.before !== undefined) {
      where.push('id < ?');
      args.push(query.before);
    }
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.deps.store.sql(sql).all(...args, query.limit) as AuditRow[]).map(entryOf);
  }
}
