//! Logging in, sessions, lockout and recovery (SPEC.md §4) over HTTP, on both databases.
use hod_app::system::Channel;
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;

use crate::support::{PASSWORD, invitation_token, login, post, session_cookie};

/// Ana (2000001) registers through the API with a texted code; returns the SMS body.
pub(crate) async fn registered(t: &TestApp) -> String {
    crate::eligibility::import_all(&t.app).await;
    let token = invitation_token(&t.take_outbox().await, "ana.alvarez@agency.test");
    crate::support::register(t, &token, "ana.alvarez", "77002", "email_text").await;
    let sent = t.take_outbox().await;
    sent.iter()
        .find(|m| m.channel == Channel::Sms)
        .unwrap()
        .body
        .clone()
}

async fn get(t: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    t.client
        .get(t.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// Every cookie a response sets.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

app_tests!(
    login_dashboard_logout_and_remembered_username,
    unknown_user_and_wrong_password_look_the_same,
    five_failures_lock_the_account_for_an_hour,
    sessions_rotate_and_expire_idle_and_absolute,
    forgot_username_and_password,
    the_texted_code_confirms_the_phone,
    one_address_is_throttled,
    behind_a_trusted_proxy_each_client_counts_apart,
    terms_gate_accept_decline_and_new_versions,
    log_in_returns_where_the_agent_was_and_says_what_was_lost,
    a_reset_link_is_used_once_under_100_concurrent_attempts,
);

async fn login_dashboard_logout_and_remembered_username(t: TestApp) {
    registered(&t).await;
    assert_eq!(t.get("/agent").await.status(), 303, "not logged in");
    let r = post(
        &t,
        "/agent/login",
        &[
            ("username", "ANA.ALVAREZ"),
            ("password", PASSWORD),
            ("remember", "true"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/agent/terms",
        "first the terms gate"
    );
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("hod_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let remember = cookies.iter().find(|c| c.starts_with("hod_user=")).unwrap();
    assert!(remember.starts_with("hod_user=ANA.ALVAREZ;"), "{remember}");
    let session = session.split(';').next().unwrap();

    let home = get(&t, "/agent", session).await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("Ana Alvarez (ana.alvarez)")
            && html.contains("You are eligible to receive referrals in: TX"),
        "{html}"
    );

    let page = get(&t, "/agent/login", "hod_user=ANA.ALVAREZ")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"value="ANA.ALVAREZ" required"#)
            && page.contains(r#"value="true" checked"#),
        "{page}"
    );
    assert!(page.contains("Do not use Remember my Username on public or shared computers."));
    let plain = t.get("/agent/login").await.text().await.unwrap();
    assert!(plain.contains(r#"spellcheck="false" value="" required"#));

    let out = post(&t, "/agent/logout", &[], Some(session)).await;
    assert_eq!(out.status(), 303);
    assert_eq!(
        get(&t, "/agent", session).await.status(),
        303,
        "the session ended on the server"
    );
    // Logging in without "remember" forgets the username.
    let r = post(
        &t,
        "/agent/login",
        &[("username", "ana.alvarez"), ("password", PASSWORD)],
        None,
    )
    .await;
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("hod_user=;") && c.contains("Max-Age=0"))
    );
}

async fn unknown_user_and_wrong_password_look_the_same(t: TestApp) {
    registered(&t).await;
    let wrong = post(
        &t,
        "/agent/login",
        &[("username", "ana.alvarez"), ("password", "Wrong-Pass-99")],
        None,
    )
    .await;
    let unknown = post(
        &t,
        "/agent/login",
        &[("username", "nobody.here"), ("password", "Wrong-Pass-99")],
        None,
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    let strip = |html: &str| html.replace("ana.alvarez", "X").replace("nobody.here", "X");
    assert_eq!(strip(&a), strip(&b));
    assert!(a.contains("The username or password is not correct."));
    // Recovery pages answer alike too.
    let known = post(
        &t,
        "/agent/forgot-password",
        &[("value", "ana.alvarez")],
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    let other = post(
        &t,
        "/agent/forgot-password",
        &[("value", "nobody.here")],
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(known, other);
    let known = post(
        &t,
        "/agent/forgot-username",
        &[("value", "ana.alvarez@agency.test")],
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    let other = post(
        &t,
        "/agent/forgot-username",
        &[("value", "nobody@agency.test")],
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(known, other);
    assert_eq!(
        t.take_outbox().await.len(),
        2,
        "only the real account got mail"
    );
}

async fn five_failures_lock_the_account_for_an_hour(t: TestApp) {
    registered(&t).await;
    // Four failures, then the window (120 minutes) passes: they no longer count.
    for _ in 0..4 {
        assert!(login(&t, "ana.alvarez", "Wrong-Pass-99").await.is_none());
    }
    t.clock.advance(SignedDuration::from_mins(121));
    for _ in 0..4 {
        assert!(login(&t, "ana.alvarez", "Wrong-Pass-99").await.is_none());
    }
    assert!(t.take_outbox().await.is_empty(), "not locked yet");
    assert!(login(&t, "ana.alvarez", "Wrong-Pass-99").await.is_none());
    let mail = t.take_outbox().await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].subject.contains("locked") && mail[0].body.contains("60 minutes"));
    assert!(
        login(&t, "ana.alvarez", PASSWORD).await.is_none(),
        "locked: even the right password is refused"
    );
    t.clock.advance(SignedDuration::from_mins(59));
    assert!(login(&t, "ana.alvarez", PASSWORD).await.is_none());
    t.clock.advance(SignedDuration::from_mins(1));
    assert!(
        login(&t, "ana.alvarez", PASSWORD).await.is_some(),
        "the lock ends after 60 minutes"
    );
    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "agent.locked"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "agent.login_failed" && e.ip.as_deref() == Some("127.0.0.1"))
    );
}

async fn sessions_rotate_and_expire_idle_and_absolute(t: TestApp) {
    registered(&t).await;
    let first = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    // Logging in again from a browser that holds a session: a new id, the old one ends.
    let r = post(
        &t,
        "/agent/login",
        &[("username", "ana.alvarez"), ("password", PASSWORD)],
        Some(&first),
    )
    .await;
    let second = session_cookie(&r).unwrap();
    assert_ne!(first, second);
    assert_eq!(get(&t, "/agent", &first).await.status(), 303);
    assert_eq!(get(&t, "/agent", &second).await.status(), 200);

    // Idle: 14 minutes between requests keeps it; 15 ends it.
    t.clock.advance(SignedDuration::from_mins(14));
    assert_eq!(get(&t, "/agent", &second).await.status(), 200);
    t.clock.advance(SignedDuration::from_mins(15));
    assert_eq!(get(&t, "/agent", &second).await.status(), 303);

    // Absolute: active all day, still over after 12 hours.
    let third = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    for _ in 0..71 {
        t.clock.advance(SignedDuration::from_mins(10));
        assert_eq!(get(&t, "/agent", &third).await.status(), 200);
    }
    t.clock.advance(SignedDuration::from_mins(10));
    assert_eq!(
        get(&t, "/agent", &third).await.status(),
        303,
        "12 hours after login"
    );
}

async fn forgot_username_and_password(t: TestApp) {
    registered(&t).await;
    let page = post(
        &t,
        "/agent/forgot-username",
        &[("value", "ANA.ALVAREZ@agency.test")],
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("If that email address belongs to a Help On Demand account"));
    let mail = t.take_outbox().await;
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0]
            .body
            .contains("Your Help On Demand username is ana.alvarez")
    );

    let session = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    // Locked accounts can still reset.
    for _ in 0..5 {
        login(&t, "ana.alvarez", "Wrong-Pass-99").await;
    }
    t.expect_outbox(&[("email", "ana.alvarez@agency.test")])
        .await;
    post(
        &t,
        "/agent/forgot-password",
        &[("value", "ana.alvarez")],
        None,
    )
    .await;
    let mail = t.take_outbox().await;
    let body = &mail[0].body;
    let start = body.find("/agent/reset/").unwrap();
    let path = body[start..].split_whitespace().next().unwrap().to_owned();
    assert_eq!(t.get(&path).await.status(), 200);

    let weak = post(
        &t,
        &path,
        &[("password", "password"), ("confirm_password", "password")],
        None,
    )
    .await;
    assert_eq!(weak.status(), 422);
    assert!(weak.text().await.unwrap().contains(
        "does not meet these rules: At least one number (0-9); At least one uppercase letter (A-Z)"
    ));
    let done = post(
        &t,
        &path,
        &[
            ("password", "Green-Valley-58"),
            ("confirm_password", "Green-Valley-58"),
        ],
        None,
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("You were logged out everywhere.")
    );
    assert_eq!(
        get(&t, "/agent", &session).await.status(),
        303,
        "every session ended"
    );
    let told = t.take_outbox().await;
    assert!(told[0].subject.contains("password was changed"));
    assert!(login(&t, "ana.alvarez", PASSWORD).await.is_none());
    assert!(
        login(&t, "ana.alvarez", "Green-Valley-58").await.is_some(),
        "the reset lifted the lock"
    );
    let again = post(
        &t,
        &path,
        &[
            ("password", "Other-Valley-58"),
            ("confirm_password", "Other-Valley-58"),
        ],
        None,
    )
    .await;
    assert_eq!(again.status(), 410, "single use");

    // A link older than 60 minutes does not work.
    post(
        &t,
        "/agent/forgot-password",
        &[("value", "ana.alvarez")],
        None,
    )
    .await;
    let body = t.take_outbox().await[0].body.clone();
    let start = body.find("/agent/reset/").unwrap();
    let late = body[start..].split_whitespace().next().unwrap().to_owned();
    t.clock.advance(SignedDuration::from_mins(60));
    let r = t.get(&late).await;
    assert_eq!(r.status(), 410);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Reset links work once and for 60 minutes.")
    );
}

async fn the_texted_code_confirms_the_phone(t: TestApp) {
    let sms = registered(&t).await;
    let code: String = sms
        .split("Your code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    let session = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    let home = get(&t, "/agent", &session).await.text().await.unwrap();
    assert!(
        home.contains("Confirm your phone") && home.contains("(713) 555-0101"),
        "{home}"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(&t, "/agent/phone", &[("code", wrong)], Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(r.contains("That code is not right. Tries left: 4."), "{r}");
    let r = post(&t, "/agent/phone", &[("code", &code)], Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        r.contains("Your phone number is confirmed.") && !r.contains("Confirm your phone"),
        "{r}"
    );
    let agent =
        hod_db::agents::find_by_npn(t.app.storage(), &hod_domain::Npn::parse("2000001").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(agent.phone_confirmed_at.is_some());
    // Not logged in: no way to confirm anything.
    assert_eq!(
        post(&t, "/agent/phone", &[("code", &code)], None)
            .await
            .status(),
        303
    );
}

async fn one_address_is_throttled(t: TestApp) {
    registered(&t).await;
    let (allowed, window) = hod_web::throttle::Purpose::FailedLogin.budget();
    // Agents logging in from one office do not use up the budget: only refusals count.
    for _ in 0..40 {
        login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    }
    // 50 wrong passwords from one address: stopped after the budget.
    let mut codes = Vec::new();
    for i in 0..50 {
        let user = format!("guess.{i}");
        let r = post(
            &t,
            "/agent/login",
            &[("username", &user), ("password", "Wrong-Pass-99")],
            None,
        )
        .await;
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "600");
            let body = r.text().await.unwrap();
            assert!(body.contains("Too many attempts"), "{body}");
            assert!(body.contains("wait 10 minutes"), "{body}");
            assert!(
                body.contains(&format!("value=\"{user}\"")),
                "what was typed is kept"
            );
            assert!(body.contains("href=\"tel:+18003182596\""), "{body}");
        }
    }
    let allowed = usize::try_from(allowed).unwrap();
    assert!(codes[..allowed].iter().all(|c| *c == 401), "{codes:?}");
    assert!(codes[allowed..].iter().all(|c| *c == 429), "{codes:?}");
    // Even the right password waits: the address is guessing.
    assert!(login(&t, "ana.alvarez", PASSWORD).await.is_none());
    // The app's token endpoint shares the budget.
    let r = t
        .client
        .post(t.url("/api/v1/agent/token"))
        .json(&serde_json::json!({"username": "ana.alvarez", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Another purpose is not affected: asking for a reset link still works.
    let r = post(
        &t,
        "/agent/forgot-password",
        &[("value", "ana.alvarez")],
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    t.expect_outbox(&[("email", "ana.alvarez@agency.test")])
        .await;
    t.clock.advance(window);
    assert!(
        login(&t, "ana.alvarez", PASSWORD).await.is_some(),
        "a new window"
    );
}

async fn behind_a_trusted_proxy_each_client_counts_apart(t: TestApp) {
    let addr = t
        .serve_with(hod_web::WebSettings {
            trusted_proxies: vec![hod_web::peer::IpNet::parse("127.0.0.1").unwrap()],
            ..Default::default()
        })
        .await;
    let url = |path: &str| format!("http://{addr}{path}");
    let attempt = |client: &'static str| {
        t.client
            .post(url("/agent/login"))
            .header("origin", url(""))
            .header("x-forwarded-for", client)
            .form(&[("username", "nobody"), ("password", "Wrong-Pass-99")])
            .send()
    };
    let (allowed, _) = hod_web::throttle::Purpose::FailedLogin.budget();
    for _ in 0..allowed {
        assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 401);
    }
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 429);
    // Someone else behind the same proxy, and a client naming itself in front of it.
    assert_eq!(attempt("198.51.100.2").await.unwrap().status(), 401);
    assert_eq!(
        attempt("198.51.100.9, 198.51.100.1")
            .await
            .unwrap()
            .status(),
        429
    );
    // The proxy on this machine does not make its visitors local.
    let metrics = |forwarded: Option<&'static str>| {
        let mut r = t.client.get(url("/metrics"));
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        r.send()
    };
    assert_eq!(metrics(Some("198.51.100.2")).await.unwrap().status(), 404);
    assert_eq!(metrics(None).await.unwrap().status(), 200);
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn log_in_returns_where_the_agent_was_and_says_what_was_lost(t: TestApp) {
    registered(&t).await;
    // Manage Referrals is closed until the terms are accepted; the terms come back to it.
    let session = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    let r = get(&t, "/agent/referrals", &session).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/agent/terms?next=%2Fagent%2Freferrals");
    let terms = get(&t, &location(&r), &session).await.text().await.unwrap();
    assert!(
        terms.contains(r#"<input type="hidden" name="next" value="/agent/referrals">"#),
        "{terms}"
    );
    let r = post(
        &t,
        "/agent/terms",
        &[
            ("decision", "accept"),
            ("versions", "agent_broker:1"),
            ("versions", "hod:1"),
            ("next", "/agent/referrals"),
        ],
        Some(&session),
    )
    .await;
    assert_eq!(location(&r), "/agent/referrals");
    assert_eq!(get(&t, "/agent/availability", &session).await.status(), 200);
    // A link followed while logged out: the log-in page, then that page.
    let r = t.get("/agent/referrals?offer=7").await;
    assert_eq!(
        location(&r),
        "/agent/login?next=%2Fagent%2Freferrals%3Foffer%3D7"
    );
    let r = post(
        &t,
        "/agent/login",
        &[
            ("username", "ana.alvarez"),
            ("password", PASSWORD),
            ("next", "/agent/referrals?offer=7"),
        ],
        None,
    )
    .await;
    assert_eq!(location(&r), "/agent/referrals?offer=7");
    // Never to another site.
    let r = post(
        &t,
        "/agent/login",
        &[
            ("username", "ana.alvarez"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ],
        None,
    )
    .await;
    assert_eq!(location(&r), "/agent");
    // The session ends while a form is being saved: the agent is told it was not saved.
    t.clock
        .advance(hod_app::auth::SESSION_IDLE + jiff::SignedDuration::from_secs(1));
    let r = t
        .client
        .post(t.url("/agent/availability/mode"))
        .header("origin", t.url(""))
        .header("referer", t.url("/agent/availability"))
        .header("cookie", &session)
        .form(&[("mode", "available")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/agent/login?next=%2Fagent%2Favailability&ended=unsaved"
    );
    let page = t.get(&location(&r)).await.text().await.unwrap();
    assert!(
        page.contains("what you were saving could not be saved")
            && page.contains(r#"name="next" value="/agent/availability""#),
        "{page}"
    );
    let r = get(&t, "/agent/profile", &session).await;
    assert_eq!(
        location(&r),
        "/agent/login?next=%2Fagent%2Fprofile&ended=session"
    );
}

async fn terms_gate_accept_decline_and_new_versions(t: TestApp) {
    registered(&t).await;
    let session = login(&t, "ana.alvarez", PASSWORD).await.unwrap();
    let page = get(&t, "/agent/terms", &session)
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Agent/Broker Terms of Use for Help On Demand",
        "Help On Demand Terms of Use",
        "Proficient Languages",
        "State Preferences",
        r#"name="versions" value="agent_broker:1""#,
        r#"name="versions" value="hod:1""#,
        r#"value="accept">Accept</button>"#,
        r#"value="decline">Decline</button>"#,
    ] {
        assert!(page.contains(text), "{text}");
    }
    let es = t
        .client
        .get(t.url("/agent/terms"))
        .header("cookie", format!("{session}; hod_lang=es"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        es.contains("Condiciones de uso para agentes y corredores de Help On Demand")
            && es.contains("Aceptar"),
        "{es}"
    );
    let home = get(&t, "/agent", &session).await.text().await.unwrap();
    assert!(
        home.contains("You have not accepted the Terms of Use yet."),
        "{home}"
    );

    let npn = hod_domain::Npn::parse("2000001").unwrap();
    let day = t.app.today();
    let r = post(
        &t,
        "/agent/terms",
        &[("decision", "decline")],
        Some(&session),
    )
    .await;
    assert_eq!(r.status(), 303);
    let home = get(&t, "/agent", &session).await.text().await.unwrap();
    assert!(home.contains("You declined the Terms of Use."), "{home}");
    let report = t.app.eligibility_of(&npn, day).await.unwrap();
    assert!(report.eligible && !report.registration_complete);
    assert!(
        report.reasons[0]
            .contains("has not accepted the current Agent/Broker and Help On Demand Terms of Use")
    );

    let accept = [
        ("decision", "accept"),
        ("versions", "agent_broker:1"),
        ("versions", "hod:1"),
    ];
    assert_eq!(
        post(&t, "/agent/terms", &accept, Some(&session))
            .await
            .status(),
        303
    );
    let home = get(&t, "/agent", &session).await.text().await.unwrap();
    assert!(!home.contains("Your registration is incomplete"), "{home}");
    assert!(
        t.app
            .eligibility_of(&npn, day)
            .await
            .unwrap()
            .registration_complete
    );
    let stored = hod_db::eligibility::get(t.app.storage(), 2027, &npn)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.reasons.is_empty(),
        "stored at once: {:?}",
        stored.reasons
    );
    let r = post(
        &t,
        "/agent/login",
        &[("username", "ana.alvarez"), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_eq!(r.headers()["location"], "/agent", "no gate once accepted");

    // A new version of the Help On Demand terms: asked again; the old version is not enough.
    t.app
        .storage()
        .execute_raw_for_tests(
            "INSERT INTO terms_documents (kind, version, title_en, title_es, body_en, body_es, published_at)
             VALUES ('hod', '2', 'Help On Demand Terms of Use', 'Condiciones de uso de Help On Demand', 'New text.', 'Texto nuevo.', 1800000000000)",
        )
        .await
        .unwrap();
    let r = post(
        &t,
        "/agent/login",
        &[("username", "ana.alvarez"), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_eq!(r.headers()["location"], "/agent/terms");
    let stale = post(&t, "/agent/terms", &accept, Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        stale.contains("The terms changed while you were reading."),
        "{stale}"
    );
    assert!(stale.contains(r#"value="hod:2""#));
    let accept = [
        ("decision", "accept"),
        ("versions", "agent_broker:1"),
        ("versions", "hod:2"),
    ];
    assert_eq!(
        post(&t, "/agent/terms", &accept, Some(&session))
            .await
            .status(),
        303
    );
    assert!(
        t.app
            .eligibility_of(&npn, day)
            .await
            .unwrap()
            .registration_complete
    );
    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "agent.terms_accepted")
            .count(),
        2
    );
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "agent.terms_declined")
            .count(),
        1
    );
}

async fn a_reset_link_is_used_once_under_100_concurrent_attempts(t: TestApp) {
    registered(&t).await;
    post(
        &t,
        "/agent/forgot-password",
        &[("value", "ana.alvarez")],
        None,
    )
    .await;
    let body = t.take_outbox().await[0].body.clone();
    let start = body.find("/agent/reset/").unwrap();
    let token = body[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("/agent/reset/")
        .to_owned();
    // Straight to the use case: the per-address throttle would stop 100 posts from one test.
    let attempts: Vec<_> = (0..100)
        .map(|i| {
            let app = t.app.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let password = format!("Green-Valley-{}", 100 + i);
                app.reset_password(&token, &password, &password, Default::default())
                    .await
            })
        })
        .collect();
    let mut done = 0;
    let mut refused = 0;
    for a in attempts {
        match a.await.unwrap() {
            Ok(()) => done += 1,
            Err(hod_app::auth::ResetError::Link) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((done, refused), (1, 99));
    let mail = t.take_outbox().await;
    assert_eq!(
        mail.iter()
            .filter(|m| m.subject.contains("password was changed"))
            .count(),
        1
    );
    let audit = hod_db::audit::recent(t.app.storage(), 200).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "agent.password_reset")
            .count(),
        1
    );
}
