//! What operators ask of the running program (SPEC.md §8): today at a glance, finding an
//! agent and "why does this agent get no referrals?", and suspending or reinstating one;
//! referrals in [`referrals`].
mod dashboard;
mod program;
pub use program::StatePeriod;
mod referrals;
pub use dashboard::{AgentOffers, Bucket, Coverage, Dashboard, Place, jain, quantile};
pub use referrals::{ReferralFile, ReferralQuery};
use std::collections::BTreeMap;

use hod_db::console::{self, AgentFacts};
pub use hod_db::console::{AgentHit, AgentQuery};
use hod_db::referrals::{self as db, ReferralRow};
use hod_db::{accounts, agents, audit, invitations, terms};
use hod_domain::actor::Actor;
use hod_domain::availability::{Mode, is_available};
use hod_domain::routing::MISSED_OFFERS_PAUSE;
use jiff::{SignedDuration, Timestamp};

use crate::auth::Client;
use crate::eligibility::EligibilityReport;
use crate::operators::{OperatorSession, require_admin};
use crate::system::OutboxStats;
use crate::{App, AppError, Result};

/// How far back "why no referrals?" reads the routing rounds.
pub const ROUNDS_LOOKBACK: SignedDuration = SignedDuration::from_hours(7 * 24);
/// At most this many rounds are read for it.
const ROUNDS_READ: i64 = 2_000;

/// The console's first page.
#[derive(Debug, Clone)]
pub struct Glance {
    /// Requests looking for an agent now (no offer out).
    pub waiting: i64,
    /// Requests with an offer out now.
    pub on_offer: i64,
    /// Since midnight in the program's time zone.
    pub submitted_today: i64,
    pub accepted_today: i64,
    pub unserved_today: i64,
    /// Agents who could take a referral now, by state and language: (state, language, count).
    pub available: Vec<(String, String, usize)>,
    /// Agents who could take a referral now, in any state.
    pub available_agents: usize,
    pub imports: Vec<LastImport>,
    pub outbox: OutboxStats,
}

#[derive(Debug, Clone)]
pub struct LastImport {
    pub kind: String,
    pub file_name: String,
    pub at: Timestamp,
    pub age: SignedDuration,
    pub rows: i64,
    pub applied: i64,
    pub rejected: usize,
}

/// Agents who could take a referral now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Available {
    pub by_place: BTreeMap<(String, String), usize>,
    pub by_state: BTreeMap<String, usize>,
    /// Each agent once.
    pub agents: usize,
}

/// One of the conditions an agent must meet to be offered referrals, and whether they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `suspended`, `eligible`, `registered`, `terms`, `states`, `languages`, `available`,
    /// `capacity`, `missed_offers` (locale keys `check-<id>-ok` / `check-<id>-not`).
    pub id: &'static str,
    pub ok: bool,
}

/// Everything that decides whether an agent gets referrals, with the reasons.
#[derive(Debug, Clone)]
pub struct AgentStanding {
    pub agent: agents::AgentRow,
    pub eligibility: Option<EligibilityReport>,
    pub checks: Vec<Check>,
    /// States the agent may take referrals in and prefers: (state, eligible, preferred).
    pub states: Vec<(String, bool, bool)>,
    pub languages: Vec<String>,
    pub time_zone: String,
    pub mode: Mode,
    pub hours: hod_domain::availability::WeeklyHours,
    pub absence: Option<hod_domain::availability::Absence>,
    pub available_now: bool,
    pub held: i64,
    pub capacity: u32,
    pub missed_offers: i64,
    pub suspended: Option<(Timestamp, String)>,
    pub locked_until: Option<Timestamp>,
    /// Of the routing rounds in the agent's states in the last week: how many there were, and
    /// how many left this agent out for each reason.
    pub rounds_read: usize,
    pub filtered: BTreeMap<String, usize>,
    pub offered_in_rounds: usize,
    pub invitations: Vec<invitations::InvitationRow>,
    pub offers: Vec<(String, i64)>,
    pub referrals: Vec<ReferralRow>,
}

impl App {
    /// The start of today in the program's time zone.
    fn start_of_today(&self) -> Result<Timestamp> {
        let zone = self.settings.program_time_zone.clone();
        Ok(self
            .today()
            .to_zoned(zone)
            .map_err(|e| AppError::Other(e.into()))?
            .timestamp())
    }

    /// Today at a glance.
    pub async fn glance(&self) -> Result<Glance> {
        let today = self.start_of_today()?;
        let now = self.now();
        let counts = console::referral_counts(&self.db, today).await?;
        let count = |status: &str, today_only: bool| {
            counts
                .iter()
                .filter(|(s, _, _)| s == status)
                .map(|(_, all, since)| if today_only { *since } else { *all })
                .sum::<i64>()
        };
        let submitted_today = counts.iter().map(|(_, _, since)| since).sum();
        let accepted_today = [
            "accepted",
            "follow_up_completed",
            "quote_completed",
            "sold",
            "deferred",
            "delayed",
            "not_a_good_prospect",
        ]
        .iter()
        .map(|s| count(s, true))
        .sum();
        let available = self.agents_available_now().await?;
        let imports = console::last_imports(&self.db)
            .await?
            .into_iter()
            .map(|i| {
                let at = hod_db::from_millis(i.imported_at)?;
                Ok(LastImport {
                    kind: i.kind,
                    file_name: i.file_name,
                    at,
                    age: now.duration_since(at),
                    rows: i.rows_read,
                    applied: i.rows_applied,
                    rejected: serde_json::from_str::<Vec<serde_json::Value>>(&i.rejected)
                        .map_or(0, |v| v.len()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Glance {
            waiting: count("searching", false),
            on_offer: count("offered", false),
            submitted_today,
            accepted_today,
            unserved_today: count("unserved", true),
            available: available
                .by_place
                .into_iter()
                .map(|((s, l), n)| (s, l, n))
                .collect(),
            available_agents: available.agents,
            imports,
            outbox: self.outbox_stats().await?,
        })
    }

    /// Agents who could take a referral now.
    pub(crate) async fn agents_available_now(&self) -> Result<Available> {
        let now = self.now();
        let mut out = Available::default();
        let Some(py) = self.plan_year_on(self.today()).await? else {
            return Ok(out);
        };
        let policy = self.program_settings().await?.policy;
        let current = self.current_term_ids().await?;
        for f in console::agent_facts(&self.db, py.year, &current, None).await? {
            if f.languages.is_empty() || !self.can_take_now(&f, current.len(), policy.capacity, now)
            {
                continue;
            }
            let mut any = false;
            for st in f.states.iter().filter(|s| f.eligible_states.contains(s)) {
                any = true;
                *out.by_state.entry(st.clone()).or_default() += 1;
                for l in &f.languages {
                    *out.by_place.entry((st.clone(), l.clone())).or_default() += 1;
                }
            }
            out.agents += usize::from(any);
        }
        Ok(out)
    }

    /// A short fingerprint of what today's page counts (cheap: no agent is looked at), so that
    /// an open page knows when to show new numbers.
    pub async fn glance_pulse(&self) -> Result<String> {
        let counts = console::referral_counts(&self.db, self.start_of_today()?).await?;
        let outbox = self.outbox_stats().await?;
        let mut pulse: Vec<String> = counts
            .iter()
            .map(|(s, all, today)| format!("{s}:{all}:{today}"))
            .collect();
        pulse.extend(
            outbox
                .by_status
                .iter()
                .map(|(s, n)| format!("{}:{n}", s.as_str())),
        );
        Ok(pulse.join(","))
    }

    async fn current_term_ids(&self) -> Result<Vec<i64>> {
        Ok(terms::current(&self.db)
            .await?
            .iter()
            .map(|d| d.id)
            .collect())
    }

    fn local_now(&self, f: &AgentFacts, now: Timestamp) -> (String, jiff::civil::DateTime) {
        let zone = self.zone_name(f.availability.time_zone.as_deref(), f.zip.as_deref());
        let tz = jiff::tz::TimeZone::get(&zone)
            .unwrap_or_else(|_| self.settings.program_time_zone.clone());
        (zone, now.to_zoned(tz).datetime())
    }

    /// Whether routing would offer this agent a referral now (in some state and language).
    fn can_take_now(&self, f: &AgentFacts, terms: usize, capacity: u32, now: Timestamp) -> bool {
        let a = &f.availability;
        f.suspended_at.is_none()
            && f.eligible == Some(true)
            && f.registered
            && usize::try_from(f.terms_accepted).unwrap_or(0) == terms
            && is_available(
                a.mode,
                &a.hours,
                a.absence.as_ref(),
                self.local_now(f, now).1,
            )
            && f.held < i64::from(capacity)
    }

    /// Agents matching `q`, at most `limit`.
    pub async fn find_agents(&self, q: &AgentQuery, limit: i64) -> Result<Vec<AgentHit>> {
        let year = self
            .plan_year_on(self.today())
            .await?
            .map_or(0, |py| py.year);
        Ok(console::search_agents(&self.db, q, year, limit).await?)
    }

    /// "Why does this agent get no referrals?": each condition routing checks, the agent's
    /// settings, what the last week's routing rounds made of them, and their history.
    pub async fn agent_standing(&self, npn: &hod_domain::Npn) -> Result<AgentStanding> {
        let agent = agents::find_by_npn(&self.db, npn)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent with NPN {npn}")))?;
        let now = self.now();
        let day = self.today();
        let py = self.plan_year_on(day).await?;
        let eligibility = match py {
            Some(_) => Some(self.eligibility_of(npn, day).await?),
            None => None,
        };
        let current = self.current_term_ids().await?;
        let f = console::agent_facts(&self.db, py.map_or(0, |p| p.year), &current, Some(agent.id))
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound(format!("agent with NPN {npn}")))?;
        let policy = self.program_settings().await?.policy;
        let (time_zone, local) = self.local_now(&f, now);
        let a = &f.availability;
        let available_now = is_available(a.mode, &a.hours, a.absence.as_ref(), local);
        let eligible_states = eligibility
            .as_ref()
            .map(|e| e.states.clone())
            .unwrap_or_default();
        let mut states: Vec<(String, bool, bool)> = eligible_states
            .iter()
            .map(|s| (s.clone(), true, f.states.contains(s)))
            .collect();
        for s in &f.states {
            if !eligible_states.contains(s) {
                states.push((s.clone(), false, true));
            }
        }
        states.sort();
        let eligible = eligibility.as_ref().is_some_and(|e| e.eligible);
        let checks = vec![
            Check {
                id: "suspended",
                ok: f.suspended_at.is_none(),
            },
            Check {
                id: "eligible",
                ok: eligible,
            },
            Check {
                id: "registered",
                ok: f.registered,
            },
            Check {
                id: "terms",
                ok: usize::try_from(f.terms_accepted).unwrap_or(0) == current.len(),
            },
            Check {
                id: "states",
                ok: states.iter().any(|(_, e, p)| *e && *p),
            },
            Check {
                id: "languages",
                ok: !f.languages.is_empty(),
            },
            Check {
                id: "available",
                ok: available_now,
            },
            Check {
                id: "capacity",
                ok: f.held < i64::from(policy.capacity),
            },
            Check {
                id: "missed_offers",
                ok: f.missed_offers < i64::from(MISSED_OFFERS_PAUSE),
            },
        ];
        // What the router wrote about this agent in the rounds of their states.
        let rounds =
            console::recent_decisions(&self.db, &f.states, now - ROUNDS_LOOKBACK, ROUNDS_READ)
                .await?;
        let mut filtered: BTreeMap<String, usize> = BTreeMap::new();
        let mut offered_in_rounds = 0;
        for (_, _, detail) in &rounds {
            let Ok(log) = serde_json::from_str::<serde_json::Value>(detail) else {
                continue;
            };
            if let Some(reasons) = log["filtered"].as_object() {
                for (why, entry) in reasons {
                    let named = entry["agents"].as_array().is_some_and(|list| {
                        list.iter().any(|x| x["id"].as_i64() == Some(agent.id))
                    });
                    if named {
                        *filtered.entry(why.clone()).or_default() += 1;
                    }
                }
            }
            if log["offered"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x.as_i64() == Some(agent.id)))
            {
                offered_in_rounds += 1;
            }
        }
        let locked_until = accounts::locked_until(&self.db, agent.id)
            .await?
            .filter(|u| *u > now);
        Ok(AgentStanding {
            eligibility,
            checks,
            states,
            languages: f.languages.clone(),
            time_zone,
            mode: a.mode,
            hours: a.hours.clone(),
            absence: a.absence,
            available_now,
            held: f.held,
            capacity: policy.capacity,
            missed_offers: f.missed_offers,
            suspended: match (f.suspended_at, &f.suspended_reason) {
                (Some(at), why) => {
                    Some((hod_db::from_millis(at)?, why.clone().unwrap_or_default()))
                }
                _ => None,
            },
            locked_until,
            rounds_read: rounds.len(),
            filtered,
            offered_in_rounds,
            invitations: invitations::for_npn(&self.db, npn.as_str()).await?,
            offers: console::offer_outcomes(&self.db, agent.id).await?,
            referrals: console::referrals_of_agent(&self.db, agent.id, 20).await?,
            agent,
        })
    }

    /// Lifts an agent's log-in lock (help desk or administrator).
    pub async fn unlock_agent(
        &self,
        by: &OperatorSession,
        npn: &hod_domain::Npn,
        client: Client<'_>,
    ) -> Result<()> {
        let agent = agents::find_by_npn(&self.db, npn)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent with NPN {npn}")))?;
        self.write(async |tx| -> Result<_> {
            accounts::clear_failures(tx, agent.id).await?;
            self.audit_by(
                tx,
                by.actor(),
                "agent.unlocked",
                &format!("npn:{npn}"),
                client,
                serde_json::json!({}),
            )
            .await
        })
        .await
    }

    /// Suspends an agent (administrators; a reason is required): their open offers are
    /// withdrawn and their referrals go to the next agent at once. `None` reinstates.
    pub async fn suspend_agent(
        &self,
        by: &OperatorSession,
        npn: &hod_domain::Npn,
        reason: Option<&str>,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let agent = agents::find_by_npn(&self.db, npn)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent with NPN {npn}")))?;
        let reason = reason.map(str::trim);
        if reason.is_some_and(str::is_empty) {
            return Err(AppError::Refused {
                id: "reason-missing",
                message: "say why the agent is suspended".into(),
            });
        }
        let now = self.now();
        let rerouted = self
            .write(async |tx| -> Result<_> {
                agents::set_suspended(tx, agent.id, reason.map(|r| (now, r))).await?;
                let mut rerouted = Vec::new();
                let mut sessions_ended = 0;
                if reason.is_some() {
                    // Logged out at once, on every node: pages and the app alike.
                    sessions_ended = hod_db::sessions::delete_all_for(
                        tx,
                        hod_db::sessions::PrincipalKind::Agent,
                        agent.id,
                    )
                    .await?;
                    for referral in db::withdraw_offers_of(tx, agent.id, now).await? {
                        db::make_due(tx, referral, now).await?;
                        rerouted.push(referral);
                    }
                }
                let (action, detail) = match reason {
                    Some(why) => (
                        "agent.suspended",
                        serde_json::json!({
                            "reason": why,
                            "offers_withdrawn": rerouted.len(),
                            "sessions_ended": sessions_ended,
                        }),
                    ),
                    None => ("agent.reinstated", serde_json::json!({})),
                };
                self.audit_by(
                    tx,
                    by.actor(),
                    action,
                    &format!("npn:{npn}"),
                    client,
                    detail,
                )
                .await?;
                Ok(rerouted)
            })
            .await?;
        for id in rerouted {
            self.route_referral(id).await?;
        }
        self.changed();
        Ok(())
    }

    pub(crate) async fn audit_by(
        &self,
        tx: &mut hod_db::Tx,
        actor: Actor,
        action: &str,
        subject: &str,
        client: Client<'_>,
        detail: serde_json::Value,
    ) -> Result<()> {
        audit::append(
            tx,
            &audit::Entry {
                actor,
                action,
                subject,
                ip: client.ip,
                detail,
            },
            self.now(),
        )
        .await?;
        Ok(())
    }
}
