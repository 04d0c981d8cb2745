//! The `hod` binary's wiring: configuration, logging, database, application, HTTP server.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hod_app::{App, Settings, SystemClock};
use hod_db::{ConnectOptions, DatabaseUrl, Db};
use tokio::net::TcpListener;

use config::{Config, LogFormat};

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Opens and migrates the database.
pub async fn open_database(config: &Config, url: &DatabaseUrl) -> anyhow::Result<Db> {
    let opts = ConnectOptions {
        max_connections: config.db_max_connections,
        connect_timeout: Duration::from_secs(config.db_connect_timeout_secs),
    };
    let db = Db::connect(url, &opts).await?;
    db.migrate(jiff::Timestamp::now()).await?;
    if hod_db::keys::unlock(&db, config.master_key()?, jiff::Timestamp::now()).await? {
        // The first key of a database made before personal data was sealed: seal it now.
        let sealed = hod_db::keys::reseal_all(&db).await?;
        if sealed > 0 {
            tracing::info!(
                values = sealed,
                "sealed the personal data stored before keys existed"
            );
        }
    }
    tracing::info!(database = %url, backend = %db.backend(), "database ready");
    Ok(db)
}

pub fn settings(config: &Config, listening_on: std::net::SocketAddr) -> Settings {
    Settings {
        public_url: config.public_url(listening_on),
        noreply_address: config.noreply_address.clone(),
        program_time_zone: jiff::tz::TimeZone::get(&config.program_time_zone)
            .expect("validated at load"),
        push_endpoints: config.push_endpoints(),
    }
}

/// Binds the listening socket, naming the address on failure.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// How often a node looks for due scheduled jobs.
const JOB_CHECK_EVERY: Duration = Duration::from_secs(60);

/// How often a node sweeps referrals (lapsed offers, cascade steps, reminders). Offers last
/// minutes; a second's delay is not felt.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How often a node looks for messages it was not woken for: retries that came due, and
/// messages other nodes queued.
const DISPATCH_EVERY: Duration = Duration::from_secs(1);

/// Background work every node runs: the dispatcher and the referral sweeper (every node:
/// claims are per message and per referral), and the daily eligibility evaluation (one
/// node a day takes it, through a lease in the database).
fn spawn_workers(app: App) -> Workers {
    let node = node_name();
    let stop = tokio_util::sync::CancellationToken::new();
    let relay = app.clone();
    let signals = tokio::spawn(async move {
        // Other nodes' messages and changes: heard at once on PostgreSQL, else found within a
        // second (messages) or a few (pages).
        loop {
            match relay.relay_signals().await {
                Ok(()) => return,
                Err(e) => tracing::warn!(
                    error = format!("{e:#}"),
                    "listening for other nodes' signals"
                ),
            }
            tokio::time::sleep(DISPATCH_EVERY).await;
        }
    });
    let dispatcher = app.clone();
    let dispatcher_node = node.clone();
    let stopping = stop.clone();
    let dispatches = tokio::spawn(async move {
        // A pass runs to its end: a message handed to a provider is also recorded as sent.
        while !stopping.is_cancelled() {
            match dispatcher.dispatch(&dispatcher_node).await {
                // More may be due: go on at once.
                Ok(d) if d.total() > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "dispatch failed"),
            }
            tokio::select! {
                () = dispatcher.outbox_written().notified() => {}
                () = tokio::time::sleep(DISPATCH_EVERY) => {}
                () = stopping.cancelled() => {}
            }
        }
    });
    let sweeper = app.clone();
    let sweeps = tokio::spawn(async move {
        loop {
            match sweeper.sweep().await {
                Ok(s) if s != hod_app::referrals::Sweep::default() => {
                    tracing::info!(?s, "referral sweep");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "referral sweep failed"),
            }
            metrics::gauge!(hod_app::metrics::SWEEPER_LAST_RUN).set(unix_seconds());
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
    let keys = app.clone();
    let key_refresh = tokio::spawn(async move {
        loop {
            tokio::time::sleep(hod_app::keys::KEY_REFRESH).await;
            if let Err(e) = keys.refresh_keys().await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "loading the data keys again failed"
                );
            }
        }
    });
    let daily = tokio::spawn(async move {
        loop {
            match app.run_daily_eligibility(&node).await {
                Ok(hod_app::eligibility::DailyRun::Ran(summary)) => {
                    tracing::info!(?summary, "daily eligibility run finished");
                    metrics::gauge!(hod_app::metrics::DAILY_JOB_LAST_RUN).set(unix_seconds());
                }
                Ok(hod_app::eligibility::DailyRun::NoPlanYear) => {
                    tracing::warn!("daily eligibility run: no plan year contains today");
                }
                Ok(hod_app::eligibility::DailyRun::NotDue) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "daily eligibility run failed"),
            }
            match app.run_daily_retention(&node).await {
                Ok(Some(erased)) => tracing::info!(?erased, "daily retention run finished"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "daily retention run failed"),
            }
            tokio::time::sleep(JOB_CHECK_EVERY).await;
        }
    });
    Workers {
        stop,
        dispatcher: dispatches,
        others: vec![signals, sweeps, key_refresh, daily],
    }
}

/// The background work of a node.
struct Workers {
    stop: tokio_util::sync::CancellationToken,
    dispatcher: tokio::task::JoinHandle<()>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

/// How long shutdown waits for the dispatcher's pass in flight.
const DISPATCH_DRAIN: Duration = Duration::from_secs(10);

impl Workers {
    /// Stops the work: the dispatcher after the pass in flight (so what a provider took is
    /// recorded, and not sent again by another node), the rest at once.
    async fn stop(self) {
        self.stop.cancel();
        for w in &self.others {
            w.abort();
        }
        if tokio::time::timeout(DISPATCH_DRAIN, self.dispatcher)
            .await
            .is_err()
        {
            tracing::warn!("the dispatcher did not finish its pass in time");
        }
    }
}

fn unix_seconds() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let ms = jiff::Timestamp::now().as_millisecond() as f64;
    ms / 1000.0
}

/// Names this process among the nodes sharing a database (for job leases).
fn node_name() -> String {
    let mut tag = [0u8; 4];
    let _ = getrandom::fill(&mut tag);
    format!("node-{}-{}", std::process::id(), hex::encode(tag))
}

/// Descriptors kept for the database pool, log files and imports, beyond connections.
const DESCRIPTORS_KEPT: u64 = 64;

/// The HTTP side's settings from the configuration. The process's descriptor limit is raised
/// to its hard limit, and the connection cap lowered to fit in it: a client that opens
/// sockets without using them must not leave the server without descriptors (then even
/// `/healthz` would not be answered).
pub fn web_settings(config: &Config) -> anyhow::Result<hod_web::WebSettings> {
    let descriptors = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            u64::MAX
        }
    };
    let fits = usize::try_from(
        descriptors.saturating_sub(DESCRIPTORS_KEPT + u64::from(config.db_max_connections)),
    )
    .unwrap_or(usize::MAX)
    .max(1);
    let max_connections = config.http_max_connections.min(fits);
    if max_connections < config.http_max_connections {
        tracing::warn!(
            configured = config.http_max_connections,
            max_connections,
            descriptors,
            "http_max_connections lowered to fit the open-file limit"
        );
    }
    Ok(hod_web::WebSettings {
        limits: hod_web::HttpLimits {
            header_timeout: Duration::from_secs(config.http_header_timeout_secs),
            body_timeout: Duration::from_secs(config.http_body_timeout_secs),
            max_body_bytes: config.http_max_body_bytes,
            max_connections,
        },
        metrics: hod_web::metrics::MetricsAccess {
            allow: config.metrics_networks()?,
            token: config
                .metrics_token
                .clone()
                .filter(|t| !t.trim().is_empty()),
        },
        trusted_proxies: config.trusted_proxies()?,
    })
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight and the work they
/// left running.
pub async fn serve(listener: TcpListener, app: App, config: &Config) -> anyhow::Result<()> {
    let web = web_settings(config)?;
    let app = app.with_transports(transports(config)?);
    let limits = web.limits;
    let workers = spawn_workers(app.clone());
    let router = hod_web::router(hod_web::AppState::new(app.clone(), web));
    hod_web::serve::serve(listener, router, limits, shutdown_signal()).await;
    workers.stop().await;
    app.settle().await;
    tracing::info!("stopped");
    Ok(())
}

/// The application on the real clock.
pub async fn app(db: Db, settings: Settings) -> anyhow::Result<App> {
    Ok(App::new(db, Arc::new(SystemClock), settings).await?)
}

/// The providers of `config` (none configured: every message stays in the local outbox).
pub fn transports(config: &Config) -> anyhow::Result<hod_app::dispatch::Transports> {
    Ok(hod_app::dispatch::Transports {
        email: config.smtp()?.map(hod_notify::Smtp::new).transpose()?,
        sms: config.sms()?,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
