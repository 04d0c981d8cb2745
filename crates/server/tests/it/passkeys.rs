//! Passkeys with a software authenticator speaking WebAuthn to the real server, on both
//! databases: add one after login, log in with it, remove it — an agent's, and an operator's
//! to the console (the two never open each other's sessions).
use hod_test_support::{TestApp, app_tests};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use hod_app::auth::PrincipalKind;
use hod_app::operators::Role;

use crate::console::console_login;
use crate::support::{
    PASSWORD, invitation_token, login, post, post_json, register, session_cookie,
};

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

const AGENT: &str = "/agent/passkeys";
const OPERATOR: &str = "/admin/passkeys";

/// Adds the key to the account of `cookie`'s session, through `base`'s endpoints.
pub(crate) async fn add_passkey(
    t: &TestApp,
    base: &str,
    key: &mut SoftPasskey,
    cookie: &str,
    name: &str,
) {
    let start: Value = post_json(
        t,
        &format!("{base}/register/start"),
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
        &format!("{base}/register/finish"),
        &json!({"ceremony": start["ceremony"], "name": name, "credential": credential}),
        Some(cookie),
    )
    .await;
    assert_eq!(r.status(), 201);
}

/// The first half of a log-in at `base`: the ceremony and the browser's options.
async fn login_start(t: &TestApp, base: &str, username: &str) -> (Value, RequestChallengeResponse) {
    let start: Value = post_json(
        t,
        &format!("{base}/login/start"),
        &json!({"username": username}),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let options = serde_json::from_value(start.clone()).unwrap_or_else(|e| panic!("{e}: {start}"));
    (start["ceremony"].clone(), options)
}

/// Logs in with the key at `base`; the response.
async fn passkey_login(
    t: &TestApp,
    base: &str,
    key: &mut SoftPasskey,
    username: &str,
) -> reqwest::Response {
    let (ceremony, options) = login_start(t, base, username).await;
    let credential = key.do_authentication(origin(t), options).unwrap();
    post_json(
        t,
        &format!("{base}/login/finish"),
        &json!({"ceremony": ceremony, "credential": credential}),
        None,
    )
    .await
}

app_tests!(
    a_passkey_is_added_used_and_removed,
    passkey_login_does_not_reveal_accounts,
    an_operator_logs_in_to_the_console_with_a_passkey
);

async fn a_passkey_is_added_used_and_removed(t: TestApp) {
    let cookie = ana(&t).await;
    let mut key = SoftPasskey::new(true);
    add_passkey(&t, AGENT, &mut key, &cookie, "Work laptop").await;
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

    let r = passkey_login(&t, AGENT, &mut key, "ANA").await;
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

    let ana =
        hod_db::agents::find_by_npn(t.app.storage(), &hod_domain::Npn::parse("2000001").unwrap())
            .await
            .unwrap()
            .unwrap();
    let id = hod_db::passkeys::of(t.app.storage(), PrincipalKind::Agent, ana.id)
        .await
        .unwrap()[0]
        .id;
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
    add_passkey(&t, AGENT, &mut key, &cookie, "Phone").await;
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

/// An operator adds a passkey on their account page and logs in to the console with it; the
/// agents' endpoints know nothing of it, a disabled operator's key opens nothing, and every
/// step is audited as the operator's.
async fn an_operator_logs_in_to_the_console_with_a_passkey(t: TestApp) {
    const PW: &str = "lighthouse keeper at dawn";
    t.app
        .create_operator(
            "root",
            "root@hod.test",
            "correct horse battery staple",
            Role::Admin,
        )
        .await
        .unwrap();
    let id = t
        .app
        .create_operator("desk", "desk@hod.test", PW, Role::HelpDesk)
        .await
        .unwrap();
    let cookie = console_login(&t, "desk", PW).await.unwrap();
    let mut key = SoftPasskey::new(true);
    add_passkey(&t, OPERATOR, &mut key, &cookie, "Front desk PC").await;
    let account = t
        .client
        .get(t.url("/admin/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("Front desk PC · added 2026-11-26"),
        "{account}"
    );

    let r = passkey_login(&t, OPERATOR, &mut key, "desk").await;
    assert_eq!(r.status(), 200);
    let console = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hod_console=") && c.contains("Path=/admin"))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .expect("a console cookie");
    assert!(session_cookie(&r).is_none(), "no agent session");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["next"], "/admin");
    let home = t
        .client
        .get(t.url("/admin"))
        .header("cookie", &console)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);

    // The agents' log-in offers a decoy for the operator's name, and an operator's ceremony
    // finished at the agents' endpoint opens nothing.
    let (_, options) = login_start(&t, AGENT, "desk").await;
    assert!(key.do_authentication(origin(&t), options).is_err());
    let (ceremony, options) = login_start(&t, OPERATOR, "desk").await;
    let credential = key.do_authentication(origin(&t), options).unwrap();
    let body = json!({"ceremony": ceremony, "credential": credential});
    let r = post_json(&t, &format!("{AGENT}/login/finish"), &body, None).await;
    assert_eq!(r.status(), 401);
    let r = post_json(&t, &format!("{OPERATOR}/login/finish"), &body, None).await;
    assert_eq!(
        r.status(),
        200,
        "the agents' door neither opened nor used up the operator's ceremony"
    );

    // A disabled operator's passkey is refused like a wrong password.
    let root = console_login(&t, "root", "correct horse battery staple")
        .await
        .unwrap();
    let r = post(
        &t,
        &format!("/admin/operators/{id}"),
        &[("change", "disable")],
        Some(&root),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        passkey_login(&t, OPERATOR, &mut key, "desk").await.status(),
        401
    );
    let r = post(
        &t,
        &format!("/admin/operators/{id}"),
        &[("change", "enable")],
        Some(&root),
    )
    .await;
    assert_eq!(r.status(), 303);

    // Removing it: the key is no longer offered.
    let cookie = console_login(&t, "desk", PW).await.unwrap();
    let passkey = hod_db::passkeys::of(t.app.storage(), PrincipalKind::Operator, id)
        .await
        .unwrap()[0]
        .id;
    let r = post(
        &t,
        &format!("/admin/passkeys/{passkey}/remove"),
        &[],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, options) = login_start(&t, OPERATOR, "desk").await;
    assert!(key.do_authentication(origin(&t), options).is_err());

    let audit = hod_db::audit::recent(t.app.storage(), 100).await.unwrap();
    let by_desk = |action: &str| {
        audit
            .iter()
            .any(|e| e.action == action && e.actor == hod_domain::actor::Actor::Operator(id))
    };
    assert!(by_desk("operator.passkey_added"));
    assert!(by_desk("operator.passkey_removed"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "operator.login" && e.detail.contains("passkey"))
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "operator.login_refused" && e.detail.contains("disabled"))
    );
}
