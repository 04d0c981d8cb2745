//! Matching, ranking and the offer strategies.
use super::*;
use crate::ZipDirectory;

fn zip(z: &str) -> &'static ZipInfo {
    ZipDirectory::bundled().get(Zip::parse(z).unwrap()).unwrap()
}

const TX: &[UsState] = &[];

fn tx() -> Vec<UsState> {
    vec![UsState::parse("TX").unwrap()]
}

fn request() -> Request<'static> {
    let houston = zip("77002");
    Request {
        zip: houston.zip,
        state: houston.state,
        location: Some(houston),
    }
}

fn fit<'a>(id: i64, states: &'a [UsState], at: &'static str) -> Candidate<'a> {
    Candidate {
        agent_id: id,
        eligible_states: Some(states),
        registration_complete: true,
        prefers_state: true,
        speaks_language: true,
        available: true,
        open_referrals: 0,
        offered_before: false,
        suspended: false,
        location: Some(zip(at)),
        last_offered_at: None,
        responsiveness: Responsiveness::default(),
    }
}

#[test]
fn each_rule_filters_with_its_reason() {
    let states = tx();
    let p = Policy::default();
    let r = request();
    let base = fit(1, &states, "77002");
    assert_eq!(filter(&r, &base, &p), None);
    let cases: [(Candidate<'_>, Filter); 9] = [
        (
            Candidate {
                offered_before: true,
                ..base
            },
            Filter::OfferedBefore,
        ),
        (
            Candidate {
                suspended: true,
                ..base
            },
            Filter::Suspended,
        ),
        (
            Candidate {
                eligible_states: None,
                ..base
            },
            Filter::NotEligible,
        ),
        (
            Candidate {
                eligible_states: Some(TX),
                ..base
            },
            Filter::NotEligibleInState,
        ),
        (
            Candidate {
                registration_complete: false,
                ..base
            },
            Filter::RegistrationIncomplete,
        ),
        (
            Candidate {
                prefers_state: false,
                ..base
            },
            Filter::StateNotPreferred,
        ),
        (
            Candidate {
                speaks_language: false,
                ..base
            },
            Filter::Language,
        ),
        (
            Candidate {
                available: false,
                ..base
            },
            Filter::Unavailable,
        ),
        (
            Candidate {
                open_referrals: 5,
                ..base
            },
            Filter::AtCapacity,
        ),
    ];
    for (c, why) in cases {
        assert_eq!(filter(&r, &c, &p), Some(why));
    }
    assert_eq!(
        filter(
            &r,
            &Candidate {
                open_referrals: 4,
                ..base
            },
            &p
        ),
        None
    );
}

#[test]
fn ranks_by_band_then_fairness_then_responsiveness() {
    let states = tx();
    let t0: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
    let r = request();
    let far = fit(1, &states, "79901"); // El Paso
    let near = fit(2, &states, "77401"); // Bellaire, ~8 miles
    let same = Candidate {
        last_offered_at: Some(t0),
        ..fit(3, &states, "77002")
    };
    let near_recent = Candidate {
        last_offered_at: Some(t0),
        ..fit(4, &states, "77401")
    };
    let near_older = Candidate {
        last_offered_at: Some(t0 - SignedDuration::from_hours(1)),
        ..fit(5, &states, "77401")
    };
    let far_too = fit(6, &states, "77340"); // Huntsville, ~65 miles
    let eager = Candidate {
        responsiveness: Responsiveness {
            accept_rate: 0.9,
            accept_secs: 60.0,
        },
        ..fit(7, &states, "77401")
    };
    let d = decide(
        &r,
        [far_too, far, near, same, near_recent, near_older, eager],
        &Policy::default(),
        10,
    );
    let order: Vec<i64> = d.ranked.iter().map(|x| x.agent_id).collect();
    assert_eq!(d.qualified, 7);
    assert_eq!(d.ranked[0].band, Band::SameZip);
    // Never offered first (eager beats near on responsiveness), then the longest wait.
    // Same band, same wait, same responsiveness: the agent id decides.
    assert_eq!(order, [3, 7, 2, 5, 4, 1, 6]);
    let bands: Vec<Band> = d.ranked.iter().map(|x| x.band).collect();
    assert_eq!(&bands[1..5], &[Band::Within25Miles; 4]);
    assert_eq!(&bands[5..], &[Band::InState; 2]);
}

#[test]
fn top_keeps_the_same_order_as_a_full_sort() {
    let states = tx();
    let zips = ["77002", "77401", "77340", "79901", "75201", "78701"];
    let t0: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
    let all: Vec<Candidate<'_>> = (0..300)
        .map(|i| Candidate {
            last_offered_at: (i % 7 != 0).then(|| t0 + SignedDuration::from_secs(i * 37 % 101)),
            responsiveness: Responsiveness {
                accept_rate: (i % 10) as f64 / 10.0,
                accept_secs: 100.0,
            },
            ..fit(i, &states, zips[(i as usize) % zips.len()])
        })
        .collect();
    let full = decide(&request(), all.clone(), &Policy::default(), usize::MAX);
    for top in [1, 3, 20, 299] {
        let d = decide(&request(), all.clone(), &Policy::default(), top);
        assert_eq!(d.ranked, full.ranked[..top], "top {top}");
        assert_eq!(d.qualified, 300);
    }
}

#[test]
fn offers_due_per_strategy() {
    let t0: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
    let five = SignedDuration::from_mins(5);
    let one = Policy::default();
    assert_eq!(one.offers_due(0, None, t0), 1);
    assert_eq!(one.offers_due(1, Some(t0), t0 + five), 0);
    let b = Policy {
        strategy: Strategy::Broadcast { size: 3 },
        ..one
    };
    assert_eq!(b.offers_due(0, None, t0), 3);
    assert_eq!(b.offers_due(2, Some(t0), t0), 0);
    let c = Policy {
        strategy: Strategy::Cascade { step: five },
        ..one
    };
    assert_eq!(c.offers_due(0, None, t0), 1);
    assert_eq!(
        c.offers_due(1, Some(t0), t0 + SignedDuration::from_mins(4)),
        0
    );
    assert_eq!(c.offers_due(1, Some(t0), t0 + five), 1);
    assert_eq!(
        c.next_check(t0, [t0 + SignedDuration::from_mins(15)], Some(t0)),
        t0 + five
    );
    assert_eq!(
        one.next_check(t0, [t0 + SignedDuration::from_mins(15)], Some(t0)),
        t0 + SignedDuration::from_mins(15)
    );
    assert_eq!(
        one.next_check(t0, [], None),
        t0 + SignedDuration::from_mins(60)
    );
}

#[test]
fn adaptive_adds_offers_up_to_its_width_and_fits_each_window() {
    let t0: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
    let two = SignedDuration::from_mins(2);
    let p = Policy {
        strategy: Strategy::Adaptive {
            step: two,
            width: 3,
        },
        ..Policy::default()
    };
    assert_eq!(p.offers_due(0, None, t0), 1);
    assert_eq!(
        p.offers_due(1, Some(t0), t0 + SignedDuration::from_secs(119)),
        0
    );
    assert_eq!(p.offers_due(2, Some(t0), t0 + two), 1);
    assert_eq!(p.offers_due(3, Some(t0), t0 + two), 0, "at its width");
    let expiries = [4, 5, 6].map(|m| t0 + SignedDuration::from_mins(m));
    assert_eq!(
        p.next_check(t0, expiries, Some(t0)),
        expiries[0],
        "at its width it waits for the first offer to lapse"
    );
    assert_eq!(
        p.next_check(t0, [t0 + SignedDuration::from_mins(15)], Some(t0)),
        t0 + two
    );
    let quick = Responsiveness {
        accept_rate: 0.9,
        accept_secs: 60.0,
    };
    let instant = Responsiveness {
        accept_secs: 5.0,
        ..quick
    };
    assert_eq!(p.window_for(quick), SignedDuration::from_mins(4));
    assert_eq!(p.window_for(instant), two, "never shorter than the step");
    assert_eq!(
        p.window_for(Responsiveness::default()),
        SignedDuration::from_mins(15),
        "a newcomer gets the program's window"
    );
    assert_eq!(
        Policy::default().window_for(quick),
        SignedDuration::from_mins(15)
    );
}

#[test]
fn responsiveness_moves_with_outcomes() {
    let r = Responsiveness::default();
    let fast = r.after_accept(SignedDuration::from_secs(30));
    assert!(fast.accept_rate > r.accept_rate && fast.accept_secs < r.accept_secs);
    assert!(fast.score() > r.score());
    assert!(r.after_refusal().score() < r.score());
}

#[test]
fn every_strategy_is_named_in_the_choices() {
    let step = SignedDuration::from_mins(1);
    for s in [
        Strategy::OneAtATime,
        Strategy::Cascade { step },
        Strategy::Broadcast { size: 2 },
        Strategy::Adaptive { step, width: 2 },
    ] {
        assert!(Strategy::IDS.contains(&s.id()), "{}", s.id());
    }
    assert_eq!(
        Strategy::choices(),
        "one_at_a_time, cascade, broadcast or adaptive"
    );
}

/// A roster's decision is the decision over the same agents as candidates, whatever the
/// agents, the request and the changes made to the roster since it was built.
mod roster {
    use super::{
        Candidate, Policy, Request, Responsiveness, SignedDuration, Timestamp, decide, tx, zip,
    };
    use crate::geo::UsState;
    use crate::routing::{Languages, Member, Roster};
    use proptest::prelude::{Strategy as _, prop_assert_eq, proptest};

    const ZIPS: [&str; 8] = [
        "77002", "77401", "77340", "79901", "75201", "78701", "77003", "77450",
    ];
    const LANGUAGES: [&str; 3] = ["en", "es", "vi"];

    #[derive(Debug, Clone)]
    struct Agent {
        id: i64,
        eligible: Option<bool>,
        flags: [bool; 4],
        speaks: [bool; 3],
        open: u32,
        zip: Option<usize>,
        waited: Option<i64>,
        rate: u8,
        secs: u16,
    }

    fn agent() -> impl proptest::strategy::Strategy<Value = Agent> {
        (
            0i64..400,
            proptest::option::of(proptest::bool::weighted(0.9)),
            proptest::array::uniform4(proptest::bool::weighted(0.9)),
            proptest::array::uniform3(proptest::bool::weighted(0.6)),
            0u32..7,
            proptest::option::weighted(0.95, 0..ZIPS.len()),
            proptest::option::of(0i64..50),
            0u8..=10,
            0u16..900,
        )
            .prop_map(
                |(id, eligible, flags, speaks, open, zip, waited, rate, secs)| Agent {
                    id,
                    eligible,
                    flags,
                    speaks,
                    open,
                    zip,
                    waited,
                    rate,
                    secs,
                },
            )
    }

    fn t0() -> Timestamp {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    fn member<'a>(
        a: &Agent,
        texas: &'a [UsState],
        elsewhere: &'a [UsState],
    ) -> Member<'a, 'static> {
        Member {
            agent_id: a.id,
            eligible_states: a.eligible.map(|here| if here { texas } else { elsewhere }),
            registration_complete: a.flags[0],
            prefers_state: a.flags[1],
            suspended: !a.flags[2],
            languages: Languages::of(
                LANGUAGES
                    .iter()
                    .zip(a.speaks)
                    .filter(|(_, s)| *s)
                    .map(|(l, _)| *l),
            ),
            open_referrals: a.open,
            location: a.zip.map(|z| zip(ZIPS[z])),
            last_offered_at: a.waited.map(|m| t0() - SignedDuration::from_mins(m)),
            responsiveness: Responsiveness {
                accept_rate: f64::from(a.rate) / 10.0,
                accept_secs: f64::from(a.secs),
            },
        }
    }

    proptest! {
        #[test]
        fn decides_as_the_candidates_do(
            agents in proptest::collection::vec(agent(), 0..120),
            changed in proptest::collection::vec(agent(), 0..20),
            offered in proptest::collection::vec(0i64..400, 0..4),
            at in 0..ZIPS.len(),
            language in 0..LANGUAGES.len(),
            capacity in 1u32..6,
            top in 0usize..30,
        ) {
            let (texas, elsewhere) = (tx(), vec![UsState::parse("LA").unwrap()]);
            let mut roster = Roster::new(texas[0]);
            // Later facts of an agent replace earlier ones, as a refresh does.
            let mut latest = std::collections::BTreeMap::new();
            for a in agents.iter().chain(&changed) {
                roster.set(&member(a, &texas, &elsewhere));
                latest.insert(a.id, a.clone());
            }
            let available = |a: &Agent| a.flags[3];
            let consumer = zip(ZIPS[at]);
            let request = Request { zip: consumer.zip, state: texas[0], location: Some(consumer) };
            let policy = Policy { capacity, ..Policy::default() };
            let candidates = latest.values().map(|a| {
                let m = member(a, &texas, &elsewhere);
                Candidate {
                    agent_id: m.agent_id,
                    eligible_states: m.eligible_states,
                    registration_complete: m.registration_complete,
                    prefers_state: m.prefers_state,
                    speaks_language: a.speaks[language],
                    available: available(a),
                    open_referrals: m.open_referrals,
                    offered_before: offered.contains(&a.id),
                    suspended: m.suspended,
                    location: m.location,
                    last_offered_at: m.last_offered_at,
                    responsiveness: m.responsiveness,
                }
            });
            let expected = decide(&request, candidates, &policy, top);
            let by_position: Vec<&Agent> = latest.values().collect();
            prop_assert_eq!(roster.len(), by_position.len());
            let got = roster.decide(
                &request,
                Languages::of([LANGUAGES[language]]),
                &offered,
                |i| available(by_position[i]),
                &policy,
                top,
            );
            prop_assert_eq!(got, expected);
        }
    }
}

#[test]
fn bands_are_those_of_the_great_circle_distance() {
    let zips = ZipDirectory::bundled();
    let exact = |consumer: &ZipInfo, agent: &ZipInfo| {
        if consumer.zip == agent.zip {
            return Band::SameZip;
        }
        match consumer.miles_to(agent) {
            m if m <= 25.0 => Band::Within25Miles,
            m if m <= 50.0 => Band::Within50Miles,
            _ => Band::InState,
        }
    };
    // From the Keys to Alaska's north, where a degree of longitude is shortest.
    let mut compared = [0; 4];
    for state in ["FL", "TX", "AK", "ME", "NY"] {
        let state = UsState::parse(state).unwrap();
        let places: Vec<&ZipInfo> = zips.iter().filter(|z| z.state == state).collect();
        for consumer in places.iter().step_by(25) {
            let request = Request {
                zip: consumer.zip,
                state,
                location: Some(consumer),
            };
            let reach = Reach::around(Some(consumer));
            for agent in &places {
                let band = exact(consumer, agent);
                assert_eq!(
                    Band::of(&request, &reach, Some(agent)).0,
                    band,
                    "{:?} to {:?}",
                    consumer.zip,
                    agent.zip
                );
                compared[band as usize] += 1;
            }
        }
    }
    assert!(
        compared.iter().all(|&n| n > 100),
        "every band seen: {compared:?}"
    );
}
