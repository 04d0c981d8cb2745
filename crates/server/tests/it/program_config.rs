//! Each node keeps the program's configuration (settings, plan years, state table, terms) in
//! memory while its version in the database stands. A change made anywhere — on another
//! node, or straight in the database by another process — must hold on every node's next
//! request, on both databases.
use hod_domain::actor::Actor;
use hod_test_support::{TestApp, app_tests};

use crate::world::{TestPartner, request, spec, world};

app_tests!(a_nodes_configuration_follows_changes_made_elsewhere);

async fn a_nodes_configuration_follows_changes_made_elsewhere(t: TestApp) {
    world(&t, &[spec("3200001", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    // This node reads the configuration, and keeps it.
    partner.submit(request("77002", "en", "713-555-0201")).await;

    // Another process pauses intake in the database itself.
    t.app
        .storage()
        .execute_raw_for_tests(
            "INSERT INTO program_settings (key, value, updated_at) VALUES ('intake.paused', 'true', 0)",
        )
        .await
        .unwrap();
    let paused = partner
        .try_submit(request("77002", "en", "713-555-0202"))
        .await;
    assert_eq!(paused.refused(503), "intake_closed");

    // Another node opens it again.
    let other = t.other_node().await;
    other
        .set_program_setting("intake.paused", "false", Actor::Cli)
        .await
        .unwrap();
    partner.submit(request("77002", "en", "713-555-0203")).await;

    // Another process ends the plan year: nobody can ask for help under it.
    t.app
        .storage()
        .execute_raw_for_tests("DELETE FROM plan_years")
        .await
        .unwrap();
    let closed = partner
        .try_submit(request("77002", "en", "713-555-0204"))
        .await;
    assert_eq!(closed.refused(503), "intake_closed");
    let _ = t.take_outbox().await;
}
