//! Retention of personal data: consumers' details erased once the program no longer needs
//! them, consent records once their ten years are over. What statistics count stays.
use crate::query::query;
use crate::{Result, Tx, to_millis};

/// Erases the consumer's details from up to `limit` referrals nothing happened to since
/// `cutoff` and that are no longer looking for an agent: names, phone, email, best time and
/// where the request came from; the agent's notes and account numbers on them; the person
/// key. The referral keeps its place, status, times and agent. The ids erased.
#[tracing::instrument(skip_all)]
pub async fn erase_referrals(
    tx: &mut Tx,
    cutoff: jiff::Timestamp,
    now: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<i64>> {
    let ids: Vec<i64> = query(
        "SELECT id FROM referrals WHERE erased_at IS NULL AND updated_at < $1
           AND status NOT IN ('searching', 'offered') ORDER BY id LIMIT $2",
    )
    .bind(to_millis(cutoff))
    .bind(limit)
    .scalars(tx)
    .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    let listed = match tx.backend() {
        crate::Backend::Sqlite => "IN (SELECT value FROM json_each($1))",
        crate::Backend::Postgres => "= ANY($1)",
    };
    query(format!(
        "UPDATE referrals SET first_name = '', last_name = '', phone = '', email = NULL,
             best_time = '', consent_ip = NULL, consent_user_agent = NULL, person_key = '',
             erased_at = $2
         WHERE id {listed}"
    ))
    .bind(ids.as_slice())
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    query(format!(
        "UPDATE referral_events SET note = '', account_number = '',
             detail = CASE WHEN kind = 'submitted' THEN '{{}}' ELSE detail END
         WHERE referral_id {listed}"
    ))
    .bind(ids.as_slice())
    .execute(tx)
    .await?;
    Ok(ids)
}

/// Deletes the consent records whose keeping period is over; how many.
#[tracing::instrument(skip_all)]
pub async fn expire_consents(tx: &mut Tx, now: jiff::Timestamp) -> Result<u64> {
    query("DELETE FROM referral_consents WHERE keep_until < $1")
        .bind(to_millis(now))
        .execute(tx)
        .await
}

/// Empties up to `limit` messages written before `cutoff` that are no longer waiting to go
/// (who they went to and what they said); how many.
#[tracing::instrument(skip_all)]
pub async fn erase_messages(tx: &mut Tx, cutoff: jiff::Timestamp, limit: i64) -> Result<u64> {
    query(
        "UPDATE outbox SET recipient = '', subject = '', body = '', html = NULL, fallback_to = NULL,
             recipient_key = NULL
         WHERE id IN (SELECT id FROM outbox WHERE created_at < $1 AND status <> 'pending'
                        AND recipient <> '' ORDER BY id LIMIT $2)",
    )
    .bind(to_millis(cutoff))
    .bind(limit)
    .execute(tx)
    .await
}
