//! Program settings: administrators' choices (routing strategy, windows, intake calendar) as
//! key/value text, read by the application, which owns their meaning and defaults.
use std::collections::HashMap;

use crate::query::query;
use crate::{Db, Result, Tx, on_pool, to_millis};

#[tracing::instrument(skip_all)]
pub async fn all(db: &Db) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = on_pool!(db, p => sqlx::query_as("SELECT key, value FROM program_settings").fetch_all(p).await)?;
    Ok(rows.into_iter().collect())
}

#[tracing::instrument(skip_all, fields(key))]
pub async fn put(tx: &mut Tx, key: &str, value: &str, now: jiff::Timestamp) -> Result<()> {
    query(
        "INSERT INTO program_settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    Ok(())
}

/// The value of `key`, storing `value` first if there is none (the first writer wins, so
/// every node ends up with the same value).
#[tracing::instrument(skip_all, fields(key))]
pub async fn get_or_put(
    tx: &mut Tx,
    key: &str,
    value: &str,
    now: jiff::Timestamp,
) -> Result<String> {
    query("INSERT INTO program_settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    query("SELECT value FROM program_settings WHERE key = $1")
        .bind(key)
        .scalar(tx)
        .await
}
