//! SQLite's one writer connection, driven in the calling task.
//!
//! SQLite writes one transaction at a time, and each statement takes microseconds. Handing
//! every statement to a driver thread and waiting to be woken again (what a pooled async
//! connection does) costs more than the statement, and the writer lock is held through all
//! those wake-ups. Here the transaction's statements run in the task that holds the writer,
//! without leaving it; a long transaction (an import) still lets the task's worker thread
//! serve other tasks now and then (`consume_budget`).
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::query::Arg;
use crate::Result;

/// Prepared statements kept by the writer: every statement the program writes with, once.
const STATEMENTS_KEPT: usize = 512;

/// The writer connection, one task at a time (in the order they asked).
#[derive(Clone)]
pub(crate) struct Writer(Arc<Mutex<Connection>>);

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Opens the writer on the database file `path` (already created by the readers' pool).
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             -- 16 MB, so a large import does not spill the same dirty pages to the WAL over
             -- and over (1,000,000-row RCL: 20 s with 2 MB, 11.4 s with 16 MB).
             PRAGMA cache_size = -16384;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// Waits for the writer, then starts a transaction holding SQLite's write lock up front
    /// (`BEGIN IMMEDIATE`), so that read-then-write transactions never fail to upgrade.
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let conn = self.0.clone().lock_owned().await;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(SqliteTx { conn, open: true })
    }
}

/// A write transaction on the writer connection. Dropped unfinished, it rolls back.
pub struct SqliteTx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx").field("open", &self.open).finish()
    }
}

impl SqliteTx {
    /// Runs one statement, handing each row it returns to `row`; how many rows it changed.
    pub(crate) async fn run(
        &mut self,
        sql: &str,
        args: &[Arg],
        mut row: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
    ) -> Result<u64> {
        // Short transactions never yield here; long ones let other tasks run now and then.
        tokio::task::consume_budget().await;
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind(&mut stmt, args)?;
        let readonly = stmt.readonly();
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            row(r)?;
        }
        drop(rows);
        Ok(if readonly { 0 } else { self.conn.changes() })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    pub(crate) fn rollback(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open
            && !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back an abandoned write transaction");
        }
    }
}

/// Binds `$n` placeholders to the `n`th argument (a placeholder may appear more than once).
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> Result<()> {
    for index in 1..=stmt.parameter_count() {
        let arg = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| args.get(n.checked_sub(1)?))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        match arg {
            Arg::I64(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::I32(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::I16(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::F64(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Blob(v) => stmt.raw_bind_parameter(index, v)?,
        }
    }
    Ok(())
}
