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
    tracing::info!(database = %url, backend = %db.backend(), "database ready");
    Ok(db)
}

pub fn settings(config: &Config, listening_on: std::net::SocketAddr) -> Settings {
    Settings {
        public_url: config.public_url(listening_on),
        noreply_address: config.noreply_address.clone(),
        program_time_zone: jiff::tz::TimeZone::get(&config.program_time_zone)
            .expect("validated at load"),
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

/// Background work every node runs: the referral sweeper (every node: claims are per
/// referral), and the daily eligibility evaluation (one node a day takes it, through a
/// lease in the database).
fn spawn_workers(app: App) -> [tokio::task::JoinHandle<()>; 2] {
    let node = node_name();
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
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
    let daily = tokio::spawn(async move {
        loop {
            match app.run_daily_eligibility(&node).await {
                Ok(hod_app::eligibility::DailyRun::Ran(summary)) => {
                    tracing::info!(?summary, "daily eligibility run finished");
                }
                Ok(hod_app::eligibility::DailyRun::NoPlanYear) => {
                    tracing::warn!("daily eligibility run: no plan year contains today");
                }
                Ok(hod_app::eligibility::DailyRun::NotDue) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "daily eligibility run failed"),
            }
            tokio::time::sleep(JOB_CHECK_EVERY).await;
        }
    });
    [sweeps, daily]
}

/// Names this process among the nodes sharing a database (for job leases).
fn node_name() -> String {
    let mut tag = [0u8; 4];
    let _ = getrandom::fill(&mut tag);
    format!("node-{}-{}", std::process::id(), hex::encode(tag))
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(listener: TcpListener, app: App) -> anyhow::Result<()> {
    let workers = spawn_workers(app.clone());
    let state = hod_web::AppState::new(app);
    axum::serve(
        listener,
        hod_web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;
    for w in workers {
        w.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// The application on the real clock.
pub fn app(db: Db, settings: Settings) -> App {
    App::new(db, Arc::new(SystemClock), settings)
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
