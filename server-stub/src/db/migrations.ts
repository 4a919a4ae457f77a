/**
 * Schema migrations, in order: entry i brings the database to version i + 1. Never edit
 * a released entry; append a new one. Shared-contract objects are stored as validated
 * JSON (`body`) next to the columns the backend queries by.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- One row per counter; 'display_revision' is the single source of document revisions.
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
  INSERT INTO counters (name, value) VALUES ('display_revision', 0);

  CREATE TABLE level_schemes (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE content_sets (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE sensor_sources (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE panels (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    sensor_source_id TEXT REFERENCES sensor_sources(id),
    content_set_id TEXT NOT NULL REFERENCES content_sets(id),
    level_scheme_id TEXT NOT NULL REFERENCES level_schemes(id),
    key_hash BLOB NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX panels_by_sensor ON panels(sensor_source_id);

  CREATE TABLE readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL REFERENCES sensor_sources(id) ON DELETE CASCADE,
    measured_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (source_id, measured_at_ms)
  );

  -- Hysteresis memory of the level evaluation (LevelState), per panel.
  CREATE TABLE level_states (
    panel_id TEXT PRIMARY KEY REFERENCES panels(id) ON DELETE CASCADE,
    state TEXT NOT NULL
  );

  CREATE TABLE display_documents (
    panel_id TEXT PRIMARY KEY REFERENCES panels(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    body TEXT NOT NULL
  );

  CREATE TABLE panel_status (
    panel_id TEXT PRIMARY KEY REFERENCES panels(id) ON DELETE CASCADE,
    online INTEGER NOT NULL,
    last_seen_at TEXT,
    http_seen_at TEXT,
    state TEXT,
    firmware_version TEXT,
    displayed_revision INTEGER,
    last_error TEXT,
    status_body TEXT
  );

  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    issued_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX commands_by_panel ON commands(panel_id, issued_at_ms);

  CREATE TABLE command_acks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL REFERENCES commands(id) ON DELETE CASCADE,
    body TEXT NOT NULL
  );
  `,
  `
  -- Readings of panels' own sensors (server-stub/src/panel-readings): each once, by its id.
  CREATE TABLE panel_readings (
    reading_id TEXT PRIMARY KEY,
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    measured_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX panel_readings_by_seq ON panel_readings(panel_id, seq);
  CREATE INDEX panel_readings_by_time ON panel_readings(panel_id, measured_at_ms);
  `,
  `
  -- Accounts of the backoffice (server-stub/src/accounts): users, their sessions (by the
  -- SHA-256 of the cookie's value), failed logins per name (existing or not, so a lockout
  -- tells nothing about which names exist).
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_login_at TEXT
  );

  CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions(user_name);

  CREATE TABLE login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at_ms INTEGER NOT NULL,
    locked_until_ms INTEGER
  );

  -- Every change made through the API (server-stub/src/audit): who, when, what, before → after.
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    before_json TEXT,
    after_json TEXT,
    summary TEXT NOT NULL
  );
  CREATE INDEX audit_by_actor ON audit_log(actor_name, id);
  CREATE INDEX audit_by_object ON audit_log(object_type, object_id, id);
  `,
  `
  -- Alerts raised on panels (server-stub/src/alerts); cleared ones are kept as history.
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    panel_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    since TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    cleared_at TEXT,
    detail TEXT NOT NULL
  );
  CREATE INDEX alerts_active ON alerts(cleared_at, id);

  -- The alert thresholds and webhook, one row (id = 1), written by PUT /alert-settings.
  CREATE TABLE alert_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  `
  -- Users' API tokens (server-stub/src/accounts/api-tokens.ts), by the SHA-256 of the token.
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at_ms INTEGER,
    expires_at_ms INTEGER
  );
  CREATE INDEX api_tokens_by_user ON api_tokens(user_name);
  `,
  `
  -- What changed in what each panel reported (server-stub/src/status/transitions.ts): its state
  -- (from → to, why) and its connection; the newest 500 per panel, pruned on insert.
  CREATE TABLE panel_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    online INTEGER,
    reason TEXT NOT NULL
  );
  CREATE INDEX panel_transitions_by_panel ON panel_transitions(panel_id, id);
  `,
];
