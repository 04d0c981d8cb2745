//! `hod simulate`: the routing simulator on a scenario file, as a table or JSON.
use std::path::PathBuf;

use clap::Args;
use hod_app::simulation::{Report, Simulation, load_scenario, simulate};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML), e.g. data/scenarios/open-enrollment-peak.toml
    #[arg(long)]
    pub scenario: PathBuf,
    /// Only this strategy: one_at_a_time, cascade, broadcast or adaptive [default: all]
    #[arg(long)]
    pub strategy: Option<String>,
    /// The same seed gives the same program, day and answers
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the reports as JSON
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args.scenario)?;
    let started = std::time::Instant::now();
    let result = simulate(&scenario, args.strategy.as_deref(), args.seed)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_table(&result);
        eprintln!("simulated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".to_owned(), |s| format!("{:.1} min", s / 60.0))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn print_table(s: &Simulation) {
    println!(
        "{}: {} agents, {} requests, seed {}",
        s.scenario, s.agents, s.requests, s.seed
    );
    println!(
        "{:<14} {:>7} {:>7} {:>7} {:>9} {:>9} {:>7} {:>7} {:>9} {:>9}",
        "strategy",
        "served",
        "≤15 min",
        "≤60 min",
        "p50",
        "p90",
        "offers",
        "lapsed",
        "fair:off",
        "fair:ref"
    );
    for r in &s.strategies {
        let Report {
            strategy,
            served_share,
            served_within_15_minutes,
            served_within_60_minutes,
            accept_p50_seconds,
            accept_p90_seconds,
            offers_per_agent,
            offers_lapsed,
            fairness_offers,
            fairness_referrals,
            ..
        } = r;
        println!(
            "{strategy:<14} {:>7} {:>7} {:>7} {:>9} {:>9} {offers_per_agent:>7.2} {offers_lapsed:>7} {fairness_offers:>9.3} {fairness_referrals:>9.3}",
            percent(*served_share),
            percent(*served_within_15_minutes),
            percent(*served_within_60_minutes),
            minutes(*accept_p50_seconds),
            minutes(*accept_p90_seconds),
        );
    }
    println!(
        "\nserved: share of all requests; p50/p90: time from request to acceptance, of those \
         served;\noffers: per agent; lapsed: offers nobody answered in time; fair: Jain's index \
         of offers\nand of referrals won per agent (1 = all alike)"
    );
    for r in &s.strategies {
        println!("{}: {}", r.strategy, r.settings);
    }
}
