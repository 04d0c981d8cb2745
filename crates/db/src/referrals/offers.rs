//! Offers of a referral to agents: made, decided (accepted, declined), closed (expired,
//! withdrawn), and what an agent sees of the ones open to them.

use hod_domain::referral::OfferStatus;
use jiff::Timestamp;

use crate::query::query;
use crate::time::{from_row, instant, maybe_instant, parsed};
use crate::{Db, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRow {
    pub id: i64,
    pub referral_id: i64,
    pub agent_id: i64,
    pub status: OfferStatus,
    pub offered_at: Timestamp,
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decline_reason: Option<String>,
}

from_row!(OfferRow, |r| Ok(OfferRow {
    id: r.try_get("id")?,
    referral_id: r.try_get("referral_id")?,
    agent_id: r.try_get("agent_id")?,
    status: parsed(r, "status")?,
    offered_at: instant(r, "offered_at")?,
    expires_at: instant(r, "expires_at")?,
    decided_at: maybe_instant(r, "decided_at")?,
    decline_reason: r.try_get("decline_reason")?,
}));

pub(crate) const OFFER: &str = "o.id, o.referral_id, o.agent_id, o.status, o.offered_at, o.expires_at, o.decided_at, o.decline_reason";

/// The same columns for `RETURNING`, where SQLite takes no table qualifier.
const OFFER_RETURNING: &str =
    "id, referral_id, agent_id, status, offered_at, expires_at, decided_at, decline_reason";

/// Every offer of a referral, oldest first.
#[tracing::instrument(skip_all)]
pub async fn offers_of(tx: &mut Tx, referral_id: i64) -> Result<Vec<OfferRow>> {
    query(format!(
        "SELECT {OFFER} FROM referral_offers o WHERE o.referral_id = $1 ORDER BY o.id"
    ))
    .bind(referral_id)
    .fetch_all(tx)
    .await
}

/// Closes the open offers of a referral that `when` selects: lapsed ones (`expired`), or
/// all of them (`withdrawn`, when someone else accepted or the request gave up). Returns them.
#[tracing::instrument(skip_all)]
pub async fn close_open_offers(
    tx: &mut Tx,
    referral_id: i64,
    to: OfferStatus,
    lapsed_by: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<Vec<OfferRow>> {
    query(format!(
        "UPDATE referral_offers SET status = $2, decided_at = $3
         WHERE referral_id = $1 AND status = 'open' AND ($4 IS NULL OR expires_at <= $4)
         RETURNING {OFFER_RETURNING}"
    ))
    .bind(referral_id)
    .bind(to.as_str())
    .bind(to_millis(now))
    .bind(lapsed_by.map(to_millis))
    .fetch_all(tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn insert_offer(
    tx: &mut Tx,
    referral_id: i64,
    agent_id: i64,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<i64> {
    query(
        "INSERT INTO referral_offers (referral_id, agent_id, status, offered_at, expires_at)
         VALUES ($1, $2, 'open', $3, $4) RETURNING id",
    )
    .bind(referral_id)
    .bind(agent_id)
    .bind(to_millis(now))
    .bind(to_millis(expires_at))
    .scalar(tx)
    .await
}

/// Locks the referral an offer of `agent_id` belongs to (before its offers are touched, so
/// that locks are always taken referral first). Returns the referral id.
#[tracing::instrument(skip_all)]
pub async fn lock_for_offer(tx: &mut Tx, offer_id: i64, agent_id: i64) -> Result<Option<i64>> {
    let lock = match tx.backend() {
        crate::Backend::Sqlite => "",
        crate::Backend::Postgres => " FOR UPDATE",
    };
    query(format!(
        "SELECT r.id FROM referrals r WHERE r.id = (SELECT referral_id FROM referral_offers
         WHERE id = $1 AND agent_id = $2){lock}"
    ))
    .bind(offer_id)
    .bind(agent_id)
    .scalar_optional(tx)
    .await
}

/// How many accepted referrals `agent_id` has not yet followed up, with the agent's row
/// locked (PostgreSQL; SQLite's writer lock serialises) so that two acceptances of one agent
/// on different referrals count one after the other. Take it after the referral's lock.
#[tracing::instrument(skip_all)]
pub async fn lock_agent_open_referrals(tx: &mut Tx, agent_id: i64) -> Result<i64> {
    if let Some(t) = tx.postgres() {
        sqlx::query("SELECT id FROM agents WHERE id = $1 FOR UPDATE")
            .bind(agent_id)
            .execute(t)
            .await?;
    }
    query("SELECT COUNT(*) FROM referrals WHERE agent_id = $1 AND status = 'accepted'")
        .bind(agent_id)
        .scalar(tx)
        .await
}

/// Decides an open, unexpired offer of `agent_id` (`accepted` or `declined`). `None` when the
/// offer is not open any more (lapsed, withdrawn, already decided) or is not theirs.
#[tracing::instrument(skip_all)]
pub async fn decide_offer(
    tx: &mut Tx,
    offer_id: i64,
    agent_id: i64,
    to: OfferStatus,
    reason: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Option<OfferRow>> {
    query(format!(
        "UPDATE referral_offers SET status = $3, decided_at = $4, decline_reason = $5
         WHERE id = $1 AND agent_id = $2 AND status = 'open' AND expires_at > $4
         RETURNING {OFFER_RETURNING}"
    ))
    .bind(offer_id)
    .bind(agent_id)
    .bind(to.as_str())
    .bind(to_millis(now))
    .bind(reason)
    .fetch_optional(tx)
    .await
}

/// An open offer as its agent sees it: where and what, never who.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenOffer {
    pub id: i64,
    pub referral_id: i64,
    pub city: String,
    pub zip: String,
    pub state: String,
    pub language: String,
    pub reason: String,
    #[serde(skip)]
    pub offered_at: Timestamp,
    pub expires_at: Timestamp,
}

from_row!(OpenOffer, |r| Ok(OpenOffer {
    id: r.try_get("id")?,
    referral_id: r.try_get("referral_id")?,
    city: r.try_get("city")?,
    zip: r.try_get("zip")?,
    state: r.try_get("state")?,
    language: r.try_get("language")?,
    reason: r.try_get("reason")?,
    offered_at: instant(r, "offered_at")?,
    expires_at: instant(r, "expires_at")?,
}));

#[tracing::instrument(skip_all)]
pub async fn open_offers_for(
    db: &Db,
    agent_id: i64,
    now: jiff::Timestamp,
) -> Result<Vec<OpenOffer>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT o.id, o.referral_id, r.city, r.zip, r.state, r.language, r.reason, o.offered_at, o.expires_at
         FROM referral_offers o JOIN referrals r ON r.id = o.referral_id
         WHERE o.agent_id = $1 AND o.status = 'open' AND o.expires_at > $2 AND r.status = 'offered'
         ORDER BY o.expires_at, o.id",
    )
    .bind(agent_id)
    .bind(to_millis(now))
    .fetch_all(p)
    .await)?)
}

/// Open offers half-way through their window that have not been reminded of, marked as
/// reminded (up to `limit`).
#[tracing::instrument(skip_all)]
pub async fn take_due_offer_reminders(
    tx: &mut Tx,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<OfferRow>> {
    let lock = super::lock_clause(tx);
    query(format!(
        "UPDATE referral_offers SET reminded_at = $1
         WHERE id IN (SELECT id FROM referral_offers
                      WHERE status = 'open' AND reminded_at IS NULL
                        AND offered_at + (expires_at - offered_at) / 2 <= $1
                      ORDER BY offered_at + (expires_at - offered_at) / 2 LIMIT $2{lock})
         RETURNING {OFFER_RETURNING}"
    ))
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(tx)
    .await
}

/// Withdraws every open offer of an agent (suspended: no more offers, at once). Returns the
/// referrals they were for.
#[tracing::instrument(skip_all)]
pub async fn withdraw_offers_of(
    tx: &mut Tx,
    agent_id: i64,
    now: jiff::Timestamp,
) -> Result<Vec<i64>> {
    query(
        "UPDATE referral_offers SET status = 'withdrawn', decided_at = $2
         WHERE agent_id = $1 AND status = 'open' RETURNING referral_id",
    )
    .bind(agent_id)
    .bind(to_millis(now))
    .scalars(tx)
    .await
}
