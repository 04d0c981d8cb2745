//! Leases for jobs that must run on one node at a time (the daily eligibility run, …).
use crate::query::query;
use crate::{Result, Tx, to_millis};

/// Takes or renews the lease on `name` for `owner` until `until`. Returns whether `owner`
/// now holds it: false while another owner's lease has not run out.
pub async fn try_lease(
    tx: &mut Tx,
    name: &str,
    owner: &str,
    now: jiff::Timestamp,
    until: jiff::Timestamp,
) -> Result<bool> {
    lease(tx, name, owner, now, until, None).await
}

/// Records a finished run and gives the lease up.
#[tracing::instrument(skip_all, fields(job = name))]
pub async fn finish(tx: &mut Tx, name: &str, owner: &str, now: jiff::Timestamp) -> Result<()> {
    query(
        "UPDATE job_leases SET lease_until = $3, last_run_at = $3 WHERE name = $1 AND owner = $2",
    )
    .bind(name)
    .bind(owner)
    .bind(to_millis(now))
    .execute(tx)
    .await?;
    Ok(())
}

/// Like [`try_lease`], but only when the job has not finished a run since `since`: a daily
/// job passes the start of today, so one node runs it once a day.
pub async fn try_lease_if_not_run_since(
    tx: &mut Tx,
    name: &str,
    owner: &str,
    now: jiff::Timestamp,
    until: jiff::Timestamp,
    since: jiff::Timestamp,
) -> Result<bool> {
    lease(tx, name, owner, now, until, Some(since)).await
}

#[tracing::instrument(skip_all, fields(job = name))]
async fn lease(
    tx: &mut Tx,
    name: &str,
    owner: &str,
    now: jiff::Timestamp,
    until: jiff::Timestamp,
    not_run_since: Option<jiff::Timestamp>,
) -> Result<bool> {
    let holder: Option<String> = query(
        "INSERT INTO job_leases (name, owner, lease_until) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
         WHERE (job_leases.lease_until <= $4 OR job_leases.owner = excluded.owner)
           AND ($5 IS NULL OR job_leases.last_run_at IS NULL OR job_leases.last_run_at < $5)
         RETURNING owner",
    )
    .bind(name)
    .bind(owner)
    .bind(to_millis(until))
    .bind(to_millis(now))
    .bind(not_run_since.map(to_millis))
    .scalar_optional(tx)
    .await?;
    Ok(holder.is_some())
}
