-- Agent accounts (SPEC.md §3–§4): phone confirmation codes, password resets, failed logins
-- and lockout. Keep in step with the migrations/postgres migration of the same number.

-- The code texted to confirm a phone number: one open code per agent, stored hashed.
CREATE TABLE phone_codes (
    agent_id    INTEGER PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);

-- Password reset links: single use, 60 minutes; only the SHA-256 of the token is stored.
CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX password_resets_by_agent ON password_resets (agent_id);

-- Failed logins, counted per account over a window (in the database, so every node agrees).
CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    ip          TEXT
);
CREATE INDEX login_failures_by_agent ON login_failures (agent_id, at);

ALTER TABLE agents ADD COLUMN locked_until INTEGER;
