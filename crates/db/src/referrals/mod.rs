//! Referrals, their offers and their timeline (SPEC.md §6, DESIGN.md §4).
//!
//! The referral row is the lock: routing and acceptance lock it first (PostgreSQL `FOR UPDATE`;
//! SQLite's writer lock serialises every write transaction), then change its offers. Consumer
//! contact details are read only through [`contact_for_agent`], whose query checks that the
//! agent is the one who accepted, and [`consumer_address`], for messages to the consumer.

use hod_domain::referral::Status;
use jiff::Timestamp;

use crate::query::query;
use crate::time::{from_row, instant, maybe_instant, parsed};
use crate::vault::Vault;
use crate::vault::columns::{
    REFERRAL_BEST_TIME, REFERRAL_EMAIL, REFERRAL_FIRST_NAME, REFERRAL_LAST_NAME, REFERRAL_PHONE,
};
use crate::{Db, Result, Tx, on_pool, to_millis};

mod candidates;
mod consents;
mod events;
mod idempotency;
mod offers;

pub use candidates::*;
pub use consents::*;
pub use events::*;
pub use idempotency::*;
pub use offers::*;

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
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralRow {
    pub id: i64,
    pub plan_year: i64,
    pub status: Status,
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
    pub accepted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub due_at: Option<Timestamp>,
    pub last_offer_at: Option<Timestamp>,
    pub unserved_reason: Option<String>,
    /// When an operator last re-routed it (its wait counts from then).
    pub routing_since: Option<Timestamp>,
    /// When the consumer's details were erased (retention); its numbers stay.
    pub erased_at: Option<Timestamp>,
}

from_row!(ReferralRow, |r| Ok(ReferralRow {
    id: r.try_get("id")?,
    plan_year: r.try_get("plan_year")?,
    status: parsed(r, "status")?,
    zip: r.try_get("zip")?,
    city: r.try_get("city")?,
    state: r.try_get("state")?,
    language: r.try_get("language")?,
    reason: r.try_get("reason")?,
    contact_by: r.try_get("contact_by")?,
    ui_lang: r.try_get("ui_lang")?,
    source: r.try_get("source")?,
    api_key_id: r.try_get("api_key_id")?,
    agent_id: r.try_get("agent_id")?,
    accepted_at: maybe_instant(r, "accepted_at")?,
    created_at: instant(r, "created_at")?,
    updated_at: instant(r, "updated_at")?,
    due_at: maybe_instant(r, "due_at")?,
    last_offer_at: maybe_instant(r, "last_offer_at")?,
    unserved_reason: r.try_get("unserved_reason")?,
    routing_since: maybe_instant(r, "routing_since")?,
    erased_at: maybe_instant(r, "erased_at")?,
}));

pub(super) const COLUMNS: &str = "r.id, r.plan_year, r.status, r.zip, r.city, r.state, r.language, r.reason, r.contact_by,
    r.ui_lang, r.source, r.api_key_id, r.agent_id, r.accepted_at, r.created_at, r.updated_at, r.due_at,
    r.last_offer_at, r.unserved_reason, r.routing_since, r.erased_at";

/// What only the accepting agent (and messages to the consumer) may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: Option<String>,
    pub best_time: String,
}

from_row!(Contact {
    first_name,
    last_name,
    phone,
    email,
    best_time
});

pub(super) const CONTACT: &str = "r.first_name, r.last_name, r.phone, r.email, r.best_time";

impl Contact {
    /// The details as they were given, from their stored (sealed) form.
    fn opened(mut self, vault: &Vault) -> Result<Self> {
        vault.open_in_place(REFERRAL_FIRST_NAME, &mut self.first_name)?;
        vault.open_in_place(REFERRAL_LAST_NAME, &mut self.last_name)?;
        vault.open_in_place(REFERRAL_PHONE, &mut self.phone)?;
        vault.open_opt_in_place(REFERRAL_EMAIL, &mut self.email)?;
        vault.open_in_place(REFERRAL_BEST_TIME, &mut self.best_time)?;
        Ok(self)
    }
}

/// Stores a new request, due for routing at once; the row as stored (nothing to read back).
#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, r: &NewReferral<'_>, now: jiff::Timestamp) -> Result<ReferralRow> {
    let millis = to_millis(now);
    let vault = tx.vault().clone();
    let id = query("INSERT INTO referrals (plan_year, status, zip, city, state, language, reason, first_name, last_name,
            phone, email, contact_by, best_time, ui_lang, consent_version, consent_at, consent_ip,
            consent_user_agent, source, api_key_id, person_key, created_at, updated_at, due_at)
         VALUES ($1, 'searching', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $15, $15, $15)
         RETURNING id")
        .bind(i64::from(r.plan_year))
        .bind(r.zip)
        .bind(r.city)
        .bind(r.state)
        .bind(r.language)
        .bind(r.reason)
        .bind(vault.seal(REFERRAL_FIRST_NAME, r.first_name)?)
        .bind(vault.seal(REFERRAL_LAST_NAME, r.last_name)?)
        .bind(vault.seal(REFERRAL_PHONE, r.phone)?)
        .bind(vault.seal_opt(REFERRAL_EMAIL, r.email)?)
        .bind(r.contact_by)
        .bind(vault.seal(REFERRAL_BEST_TIME, r.best_time)?)
        .bind(r.ui_lang)
        .bind(r.consent_version)
        .bind(millis)
        .bind(r.consent_ip)
        .bind(r.consent_user_agent)
        .bind(r.source)
        .bind(r.api_key_id)
        .bind(r.person_key)
        .scalar(tx)
        .await?;
    let at = crate::from_millis(millis)?;
    Ok(ReferralRow {
        id,
        plan_year: i64::from(r.plan_year),
        status: Status::Searching,
        zip: r.zip.to_owned(),
        city: r.city.to_owned(),
        state: r.state.to_owned(),
        language: r.language.to_owned(),
        reason: r.reason.to_owned(),
        contact_by: r.contact_by.to_owned(),
        ui_lang: r.ui_lang.to_owned(),
        source: r.source.to_owned(),
        api_key_id: r.api_key_id,
        agent_id: None,
        accepted_at: None,
        created_at: at,
        updated_at: at,
        due_at: Some(at),
        last_offer_at: None,
        unserved_reason: None,
        routing_since: None,
        erased_at: None,
    })
}

/// Serialises submissions of the same person on PostgreSQL (SQLite's writer lock already
/// does), so that two quick submissions make one request.
#[tracing::instrument(skip_all)]
pub async fn lock_person(tx: &mut Tx, person_key: &str) -> Result<()> {
    if let Some(t) = tx.postgres() {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7270005))")
            .bind(person_key)
            .execute(t)
            .await?;
    }
    Ok(())
}

/// A message's way to the consumer: their contact details, how they want to be reached and
/// the language of the pages they used.
#[derive(Debug, Clone)]
pub struct ConsumerReach {
    pub contact: Contact,
    pub contact_by: String,
    pub ui_lang: String,
}

from_row!(ConsumerReach, |r| Ok(ConsumerReach {
    contact: crate::query::FromCols::from_cols(r)?,
    contact_by: r.try_get("contact_by")?,
    ui_lang: r.try_get("ui_lang")?,
}));

#[tracing::instrument(skip_all)]
pub async fn consumer_reach(tx: &mut Tx, id: i64) -> Result<ConsumerReach> {
    let mut reach: ConsumerReach = query(format!(
        "SELECT {CONTACT}, r.contact_by, r.ui_lang FROM referrals r WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_one(tx)
    .await?;
    reach.contact = reach.contact.opened(tx.vault())?;
    Ok(reach)
}

/// Asks the router to look at a routing referral now (after a decline).
#[tracing::instrument(skip_all)]
pub async fn make_due(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<()> {
    query("UPDATE referrals SET due_at = $2 WHERE id = $1 AND status IN ('searching', 'offered')")
        .bind(id)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
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
    query("SELECT id, api_key_id FROM referrals WHERE person_key = $1 AND created_at >= $2 ORDER BY id DESC LIMIT 1")
        .bind(person_key)
        .bind(to_millis(since))
        .fetch_optional(tx)
        .await
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

/// A referral, read in the caller's transaction.
#[tracing::instrument(skip_all)]
pub async fn get_in(tx: &mut Tx, id: i64) -> Result<ReferralRow> {
    query(format!("SELECT {COLUMNS} FROM referrals r WHERE r.id = $1"))
        .bind(id)
        .fetch_one(tx)
        .await
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
    .map(|row| Ok::<_, sqlx::Error>((crate::query::FromCols::from_cols(&row)?, crate::query::FromCols::from_cols(&row)?)))
    .transpose()?);
    row.map(|(r, c): (ReferralRow, Contact)| Ok((r, c.opened(db.vault())?)))
        .transpose()
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
    .map(|row| Ok::<_, sqlx::Error>((crate::query::FromCols::from_cols(row)?, crate::query::FromCols::from_cols(row)?)))
    .collect::<Result<Vec<_>, _>>()?);
    rows.into_iter()
        .map(|(r, c): (ReferralRow, Contact)| Ok((r, c.opened(db.vault())?)))
        .collect()
}

/// How to reach the consumer, for the messages sent to them (never shown to agents).
#[tracing::instrument(skip_all)]
pub async fn consumer_address(tx: &mut Tx, id: i64) -> Result<Contact> {
    let c: Contact = query(format!("SELECT {CONTACT} FROM referrals r WHERE r.id = $1"))
        .bind(id)
        .fetch_one(tx)
        .await?;
    c.opened(tx.vault())
}

/// Locks a referral that is still routing and due at `now` (PostgreSQL skips one another
/// node holds). `None` when it is not due, not routing, or being routed elsewhere.
#[tracing::instrument(skip_all)]
pub async fn lock_due(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<Option<ReferralRow>> {
    let lock = lock_clause(tx);
    query(format!(
        "SELECT {COLUMNS} FROM referrals r WHERE r.id = $1 AND r.status IN ('searching', 'offered')
         AND r.due_at <= $2{lock}"
    ))
    .bind(id)
    .bind(to_millis(now))
    .fetch_optional(tx)
    .await
}

pub(super) fn lock_clause(tx: &Tx) -> &'static str {
    match tx.backend() {
        crate::Backend::Sqlite => "",
        crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
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

/// Sets where a routing referral stands and when to look again.
#[tracing::instrument(skip_all)]
pub async fn set_routing(
    tx: &mut Tx,
    id: i64,
    status: Status,
    due_at: jiff::Timestamp,
    last_offer_at: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<()> {
    query("UPDATE referrals SET status = $2, due_at = $3, last_offer_at = COALESCE($4, last_offer_at), updated_at = $5
         WHERE id = $1")
        .bind(id)
        .bind(status.id())
        .bind(to_millis(due_at))
        .bind(last_offer_at.map(to_millis))
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
}

/// Gives up on a routing referral.
#[tracing::instrument(skip_all)]
pub async fn mark_unserved(tx: &mut Tx, id: i64, reason: &str, now: jiff::Timestamp) -> Result<()> {
    query("UPDATE referrals SET status = 'unserved', unserved_reason = $2, due_at = NULL, updated_at = $3
         WHERE id = $1")
        .bind(id)
        .bind(reason)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
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
    let done = query("UPDATE referrals SET status = 'accepted', agent_id = $2, accepted_at = $3, updated_at = $3,
            due_at = NULL, reminder_due_at = $4
         WHERE id = $1 AND status = 'offered' AND agent_id IS NULL")
        .bind(id)
        .bind(agent_id)
        .bind(to_millis(now))
        .bind(to_millis(reminder_at))
        .execute(tx)
        .await?;
    Ok(done == 1)
}

/// Moves the agent's referral from `from` to `to` (the conditional update keeps two tabs
/// from recording over each other).
#[tracing::instrument(skip_all)]
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    agent_id: i64,
    from: Status,
    to: Status,
    now: jiff::Timestamp,
) -> Result<bool> {
    let done = query(
        "UPDATE referrals SET status = $4, updated_at = $5,
            reminder_due_at = CASE WHEN $4 = 'accepted' THEN reminder_due_at ELSE NULL END
         WHERE id = $1 AND agent_id = $2 AND status = $3",
    )
    .bind(id)
    .bind(agent_id)
    .bind(from.id())
    .bind(to.id())
    .bind(to_millis(now))
    .execute(tx)
    .await?;
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
    query(format!(
        "UPDATE referrals SET reminder_due_at = NULL
         WHERE id IN (SELECT id FROM referrals WHERE reminder_due_at <= $1 ORDER BY reminder_due_at LIMIT $2{lock})
           AND status = 'accepted'
         RETURNING id, agent_id"
    ))
        .bind(to_millis(now))
        .bind(limit)
        .fetch_all(tx)
        .await
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

/// Routes an unserved referral again, its wait starting now. False when it is not unserved.
#[tracing::instrument(skip_all)]
pub async fn reopen(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<bool> {
    Ok(query("UPDATE referrals SET status = 'searching', unserved_reason = NULL, due_at = $2, routing_since = $2, updated_at = $2
         WHERE id = $1 AND status = 'unserved'")
        .bind(id)
        .bind(to_millis(now))
        .execute(tx)
        .await? == 1)
}

/// An operator gives the referral to `agent_id` (open, unserved, or accepted by someone who
/// cannot work it). False when it was closed or cancelled meanwhile.
#[tracing::instrument(skip_all)]
pub async fn reassign(
    tx: &mut Tx,
    id: i64,
    agent_id: i64,
    now: jiff::Timestamp,
    reminder_at: jiff::Timestamp,
) -> Result<bool> {
    Ok(query("UPDATE referrals SET status = 'accepted', agent_id = $2, accepted_at = $3, updated_at = $3,
            due_at = NULL, unserved_reason = NULL, reminder_due_at = $4
         WHERE id = $1 AND status IN ('searching', 'offered', 'unserved', 'accepted')")
        .bind(id)
        .bind(agent_id)
        .bind(to_millis(now))
        .bind(to_millis(reminder_at))
        .execute(tx)
        .await?
        == 1)
}
