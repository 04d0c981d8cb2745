//! The outbox: every message is written here in the transaction that caused it, then handed
//! to a transport by a dispatcher that claims due rows with a lease (so a crashed node's
//! claims come back, and two nodes never send the same row at once).
use serde::Serialize;

use crate::query::query;
use crate::time::{from_row, instant, maybe_instant, parsed};
use crate::vault::columns::{
    OUTBOX_BODY, OUTBOX_FALLBACK_TO, OUTBOX_HTML, OUTBOX_RECIPIENT, OUTBOX_SUBJECT,
};
use crate::vault::{Vault, lookups};
use crate::{Db, DbError, Result, Tx, from_millis, on_pool, to_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Email, Self::Sms, Self::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Push => "push",
        }
    }
}

/// Where a message stands (`outbox.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for a transport (or for its next attempt).
    Pending,
    /// Handed to a provider.
    Sent,
    /// Kept in the local outbox: no provider is configured for its channel.
    Stored,
    /// Given up on after the last attempt, or refused for good.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Sent, Self::Stored, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Stored => "stored",
            Self::Failed => "failed",
        }
    }
}

hod_domain::stored_name!(Channel, as_str, "a channel");
hod_domain::stored_name!(DeliveryStatus, as_str, "a delivery status");

/// How a claimed message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Handed to a provider, which may have named it (an SMS message sid).
    Sent { provider_id: Option<&'a str> },
    /// Kept in the local outbox: no provider is configured for its channel.
    Stored,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub channel: Channel,
    /// The email sender (the configured noreply address); empty for texts and pushes.
    pub sender: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// An email's HTML alternative (made from its template).
    pub html: Option<&'a str>,
    /// The reader's language (`en` or `es`).
    pub lang: &'a str,
    /// A text's recipient by email, who gets it that way when it cannot be texted.
    pub fallback_to: Option<&'a str>,
    /// Marked for the reader's attention (an email in place of a text that failed).
    pub urgent: bool,
    /// The push subscription a push goes to.
    pub subscription_id: Option<i64>,
    /// Messages with the same key are sent once: a second enqueue is ignored.
    pub dedup_key: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub channel: Channel,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub lang: String,
    pub fallback_to: Option<String>,
    pub urgent: bool,
    pub subscription_id: Option<i64>,
    pub status: DeliveryStatus,
    pub created_at: jiff::Timestamp,
    /// When it was handed to a provider, kept locally, or given up on.
    pub finished_at: Option<jiff::Timestamp>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// What the provider called it (an SMS message sid).
    pub provider_id: Option<String>,
    /// What the provider last reported of it (`delivered`, `undelivered`…).
    pub provider_status: Option<String>,
}

from_row!(MessageRow, |r| Ok(MessageRow {
    id: r.try_get("id")?,
    channel: parsed(r, "channel")?,
    sender: r.try_get("sender")?,
    recipient: r.try_get("recipient")?,
    subject: r.try_get("subject")?,
    body: r.try_get("body")?,
    html: r.try_get("html")?,
    lang: r.try_get("lang")?,
    fallback_to: r.try_get("fallback_to")?,
    urgent: r.try_get("urgent")?,
    subscription_id: r.try_get("subscription_id")?,
    status: parsed(r, "status")?,
    created_at: instant(r, "created_at")?,
    finished_at: maybe_instant(r, "finished_at")?,
    attempts: r.try_get("attempts")?,
    last_error: r.try_get("last_error")?,
    provider_id: r.try_get("provider_id")?,
    provider_status: r.try_get("provider_status")?,
}));

impl MessageRow {
    /// The message as it was written, from its stored (sealed) form.
    pub(crate) fn opened(mut self, vault: &Vault) -> Result<Self> {
        vault.open_in_place(OUTBOX_RECIPIENT, &mut self.recipient)?;
        vault.open_in_place(OUTBOX_SUBJECT, &mut self.subject)?;
        vault.open_in_place(OUTBOX_BODY, &mut self.body)?;
        vault.open_opt_in_place(OUTBOX_HTML, &mut self.html)?;
        vault.open_opt_in_place(OUTBOX_FALLBACK_TO, &mut self.fallback_to)?;
        Ok(self)
    }
}

/// Opens every message of `rows`.
pub(crate) fn opened(rows: Vec<MessageRow>, vault: &Vault) -> Result<Vec<MessageRow>> {
    rows.into_iter().map(|m| m.opened(vault)).collect()
}

pub(crate) const COLUMNS: &str =
    "id, channel, sender, recipient, subject, body, html, lang, fallback_to, urgent, subscription_id, status,
    created_at, finished_at, attempts, last_error, provider_id, provider_status";

/// Queues a message. Returns its id, or `None` when a message with the same dedup key exists.
#[tracing::instrument(skip_all, fields(channel = msg.channel.as_str()))]
pub async fn enqueue(
    tx: &mut Tx,
    msg: &NewMessage<'_>,
    now: jiff::Timestamp,
) -> Result<Option<i64>> {
    let now_ms = to_millis(now);
    let vault = tx.vault().clone();
    query("INSERT INTO outbox (channel, recipient, subject, body, dedup_key, created_at, due_at, sender,
             html, lang, fallback_to, urgent, subscription_id, recipient_key)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id")
        .bind(msg.channel.as_str())
        .bind(vault.seal(OUTBOX_RECIPIENT, msg.recipient)?)
        .bind(vault.seal(OUTBOX_SUBJECT, msg.subject)?)
        .bind(vault.seal(OUTBOX_BODY, msg.body)?)
        .bind(msg.dedup_key)
        .bind(now_ms)
        .bind(msg.sender)
        .bind(vault.seal_opt(OUTBOX_HTML, msg.html)?)
        .bind(msg.lang)
        .bind(vault.seal_opt(OUTBOX_FALLBACK_TO, msg.fallback_to)?)
        .bind(msg.urgent)
        .bind(msg.subscription_id)
        .bind(vault.lookup(lookups::RECIPIENT, msg.recipient)?)
        .scalar_optional(tx)
        .await
}

/// Messages, oldest first; optionally only those to one recipient, or in one status.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    recipient: Option<&str>,
    status: Option<DeliveryStatus>,
) -> Result<Vec<MessageRow>> {
    let recipient_key = recipient
        .map(|r| db.vault().lookup(lookups::RECIPIENT, r))
        .transpose()?;
    let rows = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR recipient_key = $1) AND ($2 IS NULL OR status = $2)
         ORDER BY id"
    )))
    .bind(recipient_key)
    .bind(status.map(DeliveryStatus::as_str))
    .fetch_all(p)
    .await)?;
    opened(rows, db.vault())
}

/// The newest `limit` messages, optionally in one status.
#[tracing::instrument(skip_all)]
pub async fn newest(
    db: &Db,
    status: Option<DeliveryStatus>,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let rows = on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE $1 IS NULL OR status = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(status.map(DeliveryStatus::as_str))
    .bind(limit)
    .fetch_all(p)
    .await)?;
    opened(rows, db.vault())
}

/// Gives a message given up on another try, now. False when it was not failed.
#[tracing::instrument(skip_all)]
pub async fn retry(tx: &mut Tx, id: i64, now: jiff::Timestamp) -> Result<bool> {
    Ok(query(
        "UPDATE outbox SET status = 'pending', due_at = $2, attempts = 0, finished_at = NULL,
                lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND status = 'failed'",
    )
    .bind(id)
    .bind(to_millis(now))
    .execute(tx)
    .await?
        > 0)
}

/// Claims up to `limit` due messages for `owner` until `lease_until`. Rows claimed by a node
/// that died become due again when their lease runs out.
#[tracing::instrument(skip_all)]
pub async fn claim_due(
    tx: &mut Tx,
    owner: &str,
    now: jiff::Timestamp,
    lease_until: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    const DUE: &str = "SELECT id FROM outbox WHERE status = 'pending' AND due_at <= $3
         AND (lease_until IS NULL OR lease_until <= $3) ORDER BY due_at, id LIMIT $4";
    let lock = match tx.backend() {
        crate::Backend::Sqlite => "",
        crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
         WHERE id IN ({DUE}{lock}) RETURNING {COLUMNS}"
    );
    let mut rows: Vec<MessageRow> = query(sql)
        .bind(owner)
        .bind(to_millis(lease_until))
        .bind(to_millis(now))
        .bind(limit)
        .fetch_all(tx)
        .await?;
    rows.sort_by_key(|r| r.id);
    opened(rows, tx.vault())
}

/// Marks a claimed message done. False when `owner` no longer holds it.
pub async fn finish(
    tx: &mut Tx,
    id: i64,
    owner: &str,
    outcome: Outcome<'_>,
    now: jiff::Timestamp,
) -> Result<bool> {
    Ok(finish_many(tx, owner, &[(id, outcome)], now).await? == 1)
}

/// Marks claimed messages done, many at a time (a busy dispatcher records what finished
/// together in few statements). Messages `owner` no longer holds are left as they are; how
/// many were marked.
#[tracing::instrument(skip_all)]
pub async fn finish_many(
    tx: &mut Tx,
    owner: &str,
    done: &[(i64, Outcome<'_>)],
    now: jiff::Timestamp,
) -> Result<u64> {
    let mut marked = 0;
    // Three parameters per message and two more: about 200 per statement (SQLite looks
    // bound parameters up one at a time).
    for chunk in done.chunks(64) {
        let mut status = String::from("CASE id");
        let mut provider = String::from("CASE id");
        let mut ids = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            let n = 3 + i * 3;
            status.push_str(&format!(" WHEN ${n} THEN ${}", n + 1));
            provider.push_str(&format!(" WHEN ${n} THEN ${}", n + 2));
            ids.push(format!("${n}"));
        }
        let sql = format!(
            "UPDATE outbox SET status = {status} END, provider_id = {provider} END,
                 finished_at = $2, lease_owner = NULL, lease_until = NULL
             WHERE id IN ({}) AND lease_owner = $1 AND status = 'pending'",
            ids.join(", ")
        );
        marked += {
            let mut q = query(sql).bind(owner).bind(to_millis(now));
            for (id, outcome) in chunk {
                let (status, provider_id) = match outcome {
                    Outcome::Sent { provider_id } => (DeliveryStatus::Sent, *provider_id),
                    Outcome::Stored => (DeliveryStatus::Stored, None),
                };
                q = q.bind(*id).bind(status.as_str()).bind(provider_id);
            }
            q.execute(tx).await
        }?;
    }
    Ok(marked)
}

/// Records a failed attempt: due again at `retry_at`, or failed for good when `retry_at` is `None`.
#[tracing::instrument(skip_all)]
pub async fn attempt_failed(
    tx: &mut Tx,
    id: i64,
    owner: &str,
    error: &str,
    retry_at: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<bool> {
    let done = query(
        "UPDATE outbox SET last_error = $3, lease_owner = NULL, lease_until = NULL,
             due_at = COALESCE($4, due_at),
             status = CASE WHEN $4 IS NULL THEN 'failed' ELSE 'pending' END,
             finished_at = CASE WHEN $4 IS NULL THEN $5 ELSE NULL END
         WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(owner)
    .bind(error)
    .bind(retry_at.map(to_millis))
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    Ok(done == 1)
}

/// How many messages wait for a transport.
#[tracing::instrument(skip_all)]
pub async fn pending_count(db: &Db) -> Result<i64> {
    Ok(
        on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .fetch_one(p)
        .await)?,
    )
}

/// The outbox at a glance: how many messages in each status, and when the oldest one still
/// waiting for a transport was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub by_status: Vec<(DeliveryStatus, i64)>,
    pub oldest_pending: Option<jiff::Timestamp>,
}

#[tracing::instrument(skip_all)]
pub async fn stats(db: &Db) -> Result<OutboxStats> {
    let counts: Vec<(String, i64)> = on_pool!(db, p => sqlx::query_as(
        "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status",
    )
    .fetch_all(p)
    .await)?;
    let by_status = counts
        .into_iter()
        .map(|(s, n)| Ok((DeliveryStatus::try_from(s).map_err(DbError::Corrupt)?, n)))
        .collect::<Result<_>>()?;
    let oldest_pending: Option<i64> = on_pool!(db, p => sqlx::query_scalar(
        "SELECT MIN(created_at) FROM outbox WHERE status = 'pending'",
    )
    .fetch_one(p)
    .await)?;
    let oldest_pending = oldest_pending.map(from_millis).transpose()?;
    Ok(OutboxStats {
        by_status,
        oldest_pending,
    })
}
