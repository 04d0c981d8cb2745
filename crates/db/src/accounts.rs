//! Account security: phone confirmation codes, password resets, failed logins and lockout.
use crate::{Result, Tx, on_tx, to_millis};

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
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO phone_codes (agent_id, phone, code_hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, $5, 0)
         ON CONFLICT (agent_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash,
             created_at = excluded.created_at, expires_at = excluded.expires_at, attempts = 0",
    )
    .bind(agent_id)
    .bind(phone)
    .bind(code_hash)
    .bind(to_millis(now))
    .bind(to_millis(expires_at))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
