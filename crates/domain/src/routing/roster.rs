//! A state's candidates kept between decisions in parallel arrays (DESIGN.md §9): each array
//! holds one thing routing reads, so a decision over a whole state touches a few bytes of the
//! agents it leaves out and the rest only of those it ranks. What does not depend on the
//! request (suspension, eligibility in the state, registration, preference) is worked out
//! once, when a member is set.
use jiff::Timestamp;

use super::{
    Agents, Decision, Filter, Policy, Reach, Request, Responsiveness, Tally, standing, wait_key,
};
use crate::geo::{UsState, Zip, ZipInfo};
use crate::lang;

/// What routing knows of an agent that does not depend on the request; `'s` the life of the
/// states, `'z` of the place.
#[derive(Debug, Clone, Copy)]
pub struct Member<'s, 'z> {
    pub agent_id: i64,
    /// As in [`super::Candidate`]: `None` when the agent is not eligible for the plan year.
    pub eligible_states: Option<&'s [UsState]>,
    pub registration_complete: bool,
    pub prefers_state: bool,
    pub suspended: bool,
    pub languages: Languages,
    /// Accepted referrals not yet followed up and open offers, as in
    /// [`super::Candidate::open_referrals`].
    pub open_referrals: u32,
    pub location: Option<&'z ZipInfo>,
    pub last_offered_at: Option<Timestamp>,
    pub responsiveness: Responsiveness,
}

/// A set of the bundled languages ([`lang::languages`]), one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Languages(u64);

impl Languages {
    /// The bundled languages among `codes`; others can never be asked for, and are left out.
    pub fn of<'s>(codes: impl IntoIterator<Item = &'s str>) -> Self {
        let list = lang::languages();
        Self(
            codes
                .into_iter()
                .filter_map(|code| list.iter().position(|l| l.code == code))
                .filter(|&i| i < 64)
                .fold(0, |set, i| set | 1 << i),
        )
    }

    fn shares(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// The candidates of one state, in agent order.
#[derive(Debug, Clone)]
pub struct Roster<'a> {
    state: UsState,
    ids: Vec<i64>,
    /// Read of every agent.
    screens: Vec<Screen>,
    /// Read of every agent who qualifies.
    spots: Vec<Spot>,
    /// Read of the few who make the ranking.
    locations: Vec<Option<&'a ZipInfo>>,
    last_offered: Vec<Option<Timestamp>>,
    responsiveness: Vec<Responsiveness>,
}

/// What tells whether an agent qualifies, besides availability.
#[derive(Debug, Clone, Copy)]
struct Screen {
    /// The first reason not depending on the request that leaves the agent out, as
    /// `Filter as u8 + 1`; 0 for none.
    standing: u8,
    open_referrals: u32,
    languages: Languages,
}

/// What tells most qualifying agents out of the ranking without working out a distance.
#[derive(Debug, Clone, Copy)]
struct Spot {
    /// `last_offered_at` as a [`wait_key`].
    wait: i64,
    zip: Option<Zip>,
    /// Latitude and longitude in single precision; NaN when the place is unknown.
    place: (f32, f32),
}

impl<'a> Roster<'a> {
    /// An empty roster of the candidates for requests from `state`.
    pub fn new(state: UsState) -> Self {
        Self {
            state,
            ids: Vec::new(),
            screens: Vec::new(),
            spots: Vec::new(),
            locations: Vec::new(),
            last_offered: Vec::new(),
            responsiveness: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Where `agent_id` is, or would go to keep agent order.
    pub fn position(&self, agent_id: i64) -> Result<usize, usize> {
        self.ids.binary_search(&agent_id)
    }

    /// Sets what is known of a member, adding them in agent order if new; returns their
    /// position.
    pub fn set(&mut self, m: &Member<'_, 'a>) -> usize {
        let screen = Screen {
            standing: self.standing_of(m),
            open_referrals: m.open_referrals,
            languages: m.languages,
        };
        #[expect(
            clippy::cast_possible_truncation,
            reason = "single precision on purpose"
        )]
        let spot = Spot {
            wait: wait_key(m.last_offered_at),
            zip: m.location.map(|l| l.zip),
            place: m.location.map_or((f32::NAN, f32::NAN), |l| {
                (l.latitude as f32, l.longitude as f32)
            }),
        };
        match self.position(m.agent_id) {
            Ok(i) => {
                self.screens[i] = screen;
                self.spots[i] = spot;
                self.locations[i] = m.location;
                self.last_offered[i] = m.last_offered_at;
                self.responsiveness[i] = m.responsiveness;
                i
            }
            Err(i) => {
                self.ids.insert(i, m.agent_id);
                self.screens.insert(i, screen);
                self.spots.insert(i, spot);
                self.locations.insert(i, m.location);
                self.last_offered.insert(i, m.last_offered_at);
                self.responsiveness.insert(i, m.responsiveness);
                i
            }
        }
    }

    /// [`standing`] as kept: `Filter as u8 + 1`, 0 for none.
    fn standing_of(&self, m: &Member<'_, '_>) -> u8 {
        standing(
            self.state,
            m.suspended,
            m.eligible_states,
            m.registration_complete,
            m.prefers_state,
        )
        .map_or(0, |w| w as u8 + 1)
    }

    /// The decision for a request from this roster's state, in `language`, already offered
    /// to the agents `offered`; `available(i)` tells whether the member at position `i` is
    /// available now, asked only of those who pass the rules before it. The same decision
    /// as [`super::decide`] over the same agents.
    pub fn decide(
        &self,
        request: &Request<'_>,
        language: Languages,
        offered: &[i64],
        mut available: impl FnMut(usize) -> bool,
        policy: &Policy,
        top: usize,
    ) -> Decision {
        // Positions of the agents offered before, in order, passed by as the scan reaches them.
        let mut offered: Vec<usize> = offered
            .iter()
            .filter_map(|&id| self.position(id).ok())
            .collect();
        offered.sort_unstable();
        offered.dedup();
        let mut offered = offered.into_iter().peekable();
        let code = |f: Filter| f as usize + 1;
        let why = |i: usize| {
            // The rules in their order, with as few branches as can be: in a state's agents,
            // which rule leaves the next one out is anybody's guess.
            let screen = self.screens[i];
            let standing = usize::from(screen.standing);
            let speaks = screen.languages.shares(language);
            let full = screen.open_referrals >= policy.capacity;
            // Selects rather than branches (availability is asked only when it matters).
            let early = if standing != 0 {
                standing
            } else if speaks {
                0
            } else {
                code(Filter::Language)
            };
            let mut why = early;
            if early == 0 {
                let available = available(i);
                let late = if full { code(Filter::AtCapacity) } else { 0 };
                why = if available {
                    late
                } else {
                    code(Filter::Unavailable)
                };
            }
            if offered.next_if_eq(&i).is_some() {
                why = code(Filter::OfferedBefore);
            }
            why
        };
        let tally = Tally::scan(self.len(), why, |i| self.ids[i]);
        tally.rank(request, self, top)
    }
}

impl<'z> Agents<'z> for Roster<'z> {
    fn agent_id(&self, i: usize) -> i64 {
        self.ids[i]
    }
    fn location(&self, i: usize) -> Option<&'z ZipInfo> {
        self.locations[i]
    }
    fn zip(&self, i: usize) -> Option<Zip> {
        self.spots[i].zip
    }
    fn may_be_within(&self, i: usize, reach: &Reach) -> bool {
        let (latitude, longitude) = self.spots[i].place;
        // NaN (no place) compares false: within reach for all this look can tell.
        latitude.is_nan() || reach.may_hold(latitude, longitude)
    }
    fn last_offered_at(&self, i: usize) -> Option<Timestamp> {
        self.last_offered[i]
    }
    fn wait(&self, i: usize) -> i64 {
        self.spots[i].wait
    }
    fn responsiveness(&self, i: usize) -> Responsiveness {
        self.responsiveness[i]
    }
}
