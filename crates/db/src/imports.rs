//! The record of each file that landed, with its rejected-row report.

use crate::query::query;
use crate::time::from_row;
use crate::{Db, Result, Tx, on_pool, to_millis};

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
    /// Checked only, nothing applied.
    pub dry_run: bool,
}

#[tracing::instrument(skip_all, fields(kind = r.kind))]
pub async fn record(tx: &mut Tx, r: &ImportRecord<'_>, now: jiff::Timestamp) -> Result<i64> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    query("INSERT INTO imports (kind, file_name, sha256, rows_read, rows_applied, rejected, imported_at, actor, dry_run)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
        .bind(r.kind)
        .bind(r.file_name)
        .bind(r.sha256)
        .bind(count(r.rows))
        .bind(count(r.applied))
        .bind(r.rejected_json)
        .bind(to_millis(now))
        .bind(r.actor)
        .bind(r.dry_run)
        .scalar(tx)
        .await
}

/// One import as its history lists it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub sha256: String,
    pub rows_read: i64,
    pub rows_applied: i64,
    /// JSON array of `{"line":…,"reason":…}`.
    pub rejected: String,
    pub imported_at: i64,
    pub actor: String,
    pub dry_run: bool,
}

from_row!(ImportRow {
    id,
    kind,
    file_name,
    sha256,
    rows_read,
    rows_applied,
    rejected,
    imported_at,
    actor,
    dry_run
});

const COLUMNS: &str =
    "id, kind, file_name, sha256, rows_read, rows_applied, rejected, imported_at, actor, dry_run";

/// The newest imports first.
#[tracing::instrument(skip_all)]
pub async fn history(db: &Db, limit: i64) -> Result<Vec<ImportRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM imports ORDER BY id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn find(db: &Db, id: i64) -> Result<Option<ImportRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM imports WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?,
    )
}
