-- Personal data at rest (crates/db/src/vault.rs, docs/security.md). Keep in step with the
-- migration of the same number for the other database.

-- Data keys, each wrapped by the master key every node is given. New values are sealed with
-- the newest key whose active_from has passed; `hod keys rotate` adds one ahead of time, so
-- that every node has it before anyone seals with it, re-encrypts, then drops unused keys.
CREATE TABLE data_keys (
    id          BIGINT PRIMARY KEY,
    wrapped     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    active_from BIGINT NOT NULL
);

-- The STOP list keeps a keyed hash of each number, not the number.
ALTER TABLE sms_opt_outs RENAME COLUMN phone TO phone_key;

-- Messages are sealed; they are found by a keyed hash of their recipient.
ALTER TABLE outbox ADD COLUMN recipient_key TEXT;
DROP INDEX outbox_by_recipient;
CREATE INDEX outbox_by_recipient_key ON outbox (recipient_key);

-- Retention: when a referral's consumer details were erased (its statistics stay).
ALTER TABLE referrals ADD COLUMN erased_at BIGINT;
