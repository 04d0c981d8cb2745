//! The simulated program: agents drawn from the scenario's shares, and the day's requests.
use jiff::Timestamp;

use super::rng::Rng;
use super::scenario::{Scenario, ScenarioError};
use crate::geo::{UsState, ZipDirectory, ZipInfo};

pub(super) struct Agent {
    pub id: i64,
    /// Licensed states: where they live first.
    pub states: Vec<UsState>,
    /// Bit 0 is English; bit `i + 1` the scenario's `languages[i]`.
    pub languages: u32,
    pub location: &'static ZipInfo,
    /// Working hours as seconds of the UTC day: `[from, to)`, wrapping past midnight when
    /// `from > to`; `None` when on duty around the clock.
    pub hours: Option<(i64, i64)>,
    /// Index into the scenario's schedules.
    pub schedule: usize,
    pub behaviour: usize,
}

impl Agent {
    pub fn on_duty(&self, now: Timestamp) -> bool {
        let Some((from, to)) = self.hours else {
            return true;
        };
        let t = now.as_second().rem_euclid(86_400);
        if from <= to {
            (from..to).contains(&t)
        } else {
            t >= from || t < to
        }
    }
}

pub(super) struct Request {
    pub at: Timestamp,
    pub state: UsState,
    /// Index of the state in the scenario (and in [`World::licensed`]).
    pub state_index: usize,
    pub location: &'static ZipInfo,
    /// Index into the language bits of [`Agent::languages`].
    pub language: u8,
}

pub(super) struct World {
    pub agents: Vec<Agent>,
    /// Indices of the agents licensed in each state, by the state's index.
    pub licensed: Vec<Vec<usize>>,
    pub requests: Vec<Request>,
}

impl World {
    pub fn build(
        s: &Scenario,
        seed: u64,
        zips: &'static ZipDirectory,
    ) -> Result<Self, ScenarioError> {
        s.check()?;
        let states: Vec<UsState> = s
            .states
            .iter()
            .map(|x| UsState::parse(&x.state).expect("checked"))
            .collect();
        let mut zips_of: Vec<Vec<&'static ZipInfo>> = vec![Vec::new(); states.len()];
        for z in zips.iter() {
            if let Some(i) = states.iter().position(|s| *s == z.state) {
                zips_of[i].push(z);
            }
        }
        if let Some(i) = zips_of.iter().position(Vec::is_empty) {
            return Err(ScenarioError {
                field: format!("states[{i}].state"),
                reason: "no ZIP code of this state is in the directory".into(),
            });
        }
        let program_tz = jiff::tz::TimeZone::get(&s.time_zone).expect("checked");
        let midnight = s
            .date
            .to_zoned(program_tz)
            .map_err(|e| ScenarioError {
                field: "date".into(),
                reason: e.to_string(),
            })?
            .timestamp();
        let mut rng = Rng::new(seed);
        let agent_weights: Vec<f64> = s.states.iter().map(|x| x.agents).collect();
        let schedule_weights: Vec<f64> = s.schedules.iter().map(|x| x.share).collect();
        let behaviour_weights: Vec<f64> = s.behaviours.iter().map(|x| x.share).collect();
        let mut agents = Vec::with_capacity(s.agents as usize);
        let mut licensed = vec![Vec::new(); states.len()];
        for n in 0..s.agents {
            let home = rng.pick(&agent_weights);
            let location = zips_of[home][rng.below(zips_of[home].len())];
            let mut own = vec![home];
            if rng.chance(s.second_state) {
                let other = rng.pick(&agent_weights);
                if other != home {
                    own.push(other);
                }
            }
            let mut languages = 1u32;
            for (i, l) in s.languages.iter().enumerate() {
                if rng.chance(l.agents) {
                    languages |= 1 << (i + 1);
                }
            }
            let schedule_index = rng.pick(&schedule_weights);
            let schedule = s.schedules[schedule_index];
            let hours = (schedule.to - schedule.from < 24).then(|| {
                // Working hours are local; the offset at the start of the day holds all day.
                let offset = jiff::tz::TimeZone::get(location.time_zone)
                    .map_or(0, |tz| i64::from(tz.to_offset(midnight).seconds()));
                let utc = |hour: u8| (i64::from(hour) * 3600 - offset).rem_euclid(86_400);
                (utc(schedule.from), utc(schedule.to))
            });
            let index = agents.len();
            for &st in &own {
                licensed[st].push(index);
            }
            agents.push(Agent {
                id: i64::from(n) + 1,
                states: own.iter().map(|&i| states[i]).collect(),
                languages,
                location,
                hours,
                schedule: schedule_index,
                behaviour: rng.pick(&behaviour_weights),
            });
        }
        let request_weights: Vec<f64> = s.states.iter().map(|x| x.requests).collect();
        let mut language_weights: Vec<f64> =
            vec![1.0 - s.languages.iter().map(|l| l.requests).sum::<f64>()];
        language_weights.extend(s.languages.iter().map(|l| l.requests));
        let mut requests: Vec<Request> = (0..s.requests)
            .map(|_| {
                let hour = rng.pick(&s.arrival_shape);
                let second = rng.below(3600);
                let at = midnight
                    + jiff::SignedDuration::from_secs(
                        i64::try_from(hour * 3600 + second).unwrap_or_default(),
                    );
                let st = rng.pick(&request_weights);
                Request {
                    at,
                    state: states[st],
                    state_index: st,
                    location: zips_of[st][rng.below(zips_of[st].len())],
                    language: u8::try_from(rng.pick(&language_weights)).unwrap_or_default(),
                }
            })
            .collect();
        requests.sort_by_key(|r| r.at);
        Ok(Self {
            agents,
            licensed,
            requests,
        })
    }
}
