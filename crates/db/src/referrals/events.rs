//! A referral's timeline: submissions, decision logs, offers and their outcomes, statuses.

use hod_domain::actor::Actor;
use hod_domain::referral::{EventKind, Status};

use crate::query::query;
use crate::time::{from_row, instant, maybe_parsed, parsed, parsed_str};
use crate::vault::columns::{EVENT_ACCOUNT_NUMBER, EVENT_NOTE};
use crate::{Db, Result, Tx, on_pool, to_millis};

/// An entry of the timeline.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub referral_id: i64,
    pub actor: Actor,
    pub kind: EventKind,
    pub status: Option<Status>,
    pub note: &'a str,
    pub account_number: &'a str,
    pub detail: serde_json::Value,
}

#[tracing::instrument(skip_all)]
pub async fn add_event(tx: &mut Tx, e: &NewEvent<'_>, now: jiff::Timestamp) -> Result<()> {
    query("INSERT INTO referral_events (referral_id, at, actor, kind, status, note, account_number, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(e.referral_id)
        .bind(to_millis(now))
        .bind(e.actor.to_string())
        .bind(e.kind.as_str())
        .bind(e.status.map(Status::id))
        .bind(tx.vault().seal(EVENT_NOTE, e.note)?)
        .bind(tx.vault().seal(EVENT_ACCOUNT_NUMBER, e.account_number)?)
        .bind(e.detail.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub actor: Actor,
    pub kind: EventKind,
    pub status: Option<Status>,
    pub note: String,
    pub account_number: String,
    pub detail: serde_json::Value,
}

from_row!(EventRow, |r| Ok(EventRow {
    id: r.try_get("id")?,
    at: instant(r, "at")?,
    actor: parsed_str(r, "actor")?,
    kind: parsed(r, "kind")?,
    status: maybe_parsed(r, "status")?,
    note: r.try_get("note")?,
    account_number: r.try_get("account_number")?,
    detail: serde_json::from_str(&r.try_get::<String>("detail")?)
        .map_err(|e| sqlx::Error::Decode(e.into()))?,
}));

#[tracing::instrument(skip_all)]
pub async fn events(db: &Db, referral_id: i64) -> Result<Vec<EventRow>> {
    let rows: Vec<EventRow> = on_pool!(db, p => sqlx::query_as(
        "SELECT id, at, actor, kind, status, note, account_number, detail FROM referral_events
         WHERE referral_id = $1 ORDER BY id",
    )
    .bind(referral_id)
    .fetch_all(p)
    .await)?;
    rows.into_iter()
        .map(|mut e| {
            db.vault().open_in_place(EVENT_NOTE, &mut e.note)?;
            db.vault()
                .open_in_place(EVENT_ACCOUNT_NUMBER, &mut e.account_number)?;
            Ok(e)
        })
        .collect()
}
