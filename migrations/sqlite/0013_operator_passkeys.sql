-- Operators log in with passkeys too: a passkey and a ceremony belong to an agent or an
-- operator (the principal, as in `sessions`). SQLite cannot drop the foreign key to agents
-- in place, so the passkeys table is rebuilt. Keep in step with the migrations/postgres
-- migration of the same number.

CREATE TABLE passkeys_by_principal (
    id              INTEGER PRIMARY KEY,
    principal_kind  TEXT NOT NULL CHECK (principal_kind IN ('agent', 'operator')),
    principal_id    INTEGER NOT NULL,
    credential_id   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    passkey         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
INSERT INTO passkeys_by_principal (id, principal_kind, principal_id, credential_id, name, passkey, created_at, last_used_at)
    SELECT id, 'agent', agent_id, credential_id, name, passkey, created_at, last_used_at FROM passkeys;
DROP TABLE passkeys;
ALTER TABLE passkeys_by_principal RENAME TO passkeys;
CREATE INDEX passkeys_of_principal ON passkeys (principal_kind, principal_id);

ALTER TABLE webauthn_ceremonies RENAME COLUMN agent_id TO principal_id;
ALTER TABLE webauthn_ceremonies ADD COLUMN principal_kind TEXT NOT NULL DEFAULT 'agent'
    CHECK (principal_kind IN ('agent', 'operator'));

ALTER TABLE operators ADD COLUMN webauthn_id TEXT;
