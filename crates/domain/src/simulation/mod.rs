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

use crate::ZipDirectory;
use crate::routing::Policy;

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
