//! The day, event by event, on virtual time: arrivals, routing rounds as the server runs
//! them (`crate::routing` decides), agents answering, follow-ups freeing places.
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::{SignedDuration, Timestamp};

use super::report::{Outcomes, Report};
use super::rng::Rng;
use super::scenario::Scenario;
use super::world::World;
use crate::routing::{self, Candidate, MISSED_OFFERS_PAUSE, Policy, Request, Responsiveness};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival {
        request: usize,
    },
    /// The round the last one scheduled (stale ones are skipped).
    Round {
        request: usize,
    },
    Answer {
        request: usize,
        agent: usize,
        accept: bool,
    },
    FollowedUp {
        agent: usize,
    },
}

#[derive(Default)]
struct AgentState {
    open_referrals: u32,
    open_offers: u32,
    last_offered_at: Option<Timestamp>,
    responsiveness: Responsiveness,
    missed_in_a_row: u32,
    paused_until: Option<Timestamp>,
}

struct Offer {
    agent: usize,
    offered_at: Timestamp,
    expires_at: Timestamp,
}

#[derive(Default)]
struct RequestState {
    offered: Vec<usize>,
    open: Vec<Offer>,
    last_offer_at: Option<Timestamp>,
    next_round: Option<Timestamp>,
    done: bool,
}

struct Run<'w> {
    world: &'w World,
    scenario: &'w Scenario,
    policy: Policy,
    seed: u64,
    queue: BinaryHeap<Reverse<(Timestamp, u64, Event)>>,
    sequence: u64,
    agents: Vec<AgentState>,
    requests: Vec<RequestState>,
    /// Scratch: agents already offered the request being decided.
    offered_mark: Vec<bool>,
    out: Outcomes,
}

/// Runs the day under one policy.
pub(super) fn run(world: &World, scenario: &Scenario, policy: Policy, seed: u64) -> Report {
    let mut r = Run {
        world,
        scenario,
        policy,
        seed,
        queue: BinaryHeap::new(),
        sequence: 0,
        agents: world.agents.iter().map(|_| AgentState::default()).collect(),
        requests: world
            .requests
            .iter()
            .map(|_| RequestState::default())
            .collect(),
        offered_mark: vec![false; world.agents.len()],
        out: Outcomes::new(world.agents.len(), world.requests.len()),
    };
    for (i, q) in world.requests.iter().enumerate() {
        r.at(q.at, Event::Arrival { request: i });
    }
    while let Some(Reverse((now, _, event))) = r.queue.pop() {
        match event {
            Event::Arrival { request } => r.round(request, now),
            Event::Round { request } => {
                if r.requests[request].next_round == Some(now) {
                    r.round(request, now);
                }
            }
            Event::Answer {
                request,
                agent,
                accept,
            } => r.answer(request, agent, accept, now),
            Event::FollowedUp { agent } => r.agents[agent].open_referrals -= 1,
        }
    }
    r.out.report(policy)
}

impl Run<'_> {
    fn at(&mut self, t: Timestamp, e: Event) {
        self.sequence += 1;
        self.queue.push(Reverse((t, self.sequence, e)));
    }

    /// One routing round, as `App::route_round` runs it on the server.
    fn round(&mut self, q: usize, now: Timestamp) {
        if self.requests[q].done {
            return;
        }
        let created = self.world.requests[q].at;
        let lapsed: Vec<Offer> = {
            let open = &mut self.requests[q].open;
            let (gone, kept) = std::mem::take(open)
                .into_iter()
                .partition(|o| o.expires_at <= now);
            *open = kept;
            gone
        };
        for o in lapsed {
            self.out.lapsed += 1;
            let a = &mut self.agents[o.agent];
            a.open_offers -= 1;
            a.responsiveness = a.responsiveness.after_refusal();
            a.missed_in_a_row += 1;
            if a.missed_in_a_row >= MISSED_OFFERS_PAUSE {
                a.missed_in_a_row = 0;
                a.paused_until = Some(later(now, self.scenario.pause_minutes * 60.0));
                self.out.paused += 1;
            }
        }
        if now >= created + self.policy.max_wait {
            self.close(q);
            return;
        }
        let open = self.requests[q].open.len();
        let last_offer = self.requests[q].last_offer_at;
        let due = self.policy.offers_due(open, last_offer, now);
        let mut offered_now = false;
        let mut exhausted = false;
        if due > 0 {
            let chosen = self.decide(q, now, due);
            exhausted = chosen.is_empty();
            for agent in chosen {
                self.offer(q, agent, now);
                offered_now = true;
            }
            if exhausted && open == 0 {
                self.close(q);
                return;
            }
        }
        let rq = &mut self.requests[q];
        if offered_now {
            rq.last_offer_at = Some(now);
        }
        let step_from = if exhausted { None } else { rq.last_offer_at };
        let next = self
            .policy
            .next_check(created, rq.open.iter().map(|o| o.expires_at), step_from);
        rq.next_round = Some(next);
        self.at(next, Event::Round { request: q });
    }

    fn decide(&mut self, q: usize, now: Timestamp, due: usize) -> Vec<usize> {
        let request = &self.world.requests[q];
        let candidates = &self.world.licensed[request.state_index];
        for &a in &self.requests[q].offered {
            self.offered_mark[a] = true;
        }
        let language = 1u32 << request.language;
        let (agents, states, marks) = (&self.world.agents, &self.agents, &self.offered_mark);
        let decision = routing::decide(
            &Request {
                zip: request.location.zip,
                state: request.state,
                location: Some(request.location),
            },
            candidates.iter().map(|&i| {
                let (who, now_state) = (&agents[i], &states[i]);
                Candidate {
                    agent_id: i64::try_from(i).unwrap_or_default(),
                    eligible_states: Some(&who.states),
                    registration_complete: true,
                    prefers_state: true,
                    speaks_language: who.languages & language != 0,
                    available: who.on_duty(now)
                        && now_state.paused_until.is_none_or(|until| until <= now),
                    open_referrals: now_state.open_referrals + now_state.open_offers,
                    offered_before: marks[i],
                    suspended: false,
                    location: Some(who.location),
                    last_offered_at: now_state.last_offered_at,
                    responsiveness: now_state.responsiveness,
                }
            }),
            &self.policy,
            due,
        );
        for &a in &self.requests[q].offered {
            self.offered_mark[a] = false;
        }
        self.out.decisions += 1;
        decision
            .ranked
            .iter()
            .filter_map(|r| usize::try_from(r.agent_id).ok())
            .collect()
    }

    fn offer(&mut self, q: usize, agent: usize, now: Timestamp) {
        let a = &mut self.agents[agent];
        let expires_at = now + self.policy.window_for(a.responsiveness);
        a.open_offers += 1;
        a.last_offered_at = Some(now);
        self.out.offers[agent] += 1;
        let rq = &mut self.requests[q];
        rq.offered.push(agent);
        rq.open.push(Offer {
            agent,
            offered_at: now,
            expires_at,
        });
        // The same agent meets the same request the same way under every strategy.
        let who = &self.world.agents[agent];
        let b = &self.scenario.behaviours[who.behaviour];
        let mut rng = Rng::for_pair(self.seed, who.id.unsigned_abs(), q as u64);
        if !rng.chance(b.answers) {
            return;
        }
        let accept = !rng.chance(b.declines);
        let after = rng.log_normal(b.median_seconds, b.spread);
        let answered = later(now, after);
        if answered < expires_at {
            self.at(
                answered,
                Event::Answer {
                    request: q,
                    agent,
                    accept,
                },
            );
        }
    }

    fn answer(&mut self, q: usize, agent: usize, accept: bool, now: Timestamp) {
        let rq = &mut self.requests[q];
        let Some(at) = rq.open.iter().position(|o| o.agent == agent) else {
            return; // taken by another, or given up
        };
        let offer = rq.open.swap_remove(at);
        let a = &mut self.agents[agent];
        a.open_offers -= 1;
        a.missed_in_a_row = 0;
        if !accept {
            a.responsiveness = a.responsiveness.after_refusal();
            self.out.declined += 1;
            self.round(q, now);
            return;
        }
        a.responsiveness = a
            .responsiveness
            .after_accept(now.duration_since(offer.offered_at));
        a.open_referrals += 1;
        self.out.won[agent] += 1;
        self.out
            .served(now.duration_since(self.world.requests[q].at));
        let follow_up = self.scenario.follow_up_minutes * 60.0;
        let mut rng = Rng::for_pair(self.seed ^ 1, agent as u64, q as u64);
        let done = later(now, rng.exponential(follow_up));
        self.at(done, Event::FollowedUp { agent });
        self.close(q);
    }

    /// The request is served or given up: the offers still open are withdrawn.
    fn close(&mut self, q: usize) {
        let rq = &mut self.requests[q];
        rq.done = true;
        rq.next_round = None;
        for o in std::mem::take(&mut rq.open) {
            self.agents[o.agent].open_offers -= 1;
            self.out.withdrawn += 1;
        }
    }
}

/// `seconds` after `t`, within a month (draws from long-tailed distributions stay finite).
fn later(t: Timestamp, seconds: f64) -> Timestamp {
    t + SignedDuration::from_secs_f64(seconds.clamp(0.0, 30.0 * 86_400.0))
}
