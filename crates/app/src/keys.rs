//! The data keys of personal data at rest (`hod_db::vault`): every node loads them again now
//! and then, and `hod keys rotate` makes a new one and re-encrypts everything under it while
//! the nodes run.
use std::time::Duration;

use hod_db::{audit, keys};
use hod_domain::actor::Actor;

use crate::{App, Result};

/// How often every node loads the data keys again. A new key becomes current only after
/// twice this, so every node knows it before anyone seals a value with it.
pub const KEY_REFRESH: Duration = Duration::from_secs(10);

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key.
    pub key: i64,
    /// Values re-encrypted under it.
    pub resealed: u64,
    /// Older keys nothing uses any more, dropped.
    pub dropped: Vec<i64>,
}

impl App {
    /// Loads the data keys again (keys another node added; which one is current now).
    pub async fn refresh_keys(&self) -> Result<()> {
        Ok(keys::refresh(&self.db, self.now()).await?)
    }

    /// Makes a new data key, current after `settle` (every node has loaded it by then), waits
    /// as long again (every node seals with it by then), re-encrypts every value under it in
    /// small transactions, then drops the keys nothing uses. `settle` is [`KEY_REFRESH`]
    /// twice on a running system; zero when no other process holds the keys.
    pub async fn rotate_keys(&self, settle: Duration) -> Result<Rotation> {
        let now = self.now();
        let settle_span = jiff::SignedDuration::try_from(settle)
            .map_err(|e| anyhow::anyhow!("settle time: {e}"))?;
        let key = keys::add(&self.db, now, now + settle_span).await?;
        if !settle.is_zero() {
            tokio::time::sleep(settle * 2).await;
        }
        self.refresh_keys().await?;
        let mut resealed = 0;
        // A node that had not yet switched when a row was passed leaves a value behind: go
        // round again until none is left.
        for _ in 0..3 {
            resealed += keys::reseal_all(&self.db).await?;
            if keys::not_current(&self.db).await? == 0 {
                break;
            }
        }
        let dropped = keys::drop_unused(&self.db).await?;
        let detail = serde_json::json!({ "key": key, "resealed": resealed, "dropped": dropped });
        self.write(async |tx| {
            audit::append(
                tx,
                &audit::Entry {
                    actor: Actor::Cli,
                    action: "keys.rotated",
                    subject: &format!("data_key:{key}"),
                    ip: None,
                    detail,
                },
                self.now(),
            )
            .await
        })
        .await?;
        Ok(Rotation {
            key,
            resealed,
            dropped,
        })
    }
}
