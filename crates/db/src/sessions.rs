//! Login sessions, stored in the database so that logout and expiry hold on every node.
//! Only the SHA-256 of the cookie token is stored.

use crate::query::query;
use crate::time::from_row;
use crate::{Db, Result, Tx, from_millis, on_pool, to_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Agent,
    Operator,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Operator => "operator",
        }
    }
}

/// Where a session lives: a browser cookie, or the agent app's bearer token (which may stay
/// idle longer: a phone app is opened when an offer arrives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionClient {
    Web,
    App,
}

impl SessionClient {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::App => "app",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub client: SessionClient,
    pub token_hash: &'a str,
    pub kind: PrincipalKind,
    pub principal_id: i64,
    /// The absolute end of the session.
    pub expires_at: jiff::Timestamp,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub principal_kind: String,
    pub principal_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

from_row!(SessionRow {
    principal_kind,
    principal_id,
    created_at,
    last_seen_at,
    expires_at
});

#[tracing::instrument(skip_all)]
pub async fn create(tx: &mut Tx, s: &NewSession<'_>, now: jiff::Timestamp) -> Result<()> {
    query("INSERT INTO sessions (token_hash, principal_kind, principal_id, created_at, last_seen_at, expires_at, ip, user_agent, client)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)")
        .bind(s.token_hash)
        .bind(s.kind.as_str())
        .bind(s.principal_id)
        .bind(to_millis(now))
        .bind(to_millis(s.expires_at))
        .bind(s.ip)
        .bind(s.user_agent)
        .bind(s.client.as_str())
        .execute(tx)
        .await?;
    Ok(())
}

/// The live session of a `kind` principal for `token_hash`, marking it seen now. A session
/// idle for `idle` or past its absolute end is not live (and is not revived); another kind's
/// session is not touched.
#[tracing::instrument(skip_all)]
pub async fn touch(
    tx: &mut Tx,
    token_hash: &str,
    kind: PrincipalKind,
    client: SessionClient,
    now: jiff::Timestamp,
    idle: jiff::SignedDuration,
) -> Result<Option<SessionRow>> {
    let now_ms = to_millis(now);
    let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    query(
        "UPDATE sessions SET last_seen_at = $2
         WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $2 - $3 AND client = $4
           AND principal_kind = $5
         RETURNING principal_kind, principal_id, created_at, last_seen_at, expires_at",
    )
    .bind(token_hash)
    .bind(now_ms)
    .bind(idle_ms)
    .bind(client.as_str())
    .bind(kind.as_str())
    .fetch_optional(tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn delete(tx: &mut Tx, token_hash: &str) -> Result<bool> {
    let done = query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(tx)
        .await?;
    Ok(done > 0)
}

/// Ends every session of one principal ("log out everywhere"). Returns how many ended.
#[tracing::instrument(skip_all)]
pub async fn delete_all_for(tx: &mut Tx, kind: PrincipalKind, principal_id: i64) -> Result<u64> {
    let done = query("DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2")
        .bind(kind.as_str())
        .bind(principal_id)
        .execute(tx)
        .await?;
    Ok(done)
}

/// Removes sessions that can no longer be used.
#[tracing::instrument(skip_all)]
pub async fn purge_expired(
    tx: &mut Tx,
    now: jiff::Timestamp,
    idle: jiff::SignedDuration,
) -> Result<u64> {
    let now_ms = to_millis(now);
    let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    let done = query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $1 - $2")
        .bind(now_ms)
        .bind(idle_ms)
        .execute(tx)
        .await?;
    Ok(done)
}

impl SessionRow {
    pub fn created(&self) -> Result<jiff::Timestamp> {
        from_millis(self.created_at)
    }
}

/// Ends every session of one principal but the one whose token hash is `keep`.
#[tracing::instrument(skip_all)]
pub async fn delete_others(
    tx: &mut Tx,
    kind: PrincipalKind,
    principal_id: i64,
    keep: &str,
) -> Result<u64> {
    let done = query(
        "DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2 AND token_hash <> $3",
    )
    .bind(kind.as_str())
    .bind(principal_id)
    .bind(keep)
    .execute(tx)
    .await?;
    Ok(done)
}

/// A live session as "active sessions" lists it.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub token_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

from_row!(LiveSession {
    token_hash,
    created_at,
    last_seen_at,
    ip,
    user_agent
});

/// The live sessions of one principal, newest first.
#[tracing::instrument(skip_all)]
pub async fn list_for(
    db: &Db,
    kind: PrincipalKind,
    principal_id: i64,
    now: jiff::Timestamp,
    idle: jiff::SignedDuration,
) -> Result<Vec<LiveSession>> {
    let now_ms = to_millis(now);
    let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT token_hash, created_at, last_seen_at, ip, user_agent FROM sessions
         WHERE principal_kind = $1 AND principal_id = $2 AND expires_at > $3 AND last_seen_at > $3 - $4
         ORDER BY created_at DESC",
    )
    .bind(kind.as_str())
    .bind(principal_id)
    .bind(now_ms)
    .bind(idle_ms)
    .fetch_all(p)
    .await)?)
}
