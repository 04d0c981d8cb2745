//! What `hod-chaos`'s checker reads after crashes and outages: every referral's end, every
//! offer, every message's dedup key and status, and SQLite's own check of its file.
use crate::{Backend, Db, Result, on_pool};

/// The database's record of a run.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// (id, status, agent)
    pub referrals: Vec<(i64, String, Option<i64>)>,
    /// (id, referral, agent, status)
    pub offers: Vec<(i64, i64, i64, String)>,
    /// (dedup key, status)
    pub messages: Vec<(Option<String>, String)>,
    /// `PRAGMA integrity_check`'s lines (SQLite only).
    pub integrity: Option<Vec<String>>,
}

#[tracing::instrument(skip_all)]
pub async fn read(db: &Db) -> Result<History> {
    let referrals = on_pool!(db, p => sqlx::query_as("SELECT id, status, agent_id FROM referrals ORDER BY id")
        .fetch_all(p)
        .await)?;
    let offers = on_pool!(db, p => sqlx::query_as(
        "SELECT id, referral_id, agent_id, status FROM referral_offers ORDER BY id"
    )
    .fetch_all(p)
    .await)?;
    let messages = on_pool!(db, p => sqlx::query_as("SELECT dedup_key, status FROM outbox ORDER BY id")
        .fetch_all(p)
        .await)?;
    let integrity = match db.backend() {
        Backend::Sqlite => Some(
            on_pool!(db, p => sqlx::query_scalar("PRAGMA integrity_check").fetch_all(p).await)?,
        ),
        Backend::Postgres => None,
    };
    Ok(History {
        referrals,
        offers,
        messages,
        integrity,
    })
}

/// Referrals still looking for an agent, and messages still waiting to go.
#[tracing::instrument(skip_all)]
pub async fn unsettled(db: &Db) -> Result<(i64, i64)> {
    let stuck: i64 = on_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM referrals WHERE status IN ('searching', 'offered')"
    )
    .fetch_one(p)
    .await)?;
    let waiting: i64 = on_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
    )
    .fetch_one(p)
    .await)?;
    Ok((stuck, waiting))
}
