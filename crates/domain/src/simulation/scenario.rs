//! What a scenario file describes (`data/scenarios/*.toml`): the program's agents, the day's
//! consumers, and the routing numbers of each strategy to compare.
use jiff::SignedDuration;
use jiff::civil::Date;
use serde::Deserialize;

use crate::geo::UsState;
use crate::routing::{Policy, Strategy};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The simulated day, in the program's time zone.
    pub date: Date,
    pub time_zone: String,
    pub agents: u32,
    /// Requests over the whole day.
    pub requests: u32,
    /// Weight of each hour of the day (program time, midnight first): 24 numbers.
    pub arrival_shape: Vec<f64>,
    /// Share of agents licensed in a second state besides their own.
    #[serde(default)]
    pub second_state: f64,
    /// Mean time an accepted referral holds one of the agent's places until follow-up.
    pub follow_up_minutes: f64,
    /// An agent switched to red after three missed offers turns availability back on after
    /// this long.
    pub pause_minutes: f64,
    pub policy: PolicyNumbers,
    pub states: Vec<StateShare>,
    #[serde(default)]
    pub languages: Vec<LanguageShare>,
    pub schedules: Vec<Schedule>,
    pub behaviours: Vec<Behaviour>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyNumbers {
    pub offer_minutes: i64,
    pub max_wait_minutes: i64,
    pub capacity: u32,
    pub cascade_minutes: i64,
    pub broadcast_size: u16,
    pub adaptive_step_minutes: i64,
    pub adaptive_width: u16,
}

/// Where agents are licensed and consumers ask from (weights, normalised).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateShare {
    pub state: String,
    pub agents: f64,
    pub requests: f64,
}

/// Languages besides English (which every simulated agent speaks): the share of requests in
/// it and the share of agents who speak it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageShare {
    pub language: String,
    pub agents: f64,
    pub requests: f64,
}

/// Working hours in the agent's own time zone, every day, `from` to `to` (0–24).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub share: f64,
    pub from: u8,
    pub to: u8,
}

/// How a kind of agent answers offers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub name: String,
    pub share: f64,
    /// Chance of answering an offer at all while on duty (the rest lapse).
    pub answers: f64,
    /// Of the answers, the share that decline.
    pub declines: f64,
    /// Median time to answer, in seconds, and the spread (σ of its logarithm).
    pub median_seconds: f64,
    pub spread: f64,
}

/// A scenario that cannot be run, and why (the field is named as in the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ScenarioError {
    pub field: String,
    pub reason: String,
}

fn problem(field: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn positive_weights(
    field: &str,
    weights: impl IntoIterator<Item = f64>,
) -> Result<(), ScenarioError> {
    let mut total = 0.0;
    for (i, w) in weights.into_iter().enumerate() {
        if !w.is_finite() || w < 0.0 {
            return Err(problem(format!("{field}[{i}]"), "must be a number ≥ 0"));
        }
        total += w;
    }
    if total > 0.0 {
        Ok(())
    } else {
        Err(problem(field, "needs at least one weight above 0"))
    }
}

fn share(field: &str, x: f64) -> Result<(), ScenarioError> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(problem(field, "must be between 0 and 1"))
    }
}

impl Scenario {
    /// Every number in range, every state and time zone known.
    pub fn check(&self) -> Result<(), ScenarioError> {
        if self.agents == 0 {
            return Err(problem("agents", "must be at least 1"));
        }
        jiff::tz::TimeZone::get(&self.time_zone).map_err(|_| {
            problem(
                "time_zone",
                format!("{:?} is not an IANA time zone", self.time_zone),
            )
        })?;
        if self.arrival_shape.len() != 24 {
            return Err(problem("arrival_shape", "needs 24 numbers, one per hour"));
        }
        positive_weights("arrival_shape", self.arrival_shape.iter().copied())?;
        share("second_state", self.second_state)?;
        for (field, x) in [
            ("follow_up_minutes", self.follow_up_minutes),
            ("pause_minutes", self.pause_minutes),
        ] {
            if !x.is_finite() || x <= 0.0 {
                return Err(problem(field, "must be a number of minutes above 0"));
            }
        }
        let p = self.policy;
        for (field, x) in [
            ("policy.offer_minutes", p.offer_minutes),
            ("policy.max_wait_minutes", p.max_wait_minutes),
            ("policy.cascade_minutes", p.cascade_minutes),
            ("policy.adaptive_step_minutes", p.adaptive_step_minutes),
        ] {
            if !(1..=24 * 60).contains(&x) {
                return Err(problem(field, "must be 1 to 1440 minutes"));
            }
        }
        for (field, x) in [
            ("policy.capacity", p.capacity),
            ("policy.broadcast_size", u32::from(p.broadcast_size)),
            ("policy.adaptive_width", u32::from(p.adaptive_width)),
        ] {
            if x == 0 {
                return Err(problem(field, "must be at least 1"));
            }
        }
        for (i, s) in self.states.iter().enumerate() {
            UsState::parse(&s.state).map_err(|_| {
                problem(
                    format!("states[{i}].state"),
                    format!("{:?} is not a state code", s.state),
                )
            })?;
        }
        positive_weights("states.agents", self.states.iter().map(|s| s.agents))?;
        positive_weights("states.requests", self.states.iter().map(|s| s.requests))?;
        if self.languages.len() > 31 {
            return Err(problem("languages", "at most 31 besides English"));
        }
        for (i, l) in self.languages.iter().enumerate() {
            share(&format!("languages[{i}].agents"), l.agents)?;
            share(&format!("languages[{i}].requests"), l.requests)?;
        }
        if self.languages.iter().map(|l| l.requests).sum::<f64>() > 1.0 {
            return Err(problem(
                "languages",
                "the requests' shares add up to more than 1",
            ));
        }
        positive_weights("schedules.share", self.schedules.iter().map(|s| s.share))?;
        for (i, s) in self.schedules.iter().enumerate() {
            if s.from >= s.to || s.to > 24 {
                return Err(problem(
                    format!("schedules[{i}]"),
                    "needs 0 ≤ from < to ≤ 24",
                ));
            }
        }
        positive_weights("behaviours.share", self.behaviours.iter().map(|b| b.share))?;
        for (i, b) in self.behaviours.iter().enumerate() {
            share(&format!("behaviours[{i}].answers"), b.answers)?;
            share(&format!("behaviours[{i}].declines"), b.declines)?;
            if !(b.median_seconds > 0.0 && b.spread >= 0.0 && b.spread.is_finite()) {
                return Err(problem(
                    format!("behaviours[{i}]"),
                    "median_seconds must be above 0 and spread at least 0",
                ));
            }
        }
        Ok(())
    }

    /// The strategies compared, each with the scenario's numbers: the program's default
    /// first.
    pub fn policies(&self) -> Vec<Policy> {
        let p = self.policy;
        let base = Policy {
            strategy: Strategy::OneAtATime,
            offer_window: SignedDuration::from_mins(p.offer_minutes),
            max_wait: SignedDuration::from_mins(p.max_wait_minutes),
            capacity: p.capacity,
        };
        [
            Strategy::OneAtATime,
            Strategy::Cascade {
                step: SignedDuration::from_mins(p.cascade_minutes),
            },
            Strategy::Broadcast {
                size: p.broadcast_size,
            },
            Strategy::Adaptive {
                step: SignedDuration::from_mins(p.adaptive_step_minutes),
                width: p.adaptive_width,
            },
        ]
        .into_iter()
        .map(|strategy| Policy { strategy, ..base })
        .collect()
    }
}
