//! Routing's copy of each state's candidate facts, kept between decisions (DESIGN.md §9).
//! Reading every candidate of a state with their counters and hours for each round cost more
//! than everything else intake does; now a round asks the database only for the agents changed
//! since this node last looked (triggers stamp them, on any node or process), and reloads a
//! state whose set of agents changed.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hod_db::Tx;
use hod_db::referrals::{self as db, AgentFacts, CandidateRow, FactsCursor, OfferRow};
use hod_domain::availability::is_available;
use hod_domain::routing::{self, Decision, Languages, Member, Policy, Responsiveness, Roster};
use hod_domain::{UsState, Zip, ZipInfo};
use jiff::Timestamp;

use crate::{App, Result};

/// How long PostgreSQL keeps its log of changed agents; a node that has not looked at a
/// state for half as long reloads it rather than trust a log that may have been pruned.
pub(crate) const FACTS_LOG_KEPT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    state: UsState,
    plan_year: i16,
    /// The current terms' ids: `terms_accepted` counts acceptances of these.
    terms: Vec<i64>,
}

#[derive(Debug)]
struct StateFacts {
    layout: i64,
    cursor: FactsCursor,
    looked: Instant,
    /// By agent id.
    agents: Vec<Kept>,
    /// What decisions read of `agents`, position for position.
    roster: Roster<'static>,
}

impl StateFacts {
    fn new(key: &Key, layout: i64, cursor: FactsCursor, agents: Vec<Kept>) -> Self {
        let mut roster = Roster::new(key.state);
        for a in &agents {
            roster.set(&a.member(key.terms.len()));
        }
        Self {
            layout,
            cursor,
            looked: Instant::now(),
            agents,
            roster,
        }
    }

    /// Those of `agents` the state lists. An agent who began to prefer the state changed its
    /// layout, which reloads it.
    fn listed(&self, mut agents: Vec<i64>) -> Vec<i64> {
        agents.retain(|id| self.roster.position(*id).is_ok());
        agents
    }

    /// Replaces or adds each changed agent, keeping agent order. An agent changed but no
    /// longer listed for the state is gone from it only through a layout change, which
    /// reloads the state instead.
    fn merge(&mut self, terms: usize, changed: impl Iterator<Item = Kept>) {
        for c in changed {
            match self.roster.set(&c.member(terms)) {
                i if self.agents.get(i).is_some_and(|a| a.id() == c.id()) => self.agents[i] = c,
                i => self.agents.insert(i, c),
            }
        }
    }
}

/// An agent's facts with what decisions read of them worked out once, when they arrive:
/// the states parsed, the place of the ZIP, the time zone.
#[derive(Debug)]
pub(super) struct Kept {
    pub facts: AgentFacts,
    pub eligible_states: Vec<UsState>,
    pub location: Option<&'static ZipInfo>,
    pub zone: jiff::tz::TimeZone,
}

impl Kept {
    fn id(&self) -> i64 {
        self.facts.row.agent_id
    }

    /// What routing keeps of the agent, `terms` being how many terms they must have accepted.
    fn member(&self, terms: usize) -> Member<'_, 'static> {
        let row = &self.facts.row;
        Member {
            agent_id: row.agent_id,
            eligible_states: (row.eligible == Some(true))
                .then_some(self.eligible_states.as_slice()),
            registration_complete: row.registered
                && usize::try_from(row.terms_accepted).unwrap_or(0) == terms,
            prefers_state: true,
            suspended: row.suspended,
            languages: Languages::of(self.facts.languages.iter().map(String::as_str)),
            // Offers held count too: an agent at capacity must not collect more offers than
            // they could accept. (Those held on the referral being decided do not matter: it
            // was offered to them before.)
            open_referrals: u32::try_from(row.open_referrals + row.open_offers).unwrap_or(u32::MAX),
            location: self.location,
            last_offered_at: row
                .last_offered_at
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            responsiveness: Responsiveness {
                accept_rate: row.accept_rate,
                accept_secs: row.accept_secs,
            },
        }
    }
}

impl App {
    fn keep(&self, facts: AgentFacts) -> Kept {
        let row = &facts.row;
        let eligible_states = row
            .eligible_states
            .split_whitespace()
            .filter_map(|s| UsState::parse(s).ok())
            .collect();
        let location = row
            .zip
            .as_deref()
            .and_then(|z| Zip::parse(z).ok())
            .and_then(|z| self.zips.get(z));
        let zone = jiff::tz::TimeZone::get(
            &self.zone_name(row.availability.time_zone.as_deref(), row.zip.as_deref()),
        )
        .unwrap_or_else(|_| self.settings.program_time_zone.clone());
        Kept {
            facts,
            eligible_states,
            location,
            zone,
        }
    }
}

/// Every state's facts on this node. Rounds for one state take turns with its copy; rounds
/// for different states do not wait for each other.
#[derive(Debug, Default)]
pub(crate) struct RoutingFacts(
    std::sync::Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Option<StateFacts>>>>>,
);

/// A state's facts, brought up to date in a round's transaction, for the round to pick from.
#[derive(Debug)]
pub(super) struct Facts {
    guard: tokio::sync::OwnedMutexGuard<Option<StateFacts>>,
    key: Key,
    /// Agents this transaction changed after the facts were brought up to date (a lapsed
    /// offer, a switch to unavailable), by position: seen in this round only, never kept.
    overlay: Vec<(usize, Kept)>,
}

impl RoutingFacts {
    /// The facts of `state`, up to date as of `tx`. Call before the round writes anything
    /// that concerns agents, so that only committed changes are kept.
    pub(super) async fn state(
        &self,
        app: &App,
        tx: &mut Tx,
        state: UsState,
        plan_year: i16,
        terms: &[i64],
    ) -> Result<Facts> {
        let key = Key {
            state,
            plan_year,
            terms: terms.to_vec(),
        };
        let slot = self
            .0
            .lock()
            .expect("the routing facts' map is never left half-changed")
            .entry(key.clone())
            .or_default()
            .clone();
        let mut guard = slot.lock_owned().await;
        let (cursor, layout) = db::facts_cursor(tx, state.code()).await?;
        let fresh = guard
            .as_ref()
            .is_some_and(|f| f.layout == layout && f.looked.elapsed() < FACTS_LOG_KEPT / 2);
        if fresh {
            let facts = guard.as_mut().expect("checked above");
            let changed = facts.listed(db::changed_agents(tx, facts.cursor).await?);
            let changed =
                db::state_facts(tx, plan_year, state.code(), terms, Some(&changed)).await?;
            facts.merge(terms.len(), changed.into_iter().map(|f| app.keep(f)));
            facts.cursor = cursor;
            facts.looked = Instant::now();
        } else {
            let agents = db::state_facts(tx, plan_year, state.code(), terms, None)
                .await?
                .into_iter()
                .map(|f| app.keep(f))
                .collect();
            *guard = Some(StateFacts::new(&key, layout, cursor, agents));
        }
        Ok(Facts {
            guard,
            key,
            overlay: Vec::new(),
        })
    }
}

impl Facts {
    fn state(&self) -> &StateFacts {
        self.guard.as_ref().expect("loaded by RoutingFacts::state")
    }

    /// Sees what this transaction has changed since the facts were brought up to date, for
    /// this round only.
    pub(super) async fn see_own_changes(&mut self, app: &App, tx: &mut Tx) -> Result<()> {
        // Only agents already listed: the round decides among those the facts list.
        let changed = self
            .state()
            .listed(db::changed_agents(tx, self.state().cursor).await?);
        let key = &self.key;
        let changed = db::state_facts(
            tx,
            key.plan_year,
            key.state.code(),
            &key.terms,
            Some(&changed),
        )
        .await?;
        let roster = &self.state().roster;
        let mut overlay: Vec<(usize, Kept)> = changed
            .into_iter()
            .filter_map(|f| Some((roster.position(f.row.agent_id).ok()?, app.keep(f))))
            .collect();
        overlay.sort_by_key(|(i, _)| *i);
        self.overlay = overlay;
        Ok(())
    }

    /// How many agents the state lists.
    pub(super) fn considered(&self) -> usize {
        self.state().agents.len()
    }

    /// The agent at position `i` as this round sees them.
    fn at(&self, i: usize) -> &Kept {
        match self.overlay.binary_search_by_key(&i, |(at, _)| *at) {
            Ok(o) => &self.overlay[o].1,
            Err(_) => &self.state().agents[i],
        }
    }

    /// An agent's facts as this round sees them.
    pub(super) fn row(&self, agent_id: i64) -> Option<&CandidateRow> {
        let i = self.state().roster.position(agent_id).ok()?;
        Some(&self.at(i).facts.row)
    }

    /// The decision for `request` in `language`, already offered to the agents of `offers`,
    /// at `now`.
    pub(super) fn decide(
        &self,
        request: &routing::Request<'_>,
        language: &str,
        offers: &[OfferRow],
        policy: &Policy,
        now: Timestamp,
        top: usize,
    ) -> Decision {
        let roster = &self.state().roster;
        let with_overlay;
        let roster = if self.overlay.is_empty() {
            roster
        } else {
            let mut r = roster.clone();
            for (_, kept) in &self.overlay {
                r.set(&kept.member(self.key.terms.len()));
            }
            with_overlay = r;
            &with_overlay
        };
        let offered: Vec<i64> = offers.iter().map(|o| o.agent_id).collect();
        // Agents share a few time zones: each local time is worked out once per decision.
        let mut local_times: HashMap<&str, jiff::civil::DateTime> = HashMap::new();
        let available = |i: usize| {
            let kept = self.at(i);
            let zone = &kept.zone;
            let local = *local_times
                .entry(zone.iana_name().unwrap_or_default())
                .or_insert_with(|| now.to_zoned(zone.clone()).datetime());
            let a = &kept.facts.row.availability;
            is_available(a.mode, &a.hours, a.absence.as_ref(), local)
        };
        roster.decide(
            request,
            Languages::of([language]),
            &offered,
            available,
            policy,
            top,
        )
    }
}
