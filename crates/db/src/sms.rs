//! Numbers that asked for no more texts (STOP), and the delivery reports of texts.
use crate::query::query;
use crate::vault::lookups;
use crate::{Db, Result, Tx, on_pool, to_millis};

/// Records that `phone` wants no texts. `true` when it was not already so.
#[tracing::instrument(skip_all)]
pub async fn opt_out(tx: &mut Tx, phone: &str, now: jiff::Timestamp) -> Result<bool> {
    let added = query(
        "INSERT INTO sms_opt_outs (phone_key, opted_out_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(tx.vault().lookup(lookups::PHONE, phone)?)
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    Ok(added == 1)
}

/// Lets texts go to `phone` again. `true` when it had opted out.
#[tracing::instrument(skip_all)]
pub async fn opt_in(tx: &mut Tx, phone: &str) -> Result<bool> {
    let removed = query("DELETE FROM sms_opt_outs WHERE phone_key = $1")
        .bind(tx.vault().lookup(lookups::PHONE, phone)?)
        .execute(tx)
        .await?;
    Ok(removed == 1)
}

#[tracing::instrument(skip_all)]
pub async fn opted_out(db: &Db, phone: &str) -> Result<bool> {
    let key = db.vault().lookup(lookups::PHONE, phone)?;
    let found: Option<i32> = on_pool!(db, p => sqlx::query_scalar(
        "SELECT 1 FROM sms_opt_outs WHERE phone_key = $1"
    )
    .bind(&key)
    .fetch_optional(p)
    .await)?;
    Ok(found.is_some())
}

/// Records what the provider reported of the text it named `provider_id` (`queued`, `sent`,
/// `delivered`, `undelivered`, `failed`). `false` when no text has that id.
#[tracing::instrument(skip_all)]
pub async fn record_status(tx: &mut Tx, provider_id: &str, status: &str) -> Result<bool> {
    let n =
        query("UPDATE outbox SET provider_status = $2 WHERE provider_id = $1 AND channel = 'sms'")
            .bind(provider_id)
            .bind(status)
            .execute(tx)
            .await?;
    Ok(n > 0)
}
