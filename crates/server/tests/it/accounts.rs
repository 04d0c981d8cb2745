//! Agent accounts (issue 4) over HTTP, on SQLite and PostgreSQL.
use hod_app::system::Channel;
use hod_domain::actor::Actor;
use hod_test_support::{TestApp, app_tests};
use serde_json::{Value, json};

async fn check(t: &TestApp, body: Value) -> Value {
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn password_policy_check_reports_rule_ids(t: TestApp) {
    assert_eq!(
        check(&t, json!({"password": "Blue-Harbor-47"})).await,
        json!({"valid": true, "failed": []})
    );
    assert_eq!(
        check(&t, json!({"password": "abcd aaaa"})).await,
        json!({"valid": false, "failed": ["no_spaces", "number", "upper", "special", "max_repeat", "max_sequence"]})
    );
    assert_eq!(
        check(&t, json!({"password": "Password1!"})).await,
        json!({"valid": false, "failed": ["not_common"]})
    );
    assert_eq!(
        check(
            &t,
            json!({"password": "Rosa-Harbor-47", "first_name": "Rosa"})
        )
        .await,
        json!({"valid": false, "failed": ["not_common"]})
    );
}

async fn api_bodies_that_are_not_json_get_the_error_shape(t: TestApp) {
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .header("content-type", "application/json")
        .body("{\"password\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    let r = t
        .client
        .post(t.url("/api/v1/password-policy/check"))
        .body("password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

/// Imports the fixture files; returns Ana's invitation link path (the other invitation, to
/// Gigi, is taken from the outbox too).
async fn invited(t: &TestApp) -> String {
    crate::eligibility::import_all(&t.app).await;
    let mail = t.take_outbox().await;
    let ana = mail
        .iter()
        .find(|m| m.recipient == "ana.alvarez@agency.test")
        .unwrap();
    crate::eligibility::link_path(&ana.body)
}

async fn post_form(
    t: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    lang: &str,
) -> reqwest::Response {
    t.client
        .post(t.url(path))
        .header("origin", t.url(""))
        .header("accept-language", lang)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn good_form(username: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("phone", "(713) 555-0101"),
        ("contact_method", "email_text_app"),
        ("zip", "77002"),
        ("username", username),
        ("password", "Blue-Harbor-47"),
        ("confirm_password", "Blue-Harbor-47"),
        ("accept_terms", "true"),
    ]
}

app_tests!(
    password_policy_check_reports_rule_ids,
    api_bodies_that_are_not_json_get_the_error_shape,
    registration_page_shows_the_form_prefilled,
    registration_form_reports_every_problem_and_keeps_input,
    registration_creates_the_account_and_uses_the_link,
    registration_api_answers_in_json,
    invitation_is_redeemed_once_under_100_concurrent_attempts,
    forms_posted_from_another_site_are_refused,
    the_site_installs_as_an_app,
);

async fn registration_page_shows_the_form_prefilled(t: TestApp) {
    let path = invited(&t).await;
    let html = t.get(&path).await.text().await.unwrap();
    for text in [
        "Get Started by Creating a Profile",
        r#"value="Ana" readonly"#,
        r#"value="ana.alvarez@agency.test" readonly"#,
        r#"name="username" autocomplete="username" autocapitalize="none" spellcheck="false" value="ana.alvarez@agency.test""#,
        r#"value="email_text_app" checked> Email, Text &#38; App Notification (recommended)"#,
        "Email &#38; Text",
        "Email &#38; App Notification",
        "Email Only",
        "I read and agree to Help On Demand Terms of Use",
        "Sign Up",
        "Already a member?",
        r#"<li data-rule="max_sequence">"#,
        "Not a common password, and not your name, username or email",
        r#"<script src="/static/password.js" defer></script>"#,
    ] {
        assert!(html.contains(text), "{text}\n{html}");
    }
    let es = t.get_in(&path, "es").await.text().await.unwrap();
    assert!(
        es.contains("Comience creando un perfil")
            && es.contains("Inscribirse")
            && es.contains("Leí y acepto"),
        "{es}"
    );
    let js = t.get("/static/password.js").await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
}

async fn registration_form_reports_every_problem_and_keeps_input(t: TestApp) {
    let path = invited(&t).await;
    let form = [
        ("phone", "555-0101"),
        ("contact_method", "email_text"),
        ("zip", "00000"),
        ("username", "a b"),
        ("password", "secretpass"),
        ("confirm_password", "other"),
    ];
    let r = post_form(&t, &path, &form, "en").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for text in [
        "There is a problem",
        "Enter a US mobile number with area code",
        "This ZIP code does not exist.",
        "A username may contain only letters, digits and . _ - @ +",
        "The password was not accepted because it does not meet these rules: At least one number (0-9); At least one uppercase letter (A-Z); At least one special character, such as ! @ # $ %",
        "The two passwords are not the same.",
        "You must agree to the Help On Demand Terms of Use.",
        r#"value="555-0101""#,
        r#"value="00000""#,
        r#"value="a b""#,
        r#"value="email_text" checked"#,
        // The refused password is not sent back, so the checklist starts blank again.
        r#"<li data-rule="upper">"#,
        r#"<li data-rule="not_common">"#,
        r#"aria-invalid="true""#,
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(
        !html.contains("secretpass"),
        "passwords are never sent back"
    );
    let es = post_form(&t, &path, &form, "es")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        es.contains("Hay un problema") && es.contains("Este código postal no existe."),
        "{es}"
    );

    // A common password and a taken username (ignoring case).
    let mut tx = t.app.storage().begin().await.unwrap();
    let other =
        hod_db::agents::find_by_npn(t.app.storage(), &hod_domain::Npn::parse("2000002").unwrap())
            .await
            .unwrap()
            .unwrap();
    let reg = hod_db::agents::Registration {
        username: "Taken.Name",
        password_hash: "x",
        phone: "+17135550100",
        contact_method: "email_only",
        zip: "77002",
    };
    hod_db::agents::register(&mut tx, other.id, &reg, t.app.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut form = good_form("taken.name");
    form[4].1 = "Password1!";
    form[5].1 = "Password1!";
    let html = post_form(&t, &path, &form, "en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("This username is taken. Choose another."),
        "{html}"
    );
    assert!(html.contains("The password is too easy to guess"), "{html}");
    assert!(t.take_outbox().await.is_empty());
    assert_eq!(
        t.get(&path).await.status(),
        200,
        "the link still works after a refused form"
    );
}

async fn registration_creates_the_account_and_uses_the_link(t: TestApp) {
    let path = invited(&t).await;
    let r = post_form(&t, &path, &good_form("ana.alvarez"), "en").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/registered?text=1");
    let page = t.get("/registered?text=1").await.text().await.unwrap();
    for text in [
        "Your registration is almost complete!",
        "6-digit code",
        "Log in and Continue",
        "Add to Home Screen",
    ] {
        assert!(page.contains(text), "{text}");
    }

    let mail = t.take_outbox().await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    let sms = mail.iter().find(|m| m.channel == Channel::Sms).unwrap();
    assert_eq!(sms.recipient, "+17135550101");
    let code: String = sms
        .body
        .split("Your code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    assert!(
        code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6,
        "{}",
        sms.body
    );
    let email = mail.iter().find(|m| m.channel == Channel::Email).unwrap();
    assert_eq!(
        (email.recipient.as_str(), email.sender.as_str()),
        ("ana.alvarez@agency.test", "noreply@hod.test")
    );
    assert!(
        email.body.contains("Your username is ana.alvarez")
            && email
                .body
                .contains(&format!("{}/agent/login", t.app.settings.public_url))
    );

    let agent =
        hod_db::agents::find_by_npn(t.app.storage(), &hod_domain::Npn::parse("2000001").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(agent.username.as_deref(), Some("ana.alvarez"));
    assert_eq!(
        (agent.phone.as_deref(), agent.zip.as_deref()),
        (Some("+17135550101"), Some("77002"))
    );
    let used = t.get(&path).await;
    assert_eq!(used.status(), 410);
    assert!(used.text().await.unwrap().contains("already been used"));
    let again = post_form(&t, &path, &good_form("ana.two"), "en").await;
    assert_eq!(again.status(), 410);
    let audit = hod_db::audit::recent(t.app.storage(), 5).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "agent.registered"));

    // Email only: no test text.
    let gigi = {
        let mut tx = t.app.storage().begin().await.unwrap();
        let a = hod_db::agents::find_by_npn(
            t.app.storage(),
            &hod_domain::Npn::parse("2000007").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        hod_db::invitations::revoke_open(&mut tx, "2000007", t.app.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        a
    };
    assert!(gigi.registered_at.is_none());
    t.app
        .resend_invitation(
            &hod_domain::Npn::parse("2000007").unwrap(),
            Actor::Operator(1),
        )
        .await
        .unwrap();
    let link = crate::eligibility::link_path(&t.take_outbox().await[0].body);
    let mut form = good_form("gigi");
    form[1].1 = "email_only";
    let r = post_form(&t, &link, &form, "en").await;
    assert_eq!(r.headers()["location"], "/registered");
    let mail = t.take_outbox().await;
    assert_eq!(
        mail.iter().map(|m| m.channel.as_str()).collect::<Vec<_>>(),
        vec!["email"]
    );
}

async fn registration_api_answers_in_json(t: TestApp) {
    let path = invited(&t).await;
    let token = path.trim_start_matches("/register/");
    let post = |body: Value| {
        t.client
            .post(t.url("/api/v1/registrations"))
            .json(&body)
            .send()
    };
    let r = post(json!({"token": token, "phone": "12", "contact_method": "fax", "zip": "7700", "username": "ana", "password": "x", "confirm_password": "x", "accept_terms": false})).await.unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_fields");
    let fields = body["error"]["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec!["accept_terms", "contact_method", "password", "phone", "zip"]
    );
    assert!(fields["password"].as_str().unwrap().contains("length"));

    let r = post(json!({"token": token, "phone": "713-555-0101", "contact_method": "email_only", "zip": "77002", "username": "ana.api", "password": "Blue-Harbor-47", "confirm_password": "Blue-Harbor-47", "accept_terms": true})).await.unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["username"].as_str(), body["phone_code_sent"].as_bool()),
        (Some("ana.api"), Some(false))
    );
    t.expect_outbox(&[("email", "ana.alvarez@agency.test")])
        .await;

    let r = post(json!({"token": token, "username": "x"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invitation_used"
    );
    let r = post(json!({"token": "0".repeat(64)})).await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn invitation_is_redeemed_once_under_100_concurrent_attempts(t: TestApp) {
    let path = invited(&t).await;
    let token = path.trim_start_matches("/register/").to_owned();
    let attempts = (0..100).map(|i| {
        let client = t.client.clone();
        let url = t.url("/api/v1/registrations");
        let token = token.clone();
        tokio::spawn(async move {
            let body = json!({"token": token, "phone": "713-555-0101", "contact_method": "email_only", "zip": "77002",
                "username": format!("racer{i}"), "password": "Blue-Harbor-47", "confirm_password": "Blue-Harbor-47", "accept_terms": true});
            client.post(url).json(&body).send().await.unwrap().status().as_u16()
        })
    });
    let mut statuses = Vec::new();
    for a in attempts.collect::<Vec<_>>() {
        statuses.push(a.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        99,
        "{statuses:?}"
    );
    let registered = t
        .app
        .storage()
        .count_for_tests("SELECT COUNT(*) FROM agents WHERE username LIKE 'racer%'")
        .await
        .unwrap();
    assert_eq!(registered, 1);
    assert_eq!(t.take_outbox().await.len(), 1, "one confirmation email");
}

async fn forms_posted_from_another_site_are_refused(t: TestApp) {
    let path = invited(&t).await;
    let form = good_form("ana.alvarez");
    let from = |origin: Option<&str>| {
        let mut req = t.client.post(t.url(&path)).form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let r = from(origin).await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?}");
        assert!(r.text().await.unwrap().contains("This request was refused"));
    }
    let cross = t
        .client
        .post(t.url(&path))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "null")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross.status(),
        403,
        "a browser says the post comes from another site"
    );
    let referer = t
        .client
        .post(t.url(&path))
        .header("referer", t.url(&path))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(referer.status(), 303, "a same-site Referer is enough");
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("sms", "+17135550101"),
    ])
    .await;
}

async fn the_site_installs_as_an_app(t: TestApp) {
    let r = t.get("/manifest.webmanifest").await;
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["display"].as_str(), m["start_url"].as_str()),
        (Some("standalone"), Some("/agent"))
    );
    let icons = m["icons"].as_array().unwrap();
    for (path, size) in [
        ("/icons/icon-192.png", 192u32),
        ("/icons/icon-512.png", 512),
        ("/icons/apple-touch-icon.png", 180),
    ] {
        let r = t.get(path).await;
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = r.bytes().await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            size,
            "{path}"
        );
        assert!(
            size == 180 || icons.iter().any(|i| i["src"] == path),
            "{path} in the manifest"
        );
    }
    let sw = t.get("/sw.js").await;
    assert_eq!(
        sw.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let js = sw.text().await.unwrap();
    assert!(js.contains("addEventListener(\"push\"") && js.contains("/offline"));
    let home = t.get("/").await.text().await.unwrap();
    for tag in [
        r#"<link rel="manifest" href="/manifest.webmanifest">"#,
        r#"<link rel="apple-touch-icon""#,
        r#"<script src="/static/app.js" defer>"#,
    ] {
        assert!(home.contains(tag), "{tag}");
    }
    let es = t.get_in("/offline", "es").await.text().await.unwrap();
    assert!(es.contains("No tiene conexión"));
}
