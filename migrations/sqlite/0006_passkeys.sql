-- Passkeys (WebAuthn): an agent's credentials, and the short-lived state of a registration or
-- login ceremony between its two requests (any node may take the second). Keep in step with
-- the migrations/postgres migration of the same number.

CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY,
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    passkey         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX passkeys_by_agent ON passkeys (agent_id);

CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,
    agent_id    INTEGER,
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    state       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- The user handle passkeys carry (a UUID, created with the first passkey).
ALTER TABLE agents ADD COLUMN webauthn_id TEXT;
