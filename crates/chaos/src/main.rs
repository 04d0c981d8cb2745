//! `hod-chaos`: real `hod serve` processes on loopback under steady intake and accepting,
//! while nodes are killed with SIGKILL, PostgreSQL is restarted, or the disk fills up; then a
//! checker reads the database and the clients' logs and says whether what must hold held:
//! every acknowledged request is stored and ends accepted or unserved (none stuck), no
//! referral is given to two agents, no message is lost, no answer is a server error (503
//! while the storage is away is the answer asked for), and SQLite's file is intact.
//! docs/security.md has the commands and the last results.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use serde_json::json;

mod check;
mod clients;
mod procs;

use clients::{Dice, PASSWORD, Shared, agent, partner, send};
use procs::{Cluster, Postgres, free_port, run};
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Three nodes on PostgreSQL; one killed (SIGKILL) and started again every few seconds.
    PgKill,
    /// One node on SQLite, killed and started again every few seconds during writes.
    SqliteKill,
    /// Nodes on PostgreSQL; PostgreSQL itself stopped (immediate) mid-load and started again.
    PgRestart,
    /// One node on SQLite on a small tmpfs that fills up, then gets room again.
    DiskFull,
}

#[derive(Debug, Parser)]
#[command(
    name = "hod-chaos",
    about = "Crashes and outages under load, with a checker (loopback only)"
)]
struct Args {
    #[arg(value_enum)]
    scenario: Scenario,
    /// How long the load and the faults last, in seconds (at most 3600).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The `hod` binary.
    #[arg(long, default_value = "target/debug/hod")]
    hod: PathBuf,
    /// Nodes (PostgreSQL scenarios).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Seconds between kills.
    #[arg(long, default_value_t = 4)]
    kill_every: u64,
    /// Partners submitting requests, each about four a second.
    #[arg(long, default_value_t = 3)]
    intake: usize,
    /// Agents (all of the generated program) polling for offers and accepting them.
    #[arg(long, default_value_t = 10)]
    agents: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let seconds = args.seconds.clamp(5, 3600);
    let work = std::env::temp_dir().join(format!("hod-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let hod = std::fs::canonicalize(&args.hod).with_context(|| {
        format!(
            "the hod binary {} (cargo build -p hod-server)",
            args.hod.display()
        )
    })?;
    let outcome = scenario(&args, seconds, &work, hod).await;
    let _ = Command::new("umount").arg(work.join("full")).output();
    match outcome {
        Ok(true) => {
            let _ = std::fs::remove_dir_all(&work);
            Ok(())
        }
        Ok(false) => {
            eprintln!("the nodes' logs are kept in {}", work.display());
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("the nodes' logs are kept in {}", work.display());
            Err(e)
        }
    }
}

async fn scenario(args: &Args, seconds: u64, work: &Path, hod: PathBuf) -> Result<bool> {
    let started = Instant::now();
    let data_key = hod_db::vault::MasterKey::generate().encoded();
    let postgres = matches!(args.scenario, Scenario::PgKill | Scenario::PgRestart)
        .then(|| Postgres::init(work))
        .transpose()?;
    let nodes = if postgres.is_some() {
        args.nodes.max(1)
    } else {
        1
    };
    let database_url = match (&postgres, args.scenario) {
        (Some(pg), _) => pg.url(),
        (None, Scenario::DiskFull) => {
            let full = work.join("full");
            std::fs::create_dir_all(&full)?;
            run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=12m", "tmpfs"])
                .arg(&full))
            .context("mounting a small tmpfs (needs root)")?;
            format!("sqlite://{}", full.join("hod.sqlite").display())
        }
        (None, _) => format!("sqlite://{}", work.join("hod.sqlite").display()),
    };
    let cluster = Cluster {
        hod,
        env: vec![
            ("HOD_DATABASE_URL".into(), database_url.clone()),
            ("HOD_DATA_KEY".into(), data_key),
            ("HOD_LOG".into(), "warn".into()),
            ("HOD_DB_MAX_CONNECTIONS".into(), "8".into()),
        ],
        dir: work.to_owned(),
        nodes: Mutex::new(
            (0..nodes)
                .map(|_| free_port().map(|p| (p, None)))
                .collect::<Result<_>>()?,
        ),
    };
    cluster.cli(&["migrate"])?;
    cluster.cli(&["generate", "--agents", &args.agents.max(1).to_string()])?;
    for (key, value) in [
        ("routing.offer_minutes", "1"),
        ("routing.max_wait_minutes", "1"),
        ("routing.capacity", "100000"),
    ] {
        cluster.cli(&["settings", "set", key, value])?;
    }
    let key = cluster
        .cli(&["api-key", "create", "--name", "chaos"])?
        .trim()
        .to_owned();
    for i in 0..nodes {
        cluster.spawn(i)?;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    for i in 0..nodes {
        cluster.wait_ready(i, &http).await?;
    }
    let urls = cluster.urls();
    // The requests go where the agents are.
    let mut zips = Vec::new();
    for i in 0..args.agents.max(1) {
        let (_, token) = send(
            &http,
            reqwest::Method::POST,
            &format!("{}/api/v1/agent/token", urls[0]),
            "",
            Some(&json!({"username": format!("gen{}", i + 1), "password": PASSWORD})),
            None,
        )
        .await;
        let token = token["token"].as_str().unwrap_or_default().to_owned();
        let (_, profile) = send(
            &http,
            reqwest::Method::GET,
            &format!("{}/api/v1/agent/profile", urls[0]),
            &token,
            None,
            None,
        )
        .await;
        if let Some(z) = profile["zip"].as_str() {
            zips.push(z.to_owned());
        }
    }
    if zips.is_empty() {
        bail!("the generated agents have no ZIP codes");
    }

    let seen: Shared = Arc::default();
    let stop_intake = Arc::new(AtomicBool::new(false));
    let stop_agents = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..args.intake.max(1) {
        tasks.push(tokio::spawn(partner(
            w as u64,
            urls.clone(),
            key.clone(),
            zips.clone(),
            stop_intake.clone(),
            seen.clone(),
            counter.clone(),
        )));
    }
    let mut agent_tasks = Vec::new();
    for i in 0..args.agents.max(1) {
        agent_tasks.push(tokio::spawn(agent(
            i,
            urls.clone(),
            stop_agents.clone(),
            seen.clone(),
        )));
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut faults = Vec::new();
    let mut dice = Dice::new(u64::from(std::process::id()));
    match args.scenario {
        Scenario::PgKill | Scenario::SqliteKill => {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(args.kill_every.max(1))).await;
                let i = dice.below(nodes);
                cluster.kill(i);
                faults.push(format!("killed node {i}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                cluster.spawn(i)?;
                cluster.wait_ready(i, &http).await?;
            }
        }
        Scenario::PgRestart => {
            let pg = postgres.as_ref().expect("a PostgreSQL scenario");
            tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
            pg.crash()?;
            faults.push("PostgreSQL stopped".into());
            // While it is away: every node is up, and answers 503.
            tokio::time::sleep(Duration::from_secs(2)).await;
            for (i, url) in urls.iter().enumerate() {
                let ready = http.get(format!("{url}/readyz")).send().await?;
                let (submit, _) = send(
                    &http,
                    reqwest::Method::POST,
                    &format!("{url}/api/v1/referrals"),
                    &key,
                    Some(&json!({})),
                    None,
                )
                .await;
                faults.push(format!(
                    "node {i} while PostgreSQL is away: readyz {}, a submission {submit}",
                    ready.status().as_u16()
                ));
                if ready.status() != 503 || !cluster.alive(i) {
                    seen.lock().unwrap().errors.push(format!(
                        "node {i} while PostgreSQL was away: readyz {}",
                        ready.status()
                    ));
                }
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            pg.start()?;
            faults.push("PostgreSQL started again".into());
            for i in 0..nodes {
                cluster
                    .wait_ready(i, &http)
                    .await
                    .context("recovering without a restart")?;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
        Scenario::DiskFull => {
            // Fill what is left of the tmpfs, bar a little.
            let full = work.join("full");
            let filler = full.join("filler");
            let _ = Command::new("dd")
                .args(["if=/dev/zero", "bs=64k"])
                .arg(format!("of={}", filler.display()))
                .output();
            let _ = Command::new("truncate")
                .args(["-s", "-256K"])
                .arg(&filler)
                .output();
            faults.push("the disk is full".into());
            tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
            if !cluster.alive(0) {
                seen.lock()
                    .unwrap()
                    .errors
                    .push("the node died when the disk filled".into());
                cluster.spawn(0)?;
            }
            std::fs::remove_file(&filler)?;
            faults.push("room again".into());
            cluster.wait_ready(0, &http).await?;
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
    stop_intake.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let load_secs = started.elapsed().as_secs();
    // Let routing end: every request accepted or given up (offers last a minute, requests
    // wait at most one), every message written out.
    let db = hod_db::Db::connect(
        &hod_db::DatabaseUrl::new(database_url.clone()),
        &hod_db::ConnectOptions::default(),
    )
    .await?;
    let settle = Instant::now() + Duration::from_secs(240);
    while hod_db::history::unsettled(&db).await? != (0, 0) && Instant::now() < settle {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop_agents.store(true, Ordering::Relaxed);
    for t in agent_tasks {
        t.await?;
    }
    for i in 0..nodes {
        if !cluster.alive(i) {
            seen.lock().unwrap().errors.push(format!("node {i} died"));
        }
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let (bad, summary) = check::check(&hod_db::history::read(&db).await?, &seen);
    let kills = faults.iter().filter(|f| f.starts_with("killed")).count();
    println!(
        "{:?}: {nodes} node(s), {load_secs} s of load and faults, settled in {} s more",
        args.scenario,
        started.elapsed().as_secs() - load_secs
    );
    if kills > 0 {
        println!("faults: {kills} kills (SIGKILL), each node started again at once");
    } else {
        println!("faults: {}", faults.join("; "));
    }
    println!("{summary}");
    if bad.is_empty() {
        println!("every check held");
        Ok(true)
    } else {
        println!("{} violations:", bad.len());
        for b in bad.iter().take(50) {
            println!("  {b}");
        }
        Ok(false)
    }
}
