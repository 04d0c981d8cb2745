//! Invitation links. The token itself is only ever in the email; the table keeps its SHA-256.

use crate::query::query;
use crate::time::from_row;
use crate::{Db, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub npn: &'a str,
    pub plan_year: i16,
    pub email: &'a str,
    pub token_hash: &'a str,
    pub expires_at: jiff::Timestamp,
    /// `None` for the automatic invitation; the operator's name for a resend.
    pub sent_by: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: i64,
    pub npn: String,
    pub plan_year: i64,
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub sent_by: Option<String>,
}

from_row!(InvitationRow {
    id,
    npn,
    plan_year,
    email,
    created_at,
    expires_at,
    used_at,
    revoked_at,
    sent_by
});

const COLUMNS: &str =
    "id, npn, plan_year, email, created_at, expires_at, used_at, revoked_at, sent_by";

/// Stores an invitation. Returns its id, or `None` when the NPN already had its automatic
/// invitation for the plan year.
#[tracing::instrument(skip_all)]
pub async fn create(
    tx: &mut Tx,
    inv: &NewInvitation<'_>,
    now: jiff::Timestamp,
) -> Result<Option<i64>> {
    query("INSERT INTO invitations (npn, plan_year, email, token_hash, created_at, expires_at, sent_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id")
        .bind(inv.npn)
        .bind(i64::from(inv.plan_year))
        .bind(inv.email)
        .bind(inv.token_hash)
        .bind(to_millis(now))
        .bind(to_millis(inv.expires_at))
        .bind(inv.sent_by)
        .scalar_optional(tx)
        .await
}

/// Makes every unused link of `npn` stop working. Returns how many were open.
#[tracing::instrument(skip_all)]
pub async fn revoke_open(tx: &mut Tx, npn: &str, now: jiff::Timestamp) -> Result<u64> {
    query("UPDATE invitations SET revoked_at = $2 WHERE npn = $1 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(npn)
        .bind(to_millis(now))
        .execute(tx)
        .await
}

#[tracing::instrument(skip_all)]
pub async fn find_by_token_hash(db: &Db, token_hash: &str) -> Result<Option<InvitationRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(p)
    .await)?,
    )
}

/// Every invitation of `npn`, newest first.
#[tracing::instrument(skip_all)]
pub async fn for_npn(db: &Db, npn: &str) -> Result<Vec<InvitationRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE npn = $1 ORDER BY id DESC"
    )))
    .bind(npn)
    .fetch_all(p)
    .await)?,
    )
}

/// NPNs that already had their automatic invitation for `plan_year`.
#[tracing::instrument(skip_all)]
pub async fn invited_npns(db: &Db, plan_year: i16) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<String> = on_pool!(db, p => sqlx::query_scalar(
        "SELECT npn FROM invitations WHERE plan_year = $1 AND sent_by IS NULL"
    ).bind(i64::from(plan_year)).fetch_all(p).await)?;
    Ok(rows.into_iter().collect())
}

/// Uses an invitation: succeeds once, for an open link (not used, not replaced, not expired).
/// Two redemptions racing: one gets the row, the other `None`.
#[tracing::instrument(skip_all)]
pub async fn redeem(
    tx: &mut Tx,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<InvitationRow>> {
    query(format!(
        "UPDATE invitations SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         RETURNING {COLUMNS}"
    ))
    .bind(token_hash)
    .bind(to_millis(now))
    .fetch_optional(tx)
    .await
}
