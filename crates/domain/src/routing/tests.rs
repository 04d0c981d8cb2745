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
