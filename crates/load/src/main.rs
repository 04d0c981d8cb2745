//! `hod-load`: load on running `hod` nodes over loopback, bounded in time and requests.
//! Partners submitting requests, agents' apps accepting offers, agents reading their pages and
//! holding live streams open, alone or together; throughput and p50/p90/p99 per kind of
//! request. With `--database-url`, the storage's ceiling for referral-shaped writes is measured
//! on the same database first, and intake is also given as a share of it (DESIGN.md §8).
//! BENCHMARKS.md has the commands and the numbers.
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Parser;

mod clients;
mod http;
mod stats;

use clients::Bounds;
use http::Target;
use stats::Tally;

#[derive(Debug, Parser)]
#[command(name = "hod-load", about = "Load on running hod nodes (loopback only)")]
struct Args {
    /// A node to load (repeat for several nodes; clients are spread over them).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// How long to load, in seconds (at most 600).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The most requests to make in all.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Partners submitting requests through the API, one connection each.
    #[arg(long, default_value_t = 0)]
    intake: usize,
    /// The partner API key (`hod api-key create --name load`), for --intake.
    #[arg(long, env = "HOD_LOAD_KEY", hide_env_values = true)]
    key: Option<String>,
    /// ZIP codes of the requests, comma-separated (default: the accepting agents' ZIPs, or
    /// Houston, Miami, Columbia SC, Charlotte, Dallas and Orlando).
    #[arg(long, value_delimiter = ',')]
    zips: Vec<String>,
    /// Agents' apps polling for offers and accepting them (agents `gen1`, `gen2`, … of
    /// `hod generate`).
    #[arg(long, default_value_t = 0)]
    agents: usize,
    /// How often an agent's app asks for offers, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Agents reading their pages one after the other.
    #[arg(long, default_value_t = 0)]
    viewers: usize,
    /// Live streams held open (agents' referrals pages).
    #[arg(long, default_value_t = 0)]
    streams: usize,
    /// Generated agents' user-name prefix and password.
    #[arg(long, default_value = "gen")]
    agent_prefix: String,
    #[arg(long, default_value = "Generated-Agent-Pass-1")]
    agent_password: String,
    /// The nodes' database: measure its ceiling for referral-shaped writes before the load.
    #[arg(long, env = "HOD_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// How long each measurement of the ceiling lasts, in seconds, and how many are made
    /// (the best one counts).
    #[arg(long, default_value_t = 2)]
    ceiling_seconds: u64,
    #[arg(long, default_value_t = 3)]
    ceiling_rounds: u64,
    /// Concurrent writers for the ceiling (PostgreSQL; SQLite has one writer).
    #[arg(long, default_value_t = 16)]
    ceiling_writers: usize,
    /// Seconds of the same load before anything is measured (not counted).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

const DEFAULT_ZIPS: [&str; 6] = ["77002", "33101", "29201", "28202", "75201", "32801"];

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.seconds == 0 || args.seconds > 600 {
        bail!("--seconds {}: give 1 to 600", args.seconds);
    }
    let clients = args.intake + args.agents + args.viewers + args.streams;
    if clients == 0 && args.database_url.is_none() {
        bail!("nothing to do: give --intake, --agents, --viewers, --streams or --database-url");
    }
    let targets = args
        .urls
        .iter()
        .map(|u| Target::parse(u))
        .collect::<Result<Vec<_>>>()?;
    // Log-ins first, so that their password hashing is not in the measured load.
    let logins = args.agents.max(args.viewers.max(args.streams));
    let mut tokens = Vec::new();
    for n in 1..=args.agents {
        let target = &targets[n % targets.len()];
        let user = format!("{}{n}", args.agent_prefix);
        tokens.push(clients::app_token(target, &user, &args.agent_password).await?);
    }
    let mut cookies = Vec::new();
    for n in 1..=args.viewers.max(args.streams).min(logins) {
        let target = &targets[n % targets.len()];
        let user = format!("{}{n}", args.agent_prefix);
        cookies.push(clients::web_session(target, &user, &args.agent_password).await?);
    }
    let zips: Arc<[String]> = if !args.zips.is_empty() {
        args.zips.clone().into()
    } else if let Some(token) = tokens.first() {
        let mut zips = Vec::new();
        for (n, token) in std::iter::once(token).chain(&tokens[1..]).enumerate() {
            zips.push(clients::profile_zip(&targets[(n + 1) % targets.len()], token).await?);
        }
        zips.into()
    } else {
        DEFAULT_ZIPS.map(str::to_owned).into()
    };

    let key: Option<Arc<str>> = match (args.intake, &args.key) {
        (0, _) => None,
        (_, Some(key)) => Some(key.as_str().into()),
        (_, None) => bail!("--intake needs --key (a partner API key)"),
    };
    let load = Load {
        args: &args,
        targets: &targets,
        key,
        zips,
        tokens,
        cookies,
    };
    // Warm the nodes (their caches, the database's pages) before anything is measured.
    if args.warmup > 0 && clients > 0 {
        load.run("w", Duration::from_secs(args.warmup)).await?;
    }
    let ceiling = match &args.database_url {
        Some(url) => {
            if clients > 0 {
                wait_until_quiet(&targets).await?;
            }
            Some(measure_ceiling(url, &args).await?)
        }
        None => None,
    };
    if clients == 0 {
        report(&args, &[], ceiling, Duration::ZERO);
        return Ok(());
    }
    wait_until_quiet(&targets).await?;
    let (tally, elapsed) = load.run("m", Duration::from_secs(args.seconds)).await?;
    report(&args, &tally.summaries(elapsed), ceiling, elapsed);
    Ok(())
}

/// Everything a phase of load needs.
struct Load<'a> {
    args: &'a Args,
    targets: &'a [Target],
    key: Option<Arc<str>>,
    zips: Arc<[String]>,
    tokens: Vec<String>,
    cookies: Vec<String>,
}

impl Load<'_> {
    /// Runs every client for `seconds` (within the request budget); `phase` keeps the
    /// phases' requests different people.
    async fn run(&self, phase: &'static str, seconds: Duration) -> Result<(Tally, Duration)> {
        let (args, targets) = (self.args, self.targets);
        let bounds = Arc::new(Bounds {
            deadline: Instant::now() + seconds,
            budget: AtomicU64::new(args.max_requests),
        });
        let started = Instant::now();
        let mut runs = tokio::task::JoinSet::new();
        if let Some(key) = &self.key {
            for c in 0..args.intake {
                let target = targets[c % targets.len()].clone();
                let who = clients::Partner {
                    key: key.clone(),
                    zips: self.zips.clone(),
                    name: format!("{phase}{}x{c}", run_id()),
                };
                runs.spawn(clients::partner(target, who, c, bounds.clone()));
            }
        }
        for (n, token) in self.tokens.iter().enumerate() {
            let target = targets[(n + 1) % targets.len()].clone();
            let poll = Duration::from_millis(args.poll_ms);
            runs.spawn(clients::accepting_agent(
                target,
                token.clone(),
                poll,
                bounds.clone(),
            ));
        }
        for n in 0..args.viewers {
            let target = targets[(n + 1) % targets.len()].clone();
            let cookie = self.cookies[n % self.cookies.len()].clone();
            runs.spawn(clients::viewer(target, cookie, bounds.clone()));
        }
        for n in 0..args.streams {
            let target = targets[(n + 1) % targets.len()].clone();
            let cookie = self.cookies[n % self.cookies.len()].clone();
            runs.spawn(clients::stream(target, cookie, bounds.clone()));
        }
        let mut tally = Tally::default();
        while let Some(done) = runs.join_next().await {
            tally.merge(done?);
        }
        Ok((tally, started.elapsed()))
    }
}

/// A different name for each run of the tool, so that its requests are new people.
fn run_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 1_000_000)
}

/// Waits until no node has messages waiting to be sent (the dispatcher of the last phase
/// would otherwise write while the next one is measured); at most two minutes.
async fn wait_until_quiet(targets: &[Target]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for target in targets {
        let mut conn = http::Conn::new(target.clone());
        loop {
            let a = conn.send(hyper::Method::GET, "/metrics", &[], None).await?;
            let text = String::from_utf8_lossy(&a.body);
            let pending = text
                .lines()
                .find_map(|l| l.strip_prefix("hod_outbox_messages{status=\"pending\"} "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            if pending == 0.0 {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} still has {pending} messages waiting after two minutes",
                    target.host
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// The ceiling is the best of a few short measurements: this machine's speed for the same
/// work varies by a factor of two from one second to the next (seen here on an empty file
/// with nothing else running), and the ceiling is what the storage can do.
async fn measure_ceiling(url: &str, args: &Args) -> Result<hod_db::ceiling::Ceiling> {
    let url = hod_db::DatabaseUrl::new(url);
    let options = hod_db::ConnectOptions {
        max_connections: u32::try_from(args.ceiling_writers.clamp(1, 64)).unwrap_or(16),
        ..Default::default()
    };
    let db = hod_db::Db::connect(&url, &options).await?;
    let seconds = Duration::from_secs(args.ceiling_seconds.clamp(1, 60));
    let mut best: Option<hod_db::ceiling::Ceiling> = None;
    for _ in 0..args.ceiling_rounds.clamp(1, 10) {
        let c = hod_db::ceiling::measure(&db, args.ceiling_writers, seconds).await?;
        if best.is_none_or(|b| c.per_second() > b.per_second()) {
            best = Some(c);
        }
    }
    Ok(best.expect("at least one round"))
}

fn report(
    args: &Args,
    summaries: &[stats::Summary],
    ceiling: Option<hod_db::ceiling::Ceiling>,
    elapsed: Duration,
) {
    let intake = summaries
        .iter()
        .find(|s| s.kind == "intake")
        .map(|s| s.per_second);
    let share = ceiling.zip(intake).map(|(c, i)| i / c.per_second());
    if args.json {
        let out = serde_json::json!({
            "seconds": elapsed.as_secs_f64(),
            "nodes": args.urls.len(),
            "clients": {"intake": args.intake, "agents": args.agents, "viewers": args.viewers, "streams": args.streams},
            "results": summaries,
            "ceiling_per_second": ceiling.map(|c| c.per_second()),
            "intake_share_of_ceiling": share,
        });
        println!("{out:#}");
        return;
    }
    println!(
        "{:.1} s on {} node(s): {} partners, {} agents' apps, {} viewers, {} streams",
        elapsed.as_secs_f64(),
        args.urls.len(),
        args.intake,
        args.agents,
        args.viewers,
        args.streams
    );
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "kind", "requests", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
    );
    for s in summaries {
        println!(
            "{:<24} {:>9} {:>9.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            s.kind, s.requests, s.per_second, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.errors
        );
        for e in &s.error_examples {
            println!("    e.g. {e}");
        }
    }
    if let Some(c) = ceiling {
        println!(
            "storage ceiling: {:.0} referral-shaped transactions/s ({} in {:.1} s, the best of {} rounds)",
            c.per_second(),
            c.transactions,
            c.elapsed.as_secs_f64(),
            args.ceiling_rounds.clamp(1, 10)
        );
    }
    if let Some(share) = share {
        println!("intake: {:.1}% of the ceiling", share * 100.0);
    }
}
