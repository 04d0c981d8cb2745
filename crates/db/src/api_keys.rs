//! Partner API keys: only the SHA-256 of a key is stored; the key is shown once.
use crate::query::query;
use crate::{Db, Result, Tx, on_pool, to_millis};

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut Tx, name: &str, key_hash: &str, now: jiff::Timestamp) -> Result<i64> {
    query("INSERT INTO api_keys (name, key_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(name)
        .bind(key_hash)
        .bind(to_millis(now))
        .scalar(tx)
        .await
}

/// The live key with this hash: (id, name).
#[tracing::instrument(skip_all)]
pub async fn find(db: &Db, key_hash: &str) -> Result<Option<(i64, String)>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(p)
    .await)?)
}
