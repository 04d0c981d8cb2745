//! Agents (keyed by NPN), their languages, state preferences and state licences.
use hod_domain::{Lang, Npn, UsState};

use crate::query::query;
use crate::time::from_row;
use crate::vault::columns::AGENT_PHONE;
use crate::{Db, Result, Tx, conflict_as, on_pool, to_millis};

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

#[derive(Clone)]
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
    pub phone_confirmed_at: Option<i64>,
    pub registered_at: Option<i64>,
}

from_row!(AgentRow {
    id,
    npn,
    first_name,
    last_name,
    email,
    username,
    phone,
    contact_method,
    zip,
    phone_confirmed_at,
    registered_at
});

impl std::fmt::Debug for AgentRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRow")
            .field("id", &self.id)
            .field("npn", &self.npn)
            .finish_non_exhaustive()
    }
}

impl AgentRow {
    fn opened(mut self, vault: &crate::vault::Vault) -> Result<Self> {
        vault.open_opt_in_place(AGENT_PHONE, &mut self.phone)?;
        Ok(self)
    }
}

const COLUMNS: &str = "id, npn, first_name, last_name, email, username, phone, contact_method, zip, \
     phone_confirmed_at, registered_at";

/// Adds the agent or refreshes the MLMS fields of the existing one. Returns the agent id.
#[tracing::instrument(skip_all)]
pub async fn upsert(tx: &mut Tx, a: &NewAgent<'_>, now: jiff::Timestamp) -> Result<i64> {
    query("INSERT INTO agents (npn, first_name, last_name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (npn) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
             email = excluded.email, updated_at = excluded.updated_at
         RETURNING id")
        .bind(a.npn.as_str())
        .bind(a.first_name)
        .bind(a.last_name)
        .bind(a.email)
        .bind(to_millis(now))
        .scalar(tx)
        .await
}

/// Sets the account fields; a username taken by another agent (ignoring case) is a conflict.
#[tracing::instrument(skip_all)]
pub async fn register(
    tx: &mut Tx,
    agent_id: i64,
    r: &Registration<'_>,
    now: jiff::Timestamp,
) -> Result<()> {
    query("UPDATE agents SET username = $2, username_key = $3, password_hash = $4, phone = $5, contact_method = $6,
             zip = $7, registered_at = $8, updated_at = $8
         WHERE id = $1")
        .bind(agent_id)
        .bind(r.username)
        .bind(r.username.to_lowercase())
        .bind(r.password_hash)
        .bind(tx.vault().seal(AGENT_PHONE, r.phone)?)
        .bind(r.contact_method)
        .bind(r.zip)
        .bind(to_millis(now))
        .execute(tx)
        .await
    .map_err(conflict_as(format!("username {:?}", r.username)))?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_languages(tx: &mut Tx, agent_id: i64, langs: &[Lang]) -> Result<()> {
    let codes: Vec<&str> = langs.iter().map(|l| l.code()).collect();
    replace_set(tx, "agent_languages", "lang", agent_id, &codes).await
}

#[tracing::instrument(skip_all)]
pub async fn set_state_preferences(tx: &mut Tx, agent_id: i64, states: &[UsState]) -> Result<()> {
    let codes: Vec<&str> = states.iter().map(|s| s.code()).collect();
    replace_set(tx, "agent_state_preferences", "state", agent_id, &codes).await
}

/// Replaces the agent's rows of a one-value-per-row table (their languages, their states).
async fn replace_set(
    tx: &mut Tx,
    table: &'static str,
    column: &'static str,
    agent_id: i64,
    values: &[&str],
) -> Result<()> {
    let delete = format!("DELETE FROM {table} WHERE agent_id = $1");
    let insert =
        format!("INSERT INTO {table} (agent_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING");
    query(delete).bind(agent_id).execute(tx).await?;
    for v in values {
        query(insert.clone())
            .bind(agent_id)
            .bind(*v)
            .execute(tx)
            .await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn find_by_npn(db: &Db, npn: &Npn) -> Result<Option<AgentRow>> {
    let row: Option<AgentRow> = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM agents WHERE npn = $1")))
        .bind(npn.as_str())
        .fetch_optional(p)
        .await)?;
    row.map(|r| r.opened(db.vault())).transpose()
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

/// The agents known for each of `npns` (from MLMS, registered or not).
#[tracing::instrument(skip_all, fields(npns = npns.len()))]
pub async fn for_npns(db: &Db, npns: &[Npn]) -> Result<std::collections::HashMap<Npn, AgentRow>> {
    let mut out = std::collections::HashMap::new();
    for chunk in npns.chunks(crate::sql::batch_rows(db.backend(), 1)) {
        let sql = format!(
            "SELECT {COLUMNS} FROM agents WHERE npn IN ({})",
            crate::sql::placeholder_list(1, chunk.len())
        );
        let rows: Vec<AgentRow> = on_pool!(db, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                q = q.bind(n.as_str());
            }
            q.fetch_all(p).await?
        });
        for r in rows {
            let npn = Npn::parse(&r.npn).map_err(|e| crate::DbError::Corrupt(e.to_string()))?;
            out.insert(npn, r.opened(db.vault())?);
        }
    }
    Ok(out)
}

/// Whether a username is taken, ignoring case.
#[tracing::instrument(skip_all)]
pub async fn username_taken(db: &Db, username_key: &str) -> Result<bool> {
    let n: i64 = on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM agents WHERE username_key = $1")
        .bind(username_key)
        .fetch_one(p)
        .await)?;
    Ok(n > 0)
}

/// What logging in needs of an account.
#[derive(Clone)]
pub struct LoginRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub password_hash: String,
    pub locked_until: Option<i64>,
    /// Suspended by an administrator: no log-in until reinstated.
    pub suspended: bool,
}

from_row!(LoginRow {
    id,
    username,
    email,
    first_name,
    password_hash,
    locked_until,
    suspended
});

impl std::fmt::Debug for LoginRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `LoginRow` of registered accounts (those with a username and a password).
const LOGIN_SELECT: &str = "SELECT id, username, email, first_name, password_hash, locked_until,
        suspended_at IS NOT NULL AS suspended FROM agents
     WHERE password_hash IS NOT NULL AND username IS NOT NULL";

/// The registered account with this username (compared ignoring case).
#[tracing::instrument(skip_all)]
pub async fn find_for_login(db: &Db, username_key: &str) -> Result<Option<LoginRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        sqlx::AssertSqlSafe(format!("{LOGIN_SELECT} AND username_key = $1")),
    )
    .bind(username_key)
    .fetch_optional(p)
    .await)?)
}

#[tracing::instrument(skip_all)]
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<AgentRow>> {
    let row: Option<AgentRow> = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM agents WHERE id = $1")))
        .bind(id)
        .fetch_optional(p)
        .await)?;
    row.map(|r| r.opened(db.vault())).transpose()
}

/// Registered accounts with this email address (compared ignoring case).
#[tracing::instrument(skip_all)]
pub async fn registered_with_email(db: &Db, email: &str) -> Result<Vec<AgentRow>> {
    let rows: Vec<AgentRow> = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM agents WHERE LOWER(email) = LOWER($1) AND username IS NOT NULL ORDER BY id"
    )))
    .bind(email.trim())
    .fetch_all(p)
    .await)?;
    rows.into_iter().map(|r| r.opened(db.vault())).collect()
}

#[tracing::instrument(skip_all)]
pub async fn set_password(
    tx: &mut Tx,
    id: i64,
    password_hash: &str,
    now: jiff::Timestamp,
) -> Result<()> {
    query(
        "UPDATE agents SET password_hash = $2, locked_until = NULL, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn confirm_phone(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<()> {
    query("UPDATE agents SET phone_confirmed_at = $2, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn state_preferences(db: &Db, agent_id: i64) -> Result<Vec<String>> {
    Ok(on_pool!(db, p => sqlx::query_scalar(
        "SELECT state FROM agent_state_preferences WHERE agent_id = $1 ORDER BY state"
    )
    .bind(agent_id)
    .fetch_all(p)
    .await)?)
}

/// Phone, contact method and ZIP; `phone_changed` clears the phone's confirmation.
#[tracing::instrument(skip_all)]
pub async fn update_contact(
    tx: &mut Tx,
    id: i64,
    phone: &str,
    contact_method: &str,
    zip: &str,
    phone_changed: bool,
    now: jiff::Timestamp,
) -> Result<()> {
    query(
        "UPDATE agents SET phone = $2, contact_method = $3, zip = $4, updated_at = $5,
             phone_confirmed_at = CASE WHEN $6 THEN NULL ELSE phone_confirmed_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(tx.vault().seal(AGENT_PHONE, phone)?)
    .bind(contact_method)
    .bind(zip)
    .bind(to_millis(now))
    .bind(phone_changed)
    .execute(tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn find_for_login_by_id(db: &Db, id: i64) -> Result<Option<LoginRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        sqlx::AssertSqlSafe(format!("{LOGIN_SELECT} AND id = $1")),
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// How to write to an agent: the name, the addresses, the contact method chosen, the
/// language of the pages they use, and what decides their time zone.
#[derive(Debug, Clone)]
pub struct Addressee {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub contact_method: Option<String>,
    pub ui_lang: String,
    /// The time zone the agent chose, if any (else their ZIP code's).
    pub time_zone: Option<String>,
    pub zip: Option<String>,
}

from_row!(Addressee {
    first_name,
    last_name,
    email,
    phone,
    contact_method,
    ui_lang,
    time_zone,
    zip
});

#[tracing::instrument(skip_all)]
pub async fn addressee(tx: &mut Tx, id: i64) -> Result<Addressee> {
    let mut a: Addressee = query(
        "SELECT first_name, last_name, email, phone, contact_method, ui_lang, time_zone, zip
         FROM agents WHERE id = $1",
    )
    .bind(id)
    .fetch_one(tx)
    .await?;
    tx.vault().open_opt_in_place(AGENT_PHONE, &mut a.phone)?;
    Ok(a)
}

/// The language the agent's letters are written in (`en` or `es`): the one of the pages
/// they last logged in or registered on.
#[tracing::instrument(skip_all)]
pub async fn set_ui_lang(tx: &mut Tx, id: i64, lang: &str) -> Result<()> {
    query("UPDATE agents SET ui_lang = $2 WHERE id = $1 AND ui_lang <> $2")
        .bind(id)
        .bind(lang)
        .execute(tx)
        .await?;
    Ok(())
}

/// Suspends (`Some((when, reason))`) or reinstates (`None`) an agent. False when no such agent.
#[tracing::instrument(skip_all)]
pub async fn set_suspended(
    tx: &mut Tx,
    id: i64,
    suspended: Option<(jiff::Timestamp, &str)>,
) -> Result<bool> {
    Ok(
        query("UPDATE agents SET suspended_at = $2, suspended_reason = $3 WHERE id = $1")
            .bind(id)
            .bind(suspended.map(|(at, _)| to_millis(at)))
            .bind(suspended.map(|(_, why)| why))
            .execute(tx)
            .await?
            > 0,
    )
}
