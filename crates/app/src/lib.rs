//! Use cases of Help On Demand. Each public method is one thing a person or a job does;
//! handlers and CLI commands call exactly one of them.
#![forbid(unsafe_code)]

use std::sync::Arc;

pub mod audit_log;
pub mod auth;
pub mod clock;
mod config;
pub mod console;
pub mod demo;
pub mod dispatch;
pub mod eligibility;
pub mod fields;
pub mod generate;
pub mod import;
pub mod invitations;
pub mod keys;
pub mod metrics;
pub mod operators;
mod outbox;
pub mod partners;
pub mod passkeys;
pub mod passwords;
pub mod profile;
pub mod program;
pub mod push;
pub mod referrals;
pub mod registration;
pub mod retention;
pub mod settings;
pub mod simulation;
pub mod sms;
pub mod system;
pub mod terms;
mod tokens;

pub use clock::{Clock, FakeClock, SystemClock};
use hod_db::Db;
pub use hod_db::agents::AgentRow;
use hod_domain::ZipDirectory;

/// Settings the use cases need (the rest of the configuration stays in the server).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of links in messages, e.g. `https://hod.example.org` (no trailing slash).
    pub public_url: String,
    /// Sender of every email, e.g. `noreply@example.org`.
    pub noreply_address: String,
    /// Whose calendar decides "today" for plan years and state changes.
    pub program_time_zone: jiff::tz::TimeZone,
    /// The hosts a Web Push subscription may point at (`push_endpoints`).
    pub push_endpoints: Vec<String>,
}

/// The application: storage, time and settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    /// Private: everything outside reads and writes through the use cases.
    db: Db,
    pub clock: Arc<dyn Clock>,
    pub zips: &'static ZipDirectory,
    pub settings: Arc<Settings>,
    /// Bumped on every change live pages show (offers, statuses); see [`App::changed`].
    pub changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// The key status links are signed with, shared by every node.
    status_key: Arc<[u8]>,
    /// Web Push, signed with the program's VAPID key (shared by every node).
    push: Arc<hod_notify::Push>,
    /// Work done after the answer has gone (see [`App::in_background`]).
    background: tokio_util::task::TaskTracker,
    /// The providers messages are handed to (see `dispatch`).
    transports: Arc<dispatch::Transports>,
    /// Counts messages queued, so a write that queued one wakes the dispatcher.
    queued: Arc<std::sync::atomic::AtomicU64>,
    outbox_wake: Arc<tokio::sync::Notify>,
    /// Each state's candidate facts, kept between routing rounds.
    routing_facts: Arc<referrals::RoutingFacts>,
    /// The program's configuration, kept while its version stands.
    config: Arc<config::ConfigCache>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input a person can fix; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// What was asked for does not exist (or is not the asker's to see); names what.
    #[error("no such {0}")]
    NotFound(String),
    /// A rule of the program refuses this; `id` names the rule (pages say it in the reader's
    /// language as `refused-<id>`), the message says it in English for the command line.
    #[error("{message}")]
    Refused { id: &'static str, message: String },
    /// The operator's role does not allow this.
    #[error("not allowed for this role")]
    Forbidden,
    #[error(transparent)]
    Db(#[from] hod_db::DbError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// See [`hod_db::DbError::is_unavailable`].
    pub fn is_unavailable(&self) -> bool {
        match self {
            AppError::Db(e) => e.is_unavailable(),
            AppError::Other(e) => storage_unavailable(e),
            _ => false,
        }
    }
}

/// Whether `error` comes down to the storage being away just now (see
/// [`hod_db::DbError::is_unavailable`]): what the web layer answers with 503.
pub fn storage_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|c| {
        c.downcast_ref::<hod_db::DbError>()
            .is_some_and(hod_db::DbError::is_unavailable)
            || c.downcast_ref::<AppError>()
                .is_some_and(AppError::is_unavailable)
    })
}

impl App {
    /// The storage, for the wiring in `hod-server` and for tests that check what was stored.
    /// Handlers never need it (and `hod-web` cannot name its type: it has no `hod-db` dependency).
    pub fn storage(&self) -> &Db {
        &self.db
    }

    /// The application on a migrated database. Reads (or, on the first start, makes) the
    /// secrets every node shares, so that no use case reads them inside a write.
    pub async fn new(db: Db, clock: Arc<dyn Clock>, settings: Settings) -> Result<Self> {
        let status_key = referrals::load_status_key(&db, clock.now()).await?;
        let push = push::transport(&db, clock.now(), &settings).await?;
        Ok(Self {
            db,
            clock,
            zips: ZipDirectory::bundled(),
            settings: Arc::new(settings),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
            status_key: status_key.into(),
            push: Arc::new(push),
            background: tokio_util::task::TaskTracker::new(),
            transports: Arc::default(),
            queued: Arc::default(),
            routing_facts: Arc::default(),
            config: Arc::default(),
            outbox_wake: Arc::default(),
        })
    }

    /// Runs `work` without making the caller wait: for answers that must not reveal, by how
    /// long they take, what the work found (whether an account exists). Failures are logged.
    pub fn in_background(
        &self,
        what: &'static str,
        work: impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) {
        self.background.spawn(async move {
            if let Err(e) = work.await {
                tracing::error!(error = format!("{e:#}"), "{what} failed");
            }
        });
    }

    /// Waits until the work started with [`App::in_background`] is done (before shutting
    /// down, and in tests before looking at its effects).
    pub async fn settle(&self) {
        self.background.close();
        self.background.wait().await;
        self.background.reopen();
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}
