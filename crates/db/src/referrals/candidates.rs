//! The facts routing needs about agents: the candidates for a referral, and the counters kept
//! on each agent (last offered, missed offers, responsiveness).
use std::collections::HashMap;

use sqlx::FromRow;

use crate::availability::{Availability, HoursRow, assemble};
use crate::{DbError, Result, Tx, execute, on_tx, to_millis};

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
    pub suspended: bool,
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
    suspended: bool,
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
            a.suspended_at IS NOT NULL AS suspended, a.last_offered_at, a.accept_rate, a.accept_secs,
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
                suspended: r.suspended,
                last_offered_at: r.last_offered_at,
                accept_rate: r.accept_rate,
                accept_secs: r.accept_secs,
                availability,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()
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
    execute!(
        tx,
        sqlx::query("UPDATE agents SET missed_offers = 0 WHERE id = $1").bind(agent_id)
    )?;
    Ok(())
}

/// Routing's memory of an agent after an offer went out.
#[tracing::instrument(skip_all)]
pub async fn note_offered(tx: &mut Tx, agent_id: i64, now: jiff::Timestamp) -> Result<()> {
    execute!(
        tx,
        sqlx::query("UPDATE agents SET last_offered_at = $2 WHERE id = $1")
            .bind(agent_id)
            .bind(to_millis(now))
    )?;
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
