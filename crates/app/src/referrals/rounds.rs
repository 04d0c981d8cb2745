//! Routing rounds (one transaction each, the referral row the lock), the decision log kept in
//! the timeline, and the sweeper every node runs.
use std::collections::HashMap;

use crate::settings::ProgramSettings;
use hod_db::referrals::{self as db, CandidateRow, NewEvent, ReferralRow};
use hod_db::{Tx, audit, availability};
use hod_domain::actor::Actor;
use hod_domain::availability::Mode;
use hod_domain::referral::EventKind;
use hod_domain::referral::Status;
use hod_domain::routing::{self, Decision, Filter, MISSED_OFFERS_PAUSE, Policy, Responsiveness};
use hod_domain::{UsState, Zip};
use jiff::Timestamp;

use crate::outbox::Reach;
use crate::{App, Result};
use hod_i18n::letter::Letter;

use super::facts::Facts;
use super::messages::ConsumerMessage;
use hod_domain::referral::OfferStatus;

use super::*;

/// Which referral a round is for.
#[derive(Debug)]
pub(super) enum Routed {
    /// Stored by the same transaction, as stored: it has no offers yet, and nothing need be
    /// read to know it.
    New(Box<ReferralRow>),
    /// Stored before: routed if it is due and no other node is routing it.
    Due(i64),
}

/// How many ranked agents the decision log keeps.
const LOG_TOP: usize = 20;

impl App {
    /// One routing round for a referral that is due: lapsed offers expire (three in a row
    /// switch their agent to red), the request gives up after the maximum wait, and the
    /// offers the strategy calls for go to the best candidates. All in one transaction.
    #[tracing::instrument(skip_all, fields(referral = id))]
    pub async fn route_referral(&self, id: i64) -> Result<RoundOutcome> {
        let out = self.route_round(id).await?;
        count_round(&out);
        Ok(out)
    }

    pub(super) async fn route_round(&self, id: i64) -> Result<RoundOutcome> {
        let config = self.config().await?;
        let (program, current_terms) = (config.program()?, config.terms_ids());
        let now = self.now();
        let out = self
            .write(async |tx| {
                self.round_in(tx, Routed::Due(id), &program, &current_terms, now)
                    .await
            })
            .await?;
        if out.is_some() {
            self.changed();
        }
        Ok(out.unwrap_or_default())
    }

    /// One round in the caller's transaction; `None` when the referral is not due (or is
    /// being routed by another node).
    pub(super) async fn round_in(
        &self,
        tx: &mut Tx,
        which: Routed,
        program: &ProgramSettings,
        current_terms: &[i64],
        now: Timestamp,
    ) -> Result<Option<RoundOutcome>> {
        let (r, fresh) = match which {
            Routed::New(r) => (*r, true),
            Routed::Due(id) => match db::lock_due(tx, id, now).await? {
                Some(r) => (r, false),
                None => return Ok(None),
            },
        };
        let id = r.id;
        let plan_year = i16::try_from(r.plan_year).unwrap_or_default();
        let request = self.routing_request(&r);
        // Before this round changes any agent, so that only committed facts are kept.
        let mut facts = match request {
            Some(request) => Some(
                self.routing_facts
                    .state(self, tx, request.state, plan_year, current_terms)
                    .await?,
            ),
            None => None,
        };
        let mut out = RoundOutcome::default();
        let lapsed = if fresh {
            Vec::new()
        } else {
            db::close_open_offers(tx, id, OfferStatus::Expired, Some(now), now).await?
        };
        for offer in lapsed {
            out.expired.push(offer.agent_id);
            self.offer_lapsed(tx, &r, &offer).await?;
        }
        if let Some(facts) = facts.as_mut().filter(|_| !out.expired.is_empty()) {
            facts.see_own_changes(self, tx).await?;
        }
        let created = r.routing_since.unwrap_or(r.created_at);
        let offers = if fresh {
            Vec::new()
        } else {
            db::offers_of(tx, id).await?
        };
        let open: Vec<_> = offers
            .iter()
            .filter(|o| o.status == OfferStatus::Open)
            .collect();
        if now >= created + program.policy.max_wait {
            self.give_up(tx, &r, "max_wait").await?;
            out.unserved = true;
            return Ok(Some(out));
        }
        let last_offer = r.last_offer_at;
        let due = program.policy.offers_due(open.len(), last_offer, now);
        let mut expiries: Vec<Timestamp> = open.iter().map(|o| o.expires_at).collect();
        let mut last_offer_at = None;
        // Nobody left to add: wait for the open offers, not for the next cascade step.
        let mut exhausted = false;
        if due > 0 {
            let (decision, chosen, names, considered) = match (&facts, &request) {
                (Some(facts), Some(request)) => {
                    let decision = facts.decide(
                        request,
                        &r.language,
                        &offers,
                        &program.policy,
                        now,
                        due.max(LOG_TOP),
                    );
                    let chosen: Vec<CandidateRow> = decision
                        .ranked
                        .iter()
                        .take(due)
                        .filter_map(|x| facts.row(x.agent_id).cloned())
                        .collect();
                    let names = mentioned_names(&decision, facts);
                    (decision, chosen, names, facts.considered())
                }
                _ => Default::default(),
            };
            drop(facts);
            for agent in &chosen {
                let expires = now
                    + program.policy.window_for(Responsiveness {
                        accept_rate: agent.accept_rate,
                        accept_secs: agent.accept_secs,
                    });
                let offer_id = db::insert_offer(tx, id, agent.agent_id, now, expires).await?;
                let to = agent.addressee();
                self.tell_of_offer(
                    tx,
                    "offer",
                    agent.agent_id,
                    Some(&to),
                    &r,
                    offer_id,
                    expires,
                )
                .await?;
                out.offered.push(agent.agent_id);
                expiries.push(expires);
            }
            db::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor: Actor::System,
                    kind: EventKind::Decision,
                    status: None,
                    note: "",
                    account_number: "",
                    detail: decision_log(
                        &decision,
                        &names,
                        considered,
                        &out.offered,
                        &program.policy,
                    ),
                },
                now,
            )
            .await?;
            exhausted = chosen.is_empty();
            if !chosen.is_empty() {
                last_offer_at = Some(now);
            } else if open.is_empty() {
                self.give_up(tx, &r, "no_agent").await?;
                out.unserved = true;
                return Ok(Some(out));
            }
        }
        let step_from = if exhausted {
            None
        } else {
            last_offer_at.or(last_offer)
        };
        let next = program.policy.next_check(created, expiries, step_from);
        db::set_routing(tx, id, Status::Offered, next, last_offer_at, now).await?;
        Ok(Some(out))
    }

    /// The request as routing sees it; `None` when its ZIP or state is not one routing knows.
    fn routing_request(&self, r: &ReferralRow) -> Option<routing::Request<'static>> {
        let zip = Zip::parse(&r.zip).ok()?;
        Some(routing::Request {
            zip,
            state: UsState::parse(&r.state).ok()?,
            location: self.zips.get(zip),
        })
    }

    /// An offer ran out: the agent is told, and their streak grows; the third miss in a row
    /// switches them to unavailable and tells them that instead.
    pub(super) async fn offer_lapsed(
        &self,
        tx: &mut Tx,
        r: &ReferralRow,
        offer: &hod_db::referrals::OfferRow,
    ) -> Result<()> {
        let now = self.now();
        let (rate, secs) = db::responsiveness(tx, offer.agent_id).await?;
        let after = Responsiveness {
            accept_rate: rate,
            accept_secs: secs,
        }
        .after_refusal();
        let streak = db::note_answer(
            tx,
            offer.agent_id,
            true,
            after.accept_rate,
            after.accept_secs,
        )
        .await?;
        db::add_event(
            tx,
            &NewEvent {
                referral_id: offer.referral_id,
                actor: Actor::System,
                kind: EventKind::OfferExpired,
                status: None,
                note: "",
                account_number: "",
                detail: serde_json::json!({ "offer": offer.id, "agent": offer.agent_id }),
            },
            now,
        )
        .await?;
        let availability_link = format!("{}/agent/availability", self.settings.public_url);
        let (_, _, _, mode) = db::agent_brief(tx, offer.agent_id).await?;
        if streak < i64::from(MISSED_OFFERS_PAUSE) || mode == Mode::Unavailable.id() {
            let letter = Letter::new("offer-expired")
                .with("place", format!("{}, {} {}", r.city, r.state, r.zip))
                .clock(
                    "expired",
                    offer.expires_at,
                    &self.settings.program_time_zone,
                )
                .link(availability_link);
            let dedup = format!("offer-expired:{}", offer.id);
            self.write_to_agent(tx, offer.agent_id, letter, Reach::Email, &dedup)
                .await?;
        } else {
            availability::set_mode(tx, offer.agent_id, Mode::Unavailable).await?;
            hod_db::referrals::reset_missed(tx, offer.agent_id).await?;
            let who = Actor::Agent(offer.agent_id);
            audit::append(
                tx,
                &audit::Entry {
                    actor: Actor::System,
                    action: "agent.auto_paused",
                    subject: &who.to_string(),
                    ip: None,
                    detail: serde_json::json!({ "missed_offers": streak }),
                },
                now,
            )
            .await?;
            let letter = Letter::new("paused")
                .with("streak", streak.to_string())
                .link(availability_link);
            let dedup = format!("paused:{}:{}", offer.agent_id, offer.id);
            self.write_to_agent(tx, offer.agent_id, letter, Reach::Email, &dedup)
                .await?;
        }
        Ok(())
    }

    /// The request could not be served: open offers are withdrawn, the consumer gets the
    /// call-center fallback, operators see it in the unserved queue.
    pub(super) async fn give_up(&self, tx: &mut Tx, r: &ReferralRow, why: &str) -> Result<()> {
        let now = self.now();
        db::close_open_offers(tx, r.id, OfferStatus::Withdrawn, None, now).await?;
        db::mark_unserved(tx, r.id, why, now).await?;
        db::add_event(
            tx,
            &NewEvent {
                referral_id: r.id,
                actor: Actor::System,
                kind: EventKind::Status,
                status: Some(Status::Unserved),
                note: why,
                account_number: "",
                detail: serde_json::json!({}),
            },
            now,
        )
        .await?;
        let token = self.status_token(r.id);
        self.tell_consumer(tx, r.id, ConsumerMessage::NoAgent, &token)
            .await
    }

    /// One pass of the sweeper (every node runs it): routes every due referral and hands out
    /// due follow-up reminders.
    #[tracing::instrument(skip_all)]
    pub async fn sweep(&self) -> Result<Sweep> {
        let mut s = Sweep::default();
        loop {
            let ids = db::due(&self.db, self.now(), 100).await?;
            if ids.is_empty() {
                break;
            }
            let mut progressed = false;
            for id in ids {
                let round = self.route_referral(id).await?;
                progressed |= round != RoundOutcome::default();
                s.rounds += 1;
                s.offered += round.offered.len();
                s.expired += round.expired.len();
                s.unserved += usize::from(round.unserved);
            }
            if !progressed {
                // Everything due is being routed by another node.
                break;
            }
        }
        s.reminders = self.send_reminders().await?;
        s.reminders += self.send_offer_reminders().await?;
        db::prune_facts_log(&self.db, super::facts::FACTS_LOG_KEPT).await?;
        Ok(s)
    }

    /// Reminds agents of the offers half-way through their window, by the offer's own reach.
    pub(super) async fn send_offer_reminders(&self) -> Result<usize> {
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let due = db::take_due_offer_reminders(tx, now, 100).await?;
            for offer in &due {
                let r = db::get_in(tx, offer.referral_id).await?;
                let (agent, expires) = (offer.agent_id, offer.expires_at);
                self.tell_of_offer(tx, "offer-reminder", agent, None, &r, offer.id, expires)
                    .await?;
            }
            Ok(due.len())
        })
        .await
    }

    pub(super) async fn send_reminders(&self) -> Result<usize> {
        let now = self.now();
        let due = self
            .write(async |tx| -> Result<_> {
                let due = db::take_due_reminders(tx, now, 100).await?;
                for (rid, agent_id) in &due {
                    let letter = Letter::new("follow-up")
                        .with("referral", rid.to_string())
                        .link(format!(
                            "{}/agent/referrals/{rid}",
                            self.settings.public_url
                        ));
                    let dedup = format!("reminder:{rid}");
                    self.write_to_agent(tx, *agent_id, letter, Reach::Email, &dedup)
                        .await?;
                    db::add_event(
                        tx,
                        &NewEvent {
                            referral_id: *rid,
                            actor: Actor::System,
                            kind: EventKind::Reminder,
                            status: None,
                            note: "",
                            account_number: "",
                            detail: serde_json::json!({}),
                        },
                        now,
                    )
                    .await?;
                }
                Ok(due)
            })
            .await?;
        Ok(due.len())
    }
}

/// Who was considered, who was left out and why (counts, and up to 20 names per reason), the
/// ranking (top 20) and who got an offer.
/// The metrics of a round that was committed.
pub(super) fn count_round(out: &RoundOutcome) {
    metrics::counter!(crate::metrics::OFFERS).increment(out.offered.len() as u64);
    metrics::counter!(crate::metrics::OFFERS_EXPIRED).increment(out.expired.len() as u64);
    if out.unserved {
        metrics::counter!(crate::metrics::REFERRALS_UNSERVED).increment(1);
    }
}

/// Names of the agents the decision log mentions, in one pass over the candidates.
fn mentioned_names(d: &Decision, facts: &Facts) -> HashMap<i64, String> {
    d.filtered
        .iter()
        .map(|(id, _)| *id)
        .chain(d.ranked.iter().map(|r| r.agent_id))
        .filter_map(|id| facts.row(id))
        .map(|c| {
            (
                c.agent_id,
                format!("{} {} (NPN {})", c.first_name, c.last_name, c.npn),
            )
        })
        .collect()
}

fn decision_log(
    d: &Decision,
    names: &HashMap<i64, String>,
    considered: usize,
    offered: &[i64],
    policy: &Policy,
) -> serde_json::Value {
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let mut filtered = serde_json::Map::new();
    for (why, count) in Filter::ALL.iter().zip(d.filtered_count) {
        if count == 0 {
            continue;
        }
        let who: Vec<_> = d
            .filtered
            .iter()
            .filter(|(_, f)| f == why)
            .map(|(id, _)| serde_json::json!({"id": id, "name": name(*id)}))
            .collect();
        filtered.insert(
            why.id().to_owned(),
            serde_json::json!({ "count": count, "agents": who }),
        );
    }
    serde_json::json!({
        "strategy": policy.strategy.id(),
        "considered": considered,
        "qualified": d.qualified,
        "filtered": filtered,
        "ranked": d.ranked.iter().map(|x| serde_json::json!({
            "id": x.agent_id,
            "name": name(x.agent_id),
            "band": x.band.id(),
            "miles": x.miles.map(|m| (m * 10.0).round() / 10.0),
            "last_offered_at": x.last_offered_at.map(|t| t.to_string()),
            "responsiveness": (x.responsiveness * 1000.0).round() / 1000.0,
        })).collect::<Vec<_>>(),
        "offered": offered,
    })
}
