//! Account security: phone confirmation codes, password resets, failed logins and lockout.
use crate::query::query;
use crate::vault::columns::PHONE_CODE_PHONE;
use crate::{Db, Result, Tx, on_pool, to_millis};

/// Replaces the agent's open phone code.
#[tracing::instrument(skip_all)]
pub async fn put_phone_code(
    tx: &mut Tx,
    agent_id: i64,
    phone: &str,
    code_hash: &str,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    query("INSERT INTO phone_codes (agent_id, phone, code_hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, $5, 0)
         ON CONFLICT (agent_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash,
             created_at = excluded.created_at, expires_at = excluded.expires_at, attempts = 0")
        .bind(agent_id)
        .bind(tx.vault().seal(PHONE_CODE_PHONE, phone)?)
        .bind(code_hash)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(tx)
        .await?;
    Ok(())
}

/// The agent's open phone code: (phone, code hash, expires at, attempts).
#[tracing::instrument(skip_all)]
pub async fn phone_code(db: &Db, agent_id: i64) -> Result<Option<(String, String, i64, i64)>> {
    let code: Option<(String, String, i64, i64)> = on_pool!(db, p => sqlx::query_as(
        "SELECT phone, code_hash, expires_at, attempts FROM phone_codes WHERE agent_id = $1",
    )
    .bind(agent_id)
    .fetch_optional(p)
    .await)?;
    code.map(|(phone, hash, expires, tries)| {
        Ok((
            db.vault().open(PHONE_CODE_PHONE, &phone)?,
            hash,
            expires,
            tries,
        ))
    })
    .transpose()
}

/// Counts one more try at the phone code; returns the tries so far.
#[tracing::instrument(skip_all)]
pub async fn phone_code_tried(tx: &mut Tx, agent_id: i64) -> Result<i64> {
    Ok(query(
        "UPDATE phone_codes SET attempts = attempts + 1 WHERE agent_id = $1 RETURNING attempts",
    )
    .bind(agent_id)
    .scalar_optional(tx)
    .await?
    .unwrap_or(0))
}

#[tracing::instrument(skip_all)]
pub async fn delete_phone_code(tx: &mut Tx, agent_id: i64) -> Result<()> {
    query("DELETE FROM phone_codes WHERE agent_id = $1")
        .bind(agent_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Records a failed login; returns the failures since `window_start` (this one included).
#[tracing::instrument(skip_all)]
pub async fn record_login_failure(
    tx: &mut Tx,
    agent_id: i64,
    ip: Option<&str>,
    now: jiff::Timestamp,
    window_start: jiff::Timestamp,
) -> Result<i64> {
    Ok({
        query("INSERT INTO login_failures (agent_id, at, ip) VALUES ($1, $2, $3)")
            .bind(agent_id)
            .bind(to_millis(now))
            .bind(ip)
            .execute(tx)
            .await?;
        query("SELECT COUNT(*) FROM login_failures WHERE agent_id = $1 AND at > $2")
            .bind(agent_id)
            .bind(to_millis(window_start))
            .scalar::<i64>(tx)
            .await?
    })
}

/// Locks the account until `until`.
#[tracing::instrument(skip_all)]
pub async fn lock(tx: &mut Tx, agent_id: i64, until: jiff::Timestamp) -> Result<()> {
    query("UPDATE agents SET locked_until = $2 WHERE id = $1")
        .bind(agent_id)
        .bind(to_millis(until))
        .execute(tx)
        .await?;
    Ok(())
}

/// Forgets failed logins and any lock (after a successful login or a password reset).
#[tracing::instrument(skip_all)]
pub async fn clear_failures(tx: &mut Tx, agent_id: i64) -> Result<()> {
    {
        query("DELETE FROM login_failures WHERE agent_id = $1")
            .bind(agent_id)
            .execute(tx)
            .await?;
        query("UPDATE agents SET locked_until = NULL WHERE id = $1")
            .bind(agent_id)
            .execute(tx)
            .await?;
    };
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn create_reset(
    tx: &mut Tx,
    token_hash: &str,
    agent_id: i64,
    now: jiff::Timestamp,
    expires_at: jiff::Timestamp,
) -> Result<()> {
    query("INSERT INTO password_resets (token_hash, agent_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(agent_id)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(tx)
        .await?;
    Ok(())
}

/// Whether a reset link is open (unused, not expired): its agent.
#[tracing::instrument(skip_all)]
pub async fn open_reset(db: &Db, token_hash: &str, now: jiff::Timestamp) -> Result<Option<i64>> {
    Ok(on_pool!(db, p => sqlx::query_scalar(
        "SELECT agent_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(to_millis(now))
    .fetch_optional(p)
    .await)?)
}

/// Uses a reset link, once: its agent, or `None` when it is used, expired or unknown.
#[tracing::instrument(skip_all)]
pub async fn redeem_reset(
    tx: &mut Tx,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<i64>> {
    query("UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING agent_id")
        .bind(token_hash)
        .bind(to_millis(now))
        .scalar_optional(tx)
        .await
}

/// Until when the agent's log-in is locked, if it ever was.
#[tracing::instrument(skip_all)]
pub async fn locked_until(db: &crate::Db, agent_id: i64) -> Result<Option<jiff::Timestamp>> {
    let at: Option<Option<i64>> = crate::on_pool!(db, p => sqlx::query_scalar(
        "SELECT locked_until FROM agents WHERE id = $1",
    )
    .bind(agent_id)
    .fetch_optional(p)
    .await)?;
    at.flatten().map(crate::from_millis).transpose()
}
