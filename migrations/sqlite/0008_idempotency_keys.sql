-- Idempotency-Key of the partner API (IETF draft-ietf-httpapi-idempotency-key-header): scoped to
-- the partner's key, remembered with a fingerprint of the request so that the same key with
-- another body is refused, and forgotten after its expiry (then the key may be used again).
CREATE TABLE idempotency_keys (
    api_key_id   INTEGER NOT NULL REFERENCES api_keys (id),
    key          TEXT NOT NULL,
    -- SHA-256 of the request as the server read it (hex).
    fingerprint  TEXT NOT NULL,
    referral_id  INTEGER NOT NULL REFERENCES referrals (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Keys given before this table existed. Their fingerprint is unknown (empty): a reuse of such a
-- key answers with its referral until it expires, whatever the body.
INSERT INTO idempotency_keys (api_key_id, key, fingerprint, referral_id, created_at, expires_at)
SELECT api_key_id, idempotency_key, '', id, created_at, created_at + 86400000
FROM referrals WHERE api_key_id IS NOT NULL AND idempotency_key IS NOT NULL;
