//! Matching and ranking (SPEC.md §6.2) and the offer strategies (§6.3): which agents may be
//! offered a referral, in what order, and how many offers are due at a given moment.
//!
//! Pure functions over facts the caller gathered; the result doubles as the decision log.
use std::cmp::Ordering;

use jiff::{SignedDuration, Timestamp};

use crate::geo::{UsState, Zip, ZipInfo};

/// An agent who misses this many offers in a row is switched to unavailable (red).
pub const MISSED_OFFERS_PAUSE: u32 = 3;

/// How offers go out. In every strategy the first accept wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The program's: one agent at a time; the next one on decline or timeout.
    OneAtATime,
    /// Every `step` one more agent is offered while earlier offers stay open.
    Cascade { step: SignedDuration },
    /// The top `size` agents at once.
    Broadcast { size: u16 },
    /// Ours, chosen with the simulator (`hod simulate`): one agent at a time, one more every
    /// `step` while nobody has answered, at most `width` open together; and each agent's
    /// window fitted to how fast they usually accept (see [`Policy::window_for`]).
    Adaptive { step: SignedDuration, width: u16 },
}

impl Strategy {
    /// Every strategy's id, as the settings and `hod simulate --strategy` name them.
    pub const IDS: [&'static str; 4] = ["one_at_a_time", "cascade", "broadcast", "adaptive"];

    /// The ids as a list for a message: "one_at_a_time, cascade, broadcast or adaptive".
    pub fn choices() -> String {
        let (last, rest) = Self::IDS.split_last().expect("not empty");
        format!("{} or {last}", rest.join(", "))
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::OneAtATime => "one_at_a_time",
            Self::Cascade { .. } => "cascade",
            Self::Broadcast { .. } => "broadcast",
            Self::Adaptive { .. } => "adaptive",
        }
    }
}

/// An agent's window under [`Strategy::Adaptive`] is this many times their usual time to
/// accept: an agent who answers in a minute and has not in four is most likely away.
const ADAPTIVE_WINDOW_FACTOR: f64 = 4.0;

/// The program's routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub strategy: Strategy,
    /// How long an agent has to accept or decline.
    pub offer_window: SignedDuration,
    /// After this long without an acceptance the request is unserved.
    pub max_wait: SignedDuration,
    /// Open referrals (accepted, not yet followed up) an agent may hold.
    pub capacity: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            strategy: Strategy::OneAtATime,
            offer_window: SignedDuration::from_mins(15),
            max_wait: SignedDuration::from_mins(60),
            capacity: 5,
        }
    }
}

impl Policy {
    /// How many new offers are due now, given the open ones and when the last went out.
    pub fn offers_due(
        &self,
        open: usize,
        last_offer_at: Option<Timestamp>,
        now: Timestamp,
    ) -> usize {
        match self.strategy {
            Strategy::OneAtATime => usize::from(open == 0),
            Strategy::Broadcast { size } if open == 0 => usize::from(size.max(1)),
            Strategy::Broadcast { .. } => 0,
            Strategy::Cascade { step } => {
                let stepped = last_offer_at.is_none_or(|at| at + step <= now);
                usize::from(open == 0 || stepped)
            }
            Strategy::Adaptive { step, width } => {
                let stepped = last_offer_at.is_none_or(|at| at + step <= now);
                usize::from(open == 0 || (stepped && open < usize::from(width)))
            }
        }
    }

    /// How long one agent has to answer: the program's window, except under
    /// [`Strategy::Adaptive`], where it is fitted to the agent's usual time to accept (never
    /// shorter than the step, never longer than the program's window; a newcomer's usual
    /// time gives the whole window).
    pub fn window_for(&self, agent: Responsiveness) -> SignedDuration {
        match self.strategy {
            Strategy::Adaptive { step, .. } => {
                let fitted = SignedDuration::try_from_secs_f64(
                    agent.accept_secs.max(0.0) * ADAPTIVE_WINDOW_FACTOR,
                )
                .unwrap_or(self.offer_window);
                fitted.clamp(step.min(self.offer_window), self.offer_window)
            }
            _ => self.offer_window,
        }
    }

    /// When the router must look at the referral again: the first open offer to lapse, the
    /// next cascade step, or the end of the maximum wait, whichever comes first.
    pub fn next_check(
        &self,
        created_at: Timestamp,
        open_expiries: impl IntoIterator<Item = Timestamp>,
        last_offer_at: Option<Timestamp>,
    ) -> Timestamp {
        let mut next = created_at + self.max_wait;
        let mut open = 0;
        for e in open_expiries {
            next = next.min(e);
            open += 1;
        }
        // A step counts only while it could add an offer.
        let step = match self.strategy {
            Strategy::Cascade { step } => Some(step),
            Strategy::Adaptive { step, width } if open < usize::from(width) => Some(step),
            _ => None,
        };
        if let (Some(step), Some(at)) = (step, last_offer_at) {
            next = next.min(at + step);
        }
        next
    }
}

/// The request as routing sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub zip: Zip,
    pub state: UsState,
    pub location: Option<&'a ZipInfo>,
}

/// Recent acceptance rate and time to accept, as moving averages (each new outcome weighs
/// one fifth), so that an agent's last weeks count more than last year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Responsiveness {
    /// Share of offers accepted, 0..=1.
    pub accept_rate: f64,
    /// Seconds from offer to acceptance.
    pub accept_secs: f64,
}

impl Default for Responsiveness {
    /// A newcomer starts in the middle: neither favoured nor held back.
    fn default() -> Self {
        Self {
            accept_rate: 0.5,
            accept_secs: 300.0,
        }
    }
}

const WEIGHT: f64 = 0.2;

impl Responsiveness {
    pub fn after_accept(self, after: SignedDuration) -> Self {
        Self {
            accept_rate: self.accept_rate * (1.0 - WEIGHT) + WEIGHT,
            accept_secs: self.accept_secs * (1.0 - WEIGHT) + WEIGHT * after.as_secs_f64().max(0.0),
        }
    }

    /// A declined or lapsed offer.
    pub fn after_refusal(self) -> Self {
        Self {
            accept_rate: self.accept_rate * (1.0 - WEIGHT),
            ..self
        }
    }

    /// Higher is better: the acceptance rate, discounted by slowness (ten minutes halves it).
    pub fn score(self) -> f64 {
        self.accept_rate / (1.0 + self.accept_secs / 600.0)
    }
}

/// What routing knows about one agent at the moment of the decision.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub agent_id: i64,
    /// States of the stored eligibility verdict for the plan year; `None` when the agent is
    /// not eligible for it at all.
    pub eligible_states: Option<&'a [UsState]>,
    /// Account created and current terms accepted.
    pub registration_complete: bool,
    pub prefers_state: bool,
    pub speaks_language: bool,
    /// Schedule, override switch and Extended Absence, in the agent's time zone.
    pub available: bool,
    /// Work the agent holds: accepted referrals not yet followed up, and open offers on
    /// other referrals (each could become one). Compared with the capacity.
    pub open_referrals: u32,
    pub offered_before: bool,
    /// Suspended by an administrator: no offers until reinstated.
    pub suspended: bool,
    pub location: Option<&'a ZipInfo>,
    pub last_offered_at: Option<Timestamp>,
    pub responsiveness: Responsiveness,
}

/// Why an agent was left out. Checked in this order; the first that applies is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    OfferedBefore,
    Suspended,
    NotEligible,
    NotEligibleInState,
    RegistrationIncomplete,
    StateNotPreferred,
    Language,
    Unavailable,
    AtCapacity,
}

impl Filter {
    pub const ALL: [Self; 9] = [
        Self::OfferedBefore,
        Self::Suspended,
        Self::NotEligible,
        Self::NotEligibleInState,
        Self::RegistrationIncomplete,
        Self::StateNotPreferred,
        Self::Language,
        Self::Unavailable,
        Self::AtCapacity,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::OfferedBefore => "offered_before",
            Self::Suspended => "suspended",
            Self::NotEligible => "not_eligible",
            Self::NotEligibleInState => "not_eligible_in_state",
            Self::RegistrationIncomplete => "registration_incomplete",
            Self::StateNotPreferred => "state_not_preferred",
            Self::Language => "language",
            Self::Unavailable => "unavailable",
            Self::AtCapacity => "at_capacity",
        }
    }
}

/// Distance bands, nearest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    SameZip,
    Within25Miles,
    Within50Miles,
    InState,
}

impl Band {
    pub fn id(self) -> &'static str {
        match self {
            Self::SameZip => "same_zip",
            Self::Within25Miles => "within_25_miles",
            Self::Within50Miles => "within_50_miles",
            Self::InState => "in_state",
        }
    }

    /// The band of an agent's ZIP, and the distance when it was worked out. Most agents of a
    /// state are far away: a latitude/longitude box tells them apart without trigonometry,
    /// and their distance is worked out later only for those who make the ranking.
    fn of(request: &Request<'_>, reach: &Reach, agent: Option<&ZipInfo>) -> (Self, Option<f64>) {
        let Some(agent) = agent else {
            return (Self::InState, None);
        };
        if agent.zip == request.zip {
            return (Self::SameZip, Some(0.0));
        }
        let Some(consumer) = request.location else {
            return (Self::InState, None);
        };
        if (agent.latitude - consumer.latitude).abs() > reach.lat_degrees
            || (agent.longitude - consumer.longitude).abs() > reach.lon_degrees
        {
            return (Self::InState, None);
        }
        let miles = consumer.miles_to(agent);
        let band = if miles <= 25.0 {
            Self::Within25Miles
        } else if miles <= 50.0 {
            Self::Within50Miles
        } else {
            Self::InState
        };
        (band, Some(miles))
    }
}

/// How far, in degrees, 50 miles can reach from the consumer: beyond either, an agent is
/// certainly more than 50 miles away.
struct Reach {
    lat_degrees: f64,
    lon_degrees: f64,
}

impl Reach {
    fn around(consumer: Option<&ZipInfo>) -> Self {
        // A degree of latitude is at least 68.7 miles; a degree of longitude at least
        // 68.7 × cos(latitude) miles at the most polar latitude within reach.
        const MILES_PER_DEGREE: f64 = 68.7;
        let lat_degrees = 50.0 / MILES_PER_DEGREE;
        let polar = consumer.map_or(89.0, |c| (c.latitude.abs() + lat_degrees).min(89.0));
        Self {
            lat_degrees,
            lon_degrees: 50.0 / (MILES_PER_DEGREE * polar.to_radians().cos()),
        }
    }
}

/// One agent who may be offered the referral, with what placed them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub agent_id: i64,
    pub band: Band,
    pub miles: Option<f64>,
    pub last_offered_at: Option<Timestamp>,
    pub responsiveness: f64,
}

/// Nearest band first; then whoever waited longest for an offer (never offered = longest);
/// then the more responsive; the agent id keeps the order total.
fn ranking(a: &Ranked, b: &Ranked) -> Ordering {
    a.band
        .cmp(&b.band)
        .then_with(|| match (a.last_offered_at, b.last_offered_at) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(&y),
        })
        .then_with(|| b.responsiveness.total_cmp(&a.responsiveness))
        .then_with(|| a.agent_id.cmp(&b.agent_id))
}

/// How many of the agents left out for one reason a decision names (it counts them all).
pub const FILTERED_EXAMPLES: usize = 20;

/// The outcome of matching: the best `top` candidates in order, how many qualified, and
/// who was left out and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub ranked: Vec<Ranked>,
    pub qualified: usize,
    /// How many were left out for each reason, in the order of [`Filter`].
    pub filtered_count: [usize; Filter::ALL.len()],
    /// Who was left out and why: the first [`FILTERED_EXAMPLES`] of each reason.
    pub filtered: Vec<(i64, Filter)>,
}

pub fn filter(request: &Request<'_>, c: &Candidate<'_>, policy: &Policy) -> Option<Filter> {
    Some(if c.offered_before {
        Filter::OfferedBefore
    } else if c.suspended {
        Filter::Suspended
    } else if c.eligible_states.is_none() {
        Filter::NotEligible
    } else if !c
        .eligible_states
        .is_some_and(|s| s.contains(&request.state))
    {
        Filter::NotEligibleInState
    } else if !c.registration_complete {
        Filter::RegistrationIncomplete
    } else if !c.prefers_state {
        Filter::StateNotPreferred
    } else if !c.speaks_language {
        Filter::Language
    } else if !c.available {
        Filter::Unavailable
    } else if c.open_referrals >= policy.capacity {
        Filter::AtCapacity
    } else {
        return None;
    })
}

/// Filters and ranks `candidates`, keeping the best `top` in order.
pub fn decide<'a>(
    request: &Request<'_>,
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    policy: &Policy,
    top: usize,
) -> Decision {
    let mut d = Decision::default();
    let reach = Reach::around(request.location);
    // The best `top` so far, in order, each with their ZIP (so that the distance of a far
    // agent who makes the ranking can be worked out at the end). Most agents lose to the
    // current last place in one comparison, so a whole state is ranked in one pass.
    let mut best: Vec<(Ranked, Option<&ZipInfo>)> = Vec::with_capacity(top.min(1024) + 1);
    for c in candidates {
        match filter(request, &c, policy) {
            Some(why) => {
                let n = &mut d.filtered_count[why as usize];
                *n += 1;
                if *n <= FILTERED_EXAMPLES {
                    d.filtered.push((c.agent_id, why));
                }
            }
            None => {
                d.qualified += 1;
                if top == 0 {
                    continue;
                }
                let (band, miles) = Band::of(request, &reach, c.location);
                let r = Ranked {
                    agent_id: c.agent_id,
                    band,
                    miles,
                    last_offered_at: c.last_offered_at,
                    responsiveness: c.responsiveness.score(),
                };
                if best.len() == top
                    && best
                        .last()
                        .is_some_and(|(last, _)| ranking(&r, last) != Ordering::Less)
                {
                    continue;
                }
                let at = best.partition_point(|(x, _)| ranking(x, &r) == Ordering::Less);
                best.insert(at, (r, c.location));
                best.truncate(top);
            }
        }
    }
    let ranked = best
        .into_iter()
        .map(|(mut r, at)| {
            if let (None, Some(consumer), Some(at)) = (r.miles, request.location, at) {
                r.miles = Some(consumer.miles_to(at));
            }
            r
        })
        .collect();
    d.ranked = ranked;
    d
}

#[cfg(test)]
mod tests;
