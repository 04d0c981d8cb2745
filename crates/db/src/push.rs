//! Web Push subscriptions: the browsers and apps an agent asked to be notified on.

use crate::query::query;
use crate::time::from_row;
use crate::{Db, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: i64,
    pub agent_id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

from_row!(SubscriptionRow {
    id,
    agent_id,
    endpoint,
    p256dh,
    auth
});

/// Adds a subscription, or gives an endpoint already known new keys and owner (a browser
/// re-subscribing, or a shared device now used by another agent).
#[tracing::instrument(skip_all)]
pub async fn subscribe(
    tx: &mut Tx,
    agent_id: i64,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    user_agent: Option<&str>,
    now: jiff::Timestamp,
) -> Result<()> {
    query("INSERT INTO push_subscriptions (agent_id, endpoint, p256dh, auth, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET agent_id = excluded.agent_id, p256dh = excluded.p256dh,
             auth = excluded.auth, user_agent = excluded.user_agent, created_at = excluded.created_at")
        .bind(agent_id)
        .bind(endpoint)
        .bind(p256dh)
        .bind(auth)
        .bind(user_agent)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
}

/// Removes the agent's subscription at `endpoint`; false when they had none there.
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(tx: &mut Tx, agent_id: i64, endpoint: &str) -> Result<bool> {
    let n = query("DELETE FROM push_subscriptions WHERE agent_id = $1 AND endpoint = $2")
        .bind(agent_id)
        .bind(endpoint)
        .execute(tx)
        .await?;
    Ok(n > 0)
}

/// Forgets a subscription its push service says is gone.
#[tracing::instrument(skip_all)]
pub async fn forget(tx: &mut Tx, id: i64) -> Result<()> {
    query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// The agent's subscriptions, read in the transaction that queues a push for each.
#[tracing::instrument(skip_all)]
pub async fn of_agent(tx: &mut Tx, agent_id: i64) -> Result<Vec<SubscriptionRow>> {
    query("SELECT id, agent_id, endpoint, p256dh, auth FROM push_subscriptions WHERE agent_id = $1 ORDER BY id")
        .bind(agent_id)
        .fetch_all(tx)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, id: i64) -> Result<Option<SubscriptionRow>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, agent_id, endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(p)
    .await)?)
}
