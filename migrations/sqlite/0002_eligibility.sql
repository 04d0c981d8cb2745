-- Eligibility from CMS files (SPEC.md §2) and invitations (§3). Keep in step with the
-- migrations/postgres migration of the same number.

-- FFM Agent/Broker Registration Completion List, one row per plan year and NPN. (SQLite:
-- WITHOUT ROWID keeps the million-row table in one B-tree, which halves import work.)
CREATE TABLE rcl_entries (
    plan_year                   INTEGER NOT NULL,
    npn                         TEXT NOT NULL,
    individual_completed_on     TEXT,
    individual_end_on           TEXT,
    shop_completed_on           TEXT,
    shop_end_on                 TEXT,
    npn_valid                   TEXT NOT NULL CHECK (npn_valid IN ('Y', 'N', '-')),
    PRIMARY KEY (plan_year, npn)
) WITHOUT ROWID;

-- MLMS Help On Demand course completions, with the name and email shown in the application.
CREATE TABLE mlms_entries (
    plan_year               INTEGER NOT NULL,
    npn                     TEXT NOT NULL,
    first_name              TEXT NOT NULL,
    last_name               TEXT NOT NULL,
    email                   TEXT NOT NULL,
    course_completed_on     TEXT,
    PRIMARY KEY (plan_year, npn)
);

-- Agent/Broker Suspension and Termination List: events, the latest in force decides.
CREATE TABLE status_events (
    id                          INTEGER PRIMARY KEY,
    npn                         TEXT NOT NULL,
    status                      TEXT NOT NULL CHECK (status IN ('T1', 'T2', 'T3', 'T4', 'R1', 'R2', 'R3', 'R4')),
    marketplaces                TEXT NOT NULL CHECK (marketplaces IN ('INDIVIDUAL', 'SHOP', 'BOTH')),
    plan_year                   INTEGER NOT NULL,
    registration_completed_on   TEXT,
    effective_on                TEXT NOT NULL,
    UNIQUE (npn, plan_year, status, marketplaces, effective_on)
);
CREATE INDEX status_events_by_plan_year ON status_events (plan_year);

-- Lines of authority that count as health-related, per state ('*' = every state). The file
-- an administrator loads replaces the whole table; loa_key is the name lower-cased with
-- spaces collapsed, the form names are compared in.
CREATE TABLE valid_loas (
    state       TEXT NOT NULL,
    loa         TEXT NOT NULL,
    loa_key     TEXT NOT NULL,
    PRIMARY KEY (state, loa_key)
);
INSERT INTO valid_loas (state, loa, loa_key) VALUES
    ('*', 'Accident & Health or Sickness', 'accident & health or sickness'),
    ('*', 'Accident and Health or Sickness', 'accident and health or sickness'),
    ('*', 'Accident & Health', 'accident & health'),
    ('*', 'Accident and Health', 'accident and health'),
    ('*', 'Accident & Sickness', 'accident & sickness'),
    ('*', 'Accident and Sickness', 'accident and sickness'),
    ('*', 'Health', 'health'),
    ('*', 'Sickness', 'sickness'),
    ('*', 'Health Maintenance Organization', 'health maintenance organization'),
    ('*', 'HMO', 'hmo'),
    ('*', 'Managed Care', 'managed care'),
    ('*', 'Health Care Service Plan', 'health care service plan');

-- The last evaluation of each NPN for a plan year. Routing reads it; the daily run and every
-- import refresh it.
CREATE TABLE eligibility (
    plan_year       INTEGER NOT NULL,
    npn             TEXT NOT NULL,
    eligible        BOOLEAN NOT NULL,
    states          TEXT NOT NULL DEFAULT '',
    reasons         TEXT NOT NULL DEFAULT '[]',
    evaluated_on    TEXT NOT NULL,
    changed_at      INTEGER NOT NULL,
    PRIMARY KEY (plan_year, npn)
);

-- Invitation links. Only the SHA-256 of the token is stored. sent_by is NULL for the
-- automatic invitation (at most one per NPN and plan year) and names the operator of a resend.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    npn         TEXT NOT NULL,
    plan_year   INTEGER NOT NULL,
    email       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER,
    sent_by     TEXT
);
CREATE UNIQUE INDEX invitations_automatic_once ON invitations (npn, plan_year) WHERE sent_by IS NULL;
CREATE INDEX invitations_by_npn ON invitations (npn);

-- One row per file that landed, with its rejected-row report (JSON).
CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('rcl', 'termination', 'nipr', 'mlms', 'loa')),
    file_name       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    rows_read       INTEGER NOT NULL,
    rows_applied    INTEGER NOT NULL,
    rejected        TEXT NOT NULL,
    imported_at     INTEGER NOT NULL,
    actor           TEXT NOT NULL
);

-- The plan year of the MLMS row the agent's name and email came from (the latest wins).
ALTER TABLE agents ADD COLUMN profile_plan_year INTEGER;

-- The sender of an email (the configured noreply address).
ALTER TABLE outbox ADD COLUMN sender TEXT NOT NULL DEFAULT '';
