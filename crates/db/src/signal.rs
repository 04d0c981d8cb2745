//! Signals between nodes sharing a PostgreSQL database (`NOTIFY`/`LISTEN`): "a message was
//! queued", so another node's dispatcher need not wait for its next look, and "something live
//! pages show changed", so pages served by another node update at once. SQLite has one node,
//! which signals itself in memory.
use crate::{Db, Pool, Result};

/// The channel a node signals when it has queued messages.
pub const OUTBOX: &str = "hod_outbox";

/// The channel a node signals when offers or referrals changed (live pages look again).
pub const CHANGES: &str = "hod_changes";

impl Db {
    /// Tells the other nodes, after a commit, that `channel` has news. Nothing on SQLite.
    #[tracing::instrument(skip_all)]
    pub async fn signal(&self, channel: &'static str) -> Result<()> {
        if let Pool::Postgres(p) = &self.pool {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(channel)
                .execute(p)
                .await?;
        }
        Ok(())
    }

    /// Signals on `channels` from every node (this one included), or `None` on SQLite.
    pub async fn listen(&self, channels: &[&'static str]) -> Result<Option<Listener>> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen_all(channels.iter().copied()).await?;
                Ok(Some(Listener(l)))
            }
        }
    }
}

/// A subscription to a signal channel.
#[derive(Debug)]
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// Waits for the next signal; its channel. After a lost connection the listener
    /// reconnects by itself; signals sent meanwhile are lost, so callers also look on a timer.
    pub async fn next(&mut self) -> Result<String> {
        Ok(self.0.recv().await?.channel().to_owned())
    }
}
