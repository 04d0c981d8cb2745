//! The append-only audit log of security and personal-data events. The tables refuse UPDATE
//! and DELETE (triggers), so an entry, once committed, stays.
use hod_domain::actor::Actor;
use serde::Serialize;

use crate::time::{from_row, instant};
use crate::{Db, Result, Tx, on_pool, on_tx, to_millis};

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: Actor,
    /// What happened, as a dotted name: `operator.created`, `agent.login_failed`.
    pub action: &'a str,
    /// What it happened to, e.g. `npn:1234567`.
    pub subject: &'a str,
    pub ip: Option<&'a str>,
    /// Extra facts as a JSON object.
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub actor: Actor,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub detail: String,
}

from_row!(EntryRow, |r| Ok(EntryRow {
    id: r.try_get("id")?,
    at: instant(r, "at")?,
    actor: crate::time::parsed_str(r, "actor")?,
    action: r.try_get("action")?,
    subject: r.try_get("subject")?,
    ip: r.try_get("ip")?,
    detail: r.try_get("detail")?,
}));

#[tracing::instrument(skip_all, fields(action = entry.action))]
pub async fn append(tx: &mut Tx, entry: &Entry<'_>, now: jiff::Timestamp) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, subject, ip, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(to_millis(now))
    .bind(entry.actor.to_string())
    .bind(entry.action)
    .bind(entry.subject)
    .bind(entry.ip)
    .bind(entry.detail.to_string())
    .fetch_one(c)
    .await)?)
}

/// The newest entries first.
#[tracing::instrument(skip_all)]
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<EntryRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, at, actor, action, subject, ip, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(p)
    .await)?)
}
