//! Matching and ranking (SPEC.md §6.2) and the offer strategies (§6.3): which agents may be
//! offered a referral, in what order, and how many offers are due at a given moment.
//!
//! Pure functions over facts the caller gathered; the result doubles as the decision log.
use std::cmp::Ordering;

use jiff::{SignedDuration, Timestamp};

use crate::geo::{EARTH_RADIUS_MILES, UsState, Zip, ZipInfo};

mod roster;
pub use roster::{Languages, Member, Roster};

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
    /// The nearest band an agent in `zip` (`None`: not in the directory) could be in,
    /// without working out distances.
    #[inline]
    fn floor(request: &Request<'_>, zip: Option<Zip>) -> Self {
        match (zip, request.location) {
            (Some(zip), _) if zip == request.zip => Self::SameZip,
            (Some(_), Some(_)) => Self::Within25Miles,
            _ => Self::InState,
        }
    }

    #[inline]
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
        // Near 25 or 50 miles the great-circle distance decides; elsewhere a flat
        // approximation tells the band, and the distance is worked out only for agents who
        // make the ranking.
        let near = reach.flat_miles(agent);
        let (lower, upper) = (1.0 - Reach::FLAT_MARGIN, 1.0 + Reach::FLAT_MARGIN);
        if near <= 25.0 * lower {
            (Self::Within25Miles, None)
        } else if near > 25.0 * upper && near <= 50.0 * lower {
            (Self::Within50Miles, None)
        } else if near > 50.0 * upper {
            (Self::InState, None)
        } else {
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
}

/// How far, in degrees, 50 miles can reach from the consumer: beyond either, an agent is
/// certainly more than 50 miles away.
struct Reach {
    lat_degrees: f64,
    lon_degrees: f64,
    /// The consumer's latitude and longitude, and the sine and cosine of the latitude.
    consumer: Option<[f64; 4]>,
    /// The consumer's place, if known, in single precision with the reach widened by
    /// [`Reach::SINGLE_PRECISION_MARGIN`], for a first look at places kept that way.
    single: Option<[f32; 4]>,
}

impl Reach {
    fn around(consumer: Option<&ZipInfo>) -> Self {
        // A degree of latitude is at least 68.7 miles; a degree of longitude at least
        // 68.7 × cos(latitude) miles at the most polar latitude within reach.
        const MILES_PER_DEGREE: f64 = 68.7;
        let lat_degrees = 50.0 / MILES_PER_DEGREE;
        let polar = consumer.map_or(89.0, |c| (c.latitude.abs() + lat_degrees).min(89.0));
        let lon_degrees = 50.0 / (MILES_PER_DEGREE * polar.to_radians().cos());
        let single = consumer.map(|c| {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "single precision on purpose"
            )]
            [
                c.latitude as f32,
                c.longitude as f32,
                (lat_degrees + Self::SINGLE_PRECISION_MARGIN) as f32,
                (lon_degrees + Self::SINGLE_PRECISION_MARGIN) as f32,
            ]
        });
        Self {
            lat_degrees,
            lon_degrees,
            consumer: consumer.map(|c| {
                let (sin, cos) = c.latitude.to_radians().sin_cos();
                [c.latitude, c.longitude, sin, cos]
            }),
            single,
        }
    }

    /// How far [`Reach::flat_miles`] may be from the great-circle distance within reach, as a
    /// share: far more than the flat approximation's error over 50 miles (under 0.1%).
    const FLAT_MARGIN: f64 = 0.01;

    /// The distance from the consumer on a plane touching the Earth between the two places
    /// (the cosine of the mean latitude from its first-order expansion): no trigonometry per
    /// agent. Only meaningful within reach.
    fn flat_miles(&self, agent: &ZipInfo) -> f64 {
        let Some([latitude, longitude, sin, cos]) = self.consumer else {
            return f64::INFINITY;
        };
        let d_lat = (agent.latitude - latitude).to_radians();
        let cos_mean = cos - sin * d_lat / 2.0;
        let d_lon = (agent.longitude - longitude).to_radians() * cos_mean;
        EARTH_RADIUS_MILES * (d_lat * d_lat + d_lon * d_lon).sqrt()
    }

    /// Degrees (about 100 m) added to the reach for places in single precision, whose
    /// rounding is a few metres: what the first look keeps, [`Band::of`] decides exactly.
    const SINGLE_PRECISION_MARGIN: f64 = 0.001;

    /// Whether a place given in single precision could be within reach.
    fn may_hold(&self, latitude: f32, longitude: f32) -> bool {
        self.single.is_none_or(|[lat, lon, dlat, dlon]| {
            (latitude - lat).abs() <= dlat && (longitude - lon).abs() <= dlon
        })
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
        .then_with(|| a.last_offered_at.cmp(&b.last_offered_at))
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

#[inline]
pub fn filter(request: &Request<'_>, c: &Candidate<'_>, policy: &Policy) -> Option<Filter> {
    Some(if c.offered_before {
        Filter::OfferedBefore
    } else if let Some(why) = standing(
        request.state,
        c.suspended,
        c.eligible_states,
        c.registration_complete,
        c.prefers_state,
    ) {
        why
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

/// The reasons that leave an agent out whatever the request from `state` (in the order of
/// [`Filter`]): what a [`Roster`] works out once per agent.
#[inline]
fn standing(
    state: UsState,
    suspended: bool,
    eligible_states: Option<&[UsState]>,
    registration_complete: bool,
    prefers_state: bool,
) -> Option<Filter> {
    Some(if suspended {
        Filter::Suspended
    } else if eligible_states.is_none() {
        Filter::NotEligible
    } else if !eligible_states.is_some_and(|s| s.contains(&state)) {
        Filter::NotEligibleInState
    } else if !registration_complete {
        Filter::RegistrationIncomplete
    } else if !prefers_state {
        Filter::StateNotPreferred
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
    let candidates: Vec<Candidate<'a>> = candidates.into_iter().collect();
    let tally = Tally::scan(
        candidates.len(),
        |i| filter(request, &candidates[i], policy).map_or(0, |w| w as usize + 1),
        |i| candidates[i].agent_id,
    );
    tally.rank(request, candidates.as_slice(), top)
}

/// What ranking reads of the agent at each position, wherever the facts are kept: each
/// field is read only when the decision gets that far with the agent.
trait Agents<'z> {
    fn agent_id(&self, i: usize) -> i64;
    fn location(&self, i: usize) -> Option<&'z ZipInfo>;
    /// The ZIP of [`Self::location`].
    fn zip(&self, i: usize) -> Option<Zip> {
        self.location(i).map(|l| l.zip)
    }
    /// Whether the agent could be within the reach of the consumer's place; `true` unless
    /// the facts tell that cheaper than [`Band::of`].
    fn may_be_within(&self, _i: usize, _reach: &Reach) -> bool {
        true
    }
    fn last_offered_at(&self, i: usize) -> Option<Timestamp>;
    /// [`Self::last_offered_at`] as a [`wait_key`].
    fn wait(&self, i: usize) -> i64 {
        wait_key(self.last_offered_at(i))
    }
    fn responsiveness(&self, i: usize) -> Responsiveness;
}

/// When an agent was last offered a referral, as a number in the same order (never first):
/// nanoseconds since 1970, within the years 1678 to 2262 that `i64` holds.
fn wait_key(last_offered_at: Option<Timestamp>) -> i64 {
    last_offered_at.map_or(i64::MIN, |t| {
        i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_second() < 0 {
            i64::MIN + 1
        } else {
            i64::MAX
        })
    })
}

impl<'z> Agents<'z> for [Candidate<'z>] {
    fn agent_id(&self, i: usize) -> i64 {
        self[i].agent_id
    }
    fn location(&self, i: usize) -> Option<&'z ZipInfo> {
        self[i].location
    }
    fn last_offered_at(&self, i: usize) -> Option<Timestamp> {
        self[i].last_offered_at
    }
    fn responsiveness(&self, i: usize) -> Responsiveness {
        self[i].responsiveness
    }
}

/// The first pass of a decision: who was left out and why, and the positions of those who
/// qualify, for [`Tally::rank`] to rank.
struct Tally {
    decision: Decision,
    /// By reason, as `Filter as usize + 1`; 0 counts those who qualify.
    counts: [usize; Filter::ALL.len() + 1],
    /// The positions of those who qualify, then room for one more: each agent's position is
    /// written after the last and kept only if they qualify, which costs no branch.
    qualifying: Vec<u32>,
    qualified: usize,
}

impl Tally {
    /// Goes through `agents` agents: `why(i)` is the reason the agent at position `i` is
    /// left out (as `Filter as usize + 1`), or 0 if they qualify.
    #[inline]
    fn scan(
        agents: usize,
        mut why: impl FnMut(usize) -> usize,
        agent_id: impl Fn(usize) -> i64,
    ) -> Self {
        // Kept in locals, not in `Self`: the loop runs once per agent of a state, and
        // counters that stay in registers are what makes it fast.
        let mut counts = [0; Filter::ALL.len() + 1];
        let mut filtered = Vec::new();
        let mut qualifying = vec![0; agents + 1];
        let mut qualified = 0;
        for i in 0..agents {
            let why = why(i);
            counts[why] += 1;
            // Mostly false after the first few agents: a predictable branch.
            if counts[why] <= FILTERED_EXAMPLES && why != 0 {
                filtered.push((agent_id(i), Filter::ALL[why - 1]));
            }
            qualifying[qualified] = u32::try_from(i).unwrap_or(u32::MAX);
            qualified += usize::from(why == 0);
        }
        Self {
            decision: Decision {
                filtered,
                ..Decision::default()
            },
            counts,
            qualifying,
            qualified,
        }
    }

    /// The decision: the counts, and the best `top` of those who qualify, in order.
    fn rank<'z, A: Agents<'z> + ?Sized>(
        self,
        request: &Request<'_>,
        agents: &A,
        top: usize,
    ) -> Decision {
        let Self {
            mut decision,
            counts,
            qualifying,
            qualified,
        } = self;
        decision.qualified = qualified;
        decision.filtered_count.copy_from_slice(&counts[1..]);
        if top == 0 {
            return decision;
        }
        let reach = Reach::around(request.location);
        // The best `top` so far, in order, each with their ZIP (so that the distance of a far
        // agent who makes the ranking can be worked out at the end). Most agents lose to the
        // current last place in one comparison, so a whole state is ranked in one pass.
        let mut best: Vec<(Ranked, Option<&ZipInfo>)> = Vec::with_capacity(top.min(1024) + 1);
        // The last place's band and wait, once there are `top`.
        let mut bar: Option<(Band, i64)> = None;
        for &i in &qualifying[..qualified] {
            let i = i as usize;
            // Most agents lose to the last place on band or waiting time alone: first on the
            // best band they could be in, then on their band; the distance and the score are
            // worked out only for those who do not.
            let wait = agents.wait(i);
            let loses = |band| bar.is_some_and(|bar| (band, wait) > bar);
            if loses(Band::floor(request, agents.zip(i))) {
                continue;
            }
            if !agents.may_be_within(i, &reach) && loses(Band::InState) {
                continue;
            }
            let location = agents.location(i);
            let (band, miles) = Band::of(request, &reach, location);
            if loses(band) {
                continue;
            }
            let r = Ranked {
                agent_id: agents.agent_id(i),
                band,
                miles,
                last_offered_at: agents.last_offered_at(i),
                responsiveness: agents.responsiveness(i).score(),
            };
            if best.len() == top
                && best
                    .last()
                    .is_some_and(|(last, _)| ranking(&r, last) != Ordering::Less)
            {
                continue;
            }
            let at = best.partition_point(|(x, _)| ranking(x, &r) == Ordering::Less);
            best.insert(at, (r, location));
            best.truncate(top);
            if best.len() == top {
                bar = best
                    .last()
                    .map(|(last, _)| (last.band, wait_key(last.last_offered_at)));
            }
        }
        decision.ranked = best
            .into_iter()
            .map(|(mut r, at)| {
                if let (None, Some(consumer), Some(at)) = (r.miles, request.location, at) {
                    r.miles = Some(consumer.miles_to(at));
                }
                r
            })
            .collect();
        decision
    }
}

#[cfg(test)]
mod tests;
