//! The facts routing needs about agents: the candidates for a referral, and the counters kept
//! on each agent (last offered, missed offers, responsiveness).

use crate::availability::{Availability, HoursRow, assemble};
use crate::query::query;
use crate::time::from_row;
use crate::{Backend, Db, DbError, Result, Tx};

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
    /// The language of the agent's letters.
    pub ui_lang: String,
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

impl CandidateRow {
    /// Whom the agent's letters go to, as the facts have it.
    pub fn addressee(&self) -> crate::agents::Addressee {
        crate::agents::Addressee {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            contact_method: self.contact_method.clone(),
            ui_lang: self.ui_lang.clone(),
            time_zone: self.availability.time_zone.clone(),
            zip: self.zip.clone(),
        }
    }
}

struct CandidateSql {
    agent_id: i64,
    npn: String,
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    contact_method: Option<String>,
    zip: Option<String>,
    ui_lang: String,
    eligible: Option<bool>,
    eligible_states: Option<String>,
    registered: bool,
    terms_accepted: i64,
    open_referrals: i64,
    open_offers: i64,
    suspended: bool,
    last_offered_at: Option<i64>,
    accept_rate: f64,
    accept_secs: f64,
    availability_mode: String,
    time_zone: Option<String>,
    absence_from: Option<String>,
    absence_until: Option<String>,
    /// `en,es,…`
    languages: Option<String>,
    /// `weekday start end,…`
    hours: Option<String>,
}

from_row!(CandidateSql {
    agent_id,
    npn,
    first_name,
    last_name,
    email,
    phone,
    contact_method,
    zip,
    ui_lang,
    eligible,
    eligible_states,
    registered,
    terms_accepted,
    open_referrals,
    open_offers,
    suspended,
    last_offered_at,
    accept_rate,
    accept_secs,
    availability_mode,
    time_zone,
    absence_from,
    absence_until,
    languages,
    hours
});

/// Where a node's copy of the routing facts stands: changes logged at or after it are not in
/// the copy yet. SQLite: the log's next sequence number (one writer at a time, so the log's
/// order is the order of commits). PostgreSQL: the snapshot xmin of the copy's last look
/// (transactions below it had ended, so their changes were seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactsCursor(i64);

/// The cursor now, read before the facts it will stand for, and how many times the set of
/// agents preferring `state` has changed (0: never), in one statement.
///
/// On PostgreSQL the rest of the transaction is planned generically: a routing transaction's
/// later statements look rows up by key, and custom plans for the facts' reads (a range of the
/// log, an array of ids) cost more to make, every time, than running them.
#[tracing::instrument(skip_all)]
pub async fn facts_cursor(tx: &mut Tx, state: &str) -> Result<(FactsCursor, i64)> {
    const LAYOUT: &str = "COALESCE((SELECT version FROM routing_layouts WHERE state = $1), 0)";
    let (at, plans) = match tx.backend() {
        crate::Backend::Sqlite => (
            "(SELECT COALESCE(MAX(xid), 0) + 1 FROM routing_changes)",
            "NULL",
        ),
        crate::Backend::Postgres => (
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            "set_config('plan_cache_mode', 'force_generic_plan', true)",
        ),
    };
    let (at, layout, _): (i64, i64, Option<String>) =
        query(format!("SELECT {at}, {LAYOUT}, {plans}"))
            .bind(state)
            .fetch_one(tx)
            .await?;
    Ok((FactsCursor(at), layout))
}

/// Forgets the log of changed agents older than `kept` by the database's clock (a node that
/// last looked earlier reloads). SQLite keeps the newest entry, which carries its sequence on.
#[tracing::instrument(skip_all)]
pub async fn prune_facts_log(db: &Db, kept: std::time::Duration) -> Result<u64> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "DELETE FROM routing_changes
             WHERE logged_at < CAST(unixepoch('subsec') * 1000 AS INTEGER) - $1
               AND xid < (SELECT MAX(xid) FROM routing_changes)"
        }
        // The statement's time, not `clock_timestamp()`: a volatile cut-off is worked out
        // again for every row, so the index on `logged_at` could not be used (81 ms for a
        // 180,000-row log, on every sweep).
        Backend::Postgres => {
            "DELETE FROM routing_changes
             WHERE logged_at < (extract(epoch FROM statement_timestamp()) * 1000)::bigint - $1"
        }
    };
    let kept = i64::try_from(kept.as_millis()).unwrap_or(i64::MAX);
    db.write(async |tx| Ok(query(sql).bind(kept).execute(tx).await?))
        .await
}

/// What routing keeps about an agent who prefers a state, for any referral in it: the facts
/// of [`CandidateRow`] but those of one referral (`offered_before`, and `open_offers` counts
/// every open offer), with the languages spoken instead of `speaks`.
#[derive(Debug, Clone)]
pub struct AgentFacts {
    pub row: CandidateRow,
    pub languages: Vec<String>,
}

/// The agents changed at or after `since`, in any state (a change in who prefers a state
/// shows in its layout instead): one look at the log by key, its plan simple and cached.
#[tracing::instrument(skip_all)]
pub async fn changed_agents(tx: &mut Tx, since: FactsCursor) -> Result<Vec<i64>> {
    // Bounded on both sides so that the generic plan reads the log's index (see
    // [`facts_cursor`]).
    query("SELECT DISTINCT agent_id FROM routing_changes WHERE xid >= $1 AND xid < $2")
        .bind(since.0)
        .bind(i64::MAX)
        .scalars(tx)
        .await
}

/// The facts of the agents whose State Preferences include `state`, for `plan_year`
/// (`terms_accepted` counts which of `current_terms` they accepted): all of them, or with
/// `only` just those agents (whatever states they prefer).
#[tracing::instrument(skip_all)]
pub async fn state_facts(
    tx: &mut Tx,
    plan_year: i16,
    state: &str,
    current_terms: &[i64],
    only: Option<&[i64]>,
) -> Result<Vec<AgentFacts>> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let terms = if current_terms.is_empty() {
        "-1".to_owned()
    } else {
        current_terms
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The state's whole list, or a few agents by key. Every statement names each parameter,
    // bound or not.
    let (from, which) = match (only, tx.backend()) {
        (None, _) => (
            "agent_state_preferences sp JOIN agents a ON a.id = sp.agent_id",
            "sp.state = $2 AND $3 = $3",
        ),
        (Some(_), Backend::Postgres) => ("agents a", "$2 = $2 AND a.id = ANY($3)"),
        (Some(_), Backend::Sqlite) => (
            "agents a",
            "$2 = $2 AND a.id IN (SELECT value FROM json_each($3))",
        ),
    };
    let sql = format!(
        "SELECT a.id AS agent_id, a.npn, a.first_name, a.last_name, a.email, a.phone, a.contact_method, a.zip,
            a.ui_lang, e.eligible, e.states AS eligible_states, a.registered_at IS NOT NULL AS registered,
            (SELECT COUNT(DISTINCT t.document_id) FROM terms_acceptances t
              WHERE t.agent_id = a.id AND t.document_id IN ({terms})) AS terms_accepted,
            (SELECT COUNT(*) FROM referrals x WHERE x.agent_id = a.id AND x.status = 'accepted') AS open_referrals,
            (SELECT COUNT(*) FROM referral_offers h
              WHERE h.agent_id = a.id AND h.status = 'open') AS open_offers,
            a.suspended_at IS NOT NULL AS suspended, a.accept_rate, a.accept_secs,
            (SELECT MAX(o.offered_at) FROM referral_offers o WHERE o.agent_id = a.id) AS last_offered_at,
            a.availability_mode, a.time_zone, a.absence_from, a.absence_until,
            (SELECT string_agg(l.lang, ',' ORDER BY l.lang) FROM agent_languages l
              WHERE l.agent_id = a.id) AS languages,
            (SELECT string_agg(h.weekday || ' ' || h.starts_at || ' ' || h.ends_at, ','
                ORDER BY h.weekday, h.starts_at) FROM agent_hours h
              WHERE h.agent_id = a.id) AS hours
         FROM {from}
         LEFT JOIN eligibility e ON e.npn = a.npn AND e.plan_year = $1
         WHERE {which}
         ORDER BY a.id"
    );
    let rows: Vec<CandidateSql> = query(sql)
        .bind(i64::from(plan_year))
        .bind(state)
        .bind(only.unwrap_or_default())
        .fetch_all(tx)
        .await?;
    let vault = tx.vault();
    rows.into_iter()
        .map(|r| {
            let availability = assemble(
                &r.availability_mode,
                r.time_zone,
                r.absence_from.as_deref(),
                r.absence_until.as_deref(),
                hours_listed(r.hours.as_deref())?,
            )?;
            Ok(AgentFacts {
                languages: r
                    .languages
                    .as_deref()
                    .map(|l| l.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                row: CandidateRow {
                    agent_id: r.agent_id,
                    npn: r.npn,
                    first_name: r.first_name,
                    last_name: r.last_name,
                    email: r.email,
                    phone: r
                        .phone
                        .map(|p| vault.open(crate::vault::columns::AGENT_PHONE, &p))
                        .transpose()?,
                    contact_method: r.contact_method,
                    zip: r.zip,
                    ui_lang: r.ui_lang,
                    eligible: r.eligible,
                    eligible_states: r.eligible_states.unwrap_or_default(),
                    registered: r.registered,
                    terms_accepted: r.terms_accepted,
                    speaks: false,
                    open_referrals: r.open_referrals,
                    open_offers: r.open_offers,
                    offered_before: false,
                    suspended: r.suspended,
                    last_offered_at: r.last_offered_at,
                    accept_rate: r.accept_rate,
                    accept_secs: r.accept_secs,
                    availability,
                },
            })
        })
        .collect::<Result<Vec<_>, DbError>>()
}

/// Weekly hours listed as `weekday start end,…` (see [`state_facts`]).
fn hours_listed(listed: Option<&str>) -> Result<Vec<HoursRow>> {
    listed
        .into_iter()
        .flat_map(|l| l.split(','))
        .map(|period| {
            let mut parts = period.split(' ');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(day), Some(start), Some(end), None) => Ok((
                    day.parse()
                        .map_err(|e| DbError::Corrupt(format!("weekday {day:?}: {e}")))?,
                    start.to_owned(),
                    end.to_owned(),
                )),
                _ => Err(DbError::Corrupt(format!("weekly hours {period:?}"))),
            }
        })
        .collect()
}

/// What messages to an agent need, read inside the routing transaction:
/// (first name, last name, email, availability mode).
#[tracing::instrument(skip_all)]
pub async fn agent_brief(tx: &mut Tx, agent_id: i64) -> Result<(String, String, String, String)> {
    query("SELECT first_name, last_name, email, availability_mode FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_one(tx)
        .await
}

/// Starts a new streak of missed offers (after an automatic switch to red).
#[tracing::instrument(skip_all)]
pub async fn reset_missed(tx: &mut Tx, agent_id: i64) -> Result<()> {
    query("UPDATE agents SET missed_offers = 0 WHERE id = $1")
        .bind(agent_id)
        .execute(tx)
        .await?;
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
    query(
        "UPDATE agents SET missed_offers = CASE WHEN $2 THEN missed_offers + 1 ELSE 0 END,
            accept_rate = $3, accept_secs = $4
         WHERE id = $1 RETURNING missed_offers",
    )
    .bind(agent_id)
    .bind(missed)
    .bind(accept_rate)
    .bind(accept_secs)
    .scalar(tx)
    .await
}

/// An agent's responsiveness as stored: (accept_rate, accept_secs).
#[tracing::instrument(skip_all)]
pub async fn responsiveness(tx: &mut Tx, agent_id: i64) -> Result<(f64, f64)> {
    query("SELECT accept_rate, accept_secs FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_one(tx)
        .await
}
