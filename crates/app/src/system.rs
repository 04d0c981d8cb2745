//! What the running system reports about itself — for readiness, metrics and the CLI: the
//! storage backend and pool, and the outbox.
use hod_db::outbox;
pub use hod_db::outbox::{Channel, DeliveryStatus, MessageRow, OutboxStats};

use crate::{App, Result};

/// Connections of the storage pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

impl App {
    /// Readiness: the database answers.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.db.ping().await?)
    }

    /// `sqlite` or `postgres`.
    pub fn storage_backend(&self) -> String {
        self.db.backend().to_string()
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (in_use, idle, max) = self.db.pool_stats();
        PoolStats { in_use, idle, max }
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        Ok(outbox::stats(&self.db).await?)
    }

    /// The messages in the outbox, oldest first; optionally only those to one recipient, or
    /// in one status (the dead letter: `Failed`).
    pub async fn outbox(
        &self,
        recipient: Option<&str>,
        status: Option<DeliveryStatus>,
    ) -> Result<Vec<MessageRow>> {
        Ok(outbox::list(&self.db, recipient, status).await?)
    }
}
