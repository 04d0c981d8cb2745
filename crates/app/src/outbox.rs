//! Messages owed to someone, queued in the outbox by the transaction that decided them (the
//! dispatcher delivers them after the commit).
use hod_db::Tx;
use hod_db::outbox::{self, Channel, NewMessage};

use crate::{App, Result};

impl App {
    /// Queues one message; `dedup` makes a second queueing of the same message a no-op.
    pub(crate) async fn message(
        &self,
        tx: &mut Tx,
        channel: Channel,
        to: &str,
        subject: &str,
        body: &str,
        dedup: &str,
    ) -> Result<()> {
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        outbox::enqueue(
            tx,
            &NewMessage {
                channel,
                sender: if channel == Channel::Email {
                    &self.settings.noreply_address
                } else {
                    ""
                },
                recipient: to,
                subject,
                body,
                dedup_key: Some(dedup),
            },
            self.now(),
        )
        .await?;
        Ok(())
    }
}
