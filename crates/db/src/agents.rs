//! Agents (keyed by NPN), their languages, state preferences and state licences.
use hod_domain::{Lang, Npn, UsState};
use jiff::civil::Date;
use sqlx::FromRow;

use crate::{Db, Result, Tx, conflict_as, on_pool, on_tx, to_millis};

/// What we know of an agent before and after registration. Name and email come from MLMS.
#[derive(Debug, Clone)]
pub struct NewAgent<'a> {
    pub npn: &'a Npn,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// Account fields set at registration.
#[derive(Clone)]
pub struct Registration<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    /// E.164.
    pub phone: &'a str,
    pub contact_method: &'a str,
    pub zip: &'a str,
}

impl std::fmt::Debug for Registration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, FromRow)]
pub struct AgentRow {
    pub id: i64,
    pub npn: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub contact_method: Option<String>,
    pub zip: Option<String>,
    pub registered_at: Option<i64>,
}

impl std::fmt::Debug for AgentRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRow")
            .field("id", &self.id)
            .field("npn", &self.npn)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, npn, first_name, last_name, email, username, phone, contact_method, zip, registered_at";

/// Adds the agent or refreshes the MLMS fields of the existing one. Returns the agent id.
#[tracing::instrument(skip_all)]
pub async fn upsert(tx: &mut Tx, a: &NewAgent<'_>, now: jiff::Timestamp) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO agents (npn, first_name, last_name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (npn) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
             email = excluded.email, updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(a.npn.as_str())
    .bind(a.first_name)
    .bind(a.last_name)
    .bind(a.email)
    .bind(to_millis(now))
    .fetch_one(c)
    .await)?)
}

/// Sets the account fields; a username taken by another agent (ignoring case) is a conflict.
#[tracing::instrument(skip_all)]
pub async fn register(
    tx: &mut Tx,
    agent_id: i64,
    r: &Registration<'_>,
    now: jiff::Timestamp,
) -> Result<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE agents SET username = $2, username_key = $3, password_hash = $4, phone = $5, contact_method = $6,
             zip = $7, registered_at = $8, updated_at = $8
         WHERE id = $1",
    )
    .bind(agent_id)
    .bind(r.username)
    .bind(r.username.to_lowercase())
    .bind(r.password_hash)
    .bind(r.phone)
    .bind(r.contact_method)
    .bind(r.zip)
    .bind(to_millis(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(conflict_as(format!("username {:?}", r.username)))?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_languages(tx: &mut Tx, agent_id: i64, langs: &[Lang]) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM agent_languages WHERE agent_id = $1").bind(agent_id).execute(&mut *c).await?;
        for l in langs {
            sqlx::query("INSERT INTO agent_languages (agent_id, lang) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(agent_id)
                .bind(l.code())
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_state_preferences(tx: &mut Tx, agent_id: i64, states: &[UsState]) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM agent_state_preferences WHERE agent_id = $1").bind(agent_id).execute(&mut *c).await?;
        for s in states {
            sqlx::query("INSERT INTO agent_state_preferences (agent_id, state) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(agent_id)
                .bind(s.code())
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn find_by_npn(db: &Db, npn: &Npn) -> Result<Option<AgentRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM agents WHERE npn = $1")))
        .bind(npn.as_str())
        .fetch_optional(p)
        .await)?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn languages(db: &Db, agent_id: i64) -> Result<Vec<String>> {
    Ok(
        on_pool!(db, p => sqlx::query_scalar("SELECT lang FROM agent_languages WHERE agent_id = $1 ORDER BY lang")
        .bind(agent_id)
        .fetch_all(p)
        .await)?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM agents").fetch_one(p).await)?)
}

/// A state licence as NIPR reports it, with its lines of authority.
#[derive(Debug, Clone)]
pub struct License {
    pub state: UsState,
    pub license_number: String,
    pub license_class: String,
    pub resident: bool,
    pub active: bool,
    pub expires_on: Option<Date>,
    pub loas: Vec<LineOfAuthority>,
}

#[derive(Debug, Clone)]
pub struct LineOfAuthority {
    pub loa: String,
    pub loa_code: String,
    pub active: bool,
    pub status_date: Option<Date>,
}

/// Replaces everything known of one NPN's licences (a NIPR import's unit of change).
#[tracing::instrument(skip_all)]
pub async fn replace_licenses(tx: &mut Tx, npn: &Npn, licenses: &[License]) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM agent_licenses WHERE npn = $1").bind(npn.as_str()).execute(&mut *c).await?;
        for l in licenses {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO agent_licenses (npn, state, license_number, license_class, residency, active, expires_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(npn.as_str())
            .bind(l.state.code())
            .bind(&l.license_number)
            .bind(&l.license_class)
            .bind(if l.resident { "resident" } else { "non_resident" })
            .bind(l.active)
            .bind(l.expires_on.map(|d| d.to_string()))
            .fetch_one(&mut *c)
            .await
            .map_err(conflict_as(format!("licence {} in {} for NPN {npn}", l.license_number, l.state)))?;
            for loa in &l.loas {
                sqlx::query(
                    "INSERT INTO agent_license_loas (license_id, loa, loa_code, active, status_date) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&loa.loa)
                .bind(&loa.loa_code)
                .bind(loa.active)
                .bind(loa.status_date.map(|d| d.to_string()))
                .execute(&mut *c)
                .await?;
            }
        }
    });
    Ok(())
}

/// States where the NPN holds an active licence with at least one active line of authority
/// named in `valid_loas` (compared ignoring case and surrounding spaces).
#[tracing::instrument(skip_all)]
pub async fn licensed_states(db: &Db, npn: &Npn, valid_loas: &[&str]) -> Result<Vec<String>> {
    let rows: Vec<(String, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT DISTINCT l.state, a.loa FROM agent_licenses l JOIN agent_license_loas a ON a.license_id = l.id
         WHERE l.npn = $1 AND l.active AND a.active ORDER BY l.state",
    )
    .bind(npn.as_str())
    .fetch_all(p)
    .await)?;
    let valid: Vec<String> = valid_loas.iter().map(|v| v.trim().to_lowercase()).collect();
    let mut states: Vec<String> = rows
        .into_iter()
        .filter(|(_, loa)| valid.contains(&loa.trim().to_lowercase()))
        .map(|(state, _)| state)
        .collect();
    states.dedup();
    Ok(states)
}
