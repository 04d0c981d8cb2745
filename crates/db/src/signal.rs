//! Signals between nodes sharing a PostgreSQL database (`NOTIFY`/`LISTEN`): "a message was
//! queued", so another node's dispatcher need not wait for its next look. SQLite has one
//! node, which signals itself in memory.
use crate::{Db, Pool, Result};

/// The channel a node signals when it has queued messages.
pub const OUTBOX: &str = "hod_outbox";

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

    /// Signals on `channel` from other nodes (and this one), or `None` on SQLite.
    pub async fn listen(&self, channel: &'static str) -> Result<Option<Listener>> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => {
                let mut l = sqlx::postgres::PgListener::connect_with(p).await?;
                l.listen(channel).await?;
                Ok(Some(Listener(l)))
            }
        }
    }
}

/// A subscription to a signal channel.
#[derive(Debug)]
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// Waits for the next signal. After a lost connection the listener reconnects by itself;
    /// signals sent meanwhile are lost, so callers also look on a timer.
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}
