//! Operator accounts (help desk and administrators).
use serde::Serialize;
use sqlx::FromRow;

use crate::{Db, Result, Tx, conflict_as, on_pool, on_tx, to_millis};

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
}

#[derive(Debug, Clone)]
pub struct NewOperator<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

#[derive(Clone, FromRow)]
pub struct OperatorRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

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
    let id = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO operators (username, username_key, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.username)
    .bind(new.username.to_lowercase())
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(to_millis(now))
    .fetch_one(c)
    .await)
    .map_err(conflict_as(format!("operator username {:?}", new.username)))?;
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<OperatorRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, username, email, password_hash, role, created_at, disabled_at FROM operators WHERE username_key = $1",
    )
    .bind(username.to_lowercase())
    .fetch_optional(p)
    .await)?)
}
