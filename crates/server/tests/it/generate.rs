//! `hod generate`: a synthetic program whose agents the rules find eligible, who log in with
//! the printed password and are offered referrals like anyone else; on both databases.
use hod_app::generate::GENERATED_PASSWORD;
use hod_test_support::{TestApp, app_tests};
use serde_json::json;

use crate::world::{TestPartner, api, request};

app_tests!(a_generated_program_is_eligible_and_routes);

async fn a_generated_program_is_eligible_and_routes(t: TestApp) {
    let g = t.app.generate(300, 500, 7).await.unwrap();
    assert_eq!((g.agents, g.referrals, g.eligible), (300, 500, 300));
    let again = t.app.generate(10, 0, 7).await.unwrap_err().to_string();
    assert!(again.contains("already has 300 agents"), "{again}");

    let (code, token) = api(
        &t,
        "POST",
        "/api/v1/agent/token",
        None,
        Some(json!({"username": "gen1", "password": GENERATED_PASSWORD})),
    )
    .await;
    assert_eq!(code, 200, "{token}");

    // Florida is the largest state of the bundled shares: someone there is offered it.
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("33101", "en", "305-555-0100")).await;
    let status = partner.status(rid).await;
    assert_eq!(status["status"], "offered", "{status}");
    let sent = t.take_outbox().await;
    let to_agents: Vec<&str> = sent
        .iter()
        .filter(|m| m.recipient.ends_with("@generated.invalid"))
        .map(|m| m.subject.as_str())
        .collect();
    // No invitations (they are registered) and no other mail: one offer, one agent at a time.
    assert_eq!(to_agents, ["You have a New Referral"]);
}
