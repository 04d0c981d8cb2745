//! Referrals, their offers and their timeline (SPEC.md §6, DESIGN.md §4).
//!
//! The referral row is the lock: routing and acceptance lock it first (PostgreSQL `FOR UPDATE`;
//! SQLite's writer lock serialises every write transaction), then change its offers. Consumer
//! contact details are read only through [`contact_for_agent`], whose query checks that the
//! agent is the one who accepted, and [`consumer_address`], for messages to the consumer.
use std::collections::HashMap;

use sqlx::FromRow;

use crate::availability::{Availability, HoursRow, assemble};
use crate::{Db, DbError, Result, Tx, on_pool, on_tx, to_millis};

/// A new consumer request, as validated by the application.
#[derive(Debug, Clone)]
pub struct NewReferral<'a> {
    pub plan_year: i16,
    pub zip: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub language: &'a str,
    pub reason: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: &'a str,
    pub email: Option<&'a str>,
    pub contact_by: &'a str,
    pub best_time: &'a str,
    pub ui_lang: &'a str,
    pub consent_version: &'a str,
    pub consent_ip: Option<&'a str>,
    pub consent_user_agent: Option<&'a str>,
    pub source: &'a str,
    pub api_key_id: Option<i64>,
    pub person_key: &'a str,
}

/// A referral without the consumer's contact details.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct ReferralRow {
    pub id: i64,
    pub plan_year: i64,
    pub status: String,
    pub zip: String,
    pub city: String,
    pub state: String,
    pub language: String,
    pub reason: String,
    pub contact_by: String,
    pub ui_lang: String,
    pub source: String,
    pub api_key_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub accepted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    pub last_offer_at: Option<i64>,
    pub unserved_reason: Option<String>,
}

const COLUMNS: &str = "r.id, r.plan_year, r.status, r.zip, r.city, r.state, r.language, r.reason, r.contact_by,
    r.ui_lang, r.source, r.api_key_id, r.agent_id, r.accepted_at, r.created_at, r.updated_at, r.due_at,
    r.last_offer_at, r.unserved_reason";

/// What only the accepting agent (and messages to the consumer) may see.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: Option<String>,
    pub best_time: String,
}

const CONTACT: &str = "r.first_name, r.last_name, r.phone, r.email, r.best_time";

#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, r: &NewReferral<'_>, now: jiff::Timestamp) -> Result<i64> {
    let now = to_millis(now);
    on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO referrals (plan_year, status, zip, city, state, language, reason, first_name, last_name,
            phone, email, contact_by, best_time, ui_lang, consent_version, consent_at, consent_ip,
            consent_user_agent, source, api_key_id, person_key, created_at, updated_at, due_at)
         VALUES ($1, 'searching', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $15, $15, $15)
         RETURNING id",
    )
    .bind(i64::from(r.plan_year))
    .bind(r.zip)
    .bind(r.city)
    .bind(r.state)
    .bind(r.language)
    .bind(r.reason)
    .bind(r.first_name)
    .bind(r.last_name)
    .bind(r.phone)
    .bind(r.email)
    .bind(r.contact_by)
    .bind(r.best_time)
    .bind(r.ui_lang)
    .bind(r.consent_version)
    .bind(now)
    .bind(r.consent_ip)
    .bind(r.consent_user_agent)
    .bind(r.source)
    .bind(r.api_key_id)
    .bind(r.person_key)
    .fetch_one(c)
    .await)
    .map_err(Into::into)
}

/// Serialises submissions of the same person on PostgreSQL (SQLite's writer lock already
/// does), so that two quick submissions make one request.
#[tracing::instrument(skip_all)]
pub async fn lock_person(tx: &mut Tx, person_key: &str) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7270005))")
            .bind(person_key)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// How the consumer wants to be reached and in which language: (contact_by, ui_lang).
#[tracing::instrument(skip_all)]
pub async fn contact_by_and_lang(tx: &mut Tx, id: i64) -> Result<(String, String)> {
    Ok(
        on_tx!(tx, c => sqlx::query_as("SELECT contact_by, ui_lang FROM referrals WHERE id = $1")
        .bind(id)
        .fetch_one(c)
        .await)?,
    )
}

/// Asks the router to look at a routing referral now (after a decline).
#[tracing::instrument(skip_all)]
pub async fn make_due(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE referrals SET due_at = $2 WHERE id = $1 AND status IN ('searching', 'offered')",
    )
    .bind(id)
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What messages to an agent need, read inside the routing transaction:
/// (first name, last name, email, availability mode).
#[tracing::instrument(skip_all)]
pub async fn agent_brief(tx: &mut Tx, agent_id: i64) -> Result<(String, String, String, String)> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT first_name, last_name, email, availability_mode FROM agents WHERE id = $1",
    )
    .bind(agent_id)
    .fetch_one(c)
    .await)?)
}

/// Starts a new streak of missed offers (after an automatic switch to red).
#[tracing::instrument(skip_all)]
pub async fn reset_missed(tx: &mut Tx, agent_id: i64) -> Result<()> {
    on_tx!(tx, c => sqlx::query("UPDATE agents SET missed_offers = 0 WHERE id = $1")
        .bind(agent_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The latest referral of the same person since `since` (a resubmission), if any, with the
/// partner key that submitted it (`None` for the web form).
#[tracing::instrument(skip_all)]
pub async fn same_person_since(
    tx: &mut Tx,
    person_key: &str,
    since: jiff::Timestamp,
) -> Result<Option<(i64, Option<i64>)>> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT id, api_key_id FROM referrals WHERE person_key = $1 AND created_at >= $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(person_key)
    .bind(to_millis(since))
    .fetch_optional(c)
    .await)?)
}

/// A partner's `Idempotency-Key` still remembered: the referral it made and the fingerprint
/// of the request that made it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub referral_id: i64,
    pub fingerprint: String,
}

/// The referral a partner made with this `Idempotency-Key`, unless the key has expired (an
/// expired key is forgotten here, so it can be used again).
#[tracing::instrument(skip_all)]
pub async fn idempotency_key(
    tx: &mut Tx,
    api_key_id: i64,
    key: &str,
    now: jiff::Timestamp,
) -> Result<Option<IdempotencyKey>> {
    on_tx!(tx, c => sqlx::query(
        "DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND expires_at <= $3",
    )
    .bind(api_key_id)
    .bind(key)
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT referral_id, fingerprint FROM idempotency_keys WHERE api_key_id = $1 AND key = $2",
    )
    .bind(api_key_id)
    .bind(key)
    .fetch_optional(c)
    .await)?)
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
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, referral_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(api_key_id)
    .bind(key)
    .bind(fingerprint)
    .bind(referral_id)
    .bind(to_millis(now))
    .bind(to_millis(expires_at))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(crate::conflict_as("this Idempotency-Key"))?;
    Ok(())
}

/// Forgets the `Idempotency-Key`s that expired before `now`; how many.
#[tracing::instrument(skip_all)]
pub async fn purge_idempotency_keys(tx: &mut Tx, now: jiff::Timestamp) -> Result<u64> {
    Ok(
        on_tx!(tx, c => sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
        .bind(to_millis(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, id: i64) -> Result<Option<ReferralRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM referrals r WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?,
    )
}

/// The referral with its contact details, only when `agent_id` accepted it.
#[tracing::instrument(skip_all)]
pub async fn contact_for_agent(
    db: &Db,
    id: i64,
    agent_id: i64,
) -> Result<Option<(ReferralRow, Contact)>> {
    let row = on_pool!(db, p => sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, {CONTACT} FROM referrals r WHERE r.id = $1 AND r.agent_id = $2"
    )))
    .bind(id)
    .bind(agent_id)
    .fetch_optional(p)
    .await?
    .map(|row| Ok::<_, sqlx::Error>((ReferralRow::from_row(&row)?, Contact::from_row(&row)?)))
    .transpose()?);
    Ok(row)
}

/// The referrals `agent_id` accepted, newest first, with contact details.
#[tracing::instrument(skip_all)]
pub async fn accepted_by(db: &Db, agent_id: i64) -> Result<Vec<(ReferralRow, Contact)>> {
    let rows = on_pool!(db, p => sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, {CONTACT} FROM referrals r WHERE r.agent_id = $1 ORDER BY r.accepted_at DESC, r.id DESC"
    )))
    .bind(agent_id)
    .fetch_all(p)
    .await?
    .iter()
    .map(|row| Ok::<_, sqlx::Error>((ReferralRow::from_row(row)?, Contact::from_row(row)?)))
    .collect::<Result<Vec<_>, _>>()?);
    Ok(rows)
}

/// How to reach the consumer, for the messages sent to them (never shown to agents).
#[tracing::instrument(skip_all)]
pub async fn consumer_address(tx: &mut Tx, id: i64) -> Result<Contact> {
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTACT} FROM referrals r WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_one(c)
    .await)?)
}

/// Locks a referral that is still routing and due at `now` (PostgreSQL skips one another
/// node holds). `None` when it is not due, not routing, or being routed elsewhere.
#[tracing::instrument(skip_all)]
pub async fn lock_due(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<Option<ReferralRow>> {
    let lock = lock_clause(tx);
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM referrals r WHERE r.id = $1 AND r.status IN ('searching', 'offered')
         AND r.due_at <= $2{lock}"
    )))
    .bind(id)
    .bind(to_millis(now))
    .fetch_optional(c)
    .await)?)
}

fn lock_clause(tx: &Tx) -> &'static str {
    match tx {
        Tx::Sqlite(_) => "",
        Tx::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    }
}

/// Ids of referrals due for routing at `now`, oldest deadline first.
#[tracing::instrument(skip_all)]
pub async fn due(db: &Db, now: jiff::Timestamp, limit: i64) -> Result<Vec<i64>> {
    Ok(on_pool!(db, p => sqlx::query_scalar(
        "SELECT id FROM referrals WHERE due_at <= $1 AND status IN ('searching', 'offered')
         ORDER BY due_at, id LIMIT $2",
    )
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OfferRow {
    pub id: i64,
    pub referral_id: i64,
    pub agent_id: i64,
    pub status: String,
    pub offered_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decline_reason: Option<String>,
}

const OFFER: &str = "o.id, o.referral_id, o.agent_id, o.status, o.offered_at, o.expires_at, o.decided_at, o.decline_reason";
/// The same columns for `RETURNING`, where SQLite takes no table qualifier.
const OFFER_RETURNING: &str =
    "id, referral_id, agent_id, status, offered_at, expires_at, decided_at, decline_reason";

/// Every offer of a referral, oldest first.
#[tracing::instrument(skip_all)]
pub async fn offers_of(tx: &mut Tx, referral_id: i64) -> Result<Vec<OfferRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFER} FROM referral_offers o WHERE o.referral_id = $1 ORDER BY o.id"
    )))
    .bind(referral_id)
    .fetch_all(c)
    .await)?)
}

/// Closes the open offers of a referral that `when` selects: lapsed ones (`expired`), or
/// all of them (`withdrawn`, when someone else accepted or the request gave up). Returns them.
#[tracing::instrument(skip_all)]
pub async fn close_open_offers(
    tx: &mut Tx,
    referral_id: i64,
    to: &str,
    lapsed_by: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<Vec<OfferRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE referral_offers SET status = $2, decided_at = $3
         WHERE referral_id = $1 AND status = 'open' AND ($4 IS NULL OR expires_at <= $4)
         RETURNING {OFFER_RETURNING}"
    )))
    .bind(referral_id)
    .bind(to)
    .bind(to_millis(now))
    .bind(lapsed_by.map(to_millis))
    .fetch_all(c)
    .await)?)
}

#[tracing::instrument(skip_all)]
pub async fn insert_offer(
    tx: &mut Tx,
    referral_id: i64,
    agent_id: i64,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO referral_offers (referral_id, agent_id, status, offered_at, expires_at)
         VALUES ($1, $2, 'open', $3, $4) RETURNING id",
    )
    .bind(referral_id)
    .bind(agent_id)
    .bind(to_millis(now))
    .bind(to_millis(expires_at))
    .fetch_one(c)
    .await)?)
}

/// Sets where a routing referral stands and when to look again.
#[tracing::instrument(skip_all)]
pub async fn set_routing(
    tx: &mut Tx,
    id: i64,
    status: &str,
    due_at: jiff::Timestamp,
    last_offer_at: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE referrals SET status = $2, due_at = $3, last_offer_at = COALESCE($4, last_offer_at), updated_at = $5
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(to_millis(due_at))
    .bind(last_offer_at.map(to_millis))
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives up on a routing referral.
#[tracing::instrument(skip_all)]
pub async fn mark_unserved(tx: &mut Tx, id: i64, reason: &str, now: jiff::Timestamp) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE referrals SET status = 'unserved', unserved_reason = $2, due_at = NULL, updated_at = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Locks the referral an offer of `agent_id` belongs to (before its offers are touched, so
/// that locks are always taken referral first). Returns the referral id.
#[tracing::instrument(skip_all)]
pub async fn lock_for_offer(tx: &mut Tx, offer_id: i64, agent_id: i64) -> Result<Option<i64>> {
    let lock = match tx {
        Tx::Sqlite(_) => "",
        Tx::Postgres(_) => " FOR UPDATE",
    };
    Ok(
        on_tx!(tx, c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT r.id FROM referrals r WHERE r.id = (SELECT referral_id FROM referral_offers
         WHERE id = $1 AND agent_id = $2){lock}"
    )))
    .bind(offer_id)
    .bind(agent_id)
    .fetch_optional(c)
    .await)?,
    )
}

/// How many accepted referrals `agent_id` has not yet followed up, with the agent's row
/// locked (PostgreSQL; SQLite's writer lock serialises) so that two acceptances of one agent
/// on different referrals count one after the other. Take it after the referral's lock.
#[tracing::instrument(skip_all)]
pub async fn lock_agent_open_referrals(tx: &mut Tx, agent_id: i64) -> Result<i64> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT id FROM agents WHERE id = $1 FOR UPDATE")
            .bind(agent_id)
            .execute(&mut **t)
            .await?;
    }
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM referrals WHERE agent_id = $1 AND status = 'accepted'",
    )
    .bind(agent_id)
    .fetch_one(c)
    .await)?)
}

/// Decides an open, unexpired offer of `agent_id` (`accepted` or `declined`). `None` when the
/// offer is not open any more (lapsed, withdrawn, already decided) or is not theirs.
#[tracing::instrument(skip_all)]
pub async fn decide_offer(
    tx: &mut Tx,
    offer_id: i64,
    agent_id: i64,
    to: &str,
    reason: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Option<OfferRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE referral_offers SET status = $3, decided_at = $4, decline_reason = $5
         WHERE id = $1 AND agent_id = $2 AND status = 'open' AND expires_at > $4
         RETURNING {OFFER_RETURNING}"
    )))
    .bind(offer_id)
    .bind(agent_id)
    .bind(to)
    .bind(to_millis(now))
    .bind(reason)
    .fetch_optional(c)
    .await)?)
}

/// First accept wins: gives the referral to `agent_id` if it is still on offer. `false` when
/// someone else got it first or it stopped routing.
#[tracing::instrument(skip_all)]
pub async fn assign(
    tx: &mut Tx,
    id: i64,
    agent_id: i64,
    now: jiff::Timestamp,
    reminder_at: jiff::Timestamp,
) -> Result<bool> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE referrals SET status = 'accepted', agent_id = $2, accepted_at = $3, updated_at = $3,
            due_at = NULL, reminder_due_at = $4
         WHERE id = $1 AND status = 'offered' AND agent_id IS NULL",
    )
    .bind(id)
    .bind(agent_id)
    .bind(to_millis(now))
    .bind(to_millis(reminder_at))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Moves the agent's referral from `from` to `to` (the conditional update keeps two tabs
/// from recording over each other).
#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    agent_id: i64,
    from: &str,
    to: &str,
    now: jiff::Timestamp,
) -> Result<bool> {
    let done = on_tx!(tx, c => sqlx::query(
        "UPDATE referrals SET status = $4, updated_at = $5,
            reminder_due_at = CASE WHEN $4 = 'accepted' THEN reminder_due_at ELSE NULL END
         WHERE id = $1 AND agent_id = $2 AND status = $3",
    )
    .bind(id)
    .bind(agent_id)
    .bind(from)
    .bind(to)
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Takes the follow-up reminders due at `now` (each is handed out once). Returns
/// (referral id, agent id).
#[tracing::instrument(skip_all)]
pub async fn take_due_reminders(
    tx: &mut Tx,
    now: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    let lock = lock_clause(tx);
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE referrals SET reminder_due_at = NULL
         WHERE id IN (SELECT id FROM referrals WHERE reminder_due_at <= $1 ORDER BY reminder_due_at LIMIT $2{lock})
           AND status = 'accepted'
         RETURNING id, agent_id"
    )))
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(c)
    .await)?)
}

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

/// An open offer as its agent sees it: where and what, never who.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OpenOffer {
    pub id: i64,
    pub referral_id: i64,
    pub city: String,
    pub zip: String,
    pub state: String,
    pub language: String,
    pub reason: String,
    pub offered_at: i64,
    pub expires_at: i64,
}

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

/// What routing needs to know about one agent who prefers the request's state.
#[derive(Debug, Clone)]
pub struct CandidateRow {
    pub agent_id: i64,
    pub npn: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub contact_method: Option<String>,
    pub zip: Option<String>,
    pub eligible: Option<bool>,
    pub eligible_states: String,
    pub registered: bool,
    pub terms_accepted: i64,
    pub speaks: bool,
    pub open_referrals: i64,
    /// Offers the agent holds on other referrals, still open.
    pub open_offers: i64,
    pub offered_before: bool,
    pub last_offered_at: Option<i64>,
    pub accept_rate: f64,
    pub accept_secs: f64,
    pub availability: Availability,
}

#[derive(FromRow)]
struct CandidateSql {
    agent_id: i64,
    npn: String,
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    contact_method: Option<String>,
    zip: Option<String>,
    eligible: Option<bool>,
    eligible_states: Option<String>,
    registered: bool,
    terms_accepted: i64,
    speaks: bool,
    open_referrals: i64,
    open_offers: i64,
    offered_before: bool,
    last_offered_at: Option<i64>,
    accept_rate: f64,
    accept_secs: f64,
    availability_mode: String,
    time_zone: Option<String>,
    absence_from: Option<String>,
    absence_until: Option<String>,
}

/// The agents whose State Preferences include `state`, with every fact matching needs for
/// referral `referral_id` in `plan_year`: `terms_accepted` counts which of `current_terms`
/// they accepted.
#[tracing::instrument(skip_all)]
pub async fn candidates(
    tx: &mut Tx,
    referral_id: i64,
    plan_year: i16,
    state: &str,
    language: &str,
    current_terms: &[i64],
) -> Result<Vec<CandidateRow>> {
    let terms = if current_terms.is_empty() {
        "-1".to_owned()
    } else {
        current_terms
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT a.id AS agent_id, a.npn, a.first_name, a.last_name, a.email, a.phone, a.contact_method, a.zip,
            e.eligible, e.states AS eligible_states, a.registered_at IS NOT NULL AS registered,
            (SELECT COUNT(DISTINCT t.document_id) FROM terms_acceptances t
              WHERE t.agent_id = a.id AND t.document_id IN ({terms})) AS terms_accepted,
            EXISTS (SELECT 1 FROM agent_languages l WHERE l.agent_id = a.id AND l.lang = $4) AS speaks,
            (SELECT COUNT(*) FROM referrals x WHERE x.agent_id = a.id AND x.status = 'accepted') AS open_referrals,
            (SELECT COUNT(*) FROM referral_offers h
              WHERE h.agent_id = a.id AND h.status = 'open' AND h.referral_id <> $1) AS open_offers,
            EXISTS (SELECT 1 FROM referral_offers o WHERE o.referral_id = $1 AND o.agent_id = a.id) AS offered_before,
            a.last_offered_at, a.accept_rate, a.accept_secs,
            a.availability_mode, a.time_zone, a.absence_from, a.absence_until
         FROM agent_state_preferences sp
         JOIN agents a ON a.id = sp.agent_id
         LEFT JOIN eligibility e ON e.npn = a.npn AND e.plan_year = $2
         WHERE sp.state = $3
         ORDER BY a.id"
    );
    let rows: Vec<CandidateSql> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(referral_id)
        .bind(i64::from(plan_year))
        .bind(state)
        .bind(language)
        .fetch_all(&mut *c)
        .await)?;
    let hours: Vec<(i64, i64, String, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT h.agent_id, h.weekday, h.starts_at, h.ends_at FROM agent_hours h
         JOIN agent_state_preferences sp ON sp.agent_id = h.agent_id AND sp.state = $1
         ORDER BY h.agent_id, h.weekday, h.starts_at",
    )
    .bind(state)
    .fetch_all(c)
    .await)?;
    let mut by_agent: HashMap<i64, Vec<HoursRow>> = HashMap::new();
    for (agent, day, start, end) in hours {
        by_agent.entry(agent).or_default().push((day, start, end));
    }
    rows.into_iter()
        .map(|r| {
            let availability = assemble(
                &r.availability_mode,
                r.time_zone,
                r.absence_from.as_deref(),
                r.absence_until.as_deref(),
                by_agent.remove(&r.agent_id).unwrap_or_default(),
            )?;
            Ok(CandidateRow {
                agent_id: r.agent_id,
                npn: r.npn,
                first_name: r.first_name,
                last_name: r.last_name,
                email: r.email,
                phone: r.phone,
                contact_method: r.contact_method,
                zip: r.zip,
                eligible: r.eligible,
                eligible_states: r.eligible_states.unwrap_or_default(),
                registered: r.registered,
                terms_accepted: r.terms_accepted,
                speaks: r.speaks,
                open_referrals: r.open_referrals,
                open_offers: r.open_offers,
                offered_before: r.offered_before,
                last_offered_at: r.last_offered_at,
                accept_rate: r.accept_rate,
                accept_secs: r.accept_secs,
                availability,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()
}

/// Routing's memory of an agent after an offer went out.
#[tracing::instrument(skip_all)]
pub async fn note_offered(tx: &mut Tx, agent_id: i64, now: jiff::Timestamp) -> Result<()> {
    on_tx!(tx, c => sqlx::query("UPDATE agents SET last_offered_at = $2 WHERE id = $1")
        .bind(agent_id)
        .bind(to_millis(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records how an agent answered an offer: `missed` adds one to the streak of offers let
/// lapse (an answer ends it). Returns the streak and the agent's responsiveness before.
#[tracing::instrument(skip_all)]
pub async fn note_answer(
    tx: &mut Tx,
    agent_id: i64,
    missed: bool,
    accept_rate: f64,
    accept_secs: f64,
) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "UPDATE agents SET missed_offers = CASE WHEN $2 THEN missed_offers + 1 ELSE 0 END,
            accept_rate = $3, accept_secs = $4
         WHERE id = $1 RETURNING missed_offers",
    )
    .bind(agent_id)
    .bind(missed)
    .bind(accept_rate)
    .bind(accept_secs)
    .fetch_one(c)
    .await)?)
}

/// An agent's responsiveness as stored: (accept_rate, accept_secs).
#[tracing::instrument(skip_all)]
pub async fn responsiveness(tx: &mut Tx, agent_id: i64) -> Result<(f64, f64)> {
    Ok(
        on_tx!(tx, c => sqlx::query_as("SELECT accept_rate, accept_secs FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_one(c)
        .await)?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM referrals").fetch_one(p).await)?)
}

/// Referrals the router gave up on, oldest first (the operators' queue).
#[tracing::instrument(skip_all)]
pub async fn unserved(db: &Db, limit: i64) -> Result<Vec<ReferralRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM referrals r WHERE r.status = 'unserved' ORDER BY r.created_at LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

/// The consumer's consent as the agent records it (CMS model consent form).
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    pub referral_id: i64,
    pub agent_id: i64,
    pub consumer_name: &'a str,
    pub agent_name: &'a str,
    pub scope: &'a str,
    pub duration: &'a str,
    pub consented_on: &'a str,
    pub withdraw_how: &'a str,
    pub method: &'a str,
    pub keep_until: jiff::Timestamp,
}

#[tracing::instrument(skip_all)]
pub async fn add_consent(tx: &mut Tx, c: &NewConsent<'_>, now: jiff::Timestamp) -> Result<i64> {
    Ok(on_tx!(tx, x => sqlx::query_scalar(
        "INSERT INTO referral_consents (referral_id, agent_id, consumer_name, agent_name, scope, duration,
            consented_on, withdraw_how, method, recorded_at, keep_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(c.referral_id)
    .bind(c.agent_id)
    .bind(c.consumer_name)
    .bind(c.agent_name)
    .bind(c.scope)
    .bind(c.duration)
    .bind(c.consented_on)
    .bind(c.withdraw_how)
    .bind(c.method)
    .bind(to_millis(now))
    .bind(to_millis(c.keep_until))
    .fetch_one(x)
    .await)?)
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: i64,
    pub consumer_name: String,
    pub agent_name: String,
    pub scope: String,
    pub duration: String,
    pub consented_on: String,
    pub withdraw_how: String,
    pub method: String,
    pub recorded_at: i64,
    pub keep_until: i64,
}

/// The consents recorded for a referral by `agent_id` (the accepting agent).
#[tracing::instrument(skip_all)]
pub async fn consents(db: &Db, referral_id: i64, agent_id: i64) -> Result<Vec<ConsentRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT c.id, c.consumer_name, c.agent_name, c.scope, c.duration, c.consented_on, c.withdraw_how,
            c.method, c.recorded_at, c.keep_until
         FROM referral_consents c JOIN referrals r ON r.id = c.referral_id AND r.agent_id = $2
         WHERE c.referral_id = $1 ORDER BY c.id",
    )
    .bind(referral_id)
    .bind(agent_id)
    .fetch_all(p)
    .await)?)
}
