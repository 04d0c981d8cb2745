//! The operators' console (SPEC.md §8) as operators meet it over HTTP: who may open what,
//! "why does this agent get no referrals?", invitations, settings that apply to the next
//! referral, suspension, operators' accounts, and the audit log's hash chain.
use hod_app::operators::Role;
use hod_test_support::{TestApp, app_tests};
use serde_json::json;

use crate::support::{get, login, page, post, post_json};
use crate::world::{TestPartner, import_text, request, spec, world};

app_tests!(
    console_routes_answer_as_the_roles_say,
    help_desk_answers_why_no_referrals_and_resends_an_invitation,
    a_changed_offer_window_applies_to_the_next_referral,
    suspending_an_agent_hands_their_offer_to_the_next,
    operators_are_invited_locked_out_and_disabled,
    a_referral_file_reroute_reassign_and_contact_with_a_reason,
    an_upload_with_bad_rows_shows_the_report_and_its_csv,
    the_dashboard_and_coverage_count_what_happened,
    plan_years_terms_and_the_closed_message_are_set_up_here,
    audit_verify_names_a_row_changed_in_the_database,
    an_operator_changes_their_own_password,
    an_agents_sessions_end_on_every_node_at_once,
);

const ADMIN_PW: &str = "correct horse battery staple";
const DESK_PW: &str = "purple elephant umbrella sky";

/// Logs an operator in at `/admin/login`; the `hod_console=…` cookie.
pub(crate) async fn console_login(t: &TestApp, username: &str, password: &str) -> Option<String> {
    let r = post(
        t,
        "/admin/login",
        &[("username", username), ("password", password)],
        None,
    )
    .await;
    if r.status() != 303 {
        return None;
    }
    crate::support::set_cookie(&r, "hod_console")
}

/// An administrator and a help-desk operator, logged in: their cookies.
pub(crate) async fn operators(t: &TestApp) -> (String, String) {
    t.app
        .create_operator("root", "root@hod.test", ADMIN_PW, Role::Admin)
        .await
        .unwrap();
    t.app
        .create_operator("desk", "desk@hod.test", DESK_PW, Role::HelpDesk)
        .await
        .unwrap();
    (
        console_login(t, "root", ADMIN_PW)
            .await
            .expect("admin logs in"),
        console_login(t, "desk", DESK_PW)
            .await
            .expect("help desk logs in"),
    )
}

/// Every console route, tried with no session, an agent's session, help desk and an
/// administrator: (method, path, help desk may, administrator's answer).
async fn console_routes_answer_as_the_roles_say(t: TestApp) {
    let agents = world(&t, &[spec("5000001", "Ana", "77002")]).await;
    let (admin, desk) = operators(&t).await;
    let agent_cookie = login(&t, "ana.agent", crate::support::PASSWORD)
        .await
        .unwrap();
    // An agent's session token presented as a console cookie opens nothing either.
    let agent_as_console = agent_cookie.replace("hod_session=", "hod_console=");
    let routes: &[(&str, &str, bool, u16)] = &[
        ("GET", "/admin", true, 200),
        ("GET", "/admin/events", true, 200),
        ("GET", "/admin/agents", true, 200),
        ("GET", "/admin/agents?q=Ana", true, 200),
        ("GET", "/admin/agents/5000001", true, 200),
        ("POST", "/admin/agents/5000001/unlock", true, 303),
        ("POST", "/admin/agents/5000001/resend", true, 422),
        ("POST", "/admin/agents/5000001/suspend", false, 303),
        ("POST", "/admin/agents/5000001/reinstate", false, 303),
        ("GET", "/admin/referrals", true, 200),
        (
            "GET",
            "/admin/referrals?status=unserved&from=2020-01-01",
            true,
            200,
        ),
        ("GET", "/admin/referrals/999999", true, 404),
        ("POST", "/admin/referrals/999999/contact", false, 404),
        ("POST", "/admin/referrals/999999/reroute", false, 404),
        ("POST", "/admin/referrals/999999/reassign", false, 404),
        ("GET", "/admin/audit", true, 200),
        ("GET", "/admin/outbox", true, 200),
        ("POST", "/admin/outbox/999/retry", false, 303),
        ("GET", "/admin/imports", false, 200),
        ("GET", "/admin/imports/999999", false, 404),
        ("GET", "/admin/imports/999999/rejected.csv", false, 404),
        ("GET", "/admin/dashboard", false, 200),
        ("GET", "/admin/dashboard?csv=agents", false, 200),
        ("GET", "/admin/coverage", false, 200),
        ("GET", "/admin/coverage?state=TX&csv=zip3", false, 200),
        ("GET", "/admin/settings", false, 200),
        ("POST", "/admin/settings", false, 303),
        ("POST", "/admin/settings/plan-years", false, 422),
        ("POST", "/admin/settings/terms", false, 422),
        ("POST", "/admin/settings/states", false, 422),
        ("POST", "/admin/imports", false, 400),
        ("GET", "/admin/account", true, 200),
        ("POST", "/admin/account/password", true, 422),
        ("POST", "/admin/account/sessions", true, 200),
        ("POST", "/admin/passkeys/register/start", true, 200),
        ("POST", "/admin/passkeys/999999/remove", true, 404),
        ("GET", "/admin/operators", false, 200),
        ("POST", "/admin/operators/invite", false, 422),
        ("POST", "/admin/operators/999999", false, 404),
    ];
    for (method, path, desk_may, admin_gets) in routes {
        let send = |cookie: Option<String>| {
            let mut req = match *method {
                "GET" => t.client.get(t.url(path)),
                _ => t
                    .client
                    .post(t.url(path))
                    .header("origin", t.url(""))
                    .form(&[("reason", "Test"), ("change", "nonsense")]),
            };
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send()
        };
        for who in [
            None,
            Some(agent_cookie.clone()),
            Some(agent_as_console.clone()),
        ] {
            let r = send(who.clone()).await.unwrap();
            assert_eq!(r.status(), 303, "{method} {path} as {who:?}");
            assert!(
                r.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/admin/login"),
                "{method} {path}"
            );
        }
        let r = send(Some(desk.clone())).await.unwrap();
        if *desk_may {
            assert_eq!(r.status(), *admin_gets, "help desk: {method} {path}");
        } else {
            assert_eq!(r.status(), 403, "help desk: {method} {path}");
            assert!(
                r.text()
                    .await
                    .unwrap()
                    .contains("Your role does not include this page")
            );
        }
        let r = send(Some(admin.clone())).await.unwrap();
        assert_eq!(r.status(), *admin_gets, "admin: {method} {path}");
    }
    // The menus differ by role.
    let desk_home = page(&t, "/admin", &desk).await;
    assert!(!desk_home.contains("href=\"/admin/settings\""));
    assert!(
        page(&t, "/admin", &admin)
            .await
            .contains("href=\"/admin/settings\"")
    );
    // Log-out ends the console session.
    let r = post(&t, "/admin/logout", &[], Some(&desk)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(get(&t, "/admin", Some(&desk)).await.status(), 303);
    drop(agents);
}

async fn help_desk_answers_why_no_referrals_and_resends_an_invitation(t: TestApp) {
    let agents = world(&t, &[spec("5000011", "Ana", "77002")]).await;
    let (_, desk) = operators(&t).await;
    // Ana switches herself to red: she gets no referrals.
    agents[0].set_availability("unavailable").await.expect(200);
    let r = get(&t, "/admin/agents?q=5000011", Some(&desk)).await;
    assert_eq!(r.status(), 303, "an exact NPN opens the agent");
    assert_eq!(r.headers()["location"], "/admin/agents/5000011");
    let html = page(&t, "/admin/agents/5000011", &desk).await;
    assert!(
        html.contains("Not available now: see the switch, hours and absence below."),
        "{html}"
    );
    assert!(html.contains("Eligible for the current plan year"));
    assert!(html.contains("Not available (red)"));
    // A request in her state is routed without her; the page counts it, with the reason.
    let partner = TestPartner::new(&t).await;
    partner.submit(request("77002", "en", "713-555-0142")).await;
    let html = page(&t, "/admin/agents/5000011", &desk).await;
    assert!(html.contains("routed 1 requests in this agent"), "{html}");
    assert!(html.contains("Not available at the time"));
    // The same page in Spanish.
    let r = t
        .client
        .get(t.url("/admin/agents/5000011"))
        .header("cookie", format!("{desk}; hod_lang=es"))
        .send()
        .await
        .unwrap();
    let es = r.text().await.unwrap();
    assert!(es.contains("No está disponible ahora"), "{es}");

    // An eligible agent who never registered: the help desk sends a new invitation.
    import_text(
        &t.app,
        hod_app::import::ImportKind::Mlms,
        "mlms2.csv",
        "NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date\n5000012,Bea,Tester,bea@agency.test,2027,10/01/2026\n".into(),
    )
    .await;
    import_text(
        &t.app,
        hod_app::import::ImportKind::Rcl,
        "rcl2.csv",
        "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,SHOP Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n5000012,2027,09/02/2026,10/31/2027,,,Y\n".into(),
    )
    .await;
    import_text(
        &t.app,
        hod_app::import::ImportKind::Nipr,
        "nipr2.csv",
        "NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date\n5000012,TX,TX-1,Insurance Producer,Resident,Yes,,Health,14,Active,\n".into(),
    )
    .await;
    let first = t.take_outbox().await;
    assert!(
        first.iter().any(|m| m.recipient == "bea@agency.test"),
        "{first:?}"
    );
    let html = page(&t, "/admin/agents/5000012", &desk).await;
    assert!(html.contains("Has not registered an account yet"));
    let r = post(&t, "/admin/agents/5000012/resend", &[], Some(&desk)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/agents/5000012?done=resent");
    let mail = t.take_outbox().await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, "bea@agency.test");
    let html = page(&t, "/admin/agents/5000012?done=resent", &desk).await;
    assert!(html.contains("A new invitation was sent"));
    assert!(html.contains("Replaced by a newer one"));
    // Ana has an account: no invitation, and the page says why.
    let r = post(&t, "/admin/agents/5000011/resend", &[], Some(&desk)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already has an account"));
    // The audit log names the operator.
    let html = page(&t, "/admin/audit?action=invitation.", &desk).await;
    assert!(html.contains("invitation.resent"));
    assert!(html.contains("operator:2"));
}

async fn a_changed_offer_window_applies_to_the_next_referral(t: TestApp) {
    let agents = world(&t, &[spec("5000021", "Ana", "77002")]).await;
    agents[0].set_availability("available").await.expect(200);
    let (admin, _) = operators(&t).await;
    let html = page(&t, "/admin/settings", &admin).await;
    assert!(html.contains("value=\"15\""));
    // A bad value is refused, what was typed stays, and nothing is saved.
    let r = post(
        &t,
        "/admin/settings",
        &[("routing-offer_minutes", "0")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "Minutes an agent has to accept: Write a whole number of minutes from 1 to 1440."
        ),
        "{html}"
    );
    assert!(html.contains("value=\"0\""));
    let r = post(
        &t,
        "/admin/settings",
        &[("routing-offer_minutes", "5")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let partner = TestPartner::new(&t).await;
    partner.submit(request("77002", "en", "713-555-0143")).await;
    t.expect_outbox(&[("sms", "+17135550143"), ("email", "ana@agency.test")])
        .await;
    let offers = agents[0].offers().await;
    let expires: jiff::Timestamp = offers[0].expires_at.parse().unwrap();
    assert_eq!(
        expires.duration_since(t.app.now()),
        jiff::SignedDuration::from_mins(5)
    );
}

async fn suspending_an_agent_hands_their_offer_to_the_next(t: TestApp) {
    let agents = world(
        &t,
        &[
            spec("5000031", "Ana", "77002"),
            spec("5000032", "Bo", "77401"),
        ],
    )
    .await;
    for a in &agents {
        a.set_availability("available").await.expect(200);
    }
    let (admin, _) = operators(&t).await;
    let partner = TestPartner::new(&t).await;
    partner.submit(request("77002", "en", "713-555-0144")).await;
    t.expect_outbox(&[("sms", "+17135550144"), ("email", "ana@agency.test")])
        .await;
    assert_eq!(
        agents[0].offers().await.len(),
        1,
        "the nearest agent is offered first"
    );
    // A reason is required.
    let r = post(
        &t,
        "/admin/agents/5000031/suspend",
        &[("reason", "  ")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Say why the agent is suspended.")
    );
    let r = post(
        &t,
        "/admin/agents/5000031/suspend",
        &[("reason", "Licence under review")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (code, _) = crate::world::api(
        &t,
        "GET",
        "/api/v1/agent/offers",
        Some(&agents[0].token),
        None,
    )
    .await;
    assert_eq!(code, 401, "logged out of the app at once");
    assert_eq!(
        agents[1].offers().await.len(),
        1,
        "the offer is withdrawn at once and goes to the next agent"
    );
    t.expect_outbox(&[("email", "bo@agency.test")]).await;
    let html = page(&t, "/admin/agents/5000031", &admin).await;
    assert!(html.contains("Licence under review"));
    assert!(html.contains("Suspended by an administrator"));
    let r = post(&t, "/admin/agents/5000031/reinstate", &[], Some(&admin)).await;
    assert_eq!(r.status(), 303);
    let html = page(&t, "/admin/agents/5000031", &admin).await;
    assert!(html.contains("Not suspended."));
}

async fn operators_are_invited_locked_out_and_disabled(t: TestApp) {
    let (admin, _) = operators(&t).await;
    // Invalid input is named, per field.
    let r = post(
        &t,
        "/admin/operators/invite",
        &[("username", "x"), ("email", "nope"), ("role", "help_desk")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("A username is 3 to 64 characters."));
    assert!(html.contains("Enter an email address like name@example.com."));
    // A name no account can have (PostgreSQL cannot even store NUL) is refused, never a 500:
    // inviting it, logging in or starting a passkey log-in with it.
    let odd = "car\0la";
    let r = post(
        &t,
        "/admin/operators/invite",
        &[
            ("username", odd),
            ("email", "carla@hod.test"),
            ("role", "help_desk"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("A username may contain only letters, digits and . _ - @ +"));
    let unknown = post(
        &t,
        "/admin/login",
        &[("username", "nobody"), ("password", "x")],
        None,
    )
    .await;
    let nul = post(
        &t,
        "/admin/login",
        &[("username", odd), ("password", "x")],
        None,
    )
    .await;
    assert_eq!(nul.status(), unknown.status());
    let start = post_json(
        &t,
        "/admin/passkeys/login/start",
        &json!({"username": odd}),
        None,
    )
    .await;
    assert_eq!(start.status(), 200);
    let r = post(
        &t,
        "/admin/operators/invite",
        &[
            ("username", "carla"),
            ("email", "carla@hod.test"),
            ("role", "help_desk"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let mail = t.take_outbox().await;
    assert_eq!(mail[0].recipient, "carla@hod.test");
    let link = mail[0]
        .body
        .split_whitespace()
        .find(|w| w.contains("/admin/welcome/"))
        .unwrap()
        .to_owned();
    let path = link.trim_start_matches(|c| c != '/').to_owned();
    let path = &path[path.find("/admin").unwrap()..];
    assert_eq!(
        console_login(&t, "carla", "").await,
        None,
        "no password yet"
    );
    let r = post(
        &t,
        path,
        &[("password", "short"), ("confirm_password", "short")],
        None,
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        &t,
        path,
        &[
            ("password", "a quiet harbour at dawn"),
            ("confirm_password", "a quiet harbour at dawn"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        get(&t, path, None).await.status(),
        410,
        "the link works once"
    );
    let carla = console_login(&t, "carla", "a quiet harbour at dawn")
        .await
        .expect("carla logs in");
    assert_eq!(get(&t, "/admin/settings", Some(&carla)).await.status(), 403);
    // Five wrong passwords lock the account, even against the right one.
    for _ in 0..5 {
        assert_eq!(console_login(&t, "carla", "wrong password!!").await, None);
    }
    assert_eq!(
        console_login(&t, "carla", "a quiet harbour at dawn").await,
        None
    );
    let html = page(&t, "/admin/operators", &admin).await;
    assert!(html.contains("Locked"));
    let carla_id = html
        .split("id=\"operator-")
        .filter_map(|s| s.split('"').next())
        .find(|id| html.contains(&format!("change-{id}\"")) && html.contains("carla"))
        .map(str::to_owned);
    let carla_id = carla_id.unwrap();
    // She forgot her password: a link to choose a new one, which also lifts the lock and ends
    // the sessions opened with the old one.
    let r = post(
        &t,
        &format!("/admin/operators/{carla_id}"),
        &[("change", "password")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let mail = t.expect_outbox(&[("email", "carla@hod.test")]).await;
    assert_eq!(
        mail[0].subject,
        "Choose a new Help On Demand console password"
    );
    let link = mail[0]
        .body
        .split_whitespace()
        .find(|w| w.contains("/admin/welcome/"))
        .unwrap()
        .to_owned();
    let path = &link[link.find("/admin").unwrap()..];
    let r = post(
        &t,
        path,
        &[
            ("password", "another quiet harbour"),
            ("confirm_password", "another quiet harbour"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        get(&t, "/admin", Some(&carla)).await.status(),
        303,
        "the old session ended"
    );
    let carla = console_login(&t, "carla", "another quiet harbour")
        .await
        .expect("the new password works");
    // Disabling ends her sessions at once; the last administrator cannot be disabled.
    let r = post(
        &t,
        &format!("/admin/operators/{carla_id}"),
        &[("change", "disable")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(get(&t, "/admin", Some(&carla)).await.status(), 303);
    let ops = t
        .app
        .operators(
            &t.app
                .operator_session(admin.trim_start_matches("hod_console="))
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    let root = ops.iter().find(|o| o.username == "root").unwrap().id;
    let desk = ops.iter().find(|o| o.username == "desk").unwrap().id;
    post(
        &t,
        &format!("/admin/operators/{desk}"),
        &[("change", "admin")],
        Some(&admin),
    )
    .await;
    post(
        &t,
        &format!("/admin/operators/{desk}"),
        &[("change", "disable")],
        Some(&admin),
    )
    .await;
    let r = post(
        &t,
        &format!("/admin/operators/{root}"),
        &[("change", "help_desk")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422, "the last administrator stays one");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The last administrator cannot be disabled or made help desk.")
    );
    let audit = hod_db::audit::recent(t.app.storage(), 100).await.unwrap();
    for action in [
        "operator.invited",
        "operator.password_set",
        "operator.locked",
        "operator.disabled",
        "operator.role_changed",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
}

async fn audit_verify_names_a_row_changed_in_the_database(t: TestApp) {
    t.app
        .create_operator("root", "root@hod.test", ADMIN_PW, Role::Admin)
        .await
        .unwrap();
    for _ in 0..3 {
        console_login(&t, "root", ADMIN_PW).await.unwrap();
    }
    let url = t.test_db.url.expose().to_owned();
    let verify = || {
        crate::hod()
            .args(["--database-url", &url, "audit", "verify"])
            .output()
            .unwrap()
    };
    let o = verify();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("audit log intact: 4 entries checked"));
    // Someone with the database's own rights gets round the append-only triggers…
    let entries = hod_db::audit::recent(t.app.storage(), 10).await.unwrap();
    let second = entries[entries.len() - 2].id;
    let db = t.app.storage();
    match db.backend() {
        hod_db::Backend::Sqlite => db
            .execute_raw_for_tests("DROP TRIGGER audit_log_no_update")
            .await
            .unwrap(),
        hod_db::Backend::Postgres => db
            .execute_raw_for_tests("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
            .await
            .unwrap(),
    };
    db.execute_raw_for_tests(&format!(
        "UPDATE audit_log SET ip = '10.9.9.9' WHERE id = {second}"
    ))
    .await
    .unwrap();
    // …and the chain names the row.
    let o = verify();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("audit log entry {second} was changed")),
        "{err}"
    );
}

async fn a_referral_file_reroute_reassign_and_contact_with_a_reason(t: TestApp) {
    // Ana works in Texas but is switched off: a request from Houston finds nobody.
    let agents = world(&t, &[spec("5000041", "Ana", "77002")]).await;
    agents[0].set_availability("unavailable").await.expect(200);
    let (admin, desk) = operators(&t).await;
    let partner = TestPartner::new(&t).await;
    let id = partner.submit(request("77002", "en", "713-555-0145")).await;
    t.expect_outbox(&[("sms", "+17135550145"), ("sms", "+17135550145")])
        .await;
    let queue = page(&t, "/admin/referrals", &desk).await;
    assert!(
        queue.contains(&format!("href=\"/admin/referrals/{id}\"")),
        "{queue}"
    );
    assert!(queue.contains("No agent could take it"));
    assert!(
        !queue.contains("Offer it to agents again"),
        "help desk cannot re-route"
    );
    let file = page(&t, &format!("/admin/referrals/{id}"), &desk).await;
    assert!(
        file.contains("1 agents considered, 0 could take it, 0 offered."),
        "{file}"
    );
    assert!(
        file.contains("Not available at the time: 1 (Ana Tester (NPN 5000041))"),
        "{file}"
    );
    assert!(
        !file.contains("555-0145") && !file.contains("Jane"),
        "no contact details"
    );
    // Contact details: administrators only, with a reason, audited.
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/contact"),
        &[("reason", "x")],
        Some(&desk),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/contact"),
        &[("reason", " ")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/contact"),
        &[("reason", "Consumer called the help desk")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("+17135550145") && html.contains("Jane"),
        "{html}"
    );
    let audit = hod_db::audit::recent(t.app.storage(), 5).await.unwrap();
    assert_eq!(audit[0].action, "referral.contact_viewed");
    assert!(audit[0].detail.contains("Consumer called the help desk"));
    // Ana turns green; the administrator re-routes and she is offered it.
    agents[0].set_availability("available").await.expect(200);
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/reroute"),
        &[],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(agents[0].offers().await.len(), 1);
    t.expect_outbox(&[("email", "ana@agency.test")]).await;
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/reroute"),
        &[],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422, "only an unserved request is re-routed");
    // Reassigned by hand: the offer closes, Ana is told by email, the consumer by text.
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/reassign"),
        &[("npn", "5000041"), ("reason", "")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        &t,
        &format!("/admin/referrals/{id}/reassign"),
        &[("npn", "5000041"), ("reason", "Consumer asked for Ana")],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let mail = t
        .expect_outbox(&[("email", "ana@agency.test"), ("sms", "+17135550145")])
        .await;
    assert!(
        mail.iter()
            .any(|m| m.subject == "A referral was assigned to you")
    );
    assert!(agents[0].offers().await.is_empty());
    assert_eq!(
        agents[0].referral(id).await.status,
        200,
        "Ana sees the consumer's details"
    );
    let file = page(&t, &format!("/admin/referrals/{id}"), &desk).await;
    assert!(file.contains("Consumer asked for Ana"));
    assert!(file.contains("A referral was assigned to you"));
}

/// A multipart form as a browser sends it: (name, file name, content).
async fn upload(
    t: &TestApp,
    cookie: &str,
    parts: &[(&str, Option<&str>, &str)],
) -> reqwest::Response {
    let boundary = "----hodtestboundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, file, content) in parts {
        body += &format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = file {
            body += &format!("; filename=\"{f}\"\r\nContent-Type: text/csv");
        }
        body += &format!("\r\n\r\n{content}\r\n");
    }
    body += &format!("--{boundary}--\r\n");
    t.client
        .post(t.url("/admin/imports"))
        .header("origin", t.url(""))
        .header("cookie", cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn an_upload_with_bad_rows_shows_the_report_and_its_csv(t: TestApp) {
    let (admin, desk) = operators(&t).await;
    let rcl = "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,SHOP Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n\
        6000001,2027,09/02/2026,10/31/2027,,,Y\n\
        12AB,2027,09/02/2026,10/31/2027,,,Y\n\
        6000003,2027,not a date,10/31/2027,,,Y\n";
    let r = upload(
        &t,
        &desk,
        &[("kind", None, "rcl"), ("file", Some("rcl.csv"), rcl)],
    )
    .await;
    assert_eq!(r.status(), 403, "help desk does not import");
    // Only checked: the report, and nothing written.
    let r = upload(
        &t,
        &admin,
        &[
            ("kind", None, "rcl"),
            ("dry_run", None, "true"),
            ("file", Some("rcl.csv"), rcl),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let report = r.headers()["location"].to_str().unwrap().to_owned();
    let html = page(&t, &report, &admin).await;
    assert!(
        html.contains(
            "Checked only, nothing was changed: 3 rows read, 1 would be applied, 2 rejected."
        ),
        "{html}"
    );
    assert!(
        t.app
            .find_agents(&hod_app::console::AgentQuery::default(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Applied: the good row lands; the rejected rows on screen and as CSV, with their lines.
    let r = upload(
        &t,
        &admin,
        &[("kind", None, "rcl"), ("file", Some("rcl.csv"), rcl)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let report = r.headers()["location"].to_str().unwrap().to_owned();
    let html = page(&t, &report, &admin).await;
    assert!(
        html.contains("3 rows read: 1 applied, 2 rejected."),
        "{html}"
    );
    assert!(html.contains("<td data-label=\"Line\">3</td>"), "{html}");
    let csv = get(&t, &format!("{report}/rejected.csv"), Some(&admin)).await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line,reason");
    assert!(
        lines[1].starts_with("3,") && lines[2].starts_with("4,"),
        "{text}"
    );
    let history = page(&t, "/admin/imports", &admin).await;
    assert!(history.contains("checked only"));
    let glance = page(&t, "/admin", &admin).await;
    assert!(glance.contains("Registration Completion List"), "{glance}");
    // A file that is not what was chosen is refused whole, and says why.
    let r = upload(
        &t,
        &admin,
        &[
            ("kind", None, "rcl"),
            ("file", Some("other.csv"), "a,b\n1,2\n"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Nothing from other.csv was imported")
    );
    let r = upload(&t, &admin, &[("kind", None, "rcl")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Choose a file to upload"));
    // A real file is larger than an ordinary form may be: it streams.
    let mut big = String::from(rcl.lines().next().unwrap());
    big.push('\n');
    for i in 0..8000 {
        big += &format!("{},2027,09/02/2026,10/31/2027,,,Y\n", 7_000_000 + i);
    }
    assert!(big.len() > 256 * 1024);
    let r = upload(
        &t,
        &admin,
        &[
            ("kind", None, "rcl"),
            ("dry_run", None, "true"),
            ("file", Some("rcl-full.csv"), &big),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = page(&t, r.headers()["location"].to_str().unwrap(), &admin).await;
    assert!(
        html.contains("8000 rows read, 8000 would be applied, 0 rejected."),
        "{html}"
    );
}

async fn the_dashboard_and_coverage_count_what_happened(t: TestApp) {
    let agents = world(&t, &[spec("5000051", "Ana", "77002")]).await;
    agents[0].set_availability("available").await.expect(200);
    let (admin, _) = operators(&t).await;
    let partner = TestPartner::new(&t).await;
    // Houston: Ana accepts after 4 minutes. Anchorage: nobody works in Alaska.
    partner.submit(request("77002", "en", "713-555-0146")).await;
    t.expect_outbox(&[("sms", "+17135550146"), ("email", "ana@agency.test")])
        .await;
    t.clock.advance(jiff::SignedDuration::from_mins(4));
    let offer = agents[0].offers().await[0].id;
    agents[0].accept(offer).await.expect(200);
    t.expect_outbox(&[("sms", "+17135550146")]).await;
    let mut alaska = request("99501", "en", "907-555-0147");
    alaska["email"] = serde_json::json!(null);
    partner.submit(alaska).await;
    t.expect_outbox(&[("sms", "+19075550147"), ("sms", "+19075550147")])
        .await;

    let html = page(&t, "/admin/dashboard", &admin).await;
    assert!(html.contains("<dt>Requests</dt><dd>2</dd>"), "{html}");
    assert!(html.contains("<dd>50%</dd>"), "half accepted: {html}");
    assert!(html.contains("<dd>4 minutes</dd>"), "{html}");
    assert!(
        html.contains("<svg class=\"chart\""),
        "the chart is drawn on the server"
    );
    assert!(html.contains("Alaska"), "unserved by state: {html}");
    let csv = page(&t, "/admin/dashboard?csv=agents", &admin).await;
    assert!(csv.contains("Ana Tester,5000051,1,1,0,0,100%"), "{csv}");
    let csv = page(&t, "/admin/dashboard?csv=unserved", &admin).await;
    assert!(csv.lines().any(|l| l == "Alaska,English,1"), "{csv}");
    // A period that ends before it starts is said, not shown empty.
    let r = get(
        &t,
        "/admin/dashboard?from=2030-01-02&until=2030-01-01",
        Some(&admin),
    )
    .await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The first day comes after the last one")
    );

    let html = page(&t, "/admin/coverage?state=TX", &admin).await;
    assert!(html.contains("Texas: 1 requests, 100% accepted"), "{html}");
    assert!(
        html.contains("Alaska: 1 requests, 0% accepted, 0 agents available now"),
        "{html}"
    );
    assert!(html.contains("770xx"), "Houston's ZIP3 area: {html}");
    let csv = page(&t, "/admin/coverage?csv=states", &admin).await;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("Texas,1,100%,4 minutes,")),
        "{csv}"
    );
}

async fn plan_years_terms_and_the_closed_message_are_set_up_here(t: TestApp) {
    let agents = world(&t, &[spec("5000061", "Ana", "77002")]).await;
    agents[0].set_availability("available").await.expect(200);
    let (admin, _) = operators(&t).await;
    // A plan year: refused when its dates run backwards, kept when right.
    let r = post(
        &t,
        "/admin/settings/plan-years",
        &[
            ("year", "2031"),
            ("starts_on", "2031-12-31"),
            ("ends_on", "2031-01-01"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Plan year: Choose a first and a last day")
    );
    let r = post(
        &t,
        "/admin/settings/plan-years",
        &[
            ("year", "2031"),
            ("starts_on", "2031-01-01"),
            ("ends_on", "2031-12-31"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        t.app
            .plan_years()
            .await
            .unwrap()
            .iter()
            .any(|py| py.year == 2031)
    );
    // New Help On Demand terms: Ana is asked again and gets no offers until she accepts.
    let terms = [
        ("kind", "hod"),
        ("version", "2"),
        ("title_en", "Help On Demand Terms of Use"),
        ("title_es", "Condiciones de uso de Help On Demand"),
        ("body_en", "New terms."),
        ("body_es", "Condiciones nuevas."),
    ];
    let r = post(&t, "/admin/settings/terms", &terms, Some(&admin)).await;
    assert_eq!(r.status(), 303);
    let r = post(&t, "/admin/settings/terms", &terms, Some(&admin)).await;
    assert_eq!(r.status(), 422, "a version is published once");
    let partner = TestPartner::new(&t).await;
    partner.submit(request("77002", "en", "713-555-0148")).await;
    t.expect_outbox(&[("sms", "+17135550148"), ("sms", "+17135550148")])
        .await;
    assert!(
        agents[0].offers().await.is_empty(),
        "not offered before accepting the new terms"
    );
    let html = page(&t, "/admin/agents/5000061", &admin).await;
    assert!(html.contains("Has not accepted the current Terms of Use"));
    // Texas leaves HealthCare.gov from today: Ana is no longer eligible there.
    let today = t.app.today().to_string();
    let r = post(
        &t,
        "/admin/settings/states",
        &[
            ("state", "TX"),
            ("platform", "none"),
            ("from", "2000-01-01"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 422, "not before the state's last period began");
    let r = post(
        &t,
        "/admin/settings/states",
        &[("state", "TX"), ("platform", "none"), ("from", &today)],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let periods = t.app.state_periods().await.unwrap();
    assert!(
        periods
            .iter()
            .filter(|p| p.state.code() == "TX")
            .all(|p| p.effective_to.is_some())
    );
    let html = page(&t, "/admin/agents/5000061", &admin).await;
    assert!(
        html.contains("Not eligible for the current plan year"),
        "{html}"
    );
    assert!(
        html.contains(
            "NPN 5000061 is licensed for health only in TX, which is not on HealthCare.gov"
        ),
        "{html}"
    );
    let es = t
        .client
        .get(t.url("/admin/agents/5000061"))
        .header("cookie", format!("{admin}; hod_lang=es"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        es.contains(
            "El NPN 5000061 solo tiene licencia de salud en TX, que no está en HealthCare.gov"
        ),
        "{es}"
    );
    // A message for consumers while the form is closed, in their language.
    let r = post(
        &t,
        "/admin/settings",
        &[
            ("intake-paused", "true"),
            (
                "intake-closed_message_en",
                "Closed for the holiday; back Monday.",
            ),
            (
                "intake-closed_message_es",
                "Cerrado por el feriado; volvemos el lunes.",
            ),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(r.status(), 303);
    let en = t.get_in("/get-help", "en").await.text().await.unwrap();
    assert!(en.contains("Closed for the holiday; back Monday."), "{en}");
    let es = t.get_in("/get-help", "es").await.text().await.unwrap();
    assert!(es.contains("Cerrado por el feriado; volvemos el lunes."));
    let audit = hod_db::audit::recent(t.app.storage(), 20).await.unwrap();
    for action in [
        "program.plan_year_set",
        "terms.published",
        "program.setting_changed",
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == hod_domain::actor::Actor::Operator(1)),
            "{action}"
        );
    }
}

/// On their account page an operator changes their password: each problem is named by field,
/// the new password works, the old one does not, and their other sessions end.
async fn an_operator_changes_their_own_password(t: TestApp) {
    let (_, desk) = operators(&t).await;
    let other_device = console_login(&t, "desk", DESK_PW).await.unwrap();
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let desk = desk.clone();
        let t = &t;
        async move {
            post(
                t,
                "/admin/account/password",
                &[
                    ("current_password", current),
                    ("password", new),
                    ("confirm_password", confirm),
                ],
                Some(&desk),
            )
            .await
        }
    };
    let r = change(
        "wrong guess here",
        "a brand new passphrase",
        "a brand new passphrase",
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The current password is not correct.")
    );
    let r = change(DESK_PW, "too short", "too short").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Operator passwords must be at least 12 characters."),
        "{html}"
    );
    let r = change(DESK_PW, "a brand new passphrase", "a brand new passphrase!").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The two passwords are not the same.")
    );
    let r = change(DESK_PW, "desk@hod.test 2026", "desk@hod.test 2026").await;
    assert_eq!(r.status(), 422, "made of the email address");

    let r = change(DESK_PW, "a brand new passphrase", "a brand new passphrase").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Your password was changed.")
    );
    assert_eq!(
        get(&t, "/admin", Some(&desk)).await.status(),
        200,
        "this session stays"
    );
    assert_eq!(
        get(&t, "/admin", Some(&other_device)).await.status(),
        303,
        "the other one ended"
    );
    assert!(console_login(&t, "desk", DESK_PW).await.is_none());
    assert!(
        console_login(&t, "desk", "a brand new passphrase")
            .await
            .is_some()
    );
    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "operator.password_changed")
    );
}

/// Sessions live in the database, not in a node: a log-out, a password change (the other
/// sessions end) and a suspension (pages and the app's token) made through one node hold on
/// another at once.
async fn an_agents_sessions_end_on_every_node_at_once(t: TestApp) {
    let agents = world(&t, &[spec("5000041", "Ana", "77002")]).await;
    let (admin, _) = operators(&t).await;
    let other = t
        .serve_app(t.other_node().await, hod_web::WebSettings::default())
        .await;
    let there = async |path: &str, cookie: Option<&str>, bearer: Option<&str>| {
        let mut req = t.client.get(format!("http://{other}{path}"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send().await.unwrap().status().as_u16()
    };
    let log_in = async || {
        login(&t, "ana.agent", crate::support::PASSWORD)
            .await
            .expect("Ana logs in")
    };

    let first = log_in().await;
    assert_eq!(
        there("/agent", Some(&first), None).await,
        200,
        "one session for all nodes"
    );
    assert_eq!(
        post(&t, "/agent/logout", &[], Some(&first)).await.status(),
        303
    );
    assert_eq!(
        there("/agent", Some(&first), None).await,
        303,
        "logged out there too"
    );

    let (kept, elsewhere) = (log_in().await, log_in().await);
    let changed = post(
        &t,
        "/agent/security/password",
        &[
            ("current_password", crate::support::PASSWORD),
            ("password", "Green-Valley-58"),
            ("confirm_password", "Green-Valley-58"),
        ],
        Some(&kept),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        there("/agent", Some(&elsewhere), None).await,
        303,
        "the other device"
    );
    assert_eq!(
        there("/agent", Some(&kept), None).await,
        200,
        "the one that changed it"
    );

    assert_eq!(
        there("/api/v1/agent/offers", None, Some(&agents[0].token)).await,
        401,
        "the app's token is another device"
    );
    let (code, body) = crate::world::api(
        &t,
        "POST",
        "/api/v1/agent/token",
        None,
        Some(serde_json::json!({"username": "ana.agent", "password": "Green-Valley-58"})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let app_token = body["token"].as_str().unwrap();
    assert_eq!(
        there("/api/v1/agent/offers", None, Some(app_token)).await,
        200
    );
    let suspended = post(
        &t,
        "/admin/agents/5000041/suspend",
        &[("reason", "Licence under review")],
        Some(&admin),
    )
    .await;
    assert_eq!(suspended.status(), 303);
    assert_eq!(
        there("/agent", Some(&kept), None).await,
        303,
        "suspended: pages"
    );
    assert_eq!(
        there("/api/v1/agent/offers", None, Some(app_token)).await,
        401,
        "suspended: the app"
    );
    assert_eq!(
        login(&t, "ana.agent", "Green-Valley-58").await,
        None,
        "no new session while suspended"
    );
    let reinstated = post(&t, "/admin/agents/5000041/reinstate", &[], Some(&admin)).await;
    assert_eq!(reinstated.status(), 303);
    let back = login(&t, "ana.agent", "Green-Valley-58")
        .await
        .expect("reinstated");
    assert_eq!(there("/agent", Some(&back), None).await, 200);
}
