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

    /// The newest `limit` messages, optionally in one status (the console's outbox page).
    pub async fn newest_messages(
        &self,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        Ok(outbox::newest(&self.db, status, limit).await?)
    }

    /// An administrator sends a message given up on once more (the dispatcher picks it up).
    pub async fn retry_message(
        &self,
        by: &crate::operators::OperatorSession,
        id: i64,
        client: crate::auth::Client<'_>,
    ) -> Result<bool> {
        crate::operators::require_admin(by)?;
        let now = self.now();
        let retried = self
            .write(async |tx| -> Result<_> {
                let retried = outbox::retry(tx, id, now).await?;
                if retried {
                    self.audit_by(
                        tx,
                        by.actor(),
                        "outbox.retried",
                        &format!("message:{id}"),
                        client,
                        serde_json::json!({}),
                    )
                    .await?;
                }
                Ok(retried)
            })
            .await?;
        if retried {
            self.outbox_written().notify_one();
        }
        Ok(retried)
    }
}
