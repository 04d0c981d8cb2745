//! Operator accounts (help desk and administrators).
use hod_domain::Username;
use serde::Serialize;

use crate::query::query;
use crate::time::from_row;
use crate::{Db, Result, Tx, conflict_as, on_pool, to_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    HelpDesk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::HelpDesk => "help_desk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "help_desk" => Some(Self::HelpDesk),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOperator<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

#[derive(Clone)]
pub struct OperatorRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub failed_logins: i64,
    pub first_failed_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub ui_lang: String,
}

from_row!(OperatorRow {
    id,
    username,
    email,
    password_hash,
    role,
    created_at,
    disabled_at,
    failed_logins,
    first_failed_at,
    locked_until,
    ui_lang
});

impl OperatorRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::HelpDesk)
    }
}

const COLUMNS: &str = "id, username, email, password_hash, role, created_at, disabled_at, \
     failed_logins, first_failed_at, locked_until, ui_lang";

impl std::fmt::Debug for OperatorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Creates an operator; a username taken (ignoring case) is a [`crate::DbError::Conflict`].
#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut Tx, new: &NewOperator<'_>, now: jiff::Timestamp) -> Result<i64> {
    let id = query(
        "INSERT INTO operators (username, username_key, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.username)
    .bind(new.username.to_lowercase())
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(to_millis(now))
    .scalar(tx)
    .await
    .map_err(conflict_as(format!("operator username {:?}", new.username)))?;
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn find_by_username(db: &Db, username: &Username) -> Result<Option<OperatorRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operators WHERE username_key = $1"
    )))
    .bind(username.key())
    .fetch_optional(p)
    .await)?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<OperatorRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operators WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?,
    )
}

/// Every operator, by username.
#[tracing::instrument(skip_all)]
pub async fn all(db: &Db) -> Result<Vec<OperatorRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operators ORDER BY username_key"
    )))
    .fetch_all(p)
    .await)?,
    )
}

/// Counts a failed log-in (a new count when the last began before `window_start`); locks the
/// account until `lock_until` when the count reaches `lock_after`. Returns the count.
#[tracing::instrument(skip_all)]
pub async fn record_failure(
    tx: &mut Tx,
    id: i64,
    now: jiff::Timestamp,
    window_start: jiff::Timestamp,
    lock_after: i64,
    lock_until: jiff::Timestamp,
) -> Result<i64> {
    query("UPDATE operators SET
            failed_logins = CASE WHEN first_failed_at IS NULL OR first_failed_at < $3 THEN 1 ELSE failed_logins + 1 END,
            first_failed_at = CASE WHEN first_failed_at IS NULL OR first_failed_at < $3 THEN $2 ELSE first_failed_at END,
            locked_until = CASE WHEN (CASE WHEN first_failed_at IS NULL OR first_failed_at < $3 THEN 1 ELSE failed_logins + 1 END) >= $4
                THEN $5 ELSE locked_until END
         WHERE id = $1 RETURNING failed_logins")
        .bind(id)
        .bind(to_millis(now))
        .bind(to_millis(window_start))
        .bind(lock_after)
        .bind(to_millis(lock_until))
        .scalar(tx)
        .await
}

/// Forgets failures and lifts a lock (a successful log-in, or an administrator's unlock).
#[tracing::instrument(skip_all)]
pub async fn clear_failures(tx: &mut Tx, id: i64) -> Result<()> {
    query("UPDATE operators SET failed_logins = 0, first_failed_at = NULL, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_ui_lang(tx: &mut Tx, id: i64, lang: &str) -> Result<()> {
    query("UPDATE operators SET ui_lang = $2 WHERE id = $1")
        .bind(id)
        .bind(lang)
        .execute(tx)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_role(tx: &mut Tx, id: i64, role: Role) -> Result<bool> {
    Ok(query("UPDATE operators SET role = $2 WHERE id = $1")
        .bind(id)
        .bind(role.as_str())
        .execute(tx)
        .await?
        > 0)
}

/// Disables (`Some(now)`) or re-enables (`None`) an account.
#[tracing::instrument(skip_all)]
pub async fn set_disabled(tx: &mut Tx, id: i64, at: Option<jiff::Timestamp>) -> Result<bool> {
    Ok(query("UPDATE operators SET disabled_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at.map(to_millis))
        .execute(tx)
        .await?
        > 0)
}

#[tracing::instrument(skip_all)]
pub async fn set_password(tx: &mut Tx, id: i64, hash: &str) -> Result<()> {
    query("UPDATE operators SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(tx)
        .await?;
    Ok(())
}

/// How many enabled administrators there are (the last one may not be disabled or demoted).
#[tracing::instrument(skip_all)]
pub async fn enabled_admins(tx: &mut Tx) -> Result<i64> {
    query("SELECT COUNT(*) FROM operators WHERE role = 'admin' AND disabled_at IS NULL")
        .scalar(tx)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn create_token(
    tx: &mut Tx,
    token_hash: &str,
    operator_id: i64,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    query("INSERT INTO operator_tokens (token_hash, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(operator_id)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(tx)
        .await?;
    Ok(())
}

/// The operator an unused, unexpired link is for.
#[tracing::instrument(skip_all)]
pub async fn open_token(db: &Db, token_hash: &str, now: jiff::Timestamp) -> Result<Option<i64>> {
    Ok(on_pool!(db, p => sqlx::query_scalar(
        "SELECT operator_id FROM operator_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(to_millis(now))
    .fetch_optional(p)
    .await)?)
}

/// Uses the link once; `None` when it was used, expired or unknown.
#[tracing::instrument(skip_all)]
pub async fn redeem_token(
    tx: &mut Tx,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<i64>> {
    query("UPDATE operator_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING operator_id")
        .bind(token_hash)
        .bind(to_millis(now))
        .scalar_optional(tx)
        .await
}
