//! The append-only audit log of security and personal-data events. The tables refuse UPDATE
//! and DELETE (triggers), so an entry, once committed, stays; and each entry carries a hash
//! chained to the one before, so that a row changed behind the triggers' back (by someone
//! with the database's own rights) is found by [`verify`].
use hod_domain::actor::Actor;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::query::query;
use crate::sql::{batch_rows, insert_values_sql};
use crate::time::{from_row, instant};
use crate::{Db, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: Actor,
    /// What happened, as a dotted name: `operator.created`, `agent.login_failed`.
    pub action: &'a str,
    /// What it happened to, e.g. `npn:1234567`.
    pub subject: &'a str,
    pub ip: Option<&'a str>,
    /// Extra facts as a JSON object.
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub actor: Actor,
    pub action: String,
    pub subject: String,
    pub ip: Option<String>,
    pub detail: String,
    pub hash: Option<String>,
}

from_row!(EntryRow, |r| Ok(EntryRow {
    id: r.try_get("id")?,
    at: instant(r, "at")?,
    actor: crate::time::parsed_str(r, "actor")?,
    action: r.try_get("action")?,
    subject: r.try_get("subject")?,
    ip: r.try_get("ip")?,
    detail: r.try_get("detail")?,
    hash: r.try_get("hash")?,
}));

const COLUMNS: &str = "id, at, actor, action, subject, ip, detail, hash";

/// The hash of one entry: SHA-256 over the previous hash and each field, every part preceded
/// by its length so that no two different entries read the same.
fn chain_hash(
    prev: &str,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    ip: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.to_string();
    for part in [
        prev,
        &at,
        actor,
        action,
        subject,
        ip.unwrap_or("\u{0}"),
        detail,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[tracing::instrument(skip_all, fields(action = entry.action))]
pub async fn append(tx: &mut Tx, entry: &Entry<'_>, now: jiff::Timestamp) -> Result<i64> {
    let prev = last_link(tx).await?;
    let row = Link::after(&prev, entry, now);
    query(
        "INSERT INTO audit_log (at, actor, action, subject, ip, detail, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(row.at)
    .bind(&row.actor)
    .bind(entry.action)
    .bind(entry.subject)
    .bind(entry.ip)
    .bind(&row.detail)
    .bind(&row.hash)
    .scalar(tx)
    .await
}

/// Appends `entries` in order, as [`append`] would one by one, in a few statements.
#[tracing::instrument(skip_all, fields(entries = entries.len()))]
pub async fn append_all(tx: &mut Tx, entries: &[Entry<'_>], now: jiff::Timestamp) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut prev = last_link(tx).await?;
    for chunk in entries.chunks(batch_rows(tx.backend(), 7)) {
        let sql = insert_values_sql(
            "INSERT INTO audit_log (at, actor, action, subject, ip, detail, hash) VALUES ",
            7,
            chunk.len(),
        );
        let rows: Vec<Link> = chunk
            .iter()
            .map(|e| {
                let row = Link::after(&prev, e, now);
                prev.clone_from(&row.hash);
                row
            })
            .collect();
        {
            let mut q = query(sql);
            for (e, row) in chunk.iter().zip(&rows) {
                q = q
                    .bind(row.at)
                    .bind(&row.actor)
                    .bind(e.action)
                    .bind(e.subject)
                    .bind(e.ip)
                    .bind(&row.detail)
                    .bind(&row.hash);
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// The hash of the newest entry ("" for none), holding on PostgreSQL the lock that keeps
/// two transactions from both extending it (SQLite has one writer anyway); the lock ends
/// with the transaction.
async fn last_link(tx: &mut Tx) -> Result<String> {
    if let Some(t) = tx.postgres() {
        sqlx::query("SELECT pg_advisory_xact_lock(7140001)")
            .execute(t)
            .await?;
    }
    let prev: Option<Option<String>> = query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .scalar_optional(tx)
        .await?;
    Ok(prev.flatten().unwrap_or_default())
}

/// An entry's columns worked out for the chain.
struct Link {
    at: i64,
    actor: String,
    detail: String,
    hash: String,
}

impl Link {
    fn after(prev: &str, entry: &Entry<'_>, now: jiff::Timestamp) -> Self {
        let (at, actor, detail) = (
            to_millis(now),
            entry.actor.to_string(),
            entry.detail.to_string(),
        );
        let hash = chain_hash(
            prev,
            at,
            &actor,
            entry.action,
            entry.subject,
            entry.ip,
            &detail,
        );
        Self {
            at,
            actor,
            detail,
            hash,
        }
    }
}

/// The newest entries first.
#[tracing::instrument(skip_all)]
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<EntryRow>> {
    search(db, &Filter::default(), limit).await
}

/// What an operator looks for in the log; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `operator:3`, `agent:12`, `system`… exactly.
    pub actor: Option<String>,
    /// An action, or the start of one (`agent.` finds every agent event).
    pub action: Option<String>,
    /// `agent:12`, `referral:40`, `npn:1234567`… exactly.
    pub subject: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    /// Only entries older than this id (the next page).
    pub before_id: Option<i64>,
}

/// The entries matching `f`, newest first.
#[tracing::instrument(skip_all)]
pub async fn search(db: &Db, f: &Filter, limit: i64) -> Result<Vec<EntryRow>> {
    Ok(
        on_pool!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2 OR action LIKE $3)
           AND ($4 IS NULL OR subject = $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6)
           AND ($7 IS NULL OR id < $7)
         ORDER BY id DESC LIMIT $8"
    )))
    .bind(f.actor.as_deref())
    .bind(f.action.as_deref())
    .bind(f.action.as_deref().filter(|a| a.ends_with('.')).map(|a| format!("{}%", a.replace(['%', '_'], ""))))
    .bind(f.subject.as_deref())
    .bind(f.from.map(to_millis))
    .bind(f.until.map(to_millis))
    .bind(f.before_id)
    .bind(limit)
    .fetch_all(p)
    .await)?,
    )
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Entries whose hash was checked.
    pub checked: u64,
    /// Entries from before the chain began (written before hashes were kept).
    pub unchained: u64,
    /// The first entry whose stored hash does not match its fields and the entry before it:
    /// it, or the entry before it, was changed, removed or inserted.
    pub first_broken: Option<i64>,
    /// The last entry checked and its hash: kept somewhere else, it shows later that the
    /// chain was not rewritten as a whole.
    pub last: Option<(i64, String)>,
}

/// An entry as stored, for recomputing its hash.
struct ChainRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    subject: String,
    ip: Option<String>,
    detail: String,
    hash: Option<String>,
}

from_row!(ChainRow {
    id,
    at,
    actor,
    action,
    subject,
    ip,
    detail,
    hash
});

/// Walks the whole log in order and recomputes every hash.
#[tracing::instrument(skip_all)]
pub async fn verify(db: &Db) -> Result<Verified> {
    const PAGE: i64 = 5_000;
    let mut out = Verified {
        checked: 0,
        unchained: 0,
        first_broken: None,
        last: None,
    };
    let (mut after, mut prev, mut chained) = (0_i64, String::new(), false);
    loop {
        let rows: Vec<ChainRow> = on_pool!(db, p => sqlx::query_as(
            "SELECT id, at, actor, action, subject, ip, detail, hash FROM audit_log
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(p)
        .await)?;
        let Some(last) = rows.last() else {
            return Ok(out);
        };
        after = last.id;
        for ChainRow {
            id,
            at,
            actor,
            action,
            subject,
            ip,
            detail,
            hash,
        } in rows
        {
            let Some(stored) = hash else {
                if chained {
                    out.first_broken = Some(id);
                    return Ok(out);
                }
                out.unchained += 1;
                continue;
            };
            chained = true;
            let expected = chain_hash(&prev, at, &actor, &action, &subject, ip.as_deref(), &detail);
            if expected != stored {
                out.first_broken = Some(id);
                return Ok(out);
            }
            out.checked += 1;
            out.last = Some((id, stored.clone()));
            prev = stored;
        }
    }
}
