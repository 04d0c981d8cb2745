-- Foundation schema. Times are epoch milliseconds from the application clock; calendar
-- dates are ISO text (YYYY-MM-DD), which sorts correctly. Keep in step with
-- migrations/postgres/0001_foundation.sql (same tables, same columns, same meaning).

CREATE TABLE plan_years (
    year        INTEGER PRIMARY KEY,
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    CHECK (starts_on <= ends_on)
);

CREATE TABLE marketplace_states (
    id              INTEGER PRIMARY KEY,
    state           TEXT NOT NULL,
    marketplace     TEXT NOT NULL CHECK (marketplace IN ('FFM', 'SBM-FP')),
    effective_from  TEXT NOT NULL,
    effective_to    TEXT,
    CHECK (effective_to IS NULL OR effective_from < effective_to)
);
CREATE INDEX marketplace_states_by_state ON marketplace_states (state, effective_from);

CREATE TABLE zip_codes (
    zip         TEXT PRIMARY KEY,
    city        TEXT NOT NULL,
    state       TEXT NOT NULL,
    county      TEXT NOT NULL,
    latitude    REAL NOT NULL,
    longitude   REAL NOT NULL,
    time_zone   TEXT NOT NULL
);
CREATE INDEX zip_codes_by_state ON zip_codes (state);

CREATE TABLE reference_data (
    name        TEXT PRIMARY KEY,
    checksum    TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    loaded_at   INTEGER NOT NULL
);

CREATE TABLE program_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE agents (
    id                  INTEGER PRIMARY KEY,
    npn                 TEXT NOT NULL UNIQUE,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    email               TEXT NOT NULL DEFAULT '',
    username            TEXT,
    username_key        TEXT UNIQUE,
    password_hash       TEXT,
    phone               TEXT,
    phone_confirmed_at  INTEGER,
    contact_method      TEXT CHECK (contact_method IN ('email_text_app', 'email_text', 'email_app', 'email_only')),
    zip                 TEXT,
    registered_at       INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE agent_languages (
    agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    lang        TEXT NOT NULL,
    PRIMARY KEY (agent_id, lang)
);

CREATE TABLE agent_state_preferences (
    agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    PRIMARY KEY (agent_id, state)
);

-- Licences are keyed by NPN, not by agent: NIPR data arrives before an agent has an account.
CREATE TABLE agent_licenses (
    id              INTEGER PRIMARY KEY,
    npn             TEXT NOT NULL,
    state           TEXT NOT NULL,
    license_number  TEXT NOT NULL DEFAULT '',
    license_class   TEXT NOT NULL DEFAULT '',
    residency       TEXT NOT NULL CHECK (residency IN ('resident', 'non_resident')),
    active          BOOLEAN NOT NULL,
    expires_on      TEXT,
    UNIQUE (npn, state, license_number)
);

CREATE TABLE agent_license_loas (
    license_id  INTEGER NOT NULL REFERENCES agent_licenses (id) ON DELETE CASCADE,
    loa         TEXT NOT NULL,
    loa_code    TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL,
    status_date TEXT,
    PRIMARY KEY (license_id, loa)
);

CREATE TABLE operators (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL,
    username_key    TEXT NOT NULL UNIQUE,
    email           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'help_desk')),
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER
);

-- The session cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    principal_kind  TEXT NOT NULL CHECK (principal_kind IN ('agent', 'operator')),
    principal_id    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ip              TEXT,
    user_agent      TEXT
);
CREATE INDEX sessions_by_principal ON sessions (principal_kind, principal_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Every message the system sends is written here in the transaction that caused it.
-- status: pending (waiting for a transport), sent (handed to a provider), stored (kept in
-- the local outbox because no provider is configured), failed (gave up; see last_error).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    dedup_key       TEXT UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'stored', 'failed')),
    created_at      INTEGER NOT NULL,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     INTEGER,
    finished_at     INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending_by_due ON outbox (due_at) WHERE status = 'pending';
CREATE INDEX outbox_by_recipient ON outbox (recipient);

-- Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    ip          TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Jobs that must run once across all nodes take a lease row.
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    last_run_at INTEGER
);
