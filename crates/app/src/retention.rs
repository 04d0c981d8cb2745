//! Retention (docs/security.md): once a day one node erases the consumers' details the
//! program no longer needs (`privacy.retention_days` after a referral last changed), the
//! consent records past their ten years, and the messages as old; each batch audited.
use hod_db::{audit, jobs, retention};
use hod_domain::actor::Actor;

use crate::{App, AppError, Result};

/// The job's lease name.
pub const RETENTION_JOB: &str = "privacy.retention";

/// Rows changed in one transaction: short enough not to hold the writer up.
const BATCH: i64 = 500;

/// What a retention run erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub referrals: u64,
    pub consents: u64,
    pub messages: u64,
}

impl App {
    /// Runs the retention job unless a node ran it today (in the program's time zone) or
    /// is running it; `None` when it was not this node's to run.
    pub async fn run_daily_retention(&self, node: &str) -> Result<Option<Erased>> {
        let now = self.now();
        let start_of_day = self
            .today()
            .to_zoned(self.settings.program_time_zone.clone())
            .map_err(|e| AppError::Other(e.into()))?
            .timestamp();
        let mine = self
            .write(async |tx| -> Result<_> {
                Ok(jobs::try_lease_if_not_run_since(
                    tx,
                    RETENTION_JOB,
                    node,
                    now,
                    now + jiff::SignedDuration::from_mins(30),
                    start_of_day,
                )
                .await?)
            })
            .await?;
        if !mine {
            return Ok(None);
        }
        let erased = self.erase_expired_personal_data().await?;
        self.write(async |tx| -> Result<_> {
            Ok(jobs::finish(tx, RETENTION_JOB, node, self.now()).await?)
        })
        .await?;
        Ok(Some(erased))
    }

    /// Erases what is past its keeping period now, in batches.
    pub async fn erase_expired_personal_data(&self) -> Result<Erased> {
        let retention = self.program_settings().await?.retention;
        let now = self.now();
        let cutoff = now - retention;
        let mut erased = Erased::default();
        loop {
            let ids = self
                .write(async |tx| -> Result<_> {
                    let ids = retention::erase_referrals(tx, cutoff, now, BATCH).await?;
                    if !ids.is_empty() {
                        let detail = serde_json::json!({
                            "referrals": ids, "unchanged_since": cutoff.to_string(),
                        });
                        audited(tx, "referrals", detail, now).await?;
                    }
                    Ok(ids)
                })
                .await?;
            erased.referrals += ids.len() as u64;
            if ids.len() < BATCH as usize {
                break;
            }
        }
        loop {
            let n = self
                .write(async |tx| -> Result<_> {
                    let n = retention::erase_messages(tx, cutoff, BATCH).await?;
                    if n > 0 {
                        let detail = serde_json::json!({
                            "messages": n, "written_before": cutoff.to_string(),
                        });
                        audited(tx, "messages", detail, now).await?;
                    }
                    Ok(n)
                })
                .await?;
            erased.messages += n;
            if n < BATCH as u64 {
                break;
            }
        }
        erased.consents = self
            .write(async |tx| -> Result<_> {
                let n = retention::expire_consents(tx, now).await?;
                if n > 0 {
                    let detail =
                        serde_json::json!({ "consents": n, "kept_until_before": now.to_string() });
                    audited(tx, "consents", detail, now).await?;
                }
                Ok(n)
            })
            .await?;
        Ok(erased)
    }
}

async fn audited(
    tx: &mut hod_db::Tx,
    subject: &str,
    detail: serde_json::Value,
    now: jiff::Timestamp,
) -> Result<()> {
    audit::append(
        tx,
        &audit::Entry {
            actor: Actor::System,
            action: "privacy.erased",
            subject,
            ip: None,
            detail,
        },
        now,
    )
    .await?;
    Ok(())
}
