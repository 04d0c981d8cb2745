//! Routing keeps each state's candidate facts between rounds (DESIGN.md §9). A change made
//! anywhere — on another node, or straight in the database by another process — must be in
//! the next round's decision on every node, on both databases.
use hod_app::App;
use hod_domain::availability::Mode;
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;
use serde_json::Value;

use crate::world::{TestPartner, request, spec, world};

app_tests!(a_nodes_routing_facts_follow_changes_made_elsewhere);

/// Who the last decision of referral `rid` ranked, and who it filtered out for `reason`.
async fn ranked_and_filtered(t: &TestApp, rid: i64, reason: &str) -> (Vec<i64>, Vec<i64>) {
    let events = t.app.referral_timeline(rid).await.unwrap();
    let log: &Value = &events
        .iter()
        .rev()
        .find(|e| e.kind == hod_domain::referral::EventKind::Decision)
        .expect("a decision was logged")
        .detail;
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    (ids(&log["ranked"]), ids(&log["filtered"][reason]["agents"]))
}

async fn a_nodes_routing_facts_follow_changes_made_elsewhere(t: TestApp) {
    let agents = world(
        &t,
        &[
            spec("3100001", "Ana", "77002"),
            spec("3100002", "Bo", "77002"),
            spec("3100003", "Cy", "77002"),
        ],
    )
    .await;
    let (ana, bo, cy) = (agents[0].id, agents[1].id, agents[2].id);
    let other = App::new(
        t.app.storage().clone(),
        t.clock.clone(),
        (*t.app.settings).clone(),
    )
    .await
    .unwrap();
    let partner = TestPartner::new(&t).await;

    // This node routes a first request: it now keeps Texas's facts.
    let first = partner.submit(request("77002", "en", "713-555-0101")).await;
    let (ranked, _) = ranked_and_filtered(&t, first, "unavailable").await;
    assert_eq!(ranked.len(), 3, "{ranked:?}");

    // Another node switches Ana off; her switch must reach this node's next round.
    other
        .set_availability_mode(ana, Mode::Unavailable)
        .await
        .unwrap();
    t.clock.advance(SignedDuration::from_mins(1));
    let second = partner.submit(request("77002", "en", "713-555-0102")).await;
    let (ranked, unavailable) = ranked_and_filtered(&t, second, "unavailable").await;
    assert_eq!(unavailable, vec![ana]);
    assert!(!ranked.contains(&ana), "{ranked:?}");

    // Another node drops Texas from Bo's states: he is no longer a candidate at all.
    other.update_states(bo, &[]).await.unwrap();
    t.clock.advance(SignedDuration::from_mins(1));
    let third = partner.submit(request("77002", "en", "713-555-0103")).await;
    let events = t.app.referral_timeline(third).await.unwrap();
    let log = &events
        .iter()
        .rev()
        .find(|e| e.kind == hod_domain::referral::EventKind::Decision)
        .unwrap()
        .detail;
    assert_eq!(log["considered"], 2, "{log}");

    // Another process writes the database itself (a command, a restore): Cy now speaks
    // only Vietnamese.
    for sql in [
        format!("DELETE FROM agent_languages WHERE agent_id = {cy}"),
        format!("INSERT INTO agent_languages (agent_id, lang) VALUES ({cy}, 'vi')"),
    ] {
        t.app.storage().execute_raw_for_tests(&sql).await.unwrap();
    }
    t.clock.advance(SignedDuration::from_mins(1));
    let fourth = partner.submit(request("77002", "en", "713-555-0104")).await;
    let (ranked, silent) = ranked_and_filtered(&t, fourth, "language").await;
    assert_eq!(silent, vec![cy], "{ranked:?}");
    assert!(ranked.is_empty(), "{ranked:?}");
    assert!(!t.take_outbox().await.is_empty());
}
