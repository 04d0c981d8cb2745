//! SQLite's one writer connection, driven in the calling task, with group commit.
//!
//! SQLite writes one transaction at a time, and each statement takes microseconds. Handing
//! every statement to a driver thread and waiting to be woken again (what a pooled async
//! connection does) costs more than the statement, and the writer lock is held through all
//! those wake-ups. Here a write's statements run in the task that holds the writer, without
//! leaving it; a long transaction (an import) still lets the task's worker thread serve
//! other tasks now and then (`consume_budget`).
//!
//! Writes that queue for the writer share one transaction (group commit): each runs inside
//! its own savepoint, so a failing write undoes only its own changes; the last one in the
//! queue commits for all of them, and none is answered before that commit.
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::query::Arg;
use crate::{Conn, DbError, Result, Tx};

/// Prepared statements kept by the writer: every statement the program writes with, once.
const STATEMENTS_KEPT: usize = 512;
/// The most writes one transaction gathers, so that the first of them is not kept waiting.
const WRITES_PER_COMMIT: usize = 64;
/// How long a write whose changes wait in an open transaction waits for the writers queued
/// behind it to commit it, before it does so itself (they may have given up waiting).
const ORPHANED_AFTER: Duration = Duration::from_millis(20);

/// How often the WAL's committed pages are copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the WAL's committed pages into the database file every `CHECKPOINT_EVERY`, on a
/// thread and a connection of its own, for as long as the writer lives. The writer still
/// checkpoints in the commit that crosses 4,000 pages — only a checkpoint made while nothing
/// is being written lets the WAL start over (the background one alone let it reach 680 MB in
/// 20 s of intake) — but finds the pages already copied, so that commit is not held up by
/// the copying and its `fsync` (3% of the writer's time at 1,000 pages; a 40 ms stall at
/// 10,000). A passive checkpoint waits for no one.
fn checkpoints(path: &Path, writer: std::sync::Weak<Mutex<State>>) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    std::thread::Builder::new()
        .name("hod-sqlite-checkpoints".into())
        .spawn(move || {
            while writer.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpointing the SQLite WAL");
                }
            }
        })
        .map_err(|e| DbError::BadUrl {
            url: path.display().to_string(),
            reason: format!("cannot start the checkpoint thread: {e}"),
        })?;
    Ok(())
}

/// The writer connection, one task at a time (in the order they asked).
#[derive(Clone)]
pub(crate) struct Writer {
    state: Arc<Mutex<State>>,
    /// Writes waiting for the writer now: while there are some, a write leaves its
    /// transaction open for them to join.
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

struct State {
    conn: Connection,
    /// The transaction writes share, while one is open between them.
    shared: Option<Shared>,
    /// Numbers the shared transactions.
    last_id: u64,
}

/// An open transaction that several writes have added their changes to.
struct Shared {
    id: u64,
    writes: usize,
    /// Its outcome, for the writes waiting on it: `Some(Ok)` committed, `Some(Err)` lost.
    outcome: watch::Sender<Option<Result<(), String>>>,
}

/// Counts a write as queued for the writer until it has its turn (or gives up waiting).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
             PRAGMA cache_size = -16384;
             -- See `checkpoints`.
             PRAGMA wal_autocheckpoint = 4000;
             PRAGMA journal_size_limit = 67108864;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        let state = Arc::new(Mutex::new(State {
            conn,
            shared: None,
            last_id: 0,
        }));
        checkpoints(path, Arc::downgrade(&state))?;
        Ok(Self {
            state,
            queued: Arc::default(),
        })
    }

    async fn turn(&self) -> OwnedMutexGuard<State> {
        let _queued = Queued::new(&self.queued);
        self.state.clone().lock_owned().await
    }

    /// A transaction of its own, committed or rolled back by the caller. SQLite's write lock
    /// is taken up front (`BEGIN IMMEDIATE`), so read-then-write transactions never fail to
    /// upgrade.
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let mut state = self.turn().await;
        state.end_shared();
        state.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(SqliteTx {
            state,
            kind: Kind::Own,
            open: true,
        })
    }

    /// Runs `work` in the shared transaction (see the module's note); `Ok` only once its
    /// changes are committed, `Err` with them undone.
    pub(crate) async fn write<T, E>(
        &self,
        vault: &crate::vault::Vault,
        work: impl AsyncFnOnce(&mut Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<DbError>,
    {
        let asked = std::time::Instant::now();
        let mut state = self.turn().await;
        metrics::histogram!(crate::WAIT_METRIC).record(asked.elapsed().as_secs_f64());
        let began = std::time::Instant::now();
        let shared = state.join_shared()?;
        if let Err(e) = state.conn.execute_batch("SAVEPOINT write") {
            state.end_shared();
            return Err(DbError::from(e).into());
        }
        let mut tx = Tx {
            conn: Conn::Sqlite(SqliteTx {
                state,
                kind: Kind::Write,
                open: true,
            }),
            vault: vault.clone(),
        };
        let done = work(&mut tx).await;
        let Conn::Sqlite(mut tx) = tx.conn else {
            unreachable!("a SQLite write runs on the writer")
        };
        tx.open = false;
        let ended = tx.state.end_write(done.is_ok());
        metrics::histogram!(crate::HELD_METRIC).record(began.elapsed().as_secs_f64());
        // Whoever ends the shared transaction tells its outcome.
        let outcome = tx
            .state
            .shared
            .as_mut()
            .filter(|s| s.id == shared)
            .map(|open| {
                open.writes += 1;
                open.outcome.subscribe()
            });
        if self.queued.load(Ordering::SeqCst) == 0
            || outcome.is_none()
            || tx
                .state
                .shared
                .as_ref()
                .is_some_and(|s| s.writes >= WRITES_PER_COMMIT)
        {
            tx.state.end_shared();
        }
        drop(tx);
        let value = done?;
        ended?;
        let Some(mut outcome) = outcome else {
            // SQLite ended the transaction itself (a failed statement can do that).
            return Err(DbError::Lost("the transaction ended before its commit".into()).into());
        };
        // Does nothing once the transaction has ended, which it has when this function ends
        // other than by being cancelled.
        let _waiting = Waiting {
            writer: self,
            shared,
        };
        if tokio::time::timeout(ORPHANED_AFTER, outcome.wait_for(Option::is_some))
            .await
            .is_err()
        {
            // The writes queued behind gave up before their turn: end it here.
            let mut state = self.turn().await;
            if state.shared.as_ref().is_some_and(|s| s.id == shared) {
                state.end_shared();
            }
        }
        let told = outcome.borrow().clone();
        match told {
            Some(Ok(())) => Ok(value),
            Some(Err(e)) => Err(DbError::Lost(e).into()),
            None => Err(DbError::Lost("the transaction ended without an outcome".into()).into()),
        }
    }
}

/// A write waiting for the commit of the transaction it shared. If its task is cancelled
/// while the writer is free and that transaction still open (every write queued behind it
/// gave up too), it commits it, so that no transaction is left holding the database.
struct Waiting<'a> {
    writer: &'a Writer,
    shared: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.writer.state.try_lock()
            && state.shared.as_ref().is_some_and(|s| s.id == self.shared)
        {
            state.end_shared();
        }
    }
}

impl State {
    /// The shared transaction, begun if none is open; its id.
    fn join_shared(&mut self) -> Result<u64> {
        if let Some(open) = &self.shared {
            return Ok(open.id);
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.last_id += 1;
        self.shared = Some(Shared {
            id: self.last_id,
            writes: 0,
            outcome: watch::Sender::new(None),
        });
        Ok(self.last_id)
    }

    /// Ends a write's savepoint: kept (`ok`) or undone. If SQLite has meanwhile ended the
    /// whole transaction, the shared transaction is lost for every write in it.
    fn end_write(&mut self, ok: bool) -> Result<()> {
        let ended = if self.conn.is_autocommit() {
            Ok(())
        } else if ok {
            self.conn.execute_batch("RELEASE write")
        } else {
            self.conn.execute_batch("ROLLBACK TO write; RELEASE write")
        };
        if self.conn.is_autocommit()
            && let Some(lost) = self.shared.take()
        {
            lost.outcome
                .send_replace(Some(Err("the transaction was rolled back".into())));
        }
        Ok(ended?)
    }

    /// Commits the shared transaction, if one is open, and tells its writes.
    fn end_shared(&mut self) {
        let Some(open) = self.shared.take() else {
            return;
        };
        let outcome = match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                if !self.conn.is_autocommit()
                    && let Err(rollback) = self.conn.execute_batch("ROLLBACK")
                {
                    tracing::warn!(error = %rollback, "rolling back after a failed commit");
                }
                Err(e.to_string())
            }
        };
        open.outcome.send_replace(Some(outcome));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A transaction of its own ([`Writer::begin`]).
    Own,
    /// One write's savepoint in the shared transaction ([`Writer::write`]).
    Write,
}

/// A write transaction on the writer connection. Dropped unfinished, it undoes its changes.
pub struct SqliteTx {
    state: OwnedMutexGuard<State>,
    kind: Kind,
    open: bool,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("kind", &self.kind)
            .field("open", &self.open)
            .finish()
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
        let conn = &self.state.conn;
        let mut stmt = conn.prepare_cached(sql)?;
        bind(&mut stmt, args)?;
        let readonly = stmt.readonly();
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            row(r)?;
        }
        drop(rows);
        Ok(if readonly { 0 } else { conn.changes() })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        debug_assert_eq!(
            self.kind,
            Kind::Own,
            "a shared write is committed by its writer"
        );
        self.open = false;
        self.state.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    pub(crate) fn rollback(mut self) -> Result<()> {
        debug_assert_eq!(
            self.kind,
            Kind::Own,
            "a shared write is undone by its writer"
        );
        self.open = false;
        self.state.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // Abandoned (its task was cancelled): undo its changes, keep the others'.
        let undone = match self.kind {
            Kind::Own if !self.state.conn.is_autocommit() => self
                .state
                .conn
                .execute_batch("ROLLBACK")
                .map_err(DbError::from),
            Kind::Own => Ok(()),
            // The writes it shared the transaction with are committed now: the writes queued
            // behind may not come.
            Kind::Write => self
                .state
                .end_write(false)
                .map(|()| self.state.end_shared()),
        };
        if let Err(e) = undone {
            tracing::warn!(error = %e, "undoing an abandoned write");
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
            Arg::F64(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Blob(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::I64s(v) => {
                stmt.raw_bind_parameter(index, serde_json::to_string(v).expect("numbers"))?;
            }
        }
    }
    Ok(())
}
