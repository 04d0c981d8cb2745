//! The routing simulator (`hod simulate`): a scenario's program and day, generated from a
//! seed, run event by event on virtual time under each strategy, with the server's own
//! matching, ranking and offer rules from [`crate::routing`].
//!
//! What it models: agents licensed in one or two states, living at a ZIP of their state,
//! speaking English and perhaps other languages, on duty during their hours (in their own
//! time zone), answering each offer or not, accepting or declining after a log-normal delay;
//! three missed offers in a row switch an agent to red for a while; an accepted referral
//! holds one of the agent's places until its follow-up. Consumers arrive through the day in
//! the scenario's shape, from the scenario's states and in its languages.
mod engine;
mod report;
mod rng;
mod scenario;
mod world;

pub use report::{Report, jain};
pub use scenario::{
    Behaviour, LanguageShare, PolicyNumbers, Scenario, ScenarioError, Schedule, StateShare,
};

use crate::routing::Policy;
use crate::{UsState, Zip, ZipDirectory};

/// Builds the scenario's program and day from `seed`, then runs the same day under each
/// policy. The same seed gives the same reports.
pub fn simulate(
    scenario: &Scenario,
    policies: &[Policy],
    seed: u64,
) -> Result<Vec<Report>, ScenarioError> {
    let world = world::World::build(scenario, seed, ZipDirectory::bundled())?;
    Ok(policies
        .iter()
        .map(|p| engine::run(&world, scenario, *p, seed))
        .collect())
}

/// One agent of a synthetic program (`hod generate`), drawn like the simulator's.
#[derive(Debug, Clone)]
pub struct SyntheticAgent {
    /// Licensed states, where they live first.
    pub states: Vec<UsState>,
    /// Language codes: English first, then the scenario's languages they speak.
    pub languages: Vec<String>,
    pub zip: Zip,
    /// IANA time zone of their ZIP.
    pub time_zone: &'static str,
    /// Working hours every day, in their time zone (`to` = 24: until midnight).
    pub hours: (u8, u8),
}

/// `agents` agents drawn from the scenario's shares (states, second licences, languages,
/// ZIPs, schedules) with `seed`.
pub fn population(
    scenario: &Scenario,
    agents: u32,
    seed: u64,
) -> Result<Vec<SyntheticAgent>, ScenarioError> {
    let sized = Scenario {
        agents,
        requests: 0,
        ..scenario.clone()
    };
    let world = world::World::build(&sized, seed, ZipDirectory::bundled())?;
    Ok(world
        .agents
        .into_iter()
        .map(|a| {
            let schedule = scenario.schedules[a.schedule];
            let mut languages = vec!["en".to_owned()];
            for (i, l) in scenario.languages.iter().enumerate() {
                if a.languages & (1 << (i + 1)) != 0 {
                    languages.push(l.language.clone());
                }
            }
            SyntheticAgent {
                states: a.states,
                languages,
                zip: a.location.zip,
                time_zone: a.location.time_zone,
                hours: (schedule.from, schedule.to),
            }
        })
        .collect())
}

/// One past referral of a synthetic program's history.
#[derive(Debug, Clone)]
pub struct PastReferral {
    /// Index into the agents it was drawn for; the agent who took it when served.
    pub agent: usize,
    pub zip: &'static crate::ZipInfo,
    pub language: String,
    /// Seconds before now that it was made.
    pub age_secs: i64,
    /// Seconds from request to acceptance; `None` when nobody took it.
    pub accepted_after_secs: Option<i64>,
    /// Its last status: `follow_up_completed`, `sold`, …, or `unserved`.
    pub status: &'static str,
}

/// `count` referrals over the last `days` days: each from a ZIP of an agent's home state in
/// one of their languages; about one in six unserved, the rest in the statuses agents leave
/// them in, accepted after a few minutes (log-normal, median four).
pub fn history(agents: &[SyntheticAgent], count: u32, days: u32, seed: u64) -> Vec<PastReferral> {
    const OUTCOMES: [(&str, f64); 7] = [
        ("unserved", 0.15),
        ("follow_up_completed", 0.30),
        ("quote_completed", 0.20),
        ("sold", 0.20),
        ("not_a_good_prospect", 0.07),
        ("deferred", 0.04),
        ("delayed", 0.04),
    ];
    if agents.is_empty() {
        return Vec::new();
    }
    let mut zips_of: std::collections::HashMap<UsState, Vec<&'static crate::ZipInfo>> =
        std::collections::HashMap::new();
    for z in ZipDirectory::bundled().iter() {
        zips_of.entry(z.state).or_default().push(z);
    }
    let weights: Vec<f64> = OUTCOMES.iter().map(|(_, w)| *w).collect();
    let mut rng = rng::Rng::new(seed ^ 0x005E_ED0F_4157_0127);
    let span = i64::from(days.max(1)) * 86_400;
    (0..count)
        .filter_map(|_| {
            let agent = rng.below(agents.len());
            let a = &agents[agent];
            let zips = zips_of.get(a.states.first()?)?;
            let status = OUTCOMES[rng.pick(&weights)].0;
            let age_secs = i64::try_from(rng.below(usize::try_from(span).ok()?)).ok()? + 3600;
            Some(PastReferral {
                agent,
                zip: zips[rng.below(zips.len())],
                language: a.languages[rng.below(a.languages.len())].clone(),
                age_secs,
                accepted_after_secs: (status != "unserved")
                    .then(|| rng.log_normal(240.0, 0.9).min(3600.0) as i64),
                status,
            })
        })
        .collect()
}
