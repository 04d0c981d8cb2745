-- Operators log in with passkeys too: a passkey and a ceremony belong to an agent or an
-- operator (the principal, as in `sessions`). Keep in step with the migrations/sqlite
-- migration of the same number.

ALTER TABLE passkeys DROP CONSTRAINT passkeys_agent_id_fkey;
ALTER TABLE passkeys RENAME COLUMN agent_id TO principal_id;
ALTER TABLE passkeys ADD COLUMN principal_kind TEXT NOT NULL DEFAULT 'agent'
    CHECK (principal_kind IN ('agent', 'operator'));
ALTER TABLE passkeys ALTER COLUMN principal_kind DROP DEFAULT;
DROP INDEX passkeys_by_agent;
CREATE INDEX passkeys_of_principal ON passkeys (principal_kind, principal_id);

ALTER TABLE webauthn_ceremonies RENAME COLUMN agent_id TO principal_id;
ALTER TABLE webauthn_ceremonies ADD COLUMN principal_kind TEXT NOT NULL DEFAULT 'agent'
    CHECK (principal_kind IN ('agent', 'operator'));

ALTER TABLE operators ADD COLUMN webauthn_id TEXT;
