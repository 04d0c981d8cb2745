//! The record of each file that landed, with its rejected-row report.
use crate::{Result, Tx, on_tx, to_millis};

#[derive(Debug, Clone)]
pub struct ImportRecord<'a> {
    pub kind: &'a str,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub rows: u64,
    pub applied: u64,
    /// JSON array of `{"line":…,"reason":…}`.
    pub rejected_json: &'a str,
    pub actor: &'a str,
}

#[tracing::instrument(skip_all, fields(kind = r.kind))]
pub async fn record(tx: &mut Tx, r: &ImportRecord<'_>, now: jiff::Timestamp) -> Result<i64> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO imports (kind, file_name, sha256, rows_read, rows_applied, rejected, imported_at, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(r.kind)
    .bind(r.file_name)
    .bind(r.sha256)
    .bind(count(r.rows))
    .bind(count(r.applied))
    .bind(r.rejected_json)
    .bind(to_millis(now))
    .bind(r.actor)
    .fetch_one(c)
    .await)?)
}
