//! Passkeys with a software authenticator speaking WebAuthn to the real server, on both
//! databases: add one after login, log in with it, remove it.
use hod_test_support::{TestApp, app_tests};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::support::{PASSWORD, invitation_token, login, post_json, register, session_cookie};

/// Ana (2000001), registered and logged in: her session cookie.
async fn ana(t: &TestApp) -> String {
    crate::eligibility::import_all(&t.app).await;
    let token = invitation_token(&t.take_outbox().await, "ana.alvarez@agency.test");
    register(t, &token, "ana", "77002", "email_only").await;
    t.expect_outbox(&[("email", "ana.alvarez@agency.test")])
        .await;
    login(t, "ana", PASSWORD).await.unwrap()
}

/// The relying party's origin: the public URL (a host name, as WebAuthn wants).
fn origin(t: &TestApp) -> url::Url {
    url::Url::parse(&t.app.settings.public_url).unwrap()
}

async fn add_passkey(t: &TestApp, key: &mut SoftPasskey, cookie: &str, name: &str) {
    let start: Value = post_json(
        t,
        "/agent/passkeys/register/start",
        &json!({}),
        Some(cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    let options: CreationChallengeResponse =
        serde_json::from_value(start.clone()).unwrap_or_else(|e| panic!("{e}: {start}"));
    let credential = key.do_registration(origin(t), options).unwrap();
    let r = post_json(
        t,
        "/agent/passkeys/register/finish",
        &json!({"ceremony": start["ceremony"], "name": name, "credential": credential}),
        Some(cookie),
    )
    .await;
    assert_eq!(r.status(), 201);
}

/// Logs in with the key; the response.
async fn passkey_login(t: &TestApp, key: &mut SoftPasskey, username: &str) -> reqwest::Response {
    let start: Value = post_json(
        t,
        "/agent/passkeys/login/start",
        &json!({"username": username}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(start.clone()).unwrap();
    let credential = key.do_authentication(origin(t), options).unwrap();
    post_json(
        t,
        "/agent/passkeys/login/finish",
        &json!({"ceremony": start["ceremony"], "credential": credential}),
        None,
    )
    .await
}

app_tests!(
    a_passkey_is_added_used_and_removed,
    passkey_login_does_not_reveal_accounts
);

async fn a_passkey_is_added_used_and_removed(t: TestApp) {
    let cookie = ana(&t).await;
    let mut key = SoftPasskey::new(true);
    add_passkey(&t, &mut key, &cookie, "Work laptop").await;
    let page = t
        .client
        .get(t.url("/agent/security"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Work laptop · added 2026-11-26"), "{page}");

    let r = passkey_login(&t, &mut key, "ANA").await;
    assert_eq!(r.status(), 200);
    let fresh = session_cookie(&r).unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["next"], "/agent/terms",
        "the terms gate still comes first"
    );
    assert_eq!(
        t.client
            .get(t.url("/agent"))
            .header("cookie", &fresh)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let page = t
        .client
        .get(t.url("/agent/security"))
        .header("cookie", &fresh)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("last used 2026-11-26"), "{page}");

    // A key the account does not know is refused.
    let mut stranger = SoftPasskey::new(true);
    let start: Value = post_json(
        &t,
        "/agent/passkeys/login/start",
        &json!({"username": "ana"}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(start.clone()).unwrap();
    assert!(
        stranger.do_authentication(origin(&t), options).is_err(),
        "it holds no allowed credential"
    );

    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "agent.passkey_added"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "agent.login" && e.detail.contains("passkey"))
    );

    let id = hod_db::passkeys::for_agent(t.app.storage(), 1)
        .await
        .unwrap();
    let id = if id.is_empty() {
        let a = hod_db::agents::find_by_npn(
            t.app.storage(),
            &hod_domain::Npn::parse("2000001").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        hod_db::passkeys::for_agent(t.app.storage(), a.id)
            .await
            .unwrap()[0]
            .id
    } else {
        id[0].id
    };
    let r = t
        .client
        .post(t.url(&format!("/agent/passkeys/{id}/remove")))
        .header("origin", t.url(""))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let start: Value = post_json(
        &t,
        "/agent/passkeys/login/start",
        &json!({"username": "ana"}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let options: RequestChallengeResponse = serde_json::from_value(start).unwrap();
    assert!(
        key.do_authentication(origin(&t), options).is_err(),
        "the removed key is no longer offered"
    );
    assert!(
        hod_db::audit::recent(t.app.storage(), 50)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "agent.passkey_removed")
    );
}

async fn passkey_login_does_not_reveal_accounts(t: TestApp) {
    let cookie = ana(&t).await;
    let mut key = SoftPasskey::new(true);
    add_passkey(&t, &mut key, &cookie, "Phone").await;
    let shape = |v: &Value| {
        let pk = &v["publicKey"];
        (
            v["ceremony"].as_str().map(str::len),
            pk["challenge"].as_str().map(str::len),
            pk["allowCredentials"].as_array().map(Vec::len),
            pk["userVerification"].clone(),
        )
    };
    let real: Value = post_json(
        &t,
        "/agent/passkeys/login/start",
        &json!({"username": "ana"}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let none: Value = post_json(
        &t,
        "/agent/passkeys/login/start",
        &json!({"username": "nobody.here"}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shape(&real), shape(&none), "{real}\n{none}");
    let again: Value = post_json(
        &t,
        "/agent/passkeys/login/start",
        &json!({"username": "nobody.here"}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        none["publicKey"]["allowCredentials"], again["publicKey"]["allowCredentials"],
        "stable, like a real account's"
    );
    // Finishing a decoy ceremony is refused like a wrong password.
    let bogus = json!({"ceremony": none["ceremony"], "credential": {"id": "AA", "rawId": "AA", "type": "public-key",
        "response": {"authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA", "userHandle": null}, "extensions": {}}});
    let r = post_json(&t, "/agent/passkeys/login/finish", &bogus, None).await;
    assert_eq!(r.status(), 401);
}
