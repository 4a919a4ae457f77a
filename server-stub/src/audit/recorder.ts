import type { AuditActor } from '@airpanel/contract';
import type { Endpoint } from '@airpanel/contract/api';
import type { Principal } from '../auth.js';
import type { RouteResult } from '../http/route.js';
import type { AuditLog } from './log.js';

/**
 * The one place changes are recorded: the router hands every request that is not a GET to
 * `begin` before its handler runs, and calls what it returns with the answer when that is a
 * success. The object of the change is found from the path (`panelId` → panel…) or, for a
 * creation, from the answer's id; objects with a loader get their state before and after.
 *
 * Not recorded: what panels send with their own key (statuses, screenshots, readings, update
 * reports: telemetry, not changes), and anonymous requests other than a login.
 */
export interface ChangeAuditor {
  begin(input: {
    endpoint: Endpoint;
    principal: Principal | null;
    params: Record<string, unknown>;
    body: unknown;
  }): ((result: RouteResult) => void) | null;
}

/** The current state of an object by its id, as the audit shows it (null: it does not exist). No secrets. */
export type AuditSnapshotLoader = (id: string) => unknown;

/** Object types by the path parameter that names them. */
const OBJECT_OF_PARAM: Readonly<Record<string, string>> = {
  panelId: 'panel',
  contentSetId: 'content-set',
  levelSchemeId: 'level-scheme',
  sensorId: 'sensor-source',
  userName: 'user',
  channel: 'release-channel',
};

/** Objects there is one of (no id), by the operations that change them. */
const SINGLETON_OF_OPERATION: Readonly<Record<string, string>> = {
  replaceAlertSettings: 'alert-settings',
};

/** Object types of operations without such a parameter, by operationId, then by tag. */
const OBJECT_OF_OPERATION: Readonly<Record<string, string>> = {
  login: 'session',
  logout: 'session',
  createUser: 'user',
  publishRelease: 'release',
  uploadBundle: 'bundle',
};
const OBJECT_OF_TAG: Readonly<Record<string, string>> = {
  panels: 'panel',
  content: 'content-set',
  levels: 'level-scheme',
  sensors: 'sensor-source',
};

/** Answers kept as the "after" of objects without a loader: none of them holds a secret. */
const ANSWER_IS_AFTER: ReadonlySet<string> = new Set(['sendCommand', 'pauseChannel', 'publishRelease', 'uploadBundle', 'postReading']);

const ID_FIELDS = ['id', 'name', 'panelId', 'userName', 'version'] as const;

/** The id of what an answer describes: a top-level id field, else one of an object it wraps (a registration's `panel`). */
function idInAnswer(body: unknown, depth = 0): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const fields = body as Record<string, unknown>;
  for (const field of ID_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  if (depth > 0) return null;
  for (const value of Object.values(fields)) {
    const nested = idInAnswer(value, depth + 1);
    if (nested !== null) return nested;
  }
  return null;
}

function actorOf(principal: Principal | null): AuditActor | null {
  switch (principal?.kind) {
    case 'admin':
      return { kind: 'admin-token', name: 'admin token' };
    case 'user':
      return { kind: 'user', name: principal.name };
    default:
      return null;
  }
}

/** What changed in a body, by field names only (a password is named, never shown). */
function fieldsOf(body: unknown): string {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) return '';
  const keys = Object.keys(body).slice(0, 12);
  return keys.length > 0 ? ` (${keys.join(', ')})` : '';
}

export function createChangeAuditor(deps: {
  log: AuditLog;
  /** Loaders by object type (`panel`, `content-set`, `user`…). */
  snapshots: Readonly<Record<string, AuditSnapshotLoader>>;
  /** Loaders of the objects there is one of (`alert-settings`), without secrets. */
  singletons?: Readonly<Record<string, () => unknown>>;
  onError: (error: unknown) => void;
}): ChangeAuditor {
  const hasLoader = (type: string) => deps.snapshots[type] !== undefined || deps.singletons?.[type] !== undefined;
  const load = (type: string, id: string | null): unknown => {
    const single = deps.singletons?.[type];
    const loader = deps.snapshots[type];
    try {
      if (single) return single() ?? null;
      if (!loader || id === null) return null;
      return loader(id) ?? null;
    } catch {
      // The object does not exist (before a creation, after a deletion).
      return null;
    }
  };
  return {
    begin({ endpoint, principal, params, body }) {
      if (principal?.kind === 'panel') return null;
      const actor = actorOf(principal);
      if (!actor && endpoint.operationId !== 'login') return null;
      const param = Object.keys(params).find((name) => name in OBJECT_OF_PARAM);
      const type = param
        ? OBJECT_OF_PARAM[param]!
        : (SINGLETON_OF_OPERATION[endpoint.operationId] ??
          OBJECT_OF_OPERATION[endpoint.operationId] ??
          OBJECT_OF_TAG[endpoint.tag] ??
          endpoint.tag);
      const paramId = param ? String(params[param]) : null;
      const before = load(type, paramId);
      return (result) => {
        try {
          const id = paramId ?? (type === 'session' || endpoint.operationId in SINGLETON_OF_OPERATION ? null : idInAnswer(result.body));
          const who = actor ?? { kind: 'user' as const, name: idInAnswer(result.body) ?? 'unknown' };
          const after = hasLoader(type) ? load(type, id) : ANSWER_IS_AFTER.has(endpoint.operationId) ? (result.body ?? null) : null;
          deps.log.append({
            actor: who,
            action: endpoint.operationId,
            object: { type, id },
            before,
            after,
            summary: `${who.name}: ${endpoint.summary}${id !== null ? ` — ${type} ${id}` : ''}${endpoint.operationId === 'login' ? '' : fieldsOf(body)}`,
          });
        } catch (error) {
          deps.onError(error);
        }
      };
    },
  };
}
