//! Routing keeps each state's candidate facts between rounds (DESIGN.md §9). A change made
//! anywhere — on another node, or straight in the database by another process — must be in
//! the next round's decision on every node, on both databases.
use hod_domain::availability::Mode;
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;

use crate::world::{TestPartner, decision, filtered_ids, ranked_ids, request, spec, world};

app_tests!(
    a_nodes_routing_facts_follow_changes_made_elsewhere,
    an_offer_is_written_in_the_language_the_agent_uses_now
);

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
    let other = t.other_node().await;
    let partner = TestPartner::new(&t).await;

    // This node routes a first request: it now keeps Texas's facts.
    let first = partner.submit(request("77002", "en", "713-555-0101")).await;
    let ranked = ranked_ids(&decision(&t, first).await);
    assert_eq!(ranked.len(), 3, "{ranked:?}");

    // Another node switches Ana off; her switch must reach this node's next round.
    other
        .set_availability_mode(ana, Mode::Unavailable)
        .await
        .unwrap();
    t.clock.advance(SignedDuration::from_mins(1));
    let second = partner.submit(request("77002", "en", "713-555-0102")).await;
    let log = decision(&t, second).await;
    let (ranked, unavailable) = (ranked_ids(&log), filtered_ids(&log, "unavailable"));
    assert_eq!(unavailable, vec![ana]);
    assert!(!ranked.contains(&ana), "{ranked:?}");

    // Another node drops Texas from Bo's states: he is no longer a candidate at all.
    other.update_states(bo, &[]).await.unwrap();
    t.clock.advance(SignedDuration::from_mins(1));
    let third = partner.submit(request("77002", "en", "713-555-0103")).await;
    let log = decision(&t, third).await;
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
    let log = decision(&t, fourth).await;
    let (ranked, silent) = (ranked_ids(&log), filtered_ids(&log, "language"));
    assert_eq!(silent, vec![cy], "{ranked:?}");
    assert!(ranked.is_empty(), "{ranked:?}");
    assert!(!t.take_outbox().await.is_empty());
}

/// An offer's letters are addressed from the routing facts: the language the agent last used
/// must reach them like any other fact, whoever changed it.
async fn an_offer_is_written_in_the_language_the_agent_uses_now(t: TestApp) {
    let agents = world(
        &t,
        &[
            spec("3100011", "Ana", "77002"),
            spec("3100012", "Bo", "77002"),
        ],
    )
    .await;
    let partner = TestPartner::new(&t).await;
    // Who the last request's offer letters went to, in which language.
    let offered = async || -> Vec<(String, String)> {
        t.take_outbox()
            .await
            .into_iter()
            .filter(|m| m.recipient.ends_with("@agency.test"))
            .map(|m| (m.recipient, m.lang))
            .collect()
    };

    // One offer each: this node's facts now hold both, as they were after the second.
    partner.submit(request("77002", "en", "713-555-0111")).await;
    let first = offered().await;
    partner.submit(request("77002", "en", "713-555-0112")).await;
    let second = offered().await;
    assert_eq!((first.len(), second.len()), (1, 1), "{first:?} {second:?}");
    assert_ne!(first[0].0, second[0].0, "one offer each");
    assert_eq!(first[0].1, "en");

    // The first one now reads their pages in Spanish (another node, another process: the
    // database); they were offered longest ago, so the next offer is theirs.
    let who = if first[0].0.starts_with("ana@") {
        &agents[0]
    } else {
        &agents[1]
    };
    t.app
        .storage()
        .execute_raw_for_tests(&format!(
            "UPDATE agents SET ui_lang = 'es' WHERE id = {}",
            who.id
        ))
        .await
        .unwrap();
    t.clock.advance(SignedDuration::from_mins(1));
    partner.submit(request("77002", "en", "713-555-0113")).await;
    assert_eq!(offered().await, vec![(first[0].0.clone(), "es".to_owned())]);
}
