//! Consumers' consent records (the CMS model form's terms), kept 10 years.

use crate::query::query;
use crate::time::{from_row, instant};

use crate::vault::columns::CONSENT_CONSUMER_NAME;
use crate::{Db, Result, Tx, on_pool, to_millis};

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
    query(
        "INSERT INTO referral_consents (referral_id, agent_id, consumer_name, agent_name, scope, duration,
            consented_on, withdraw_how, method, recorded_at, keep_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(c.referral_id)
    .bind(c.agent_id)
    .bind(tx.vault().seal(CONSENT_CONSUMER_NAME, c.consumer_name)?)
    .bind(c.agent_name)
    .bind(c.scope)
    .bind(c.duration)
    .bind(c.consented_on)
    .bind(c.withdraw_how)
    .bind(c.method)
    .bind(to_millis(now))
    .bind(to_millis(c.keep_until))
    .scalar(tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: i64,
    pub consumer_name: String,
    pub agent_name: String,
    pub scope: String,
    pub duration: String,
    pub consented_on: String,
    pub withdraw_how: String,
    pub method: String,
    pub recorded_at: jiff::Timestamp,
    pub keep_until: jiff::Timestamp,
}

from_row!(ConsentRow, |r| Ok(ConsentRow {
    id: r.try_get("id")?,
    consumer_name: r.try_get("consumer_name")?,
    agent_name: r.try_get("agent_name")?,
    scope: r.try_get("scope")?,
    duration: r.try_get("duration")?,
    consented_on: r.try_get("consented_on")?,
    withdraw_how: r.try_get("withdraw_how")?,
    method: r.try_get("method")?,
    recorded_at: instant(r, "recorded_at")?,
    keep_until: instant(r, "keep_until")?,
}));

/// The consents recorded for a referral by `agent_id` (the accepting agent).
#[tracing::instrument(skip_all)]
pub async fn consents(db: &Db, referral_id: i64, agent_id: i64) -> Result<Vec<ConsentRow>> {
    let rows: Vec<ConsentRow> = on_pool!(db, p => sqlx::query_as(
        "SELECT c.id, c.consumer_name, c.agent_name, c.scope, c.duration, c.consented_on, c.withdraw_how,
            c.method, c.recorded_at, c.keep_until
         FROM referral_consents c JOIN referrals r ON r.id = c.referral_id AND r.agent_id = $2
         WHERE c.referral_id = $1 ORDER BY c.id",
    )
    .bind(referral_id)
    .bind(agent_id)
    .fetch_all(p)
    .await)?;
    rows.into_iter()
        .map(|mut c| {
            db.vault()
                .open_in_place(CONSENT_CONSUMER_NAME, &mut c.consumer_name)?;
            Ok(c)
        })
        .collect()
}
