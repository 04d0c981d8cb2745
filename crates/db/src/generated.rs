//! Synthetic programs (`hod generate`): many accounts written in a few statements, where
//! registration, the profile pages and the terms page would write them one by one.

use crate::query::query;
use crate::sql::{batch_rows, insert_values_sql};
use crate::vault::columns;
use crate::{Db, Result, Tx, on_pool, to_millis};

/// A generated agent's account, as registration and their profile would leave it.
#[derive(Debug, Clone)]
pub struct GeneratedAccount {
    pub agent_id: i64,
    pub username: String,
    /// E.164.
    pub phone: String,
    pub zip: String,
    pub time_zone: String,
    pub languages: Vec<String>,
    pub states: Vec<String>,
    /// (weekday 0 = Monday, `HH:MM`, `HH:MM`).
    pub hours: Vec<(i64, String, String)>,
}

/// Every agent's id and NPN.
#[tracing::instrument(skip_all)]
pub async fn agent_ids(db: &Db) -> Result<Vec<(i64, String)>> {
    Ok(
        on_pool!(db, p => sqlx::query_as("SELECT id, npn FROM agents ORDER BY id").fetch_all(p).await)?,
    )
}

/// Registers `accounts` with one password hash, confirmed phones, email-only contact, green
/// availability, their hours, languages and states, and `terms` accepted.
#[tracing::instrument(skip_all, fields(accounts = accounts.len()))]
pub async fn register(
    tx: &mut Tx,
    accounts: &[GeneratedAccount],
    password_hash: &str,
    terms: &[i64],
    now: jiff::Timestamp,
) -> Result<()> {
    let now = to_millis(now);
    const COLUMNS: usize = 6;
    for chunk in accounts.chunks(batch_rows(tx.backend(), COLUMNS)) {
        let (hash_at, now_at) = (chunk.len() * COLUMNS + 1, chunk.len() * COLUMNS + 2);
        let sql = insert_values_sql(
            &format!(
                "UPDATE agents SET username = v.column2, username_key = v.column3, password_hash = ${hash_at},
                     phone = v.column4, phone_confirmed_at = ${now_at}, contact_method = 'email_only',
                     zip = v.column5, time_zone = v.column6, availability_mode = 'available',
                     registered_at = ${now_at}, updated_at = ${now_at}
                 FROM (VALUES "
            ),
            COLUMNS,
            chunk.len(),
        ) + ") AS v WHERE agents.id = v.column1";
        {
            let vault = tx.vault().clone();
            let mut q = query(sql);
            for a in chunk {
                q = q
                    .bind(a.agent_id)
                    .bind(&a.username)
                    .bind(a.username.to_lowercase())
                    .bind(vault.seal(columns::AGENT_PHONE, &a.phone)?)
                    .bind(&a.zip)
                    .bind(&a.time_zone);
            }
            q.bind(password_hash).bind(now).execute(tx).await?;
        };
    }
    let pairs = |f: fn(&GeneratedAccount) -> &[String]| -> Vec<(i64, &str)> {
        accounts
            .iter()
            .flat_map(|a| f(a).iter().map(move |v| (a.agent_id, v.as_str())))
            .collect()
    };
    insert_pairs(
        tx,
        "agent_languages (agent_id, lang)",
        &pairs(|a| &a.languages),
    )
    .await?;
    insert_pairs(
        tx,
        "agent_state_preferences (agent_id, state)",
        &pairs(|a| &a.states),
    )
    .await?;
    let hours: Vec<(i64, &(i64, String, String))> = accounts
        .iter()
        .flat_map(|a| a.hours.iter().map(move |h| (a.agent_id, h)))
        .collect();
    for chunk in hours.chunks(batch_rows(tx.backend(), 4)) {
        let sql = insert_values_sql(
            "INSERT INTO agent_hours (agent_id, weekday, starts_at, ends_at) VALUES ",
            4,
            chunk.len(),
        );
        {
            let mut q = query(sql);
            for (id, (day, from, to)) in chunk {
                q = q.bind(*id).bind(*day).bind(from.as_str()).bind(to.as_str());
            }
            q.execute(tx).await?;
        };
    }
    let accepted: Vec<(i64, i64)> = accounts
        .iter()
        .flat_map(|a| terms.iter().map(move |t| (a.agent_id, *t)))
        .collect();
    for chunk in accepted.chunks(batch_rows(tx.backend(), 3)) {
        let sql = insert_values_sql(
            "INSERT INTO terms_acceptances (agent_id, document_id, accepted_at) VALUES ",
            3,
            chunk.len(),
        );
        {
            let mut q = query(sql);
            for (agent, doc) in chunk {
                q = q.bind(*agent).bind(*doc).bind(now);
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// `INSERT INTO table (agent_id, value)` for every pair.
async fn insert_pairs(tx: &mut Tx, table: &str, rows: &[(i64, &str)]) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 2)) {
        let sql = insert_values_sql(&format!("INSERT INTO {table} VALUES "), 2, chunk.len());
        {
            let mut q = query(sql);
            for (id, v) in chunk {
                q = q.bind(*id).bind(*v);
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// A past referral of a synthetic program, in its last status.
#[derive(Debug, Clone)]
pub struct GeneratedReferral {
    pub plan_year: i16,
    pub status: &'static str,
    pub zip: String,
    pub city: &'static str,
    pub state: &'static str,
    pub language: String,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub phone: String,
    pub consent_version: &'static str,
    pub person_key: String,
    pub created_at: jiff::Timestamp,
    /// The agent who took it, and when.
    pub accepted: Option<(i64, jiff::Timestamp)>,
}

/// Writes past referrals as they would stand after their last status (no offers, no
/// timeline: history for dashboards, statistics and memory, not for replays).
#[tracing::instrument(skip_all, fields(referrals = rows.len()))]
pub async fn insert_referrals(tx: &mut Tx, rows: &[GeneratedReferral]) -> Result<()> {
    const COLUMNS: usize = 15;
    for chunk in rows.chunks(batch_rows(tx.backend(), COLUMNS)) {
        let sql = insert_values_sql(
            "INSERT INTO referrals (plan_year, status, zip, city, state, language, first_name, last_name, phone,
                consent_version, person_key, created_at, agent_id, accepted_at, unserved_reason,
                reason, contact_by, ui_lang, consent_at, source, updated_at)
             SELECT v.*, 'new_coverage', 'text', 'en', v.column12, 'api', v.column12 FROM (VALUES ",
            COLUMNS,
            chunk.len(),
        ) + ") AS v";
        {
            let vault = tx.vault().clone();
            let mut q = query(sql);
            for r in chunk {
                q = q
                    .bind(i64::from(r.plan_year))
                    .bind(r.status)
                    .bind(&r.zip)
                    .bind(r.city)
                    .bind(r.state)
                    .bind(&r.language)
                    .bind(vault.seal(columns::REFERRAL_FIRST_NAME, r.first_name)?)
                    .bind(vault.seal(columns::REFERRAL_LAST_NAME, r.last_name)?)
                    .bind(vault.seal(columns::REFERRAL_PHONE, &r.phone)?)
                    .bind(r.consent_version)
                    .bind(&r.person_key)
                    .bind(to_millis(r.created_at))
                    .bind(r.accepted.map(|(agent, _)| agent))
                    .bind(r.accepted.map(|(_, at)| to_millis(at)))
                    .bind((r.status == "unserved").then_some("no_agent"));
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}
