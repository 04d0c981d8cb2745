//! The routing decision (filter + rank) over 100,000 agents of one state, kept in a
//! [`Roster`] as the server keeps them: `cargo bench -p hod-domain --bench routing`. Prints
//! p50, p99 and max of 1,000 decisions.
use std::hint::black_box;
use std::time::{Duration, Instant};

use hod_domain::routing::{Languages, Member, Policy, Request, Responsiveness, Roster};
use hod_domain::{UsState, ZipDirectory};
use jiff::{SignedDuration, Timestamp};

const AGENTS: usize = 100_000;

fn main() {
    let zips = ZipDirectory::bundled();
    let tx = UsState::parse("TX").expect("TX");
    let texas: Vec<_> = zips.iter().filter(|z| z.state == tx).collect();
    let states = [tx];
    let t0: Timestamp = "2026-11-26T16:00:00Z".parse().expect("time");
    // A fixed pseudo-random population: most agents qualify, some fail one rule each.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let english = Languages::of(["en"]);
    let mut roster = Roster::new(tx);
    let mut available = Vec::with_capacity(AGENTS);
    let mut offered = Vec::new();
    for i in 0..AGENTS {
        let r = next();
        let agent_id = i64::try_from(i).expect("fits");
        roster.set(&Member {
            agent_id,
            eligible_states: (r % 50 != 0).then_some(&states[..]),
            registration_complete: r % 41 != 0,
            prefers_state: true,
            suspended: false,
            languages: if r % 7 != 0 {
                english
            } else {
                Languages::default()
            },
            open_referrals: u32::try_from(r % 7).expect("small"),
            location: Some(texas[usize::try_from(r >> 8).expect("fits") % texas.len()]),
            last_offered_at: (r % 3 != 0)
                .then(|| t0 - SignedDuration::from_secs(i64::try_from(r % 86_400).expect("fits"))),
            responsiveness: Responsiveness {
                accept_rate: (r % 100) as f64 / 100.0,
                accept_secs: (r % 900) as f64,
            },
        });
        available.push(r % 5 != 0);
        if r % 997 == 0 {
            offered.push(agent_id);
        }
    }
    let policy = Policy::default();
    // The first 20 decisions warm the caches, as a server's earlier decisions do; the
    // next 1,000 are measured.
    const WARM_UP: usize = 20;
    let mut times = Vec::with_capacity(1000);
    let mut qualified = 0;
    for round in 0..WARM_UP + 1000 {
        let consumer = texas[round * 7 % texas.len()];
        let request = Request {
            zip: consumer.zip,
            state: tx,
            location: Some(consumer),
        };
        let started = Instant::now();
        let d = roster.decide(
            black_box(&request),
            english,
            &offered,
            |i| available[i],
            &policy,
            20,
        );
        if round >= WARM_UP {
            times.push(started.elapsed());
        }
        qualified = black_box(d).qualified;
    }
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "{AGENTS} agents ({qualified} qualify), top 20 of 1,000 decisions: p50 {:?}, p99 {:?}, max {:?}",
        pct(50),
        pct(99),
        times.last().copied().unwrap_or(Duration::ZERO)
    );
}
