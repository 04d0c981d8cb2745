//! Passkeys and WebAuthn ceremony state (stored, so that any node can finish a ceremony).
use sqlx::FromRow;

use crate::{Db, Result, Tx, execute, on_pool, on_tx, to_millis};

#[derive(Debug, Clone, FromRow)]
pub struct PasskeyRow {
    pub id: i64,
    pub agent_id: i64,
    pub credential_id: String,
    pub name: String,
    /// The credential as webauthn-rs serialises it (JSON).
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, agent_id, credential_id, name, passkey, created_at, last_used_at";

#[tracing::instrument(skip_all)]
pub async fn add(
    tx: &mut Tx,
    agent_id: i64,
    credential_id: &str,
    name: &str,
    passkey: &str,
    now: jiff::Timestamp,
) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO passkeys (agent_id, credential_id, name, passkey, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(agent_id)
    .bind(credential_id)
    .bind(name)
    .bind(passkey)
    .bind(to_millis(now))
    .fetch_one(c)
    .await)?)
}

#[tracing::instrument(skip_all)]
pub async fn for_agent(db: &Db, agent_id: i64) -> Result<Vec<PasskeyRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM passkeys WHERE agent_id = $1 ORDER BY id"
    )))
    .bind(agent_id)
    .fetch_all(p)
    .await)?,
    )
}

/// Stores the credential's new state (its counter) after a login.
#[tracing::instrument(skip_all)]
pub async fn used(tx: &mut Tx, id: i64, passkey: &str, now: jiff::Timestamp) -> Result<()> {
    execute!(
        tx,
        sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1")
            .bind(id)
            .bind(passkey)
            .bind(to_millis(now))
    )?;
    Ok(())
}

/// Removes one of the agent's passkeys; false when it is not theirs.
#[tracing::instrument(skip_all)]
pub async fn remove(tx: &mut Tx, agent_id: i64, id: i64) -> Result<bool> {
    let n = execute!(
        tx,
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND agent_id = $2")
            .bind(id)
            .bind(agent_id)
    )?;
    Ok(n > 0)
}

#[tracing::instrument(skip_all)]
pub async fn put_ceremony(
    tx: &mut Tx,
    id: &str,
    agent_id: Option<i64>,
    kind: &str,
    state: &str,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    execute!(tx, sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, agent_id, kind, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(agent_id)
    .bind(kind)
    .bind(state)
    .bind(to_millis(expires_at)))?;
    Ok(())
}

/// Takes a ceremony's state, once; `None` when unknown, of another kind, or expired.
#[tracing::instrument(skip_all)]
pub async fn take_ceremony(
    tx: &mut Tx,
    id: &str,
    kind: &str,
    now: jiff::Timestamp,
) -> Result<Option<(Option<i64>, String)>> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "DELETE FROM webauthn_ceremonies WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING agent_id, state",
    )
    .bind(id)
    .bind(kind)
    .bind(to_millis(now))
    .fetch_optional(c)
    .await)?)
}

#[tracing::instrument(skip_all)]
pub async fn webauthn_id(db: &Db, agent_id: i64) -> Result<Option<String>> {
    Ok(
        on_pool!(db, p => sqlx::query_scalar("SELECT webauthn_id FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(p)
        .await)?
        .flatten(),
    )
}

/// Gives the agent a user handle if they have none; returns the one they have.
#[tracing::instrument(skip_all)]
pub async fn ensure_webauthn_id(tx: &mut Tx, agent_id: i64, candidate: &str) -> Result<String> {
    Ok(on_tx!(tx, c => {
        sqlx::query("UPDATE agents SET webauthn_id = $2 WHERE id = $1 AND webauthn_id IS NULL")
            .bind(agent_id)
            .bind(candidate)
            .execute(&mut *c)
            .await?;
        sqlx::query_scalar::<_, String>("SELECT webauthn_id FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_one(&mut *c)
            .await?
    }))
}
