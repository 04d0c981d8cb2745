//! Signals between nodes sharing a PostgreSQL database (`NOTIFY`/`LISTEN`): "a message was
//! queued", so another node's dispatcher need not wait for its next look, and "something live
//! pages show changed", so pages served by another node update at once. SQLite has one node,
//! which signals itself in memory.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::{Db, Pool, Result};

/// The channel a node signals when it has queued messages.
pub const OUTBOX: &str = "hod_outbox";

/// The channel a node signals when offers or referrals changed (live pages look again).
pub const CHANGES: &str = "hod_changes";

/// The channels, in the order [`Signaller`] keeps them.
const CHANNELS: [&str; 2] = [OUTBOX, CHANGES];

/// Sends a node's signals: each channel at most once per statement, however many writes
/// asked while the last statement was on its way (under load, two signals per request had
/// each been a statement, a transaction, and a wake-up on every node).
#[derive(Debug, Clone)]
pub(crate) struct Signaller {
    pending: Arc<[AtomicBool; CHANNELS.len()]>,
    wake: mpsc::Sender<()>,
}

impl Signaller {
    /// Starts the task that sends; it ends when the last handle is dropped.
    pub(crate) fn start(pool: sqlx::PgPool) -> Self {
        let pending: Arc<[AtomicBool; CHANNELS.len()]> = Arc::default();
        let (wake, mut woken) = mpsc::channel(1);
        let asked = Arc::clone(&pending);
        tokio::spawn(async move {
            while woken.recv().await.is_some() {
                let channels: Vec<&str> = CHANNELS
                    .iter()
                    .zip(asked.iter())
                    .filter(|(_, p)| p.swap(false, Ordering::AcqRel))
                    .map(|(c, _)| *c)
                    .collect();
                if channels.is_empty() {
                    continue;
                }
                let sent = sqlx::query("SELECT pg_notify(c, '') FROM unnest($1::text[]) AS c")
                    .bind(&channels)
                    .execute(&pool)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, ?channels, "could not signal the other nodes");
                }
            }
        });
        Self { pending, wake }
    }

    fn ask(&self, channel: &'static str) {
        let i = CHANNELS
            .iter()
            .position(|c| *c == channel)
            .expect("a channel of this module");
        self.pending[i].store(true, Ordering::Release);
        // Full: a wake-up is waiting already, and will see this channel.
        let _ = self.wake.try_send(());
    }
}

impl Db {
    /// Tells the other nodes, after a commit, that `channel` has news: soon, without waiting
    /// (a signal lost to a failure is made up for by the nodes' own looks on a timer).
    /// Nothing on SQLite.
    pub fn signal(&self, channel: &'static str) {
        if let Some(s) = &self.signaller {
            s.ask(channel);
        }
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
