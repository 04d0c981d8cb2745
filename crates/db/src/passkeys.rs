//! Passkeys and WebAuthn ceremony state (stored, so that any node can finish a ceremony). A
//! passkey belongs to a principal: an agent or an operator, as a session does.

use crate::query::query;
use crate::sessions::PrincipalKind;
use crate::time::from_row;
use crate::{Db, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: i64,
    pub principal_id: i64,
    pub credential_id: String,
    pub name: String,
    /// The credential as webauthn-rs serialises it (JSON).
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

from_row!(PasskeyRow {
    id,
    principal_id,
    credential_id,
    name,
    passkey,
    created_at,
    last_used_at
});

const COLUMNS: &str = "id, principal_id, credential_id, name, passkey, created_at, last_used_at";

/// The table holding the principal's user handle.
fn accounts(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Agent => "agents",
        PrincipalKind::Operator => "operators",
    }
}

#[tracing::instrument(skip_all)]
pub async fn add(
    tx: &mut Tx,
    kind: PrincipalKind,
    principal_id: i64,
    credential_id: &str,
    name: &str,
    passkey: &str,
    now: jiff::Timestamp,
) -> Result<i64> {
    query("INSERT INTO passkeys (principal_kind, principal_id, credential_id, name, passkey, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(kind.as_str())
        .bind(principal_id)
        .bind(credential_id)
        .bind(name)
        .bind(passkey)
        .bind(to_millis(now))
        .scalar(tx)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn of(db: &Db, kind: PrincipalKind, principal_id: i64) -> Result<Vec<PasskeyRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM passkeys WHERE principal_kind = $1 AND principal_id = $2 ORDER BY id"
    )))
    .bind(kind.as_str())
    .bind(principal_id)
    .fetch_all(p)
    .await)?,
    )
}

/// Stores the credential's new state (its counter) after a login.
#[tracing::instrument(skip_all)]
pub async fn used(tx: &mut Tx, id: i64, passkey: &str, now: jiff::Timestamp) -> Result<()> {
    query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1")
        .bind(id)
        .bind(passkey)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
}

/// Removes one of the principal's passkeys; false when it is not theirs.
#[tracing::instrument(skip_all)]
pub async fn remove(tx: &mut Tx, kind: PrincipalKind, principal_id: i64, id: i64) -> Result<bool> {
    let n =
        query("DELETE FROM passkeys WHERE id = $1 AND principal_kind = $2 AND principal_id = $3")
            .bind(id)
            .bind(kind.as_str())
            .bind(principal_id)
            .execute(tx)
            .await?;
    Ok(n > 0)
}

/// A ceremony between its two requests: whose it is (none for a login's decoy), what it is
/// (`register` or `login`) and webauthn-rs's state.
#[derive(Debug, Clone)]
pub struct Ceremony<'a> {
    pub id: &'a str,
    pub kind: PrincipalKind,
    pub principal_id: Option<i64>,
    pub purpose: &'a str,
    pub state: &'a str,
    pub expires_at: jiff::Timestamp,
}

#[tracing::instrument(skip_all)]
pub async fn put_ceremony(tx: &mut Tx, c: &Ceremony<'_>) -> Result<()> {
    query("INSERT INTO webauthn_ceremonies (id, principal_kind, principal_id, kind, state, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(c.id)
        .bind(c.kind.as_str())
        .bind(c.principal_id)
        .bind(c.purpose)
        .bind(c.state)
        .bind(to_millis(c.expires_at))
        .execute(tx)
        .await?;
    Ok(())
}

/// Takes a ceremony's state, once; `None` when unknown, another principal kind's, for another
/// purpose, or expired.
#[tracing::instrument(skip_all)]
pub async fn take_ceremony(
    tx: &mut Tx,
    id: &str,
    kind: PrincipalKind,
    purpose: &str,
    now: jiff::Timestamp,
) -> Result<Option<(Option<i64>, String)>> {
    query(
        "DELETE FROM webauthn_ceremonies
         WHERE id = $1 AND principal_kind = $2 AND kind = $3 AND expires_at > $4
         RETURNING principal_id, state",
    )
    .bind(id)
    .bind(kind.as_str())
    .bind(purpose)
    .bind(to_millis(now))
    .fetch_optional(tx)
    .await
}

/// Gives the principal a user handle if they have none; returns the one they have.
#[tracing::instrument(skip_all)]
pub async fn ensure_webauthn_id(
    tx: &mut Tx,
    kind: PrincipalKind,
    principal_id: i64,
    candidate: &str,
) -> Result<String> {
    let table = accounts(kind);
    Ok({
        query(format!(
            "UPDATE {table} SET webauthn_id = $2 WHERE id = $1 AND webauthn_id IS NULL"
        ))
        .bind(principal_id)
        .bind(candidate)
        .execute(tx)
        .await?;
        query(format!("SELECT webauthn_id FROM {table} WHERE id = $1"))
            .bind(principal_id)
            .scalar::<String>(tx)
            .await?
    })
}
