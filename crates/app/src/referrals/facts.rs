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
use hod_domain::referral::OfferStatus;
use hod_domain::{UsState, Zip, ZipInfo};

use crate::{App, Result};

/// How long PostgreSQL keeps its log of changed agents; a node that has not looked at a
/// state for half as long reloads it rather than trust a log that may have been pruned.
pub(crate) const FACTS_LOG_KEPT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    state: String,
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

/// One candidate as seen for one referral.
#[derive(Debug)]
pub(super) struct Pick<'a> {
    pub kept: &'a Kept,
    pub row: &'a CandidateRow,
    pub speaks: bool,
    pub offered_before: bool,
    /// Offers the agent holds on other referrals, still open.
    pub open_offers: i64,
}

/// A state's facts, brought up to date in a round's transaction, for the round to pick from.
#[derive(Debug)]
pub(super) struct Facts {
    guard: tokio::sync::OwnedMutexGuard<Option<StateFacts>>,
    /// Agents this transaction changed after the facts were brought up to date (a lapsed
    /// offer, a switch to unavailable): seen in this round only, never kept.
    overlay: Vec<Kept>,
}

impl RoutingFacts {
    /// The facts of `state`, up to date as of `tx`. Call before the round writes anything
    /// that concerns agents, so that only committed changes are kept.
    pub(super) async fn state(
        &self,
        app: &App,
        tx: &mut Tx,
        state: &str,
        plan_year: i16,
        terms: &[i64],
    ) -> Result<Facts> {
        let key = Key {
            state: state.to_owned(),
            plan_year,
            terms: terms.to_vec(),
        };
        let slot = self
            .0
            .lock()
            .expect("the routing facts' map is never left half-changed")
            .entry(key)
            .or_default()
            .clone();
        let mut guard = slot.lock_owned().await;
        let cursor = db::facts_cursor(tx).await?;
        let layout = db::layout_version(tx, state).await?;
        let fresh = guard
            .as_ref()
            .is_some_and(|f| f.layout == layout && f.looked.elapsed() < FACTS_LOG_KEPT / 2);
        if fresh {
            let facts = guard.as_mut().expect("checked above");
            let changed = db::state_facts(tx, plan_year, state, terms, Some(facts.cursor)).await?;
            merge(&mut facts.agents, changed.into_iter().map(|f| app.keep(f)));
            facts.cursor = cursor;
            facts.looked = Instant::now();
        } else {
            let agents = db::state_facts(tx, plan_year, state, terms, None)
                .await?
                .into_iter()
                .map(|f| app.keep(f))
                .collect();
            *guard = Some(StateFacts {
                layout,
                cursor,
                looked: Instant::now(),
                agents,
            });
        }
        Ok(Facts {
            guard,
            overlay: Vec::new(),
        })
    }
}

/// Replaces or adds each changed agent, keeping the list in agent order. An agent changed
/// but no longer listed for the state is gone from it only through a layout change, which
/// reloads the state instead.
fn merge(agents: &mut Vec<Kept>, changed: impl Iterator<Item = Kept>) {
    for c in changed {
        match agents.binary_search_by_key(&c.facts.row.agent_id, |a| a.facts.row.agent_id) {
            Ok(i) => agents[i] = c,
            Err(i) => agents.insert(i, c),
        }
    }
}

impl Facts {
    fn state(&self) -> &StateFacts {
        self.guard.as_ref().expect("loaded by RoutingFacts::state")
    }

    /// Sees what this transaction has changed since the facts were brought up to date, for
    /// this round only.
    pub(super) async fn see_own_changes(
        &mut self,
        app: &App,
        tx: &mut Tx,
        state: &str,
        plan_year: i16,
        terms: &[i64],
    ) -> Result<()> {
        let since = self.state().cursor;
        self.overlay = db::state_facts(tx, plan_year, state, terms, Some(since))
            .await?
            .into_iter()
            .map(|f| app.keep(f))
            .collect();
        Ok(())
    }

    /// Every candidate as seen for a referral in `language` with these `offers`.
    pub(super) fn picks<'a>(&'a self, language: &str, offers: &[OfferRow]) -> Vec<Pick<'a>> {
        let overlay: HashMap<i64, &Kept> = self
            .overlay
            .iter()
            .map(|a| (a.facts.row.agent_id, a))
            .collect();
        // In agent order, as the decision log has always listed them.
        self.state()
            .agents
            .iter()
            .map(|a| overlay.get(&a.facts.row.agent_id).copied().unwrap_or(a))
            .map(|kept| {
                let a = &kept.facts;
                let id = a.row.agent_id;
                let open_here = offers
                    .iter()
                    .filter(|o| o.agent_id == id && o.status == OfferStatus::Open)
                    .count();
                Pick {
                    kept,
                    row: &a.row,
                    speaks: a.languages.iter().any(|l| l == language),
                    offered_before: offers.iter().any(|o| o.agent_id == id),
                    open_offers: a.row.open_offers - i64::try_from(open_here).unwrap_or(0),
                }
            })
            .collect()
    }
}
