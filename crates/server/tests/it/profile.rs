//! The agent's Profile, Availability Settings and Security tabs (SPEC.md §5), on both
//! databases.
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;

use crate::support::{PASSWORD, invitation_token, page, post, register, session_cookie};

/// Registers Ana (2000001, TX) and Gigi (2000007, OH) and accepts their terms; returns
/// their session cookies.
async fn two_agents(t: &TestApp) -> (String, String) {
    crate::eligibility::import_all(&t.app).await;
    let mail = t.take_outbox().await;
    let mut cookies = Vec::new();
    for (email, username, zip) in [
        ("ana.alvarez@agency.test", "ana", "77002"),
        ("gigi.garza@agency.test", "gigi", "43004"),
    ] {
        register(
            t,
            &invitation_token(&mail, email),
            username,
            zip,
            "email_only",
        )
        .await;
        let r = post(
            t,
            "/agent/login",
            &[("username", username), ("password", PASSWORD)],
            None,
        )
        .await;
        let c = session_cookie(&r).unwrap();
        let accept = [
            ("decision", "accept"),
            ("versions", "agent_broker:1"),
            ("versions", "hod:1"),
        ];
        assert_eq!(
            post(t, "/agent/terms", &accept, Some(&c)).await.status(),
            303
        );
        cookies.push(c);
    }
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("email", "gigi.garza@agency.test"),
    ])
    .await;
    (cookies[0].clone(), cookies[1].clone())
}

fn npn(s: &str) -> hod_domain::Npn {
    hod_domain::Npn::parse(s).unwrap()
}

app_tests!(
    profile_contact_languages_and_states,
    availability_hours_switch_and_absence,
    security_password_and_sessions,
    one_agent_cannot_read_or_change_another,
);

async fn profile_contact_languages_and_states(t: TestApp) {
    let (ana, _) = two_agents(&t).await;
    let html = page(&t, "/agent/profile", &ana).await;
    for text in [
        "Ana",
        "Alvarez",
        "ana.alvarez@agency.test",
        r#"value="(713) 555-0101""#,
        r#"name="states" value="TX""#,
        r#"aria-current="page">Profile"#,
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(
        !html.contains(r#"name="states" value="CA""#),
        "licensed in CA, which is not on HealthCare.gov"
    );

    let r = post(
        &t,
        "/agent/profile/contact",
        &[
            ("phone", "(214) 555-0199"),
            ("contact_method", "email_text"),
            ("zip", "00000"),
        ],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This ZIP code does not exist.")
    );
    let r = post(
        &t,
        "/agent/profile/contact",
        &[
            ("phone", "(214) 555-0199"),
            ("contact_method", "email_text"),
            ("zip", "75201"),
        ],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Saved."));
    let agent = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (agent.phone.as_deref(), agent.zip.as_deref()),
        (Some("+12145550199"), Some("75201"))
    );
    assert!(
        agent.phone_confirmed_at.is_none(),
        "a new number is confirmed again"
    );
    let sms = t.take_outbox().await;
    assert_eq!((sms.len(), sms[0].recipient.as_str()), (1, "+12145550199"));

    let r = post(&t, "/agent/profile/languages", &[], Some(&ana)).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Choose at least one language.")
    );
    assert_eq!(
        post(
            &t,
            "/agent/profile/languages",
            &[("languages", "en"), ("languages", "es")],
            Some(&ana)
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        hod_db::agents::languages(t.app.storage(), agent.id)
            .await
            .unwrap(),
        vec!["en", "es"]
    );

    let r = post(&t, "/agent/profile/states", &[("states", "CA")], Some(&ana)).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Choose only states where you are eligible for referrals.")
    );
    assert_eq!(
        post(&t, "/agent/profile/states", &[("states", "TX")], Some(&ana))
            .await
            .status(),
        200
    );
    assert_eq!(
        hod_db::agents::state_preferences(t.app.storage(), agent.id)
            .await
            .unwrap(),
        vec!["TX"]
    );
    let es = t
        .client
        .get(t.url("/agent/profile"))
        .header("cookie", format!("{ana}; hod_lang=es"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        es.contains("Información de contacto") && es.contains("Texas"),
        "{es}"
    );
}

async fn availability_hours_switch_and_absence(t: TestApp) {
    let (ana, _) = two_agents(&t).await;
    // Thursday 2026-11-26 16:00 UTC = 10:00 in Houston (Central): inside the default 9–17.
    let html = page(&t, "/agent/availability", &ana).await;
    assert!(html.contains("You are taking referrals now."), "{html}");
    assert!(
        html.contains(r#"name="d3s0" value="09:00""#)
            && html.contains(r#"name="d3e0" value="17:00""#)
    );
    assert!(
        html.contains(r#"<option value="America/Chicago" selected>Central</option>"#),
        "time zone from the ZIP"
    );

    let r = post(
        &t,
        "/agent/availability/mode",
        &[("mode", "unavailable")],
        Some(&ana),
    )
    .await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("You are not taking referrals now.")
    );
    post(
        &t,
        "/agent/availability/mode",
        &[("mode", "schedule")],
        Some(&ana),
    )
    .await;

    // Thursday with a break from 10:00 to 11:00 Central: not now.
    let overlap = [
        ("time_zone", "America/Chicago"),
        ("d3s0", "08:00"),
        ("d3e0", "10:00"),
        ("d3s1", "09:30"),
        ("d3e1", "12:00"),
    ];
    let r = post(&t, "/agent/availability/hours", &overlap, Some(&ana)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must not overlap"));
    let with_break = [
        ("time_zone", "America/Chicago"),
        ("d3s0", "08:00"),
        ("d3e0", "10:00"),
        ("d3s1", "11:00"),
        ("d3e1", "17:00"),
    ];
    let html = post(&t, "/agent/availability/hours", &with_break, Some(&ana))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("You are not taking referrals now.")
            && html.contains(r#"name="d3s1" value="11:00""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="d0s0" value="""#),
        "Monday is now empty"
    );
    // An hour later (the session would have gone idle: ask the use case) the break is over.
    let agent_id = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000001"))
        .await
        .unwrap()
        .unwrap()
        .id;
    t.clock.advance(SignedDuration::from_hours(1));
    assert!(t.app.profile(agent_id).await.unwrap().available_now);
    t.clock.advance(SignedDuration::from_hours(-1));

    let r = post(
        &t,
        "/agent/availability/absence",
        &[("from", "2026-11-26"), ("until", "2026-11-20")],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = post(
        &t,
        "/agent/availability/absence",
        &[("from", "2026-11-26"), ("until", "")],
        Some(&ana),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("You are not taking referrals now.")
            && html.contains(r#"value="2026-11-26""#)
    );
    let html = post(
        &t,
        "/agent/availability/mode",
        &[("mode", "available")],
        Some(&ana),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("You are not taking referrals now."),
        "an absence wins over green"
    );
    let html = post(
        &t,
        "/agent/availability/absence",
        &[("end", "true")],
        Some(&ana),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(html.contains("You are taking referrals now."));
}

async fn security_password_and_sessions(t: TestApp) {
    let (ana, _) = two_agents(&t).await;
    let other = crate::support::login(&t, "ana", PASSWORD).await.unwrap();
    let html = page(&t, "/agent/security", &ana).await;
    assert_eq!(
        html.matches("127.0.0.1").count(),
        2,
        "two sessions listed: {html}"
    );
    assert!(html.contains("this device"));

    let wrong = post(
        &t,
        "/agent/security/password",
        &[
            ("current_password", "nope"),
            ("password", "Green-Valley-58"),
            ("confirm_password", "Green-Valley-58"),
        ],
        Some(&ana),
    )
    .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is not correct.")
    );
    let weak = post(
        &t,
        "/agent/security/password",
        &[
            ("current_password", PASSWORD),
            ("password", "short"),
            ("confirm_password", "short"),
        ],
        Some(&ana),
    )
    .await;
    assert_eq!(weak.status(), 422);
    let ok = post(
        &t,
        "/agent/security/password",
        &[
            ("current_password", PASSWORD),
            ("password", "Green-Valley-58"),
            ("confirm_password", "Green-Valley-58"),
        ],
        Some(&ana),
    )
    .await;
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("Your password was changed.")
    );
    assert_eq!(
        t.client
            .get(t.url("/agent"))
            .header("cookie", &other)
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "other device logged out"
    );
    assert_eq!(
        t.client
            .get(t.url("/agent"))
            .header("cookie", &ana)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "this one stays"
    );
    assert!(matches!(
        t.app
            .login("ana", "Green-Valley-58", Default::default())
            .await
            .unwrap(),
        hod_app::auth::LoginOutcome::LoggedIn { .. }
    ));
    let html = post(&t, "/agent/security/sessions", &[], Some(&ana))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Devices logged out: 1."), "{html}");
}

async fn one_agent_cannot_read_or_change_another(t: TestApp) {
    let (ana, gigi) = two_agents(&t).await;
    // Every profile route works on the session's own agent: Gigi's pages show Gigi, and
    // saving changes Gigi only.
    let html = page(&t, "/agent/profile", &gigi).await;
    assert!(html.contains("gigi.garza@agency.test") && !html.contains("ana.alvarez@agency.test"));
    post(
        &t,
        "/agent/profile/contact",
        &[
            ("phone", "(614) 555-0142"),
            ("contact_method", "email_only"),
            ("zip", "43004"),
        ],
        Some(&gigi),
    )
    .await;
    post(
        &t,
        "/agent/availability/mode",
        &[("mode", "unavailable")],
        Some(&gigi),
    )
    .await;
    let a = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.phone.as_deref(), Some("+17135550101"));
    assert!(
        page(&t, "/agent/availability", &ana)
            .await
            .contains("You are taking referrals now.")
    );
    // Without a session nothing is shown or changed.
    for path in [
        "/agent/profile",
        "/agent/availability",
        "/agent/security",
        "/agent/terms",
    ] {
        assert_eq!(t.get(path).await.status(), 303, "{path}");
    }
    assert_eq!(
        post(
            &t,
            "/agent/profile/contact",
            &[("phone", "(614) 555-0142")],
            None
        )
        .await
        .status(),
        303
    );
}
