//! Storage for Help On Demand on SQLite (one node, the default) or PostgreSQL (many nodes).
//!
//! One SQL dialect serves both: `$1` placeholders, epoch-millisecond integers for instants,
//! ISO text for calendar dates. The backend is chosen from the database URL. Each aggregate
//! has its own module; every statement is written once and run on either pool through
//! [`on_pool!`], or in a write transaction as a [`query::Query`].
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub mod accounts;
pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod availability;
pub mod ceiling;
pub mod cms;
pub mod console;
pub mod eligibility;
pub mod generated;
pub mod history;
pub mod imports;
pub mod invitations;
pub mod jobs;
pub mod keys;
pub mod licences;
pub mod operators;
pub mod outbox;
pub mod passkeys;
pub mod push;
mod query;
pub mod reference;
pub mod referrals;
pub mod retention;
pub mod scratch;
pub mod sessions;
pub mod settings;
pub mod signal;
pub mod sms;
mod sql;
mod sqlite_writer;
pub mod terms;
mod time;
pub mod vault;

pub use time::{from_millis, to_millis};

/// Runs `$body` with `$p` bound to the concrete pool. The body is compiled once per backend,
/// so query text and binds are shared while row types stay concrete.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match &$db.pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}

pub(crate) use on_pool;

#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction. Every write goes through one, so that a use case can put its change,
/// its outbox messages and its audit entries in one atomic unit. Dropping it rolls back.
#[derive(Debug)]
pub struct Tx {
    conn: Conn,
    /// The node's keys, to seal and open personal data written and read in the transaction.
    vault: vault::Vault,
}

#[derive(Debug)]
enum Conn {
    Sqlite(sqlite_writer::SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL connection, for statements only PostgreSQL has (locks).
    pub fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        match &mut self.conn {
            Conn::Sqlite(_) => None,
            Conn::Postgres(t) => Some(&mut **t),
        }
    }

    pub fn vault(&self) -> &vault::Vault {
        &self.vault
    }

    /// Ends the transaction without its changes, now (dropping it also rolls back, but only
    /// when the connection is next used, so its row locks would linger until then).
    pub async fn rollback(self) -> Result<()> {
        match self.conn {
            Conn::Sqlite(t) => t.rollback()?,
            Conn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        match self.conn {
            Conn::Sqlite(t) => t.commit()?,
            Conn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A table's columns and named indexes (see [`Db::schema_outline`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutline {
    pub columns: BTreeSet<String>,
    pub indexes: BTreeSet<String>,
}

/// The histogram of how long [`Db::begin`] waited (described in `hod_app::metrics`).
pub const WAIT_METRIC: &str = "hod_db_begin_wait_seconds";
/// The histogram of how long each [`Db::write`] held its transaction open.
pub const HELD_METRIC: &str = "hod_db_write_held_seconds";

/// The database handle the rest of the system holds. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite: the one connection writes go through, apart from the readers' pool.
    sqlite_writer: Option<sqlite_writer::Writer>,
    /// PostgreSQL: signals to the other nodes.
    signaller: Option<signal::Signaller>,
    /// The keys of personal data at rest (see [`keys::unlock`]).
    vault: vault::Vault,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A write whose changes were committed together with others' (SQLite) did not land,
    /// because their shared transaction failed.
    #[error("the write was not saved: {0}")]
    Lost(String),
    /// From SQLite's writer connection.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The keys of personal data at rest: not loaded, or not opening.
    #[error("{0}")]
    Keys(String),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl DbError {
    /// The storage cannot be reached or cannot take writes just now (the database restarting
    /// or down, its connections exhausted, the disk full): the request may be tried again
    /// later, unchanged.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect { .. } | DbError::Lost(_) => true,
            DbError::Sql(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(d) => d.code().is_some_and(|c| match c.parse::<u32>() {
                    // SQLite's (extended) result code: disk full, I/O error.
                    Ok(code) if c.len() != 5 => matches!(code & 0xff, 10 | 13),
                    // PostgreSQL's SQLSTATE: connection exceptions, shutting down or starting
                    // up, insufficient resources (disk full).
                    _ => c.starts_with("08") || c.starts_with("57P") || c.starts_with("53"),
                }),
                _ => false,
            },
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::CannotOpen
            ),
            _ => false,
        }
    }
}

/// A database URL. Its password never appears in `Debug`, `Display` or logs.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// `sqlite://` URL for a file path.
    pub fn sqlite_file(path: &Path) -> Self {
        Self::new(format!("sqlite://{}", path.display()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn backend(&self) -> Result<Backend> {
        let url = self.expose();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(DbError::BadUrl {
                url: self.to_string(),
                reason: "expected postgres://… or sqlite://…".into(),
            })
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self.expose()) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                f.write_str(u.as_str())
            }
            _ => f.write_str(self.expose()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    /// How long to wait for a connection, including the first one at start.
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Identifies the schema and bundled data a migrated database holds: test harnesses key
/// their migrated template databases on it.
pub fn schema_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in SQLITE_MIGRATOR.iter().chain(POSTGRES_MIGRATOR.iter()) {
        h.update(m.version.to_le_bytes());
        h.update(&*m.checksum);
    }
    h.update(hod_domain::geo::ZIP_DIRECTORY_CSV.as_bytes());
    for (_, en, es) in terms::SEED {
        h.update(en.as_bytes());
        h.update(es.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Db {
    /// Opens the database (creating a SQLite file if needed) and checks it answers.
    pub async fn connect(url: &DatabaseUrl, opts: &ConnectOptions) -> Result<Self> {
        let connect_err = |source| DbError::Connect {
            url: url.to_string(),
            source,
        };
        let (pool, sqlite_writer, signaller) = match url.backend()? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url.expose())
                    .map_err(|e| DbError::BadUrl {
                        url: url.to_string(),
                        reason: e.to_string(),
                    })?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    // SQLite's default 2 MB of pages per reading connection: reads are
                    // lookups of recent rows, and 16 connections' pages add up.
                    .pragma("cache_size", "-2048")
                    .foreign_keys(true);
                if let Some(dir) = Path::new(options.get_filename()).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| DbError::BadUrl {
                        url: url.to_string(),
                        reason: format!("cannot create directory {}: {e}", dir.display()),
                    })?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.connect_timeout)
                    .connect_with(options.clone())
                    .await
                    .map_err(connect_err)?;
                let file = options.get_filename();
                if file.as_os_str() == ":memory:" {
                    return Err(DbError::BadUrl {
                        url: url.to_string(),
                        reason: "an in-memory database cannot be shared by the writer and the readers; give a file".into(),
                    });
                }
                let writer =
                    sqlite_writer::Writer::open(file, Duration::from_secs(10)).map_err(|e| {
                        DbError::BadUrl {
                            url: url.to_string(),
                            reason: format!("cannot open it for writing: {e}"),
                        }
                    })?;
                (Pool::Sqlite(pool), Some(writer), None)
            }
            Backend::Postgres => {
                let options =
                    PgConnectOptions::from_str(url.expose()).map_err(|e| DbError::BadUrl {
                        url: url.to_string(),
                        reason: e.to_string(),
                    })?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.connect_timeout)
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                let signaller = signal::Signaller::start(pool.clone());
                (Pool::Postgres(pool), None, Some(signaller))
            }
        };
        Ok(Self {
            pool,
            sqlite_writer,
            signaller,
            vault: vault::Vault::default(),
        })
    }

    /// Starts a write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so that read-then-write transactions queue instead of failing with "database is locked".
    pub async fn begin(&self) -> Result<Tx> {
        let asked = std::time::Instant::now();
        let conn = match &self.pool {
            Pool::Sqlite(_) => Conn::Sqlite(
                self.sqlite_writer
                    .as_ref()
                    .expect("a SQLite database has its writer")
                    .begin()
                    .await?,
            ),
            Pool::Postgres(p) => Conn::Postgres(p.begin().await?),
        };
        let tx = Tx {
            conn,
            vault: self.vault.clone(),
        };
        metrics::histogram!(WAIT_METRIC).record(asked.elapsed().as_secs_f64());
        Ok(tx)
    }

    /// Runs `work` in a write transaction: committed when it returns `Ok`, rolled back at once
    /// (releasing its locks) when it returns `Err`. Every write goes through a transaction, so
    /// that on SQLite it takes its turn in the writer queue like every other writer.
    pub async fn write<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<DbError>,
    {
        if let Some(writer) = &self.sqlite_writer {
            return writer.write(&self.vault, work).await;
        }
        let mut tx = self.begin().await?;
        let began = std::time::Instant::now();
        let done = match work(&mut tx).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(E::from),
            Err(e) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back after a failed write");
                }
                Err(e)
            }
        };
        metrics::histogram!(HELD_METRIC).record(began.elapsed().as_secs_f64());
        done
    }

    /// The connection pool now: (connections in use, idle connections, the most it opens).
    pub fn pool_stats(&self) -> (u32, u32, u32) {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        (size.saturating_sub(idle), idle, max)
    }

    /// The node's keys of personal data at rest.
    pub fn vault(&self) -> &vault::Vault {
        &self.vault
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations, then loads or refreshes the bundled reference data.
    /// Safe to run from several nodes at once.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self, now: jiff::Timestamp) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        reference::seed(self, now).await
    }

    /// Readiness: the database answers a trivial query.
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(drop))?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `to` (a backup, or a test template).
    pub async fn snapshot_sqlite(&self, to: &Path) -> Result<()> {
        let Pool::Sqlite(p) = &self.pool else {
            return Err(DbError::BadUrl {
                url: "postgres".into(),
                reason: "snapshots are for SQLite only".into(),
            });
        };
        sqlx::query("VACUUM INTO $1")
            .bind(to.display().to_string())
            .execute(p)
            .await?;
        Ok(())
    }

    /// The schema as the database reports it: each table (the migrations' bookkeeping aside)
    /// with its columns and the indexes created by name (not those behind a key or UNIQUE
    /// constraint). Both backends must report the same (tested), so that the two migration
    /// folders cannot drift apart.
    pub async fn schema_outline(&self) -> Result<BTreeMap<String, TableOutline>> {
        let mut out = BTreeMap::new();
        let tables: Vec<String> = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
                )
                .fetch_all(p)
                .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                     AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(p)
                .await?
            }
        };
        for table in tables {
            let (columns, indexes): (Vec<String>, Vec<String>) = match &self.pool {
                Pool::Sqlite(p) => (
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(&table)
                        .fetch_all(p)
                        .await?,
                    sqlx::query_scalar(
                        "SELECT name FROM sqlite_master
                         WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
                    )
                    .bind(&table)
                    .fetch_all(p)
                    .await?,
                ),
                Pool::Postgres(p) => (
                    sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns
                         WHERE table_schema = 'public' AND table_name = $1",
                    )
                    .bind(&table)
                    .fetch_all(p)
                    .await?,
                    sqlx::query_scalar(
                        "SELECT i.indexname::text FROM pg_indexes i
                         WHERE i.schemaname = 'public' AND i.tablename = $1
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                    )
                    .bind(&table)
                    .fetch_all(p)
                    .await?,
                ),
            };
            out.insert(
                table,
                TableOutline {
                    columns: columns.into_iter().collect(),
                    indexes: indexes.into_iter().collect(),
                },
            );
        }
        Ok(out)
    }

    /// Runs one statement as given. Tests use it to prove what the schema refuses; the
    /// application never builds SQL from input.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }

    /// Runs a `SELECT COUNT(*) …` written by a test.
    #[doc(hidden)]
    pub async fn count_for_tests(&self, sql: &str) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await)?,
        )
    }

    /// Runs a query written by a test that returns one text value (or no row).
    #[doc(hidden)]
    pub async fn text_for_tests(&self, sql: &str) -> Result<Option<String>> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_optional(p).await)?,
        )
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

/// Turns a unique-constraint violation into [`DbError::Conflict`] naming `what`.
pub(crate) fn conflict_as(what: impl Into<String>) -> impl FnOnce(DbError) -> DbError {
    move |e| {
        let unique = match &e {
            DbError::Sql(sqlx::Error::Database(d)) => d.is_unique_violation(),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        };
        if unique {
            DbError::Conflict(what.into())
        } else {
            e
        }
    }
}
