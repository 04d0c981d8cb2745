//! A referral's timeline: submissions, decision logs, offers and their outcomes, statuses.

use sqlx::FromRow;

use crate::{Db, Result, Tx, on_pool, on_tx, to_millis};

/// An entry of the timeline.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub referral_id: i64,
    pub actor: &'a str,
    pub kind: &'a str,
    pub status: Option<&'a str>,
    pub note: &'a str,
    pub account_number: &'a str,
    pub detail: serde_json::Value,
}

#[tracing::instrument(skip_all)]
pub async fn add_event(tx: &mut Tx, e: &NewEvent<'_>, now: jiff::Timestamp) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO referral_events (referral_id, at, actor, kind, status, note, account_number, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.referral_id)
    .bind(to_millis(now))
    .bind(e.actor)
    .bind(e.kind)
    .bind(e.status)
    .bind(e.note)
    .bind(e.account_number)
    .bind(e.detail.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub status: Option<String>,
    pub note: String,
    pub account_number: String,
    pub detail: String,
}

#[tracing::instrument(skip_all)]
pub async fn events(db: &Db, referral_id: i64) -> Result<Vec<EventRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, at, actor, kind, status, note, account_number, detail FROM referral_events
         WHERE referral_id = $1 ORDER BY id",
    )
    .bind(referral_id)
    .fetch_all(p)
    .await)?)
}
