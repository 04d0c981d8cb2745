-- The operators' console (SPEC.md §8).
-- Operators are locked out like agents: failures counted within a window, then a lock. They
-- read the console in the language they last chose.
ALTER TABLE operators ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN first_failed_at BIGINT;
ALTER TABLE operators ADD COLUMN locked_until BIGINT;
ALTER TABLE operators ADD COLUMN ui_lang TEXT NOT NULL DEFAULT 'en' CHECK (ui_lang IN ('en', 'es'));
-- An agent suspended by an administrator gets no offers until reinstated.
ALTER TABLE agents ADD COLUMN suspended_at BIGINT;
ALTER TABLE agents ADD COLUMN suspended_reason TEXT;
-- Each audit entry carries the SHA-256 of the previous entry's hash and its own fields, so a
-- row changed, removed or inserted afterwards breaks the chain (`hod audit verify`). Rows
-- written before this migration have none and are not checked.
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_log_by_subject ON audit_log (subject);
CREATE INDEX audit_log_by_actor ON audit_log (actor);
-- Single-use links that let a new operator choose a password (only the SHA-256 is stored).
CREATE TABLE operator_tokens (
    token_hash   TEXT PRIMARY KEY,
    operator_id  BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
-- When routing (re)started: an operator's re-route of an unserved request starts its wait
-- again (NULL: when it was made).
ALTER TABLE referrals ADD COLUMN routing_since BIGINT;
-- A file checked from the console without being applied (its report is kept to read and
-- download; it is not "the last import" of its kind).
ALTER TABLE imports ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE;
