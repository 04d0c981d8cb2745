//! Partners' `Idempotency-Key`s: remembered per API key with a fingerprint of the request,
//! forgotten after their expiry.

use crate::query::query;
use crate::time::from_row;
use crate::{Result, Tx, to_millis};

/// A partner's `Idempotency-Key` still remembered: the referral it made and the fingerprint
/// of the request that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub referral_id: i64,
    pub fingerprint: String,
}

from_row!(IdempotencyKey {
    referral_id,
    fingerprint
});

/// The referral a partner made with this `Idempotency-Key`, unless the key has expired (an
/// expired key is forgotten here, so it can be used again).
#[tracing::instrument(skip_all)]
pub async fn idempotency_key(
    tx: &mut Tx,
    api_key_id: i64,
    key: &str,
    now: jiff::Timestamp,
) -> Result<Option<IdempotencyKey>> {
    query("DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND expires_at <= $3")
        .bind(api_key_id)
        .bind(key)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    query(
        "SELECT referral_id, fingerprint FROM idempotency_keys WHERE api_key_id = $1 AND key = $2",
    )
    .bind(api_key_id)
    .bind(key)
    .fetch_optional(tx)
    .await
}

/// Remembers a partner's `Idempotency-Key` until `expires_at`; [`DbError::Conflict`] when the
/// same key was just remembered by a concurrent request.
#[tracing::instrument(skip_all)]
pub async fn remember_idempotency_key(
    tx: &mut Tx,
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
    referral_id: i64,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    query("INSERT INTO idempotency_keys (api_key_id, key, fingerprint, referral_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(api_key_id)
        .bind(key)
        .bind(fingerprint)
        .bind(referral_id)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(tx)
        .await
    .map_err(crate::conflict_as("this Idempotency-Key"))?;
    Ok(())
}

/// Forgets the `Idempotency-Key`s that expired before `now`; how many.
#[tracing::instrument(skip_all)]
pub async fn purge_idempotency_keys(tx: &mut Tx, now: jiff::Timestamp) -> Result<u64> {
    query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
        .bind(to_millis(now))
        .execute(tx)
        .await
}
