//! The data keys of personal data at rest (see [`crate::vault`]): loading them, adding one,
//! re-encrypting every sealed value under the current key, and dropping keys nothing uses.
use std::sync::Arc;

use crate::query::query;
use crate::vault::{
    Column, MasterKey, SEALED_PREFIX, SEALED_TABLES, StoredKey, lookups, new_wrapped_key,
};
use crate::{Db, Result, on_pool, to_millis};

async fn stored(db: &Db) -> Result<Vec<StoredKey>> {
    let rows: Vec<(i64, String, i64)> = on_pool!(db, p => sqlx::query_as(
        "SELECT id, wrapped, active_from FROM data_keys ORDER BY id"
    )
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, wrapped, active_from)| StoredKey {
            id,
            wrapped,
            active_from,
        })
        .collect())
}

/// Loads the database's data keys with `master`. A database without any gets its first, active
/// at once (`true`: values stored before there were keys should then be sealed, see
/// [`reseal_batch`]). Fails, saying so, when `master` is not the key that wrapped them.
#[tracing::instrument(skip_all)]
pub async fn unlock(db: &Db, master: MasterKey, now: jiff::Timestamp) -> Result<bool> {
    let master = Arc::new(master);
    let made = if stored(db).await?.is_empty() {
        let wrapped = new_wrapped_key(&master, 1);
        db.write(async |tx| {
            // Nodes starting together: one key is made, the others load it.
            query(
                "INSERT INTO data_keys (id, wrapped, created_at, active_from) VALUES (1, $1, $2, 0)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(wrapped)
            .bind(to_millis(now))
            .execute(tx)
            .await
        })
        .await?
            == 1
    } else {
        false
    };
    db.vault()
        .load(master, &stored(db).await?, to_millis(now))?;
    Ok(made)
}

/// Loads the data keys again: keys another node (or `hod keys rotate`) added, and which is
/// current at `now`.
#[tracing::instrument(skip_all)]
pub async fn refresh(db: &Db, now: jiff::Timestamp) -> Result<()> {
    let master = db.vault().master()?;
    db.vault().load(master, &stored(db).await?, to_millis(now))
}

/// Adds a data key that new values are sealed with from `active_from` on; its id.
#[tracing::instrument(skip_all)]
pub async fn add(db: &Db, now: jiff::Timestamp, active_from: jiff::Timestamp) -> Result<i64> {
    let master = db.vault().master()?;
    db.write(async |tx| {
        let id: i64 = query("SELECT COALESCE(MAX(id), 0) + 1 FROM data_keys")
            .scalar(tx)
            .await?;
        query(
            "INSERT INTO data_keys (id, wrapped, created_at, active_from) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(new_wrapped_key(&master, id))
        .bind(to_millis(now))
        .bind(to_millis(active_from))
        .execute(tx)
        .await?;
        Ok(id)
    })
    .await
}

/// Every sealed column, in the order [`reseal_batch`] goes through them.
fn sealed_columns() -> impl Iterator<Item = (&'static crate::vault::SealedTable, Column)> {
    SEALED_TABLES.iter().flat_map(|t| {
        t.columns.iter().map(move |name| {
            (
                t,
                Column {
                    table: t.table,
                    name,
                },
            )
        })
    })
}

/// Where re-encryption has got to: a sealed column, and the last row key done in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealCursor {
    column: usize,
    after: i64,
}

impl ResealCursor {
    pub fn done(&self) -> bool {
        self.column >= sealed_columns().count()
    }
}

/// Re-encrypts up to `limit` rows of one column under the current key (values stored before
/// there were keys included), from `cursor` on, in one write transaction, and moves `cursor`
/// on; how many values it changed. A value changed meanwhile by someone else is left to them.
#[tracing::instrument(skip_all)]
pub async fn reseal_batch(db: &Db, cursor: &mut ResealCursor, limit: i64) -> Result<u64> {
    let Some((table, column)) = sealed_columns().nth(cursor.column) else {
        return Ok(0);
    };
    let vault = db.vault().clone();
    let current = format!("{SEALED_PREFIX}{}:", vault.current_key()?);
    let (key, name) = (table.key, column.name);
    let lookup = table.lookup.filter(|(of, _)| *of == name).map(|(_, to)| to);
    let (changed, last, full) = db
        .write(async |tx| {
            let rows: Vec<(i64, Option<String>)> = query(format!(
                "SELECT {key}, {name} FROM {t} WHERE {key} > $1 ORDER BY {key} LIMIT $2",
                t = table.table
            ))
            .bind(cursor.after)
            .bind(limit)
            .fetch_all(tx)
            .await?;
            let mut changed = 0;
            for (id, stored) in &rows {
                let Some(stored) = stored
                    .as_deref()
                    .filter(|s| !s.is_empty() && !s.starts_with(&current))
                else {
                    continue;
                };
                let plain = vault.open(column, stored)?;
                let mut update = query(format!(
                    "UPDATE {t} SET {name} = $3{set_lookup} WHERE {key} = $1 AND {name} = $2",
                    t = table.table,
                    set_lookup = lookup.map_or(String::new(), |l| format!(", {l} = $4")),
                ))
                .bind(*id)
                .bind(stored)
                .bind(vault.seal(column, &plain)?);
                if lookup.is_some() {
                    update = update.bind(vault.lookup(lookups::RECIPIENT, &plain)?);
                }
                changed += update.execute(tx).await?;
            }
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
            Ok::<_, crate::DbError>((changed, rows.last().map(|r| r.0), full))
        })
        .await?;
    match (full, last) {
        (true, Some(last)) => cursor.after = last,
        _ => {
            cursor.column += 1;
            cursor.after = 0;
        }
    }
    Ok(changed)
}

/// Numbers on the STOP list stored before it kept keyed hashes: replaced by their hash.
#[tracing::instrument(skip_all)]
pub async fn hash_stored_opt_outs(db: &Db) -> Result<u64> {
    let vault = db.vault().clone();
    db.write(async |tx| {
        let phones: Vec<String> =
            query("SELECT phone_key FROM sms_opt_outs WHERE phone_key LIKE '+%'")
                .scalars(tx)
                .await?;
        let mut changed = 0;
        for phone in phones {
            changed += query("UPDATE sms_opt_outs SET phone_key = $2 WHERE phone_key = $1")
                .bind(&phone)
                .bind(vault.lookup(lookups::PHONE, &phone)?)
                .execute(tx)
                .await?;
        }
        Ok(changed)
    })
    .await
}

/// How many stored values are not sealed with the current key.
#[tracing::instrument(skip_all)]
pub async fn not_current(db: &Db) -> Result<i64> {
    let current = format!("{SEALED_PREFIX}{}:%", db.vault().current_key()?);
    let mut count = 0;
    for (table, column) in sealed_columns() {
        let sql = format!(
            "SELECT COUNT(*) FROM {t} WHERE {c} <> '' AND {c} NOT LIKE $1",
            t = table.table,
            c = column.name
        );
        let n: i64 = on_pool!(db, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&current)
            .fetch_one(p)
            .await)?;
        count += n;
    }
    Ok(count)
}

/// Drops the keys older than the current one that no stored value uses any more; their ids.
#[tracing::instrument(skip_all)]
pub async fn drop_unused(db: &Db) -> Result<Vec<i64>> {
    let current = db.vault().current_key()?;
    let mut dropped = Vec::new();
    for key in stored(db).await?.into_iter().filter(|k| k.id < current) {
        let prefix = format!("{SEALED_PREFIX}{}:%", key.id);
        let mut used = false;
        for (table, column) in sealed_columns() {
            let sql = format!(
                "SELECT 1 FROM {t} WHERE {c} LIKE $1 LIMIT 1",
                t = table.table,
                c = column.name
            );
            let found: Option<i32> = on_pool!(db, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&prefix)
                .fetch_optional(p)
                .await)?;
            if found.is_some() {
                used = true;
                break;
            }
        }
        if !used {
            db.write(async |tx| {
                query("DELETE FROM data_keys WHERE id = $1")
                    .bind(key.id)
                    .execute(tx)
                    .await
            })
            .await?;
            dropped.push(key.id);
        }
    }
    Ok(dropped)
}

/// Re-encrypts every stored value under the current key (see [`reseal_batch`]), numbers on
/// the STOP list included; how many values it changed.
#[tracing::instrument(skip_all)]
pub async fn reseal_all(db: &Db) -> Result<u64> {
    const BATCH: i64 = 500;
    let mut changed = hash_stored_opt_outs(db).await?;
    let mut cursor = ResealCursor::default();
    while !cursor.done() {
        changed += reseal_batch(db, &mut cursor, BATCH).await?;
    }
    Ok(changed)
}
