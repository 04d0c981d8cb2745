//! `hod simulate`: a scenario file read and checked, then the routing simulator of
//! `hod_domain::simulation` run on it.
use std::path::Path;

use hod_domain::routing::Policy;
pub use hod_domain::simulation::{Report, Scenario};
use serde::Serialize;

/// A scenario file that cannot be run: which file, where, and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ScenarioFileError {
    pub file: String,
    pub problem: String,
}

/// What `hod simulate --json` prints.
#[derive(Debug, Serialize)]
pub struct Simulation {
    pub scenario: String,
    pub seed: u64,
    pub agents: u32,
    pub requests: u32,
    pub strategies: Vec<Report>,
}

/// Reads and checks a scenario (TOML, `data/scenarios/`).
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioFileError> {
    let fail = |problem: String| ScenarioFileError {
        file: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let scenario: Scenario = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| {
            let line = text[..s.start].matches('\n').count() + 1;
            format!("line {line}: ")
        });
        fail(format!("{}{}", at.unwrap_or_default(), e.message()))
    })?;
    scenario.check().map_err(|e| fail(e.to_string()))?;
    Ok(scenario)
}

/// Runs the scenario under the named strategy, or under each strategy when none is named
/// (the program's default first).
pub fn simulate(
    scenario: &Scenario,
    strategy: Option<&str>,
    seed: u64,
) -> Result<Simulation, ScenarioFileError> {
    let all = scenario.policies();
    let policies: Vec<Policy> = match strategy {
        None => all,
        Some(id) => {
            let chosen: Vec<Policy> = all.into_iter().filter(|p| p.strategy.id() == id).collect();
            if chosen.is_empty() {
                return Err(ScenarioFileError {
                    file: "--strategy".into(),
                    problem: format!(
                        "{id:?} is not a strategy; expected {}",
                        hod_domain::routing::Strategy::choices()
                    ),
                });
            }
            chosen
        }
    };
    let strategies = hod_domain::simulation::simulate(scenario, &policies, seed).map_err(|e| {
        ScenarioFileError {
            file: scenario.name.clone(),
            problem: e.to_string(),
        }
    })?;
    Ok(Simulation {
        scenario: scenario.name.clone(),
        seed,
        agents: scenario.agents,
        requests: scenario.requests,
        strategies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/scenarios")
            .join(name)
    }

    #[test]
    fn shipped_scenarios_load() {
        for name in ["open-enrollment-peak.toml", "quiet-day.toml"] {
            let s = load_scenario(&shipped(name)).unwrap();
            assert_eq!(s.agents, 10_000, "{name}");
        }
    }

    /// The simulator's output for a fixed seed: a change to routing, to the simulator or to
    /// the scenario shows here, and the recommendation in BENCHMARKS.md is checked again.
    #[test]
    fn the_quiet_day_with_seed_1_is_pinned() {
        let s = load_scenario(&shipped("quiet-day.toml")).unwrap();
        let run = simulate(&s, None, 1).unwrap();
        let lines: Vec<String> = run
            .strategies
            .iter()
            .map(|r| {
                let within_15 = (r.served_within_15_minutes * r.requests as f64).round();
                format!(
                    "{} served={} within15={within_15} p50={:.1} p90={:.1} offers={} lapsed={} declined={} jain={:.4}",
                    r.strategy,
                    r.served,
                    r.accept_p50_seconds.unwrap_or_default(),
                    r.accept_p90_seconds.unwrap_or_default(),
                    r.offers,
                    r.offers_lapsed,
                    r.offers_declined,
                    r.fairness_offers,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                "one_at_a_time served=1432 within15=830 p50=458.8 p90=2058.0 offers=2787 lapsed=1130 declined=206 jain=0.2437",
                "cascade served=1498 within15=1277 p50=353.3 p90=1026.9 offers=3324 lapsed=371 declined=218 jain=0.2827",
                "broadcast served=1498 within15=1327 p50=109.0 p90=927.8 offers=5055 lapsed=484 declined=220 jain=0.3865",
                "adaptive served=1498 within15=1342 p50=241.4 p90=920.0 offers=3927 lapsed=367 declined=214 jain=0.3226",
            ]
        );
        let only = simulate(&s, Some("adaptive"), 1).unwrap();
        assert_eq!(
            only.strategies,
            run.strategies[3..],
            "one strategy alone, the same day"
        );
    }

    #[test]
    fn a_bad_scenario_names_the_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let text = std::fs::read_to_string(shipped("quiet-day.toml")).unwrap();
        std::fs::write(&path, text.replace("agents = 10000", "agents = \"many\"")).unwrap();
        let e = load_scenario(&path).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains("line 13"), "{e}");
        std::fs::write(&path, text.replace("state = \"UT\"", "state = \"XX\"")).unwrap();
        let e = load_scenario(&path).unwrap_err().to_string();
        assert!(
            e.contains("states[14].state: \"XX\" is not a state code"),
            "{e}"
        );
        let s = load_scenario(&shipped("quiet-day.toml")).unwrap();
        let e = simulate(&s, Some("lottery"), 1).unwrap_err().to_string();
        assert!(e.contains("\"lottery\" is not a strategy"), "{e}");
    }
}
