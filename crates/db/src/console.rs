//! What the operators' console reads across aggregates: today's counts, agent search, and the
//! routing facts of many agents at once (who could take a referral now, and why not).
use std::collections::HashMap;

use crate::availability::{Availability, HoursRow, assemble};
use crate::time::from_row;
use crate::{Db, Result, on_pool, to_millis};

/// Referrals by status: how many are in each now, and how many of those made since `since`.
#[tracing::instrument(skip_all)]
pub async fn referral_counts(db: &Db, since: jiff::Timestamp) -> Result<Vec<(String, i64, i64)>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT status, COUNT(*), SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END)
         FROM referrals GROUP BY status ORDER BY status",
    )
    .bind(to_millis(since))
    .fetch_all(p)
    .await)?)
}

/// One agent as a search lists them.
#[derive(Debug, Clone)]
pub struct AgentHit {
    pub id: i64,
    pub npn: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub username: Option<String>,
    pub registered_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub eligible: Option<bool>,
    pub eligible_states: Option<String>,
}

from_row!(AgentHit {
    id,
    npn,
    first_name,
    last_name,
    email,
    username,
    registered_at,
    suspended_at,
    locked_until,
    eligible,
    eligible_states
});

/// What an operator searches agents by; empty fields match everyone.
#[derive(Debug, Clone, Default)]
pub struct AgentQuery {
    /// An NPN, a name (first, last or both), an email address or a username: matched as the
    /// start of each, ignoring case.
    pub text: Option<String>,
    /// Licensed-and-eligible or preferring this state.
    pub state: Option<String>,
    /// Speaking this language (ISO 639-1).
    pub language: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn search_agents(
    db: &Db,
    q: &AgentQuery,
    plan_year: i16,
    limit: i64,
) -> Result<Vec<AgentHit>> {
    let text = q
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| format!("{}%", t.to_lowercase().replace(['%', '_'], "")));
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT a.id, a.npn, a.first_name, a.last_name, a.email, a.username, a.registered_at,
                a.suspended_at, a.locked_until, e.eligible, e.states AS eligible_states
         FROM agents a LEFT JOIN eligibility e ON e.npn = a.npn AND e.plan_year = $1
         WHERE ($2 IS NULL OR a.npn LIKE $2 OR LOWER(a.first_name) LIKE $2 OR LOWER(a.last_name) LIKE $2
                OR LOWER(a.first_name || ' ' || a.last_name) LIKE $2 OR LOWER(a.email) LIKE $2
                OR a.username_key LIKE $2)
           AND ($3 IS NULL OR EXISTS (SELECT 1 FROM agent_state_preferences sp WHERE sp.agent_id = a.id AND sp.state = $3)
                OR (' ' || COALESCE(e.states, '') || ' ') LIKE '% ' || $3 || ' %')
           AND ($4 IS NULL OR EXISTS (SELECT 1 FROM agent_languages l WHERE l.agent_id = a.id AND l.lang = $4))
         ORDER BY a.last_name, a.first_name, a.id LIMIT $5",
    )
    .bind(i64::from(plan_year))
    .bind(text)
    .bind(q.state.as_deref())
    .bind(q.language.as_deref())
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Everything routing weighs about one agent, apart from the request itself.
#[derive(Debug, Clone)]
pub struct AgentFacts {
    pub agent_id: i64,
    pub npn: String,
    pub first_name: String,
    pub last_name: String,
    pub zip: Option<String>,
    pub registered: bool,
    pub suspended_at: Option<i64>,
    pub suspended_reason: Option<String>,
    pub eligible: Option<bool>,
    pub eligible_states: Vec<String>,
    /// How many of the current terms the agent accepted.
    pub terms_accepted: i64,
    /// Accepted referrals not yet followed up, and open offers.
    pub held: i64,
    pub missed_offers: i64,
    pub last_offered_at: Option<i64>,
    pub languages: Vec<String>,
    pub states: Vec<String>,
    pub availability: Availability,
}

struct FactsSql {
    agent_id: i64,
    npn: String,
    first_name: String,
    last_name: String,
    zip: Option<String>,
    registered: bool,
    suspended_at: Option<i64>,
    suspended_reason: Option<String>,
    eligible: Option<bool>,
    eligible_states: Option<String>,
    terms_accepted: i64,
    held: i64,
    missed_offers: i64,
    last_offered_at: Option<i64>,
    availability_mode: String,
    time_zone: Option<String>,
    absence_from: Option<String>,
    absence_until: Option<String>,
}

from_row!(FactsSql {
    agent_id,
    npn,
    first_name,
    last_name,
    zip,
    registered,
    suspended_at,
    suspended_reason,
    eligible,
    eligible_states,
    terms_accepted,
    held,
    missed_offers,
    last_offered_at,
    availability_mode,
    time_zone,
    absence_from,
    absence_until
});

/// The routing facts of one agent (`Some(id)`) or of every registered agent (`None`), for
/// `plan_year`; `current_terms` are the ids of the terms in force.
#[tracing::instrument(skip_all)]
pub async fn agent_facts(
    db: &Db,
    plan_year: i16,
    current_terms: &[i64],
    agent: Option<i64>,
) -> Result<Vec<AgentFacts>> {
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
        "SELECT a.id AS agent_id, a.npn, a.first_name, a.last_name, a.zip, a.registered_at IS NOT NULL AS registered,
            a.suspended_at, a.suspended_reason, e.eligible, e.states AS eligible_states,
            (SELECT COUNT(DISTINCT t.document_id) FROM terms_acceptances t
              WHERE t.agent_id = a.id AND t.document_id IN ({terms})) AS terms_accepted,
            (SELECT COUNT(*) FROM referrals x WHERE x.agent_id = a.id AND x.status = 'accepted')
              + (SELECT COUNT(*) FROM referral_offers h WHERE h.agent_id = a.id AND h.status = 'open') AS held,
            a.missed_offers,
            (SELECT MAX(o.offered_at) FROM referral_offers o WHERE o.agent_id = a.id) AS last_offered_at,
            a.availability_mode, a.time_zone, a.absence_from, a.absence_until
         FROM agents a LEFT JOIN eligibility e ON e.npn = a.npn AND e.plan_year = $1
         WHERE ($2 IS NULL AND a.registered_at IS NOT NULL) OR a.id = $2
         ORDER BY a.id"
    );
    let rows: Vec<FactsSql> = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(plan_year))
        .bind(agent)
        .fetch_all(p)
        .await)?;
    let hours: Vec<(i64, i64, String, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT agent_id, weekday, starts_at, ends_at FROM agent_hours
         WHERE $1 IS NULL OR agent_id = $1 ORDER BY agent_id, weekday, starts_at",
    )
    .bind(agent)
    .fetch_all(p)
    .await)?;
    let languages: Vec<(i64, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT agent_id, lang FROM agent_languages WHERE $1 IS NULL OR agent_id = $1 ORDER BY agent_id, lang",
    )
    .bind(agent)
    .fetch_all(p)
    .await)?;
    let states: Vec<(i64, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT agent_id, state FROM agent_state_preferences WHERE $1 IS NULL OR agent_id = $1 ORDER BY agent_id, state",
    )
    .bind(agent)
    .fetch_all(p)
    .await)?;
    let mut hours_of: HashMap<i64, Vec<HoursRow>> = HashMap::new();
    for (id, day, start, end) in hours {
        hours_of.entry(id).or_default().push((day, start, end));
    }
    let mut langs_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, l) in languages {
        langs_of.entry(id).or_default().push(l);
    }
    let mut states_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, s) in states {
        states_of.entry(id).or_default().push(s);
    }
    rows.into_iter()
        .map(|r| {
            Ok(AgentFacts {
                availability: assemble(
                    &r.availability_mode,
                    r.time_zone,
                    r.absence_from.as_deref(),
                    r.absence_until.as_deref(),
                    hours_of.remove(&r.agent_id).unwrap_or_default(),
                )?,
                languages: langs_of.remove(&r.agent_id).unwrap_or_default(),
                states: states_of.remove(&r.agent_id).unwrap_or_default(),
                agent_id: r.agent_id,
                npn: r.npn,
                first_name: r.first_name,
                last_name: r.last_name,
                zip: r.zip,
                registered: r.registered,
                suspended_at: r.suspended_at,
                suspended_reason: r.suspended_reason,
                eligible: r.eligible,
                eligible_states: r
                    .eligible_states
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                terms_accepted: r.terms_accepted,
                held: r.held,
                missed_offers: r.missed_offers,
                last_offered_at: r.last_offered_at,
            })
        })
        .collect()
}

/// Decision-log entries of the last rounds in `states` since `since`, newest first: the raw
/// JSON the router wrote (who was left out and why).
#[tracing::instrument(skip_all)]
pub async fn recent_decisions(
    db: &Db,
    states: &[String],
    since: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<(i64, i64, String)>> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let list = states
        .iter()
        .filter(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if list.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT ev.referral_id, ev.at, ev.detail FROM referral_events ev
         JOIN referrals r ON r.id = ev.referral_id
         WHERE ev.kind = 'decision' AND ev.at >= $1 AND r.state IN ({list})
         ORDER BY ev.id DESC LIMIT $2"
    )))
    .bind(to_millis(since))
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

/// The referrals an agent accepted, newest first (without the consumers' contact details).
#[tracing::instrument(skip_all)]
pub async fn referrals_of_agent(
    db: &Db,
    agent_id: i64,
    limit: i64,
) -> Result<Vec<crate::referrals::ReferralRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM referrals r WHERE r.agent_id = $1 ORDER BY r.id DESC LIMIT $2",
        crate::referrals::COLUMNS
    )))
    .bind(agent_id)
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

/// How the agent's offers ended: (status, count).
#[tracing::instrument(skip_all)]
pub async fn offer_outcomes(db: &Db, agent_id: i64) -> Result<Vec<(String, i64)>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT status, COUNT(*) FROM referral_offers WHERE agent_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(agent_id)
    .fetch_all(p)
    .await)?)
}

/// One import as the console lists it.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub kind: String,
    pub file_name: String,
    pub imported_at: i64,
    pub rows_read: i64,
    pub rows_applied: i64,
    /// JSON array of `{"line":…,"reason":…}`.
    pub rejected: String,
}

from_row!(ImportSummary {
    kind,
    file_name,
    imported_at,
    rows_read,
    rows_applied,
    rejected
});

/// The last import of each kind.
#[tracing::instrument(skip_all)]
pub async fn last_imports(db: &Db) -> Result<Vec<ImportSummary>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT kind, file_name, imported_at, rows_read, rows_applied, rejected FROM imports
         WHERE id IN (SELECT MAX(id) FROM imports WHERE NOT dry_run GROUP BY kind) ORDER BY kind",
    )
    .fetch_all(p)
    .await)?)
}

/// What an operator searches referrals by; empty fields match every referral.
#[derive(Debug, Clone, Default)]
pub struct ReferralQuery {
    pub from: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    pub state: Option<String>,
    pub language: Option<String>,
    pub status: Option<String>,
    /// The accepting agent's NPN, or an agent offered the referral.
    pub npn: Option<String>,
}

/// Referrals matching `q`, newest first (without the consumers' contact details).
#[tracing::instrument(skip_all)]
pub async fn search_referrals(
    db: &Db,
    q: &ReferralQuery,
    limit: i64,
) -> Result<Vec<crate::referrals::ReferralRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM referrals r
         WHERE ($1 IS NULL OR r.created_at >= $1) AND ($2 IS NULL OR r.created_at < $2)
           AND ($3 IS NULL OR r.state = $3) AND ($4 IS NULL OR r.language = $4) AND ($5 IS NULL OR r.status = $5)
           AND ($6 IS NULL OR EXISTS (SELECT 1 FROM agents a WHERE a.npn = $6 AND (a.id = r.agent_id
                OR EXISTS (SELECT 1 FROM referral_offers o WHERE o.referral_id = r.id AND o.agent_id = a.id))))
         ORDER BY r.id DESC LIMIT $7",
        crate::referrals::COLUMNS
    )))
    .bind(q.from.map(to_millis))
    .bind(q.until.map(to_millis))
    .bind(q.state.as_deref())
    .bind(q.language.as_deref())
    .bind(q.status.as_deref())
    .bind(q.npn.as_deref())
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

/// The offers of a referral, each with its agent's name and NPN.
#[tracing::instrument(skip_all)]
pub async fn offers_with_agents(
    db: &Db,
    referral_id: i64,
) -> Result<Vec<(crate::referrals::OfferRow, String, String)>> {
    let offers: Vec<crate::referrals::OfferRow> = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM referral_offers o WHERE o.referral_id = $1 ORDER BY o.id",
        crate::referrals::OFFER
    )))
    .bind(referral_id)
    .fetch_all(p)
    .await)?;
    let names: Vec<(i64, String, String, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT a.id, a.first_name, a.last_name, a.npn FROM agents a
         WHERE a.id IN (SELECT agent_id FROM referral_offers WHERE referral_id = $1)",
    )
    .bind(referral_id)
    .fetch_all(p)
    .await)?;
    Ok(offers
        .into_iter()
        .map(|o| {
            let (name, npn) = names
                .iter()
                .find(|(id, ..)| *id == o.agent_id)
                .map(|(_, f, l, n)| (format!("{f} {l}"), n.clone()))
                .unwrap_or_default();
            (o, name, npn)
        })
        .collect())
}

/// The messages written about a referral: to the consumer, and about each of its offers.
#[tracing::instrument(skip_all)]
pub async fn messages_of_referral(
    db: &Db,
    referral_id: i64,
    offer_ids: &[i64],
) -> Result<Vec<crate::outbox::MessageRow>> {
    let mut keys = vec![
        format!("dedup_key LIKE 'consumer:{referral_id}:%'"),
        format!("dedup_key = 'reminder:{referral_id}'"),
    ];
    for o in offer_ids {
        keys.push(format!(
            "dedup_key LIKE 'offer:{o}:%' OR dedup_key LIKE 'offer-reminder:{o}:%' OR dedup_key = 'offer-expired:{o}' \
             OR dedup_key LIKE 'paused:%:{o}'"
        ));
    }
    keys.push(format!("dedup_key LIKE 'assigned:{referral_id}:%'"));
    let rows = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM outbox WHERE {} ORDER BY id",
        crate::outbox::COLUMNS,
        keys.join(" OR ")
    )))
    .fetch_all(p)
    .await)?;
    crate::outbox::opened(rows, db.vault())
}

/// What the dashboards count of one referral made in a period.
#[derive(Debug, Clone)]
pub struct ReferralFact {
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub state: String,
    pub language: String,
    pub zip: String,
    pub status: String,
}

from_row!(ReferralFact {
    created_at,
    accepted_at,
    state,
    language,
    zip,
    status
});

/// The referrals made in `[from, until)`, oldest first.
#[tracing::instrument(skip_all)]
pub async fn referral_facts(
    db: &Db,
    from: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Result<Vec<ReferralFact>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT created_at, accepted_at, state, language, zip, status FROM referrals
         WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at",
    )
    .bind(to_millis(from))
    .bind(to_millis(until))
    .fetch_all(p)
    .await)?)
}

/// Offers made in `[from, until)` per agent, with how they ended.
#[derive(Debug, Clone)]
pub struct AgentOffers {
    pub first_name: String,
    pub last_name: String,
    pub npn: String,
    pub offered: i64,
    pub accepted: i64,
    pub declined: i64,
    pub expired: i64,
}

from_row!(AgentOffers {
    first_name,
    last_name,
    npn,
    offered,
    accepted,
    declined,
    expired
});

#[tracing::instrument(skip_all)]
pub async fn offers_per_agent(
    db: &Db,
    from: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Result<Vec<AgentOffers>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT a.first_name, a.last_name, a.npn, COUNT(*) AS offered,
            SUM(CASE WHEN o.status = 'accepted' THEN 1 ELSE 0 END) AS accepted,
            SUM(CASE WHEN o.status = 'declined' THEN 1 ELSE 0 END) AS declined,
            SUM(CASE WHEN o.status = 'expired' THEN 1 ELSE 0 END) AS expired
         FROM referral_offers o JOIN agents a ON a.id = o.agent_id
         WHERE o.offered_at >= $1 AND o.offered_at < $2
         GROUP BY a.id, a.first_name, a.last_name, a.npn
         ORDER BY COUNT(*) DESC, a.last_name, a.first_name",
    )
    .bind(to_millis(from))
    .bind(to_millis(until))
    .fetch_all(p)
    .await)?)
}
