//! The server over HTTP, as a browser or a monitoring system sees it.
use hod_test_support::{TestApp, app_tests};

app_tests!(
    landing_page_in_english,
    landing_page_in_spanish_from_the_browser,
    language_switch_sets_a_cookie_and_returns,
    language_switch_refuses_other_sites,
    landing_lists_the_states_of_today,
    health_readiness_and_metrics,
    security_headers_and_request_id_on_every_response,
    unknown_pages_and_endpoints,
    stylesheet_is_served,
    page_titles_are_plain_text,
);

/// A page's `<title>` is text (a tag inside it shows as text in the tab and in search
/// results, and a script there never runs): the public pages in both languages, and every
/// template's title block.
async fn page_titles_are_plain_text(app: TestApp) {
    let pages = [
        "/",
        "/get-help",
        "/agent/login",
        "/agent/forgot-password",
        "/agent/forgot-username",
        "/offline",
        "/admin/login",
    ];
    for path in pages {
        for lang in ["en", "es"] {
            let html = app.get_in(path, lang).await.text().await.unwrap();
            let title = html
                .split_once("<title>")
                .and_then(|(_, rest)| rest.split_once("</title>"))
                .map(|(title, _)| title)
                .unwrap_or_else(|| panic!("{path} has a title"));
            assert!(
                !title.contains('<') && title.ends_with("Help On Demand"),
                "{path} ({lang}): {title}"
            );
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let mut files = vec![];
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("admin/login.html")));
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some((_, rest)) = text.split_once("{% block title %}") {
            let block = rest.split("{% endblock %}").next().unwrap_or_default();
            assert!(!block.contains('<'), "{}: {block}", path.display());
        }
    }
}

async fn landing_page_in_english(app: TestApp) {
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Talk to a licensed agent about your health coverage"));
    assert!(html.contains(r#"<a href="/get-help">Get help</a>"#));
    assert!(html.contains(r#"<a href="/agent/login">Agent log in</a>"#));
    assert!(
        html.contains(r#"hreflang="es">Español</a>"#),
        "offers the other language"
    );
    assert!(html.contains(r##"<a class="skip-link" href="#main">"##));
}

async fn landing_page_in_spanish_from_the_browser(app: TestApp) {
    let html = app
        .get_in("/", "es-MX,es;q=0.9,en;q=0.5")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<html lang="es">"#));
    assert!(html.contains("Hable con un agente con licencia sobre su cobertura médica"));
    assert!(html.contains(r#"<a href="/get-help">Obtener ayuda</a>"#));
    assert!(html.contains(r#"hreflang="en">English</a>"#));
    assert!(!html.contains("Talk to a licensed agent"));
}

async fn language_switch_sets_a_cookie_and_returns(app: TestApp) {
    let res = app.get("/lang/es?next=%2F").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("hod_lang=es;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // The cookie wins over the browser's preference.
    let html = app
        .client
        .get(app.url("/"))
        .header("cookie", "hod_lang=es")
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<html lang="es">"#));
    assert_eq!(app.get("/lang/fr").await.status(), 404);
}

async fn language_switch_refuses_other_sites(app: TestApp) {
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let res = app
            .client
            .get(app.url("/lang/en"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/", "{next}");
    }
}

async fn landing_lists_the_states_of_today(app: TestApp) {
    // 26 Nov 2026 is plan year 2027: Oregon has left the platform, Oklahoma is on it.
    let html = app.get("/").await.text().await.unwrap();
    assert!(
        html.contains("For plan year 2027, Help On Demand serves these 29 states"),
        "{html}"
    );
    assert!(html.contains("<li>Oklahoma</li>") && !html.contains("<li>Oregon</li>"));
    // A month earlier (plan year 2026) Oregon was still served; Illinois already was not.
    app.clock.set("2026-10-01T16:00:00Z".parse().unwrap());
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("For plan year 2026, Help On Demand serves these 30 states"));
    assert!(html.contains("<li>Oregon</li>") && !html.contains("<li>Illinois</li>"));
    let es = app.get_in("/", "es").await.text().await.unwrap();
    assert!(es.contains("<li>Oregón</li>"));
    // Before any configured plan year: no states offered.
    app.clock.set("2024-06-01T16:00:00Z".parse().unwrap());
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("Help On Demand is not taking requests today."));
}

async fn health_readiness_and_metrics(app: TestApp) {
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], app.app.storage().backend().to_string());
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"hod_http_requests_total{method="GET",route="/readyz",status="200"}"#),
        "{text}"
    );
    assert!(text.contains("hod_http_request_duration_seconds_bucket"));
    assert!(
        text.contains("hod_outbox_messages{status=\"pending\"} 0"),
        "{text}"
    );

    // With the database gone, the node is alive but not ready.
    app.app.storage().close().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
}

async fn security_headers_and_request_id_on_every_response(app: TestApp) {
    for path in ["/", "/healthz", "/no-such-page", "/static/app.css"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
        assert_eq!(h["x-request-id"].len(), 24, "{path}");
    }
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "abc-123",
        "a caller's request id is kept"
    );
}

async fn unknown_pages_and_endpoints(app: TestApp) {
    let res = app.get_in("/no-such-page", "es").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("No se encontró la página"));
    assert!(
        html.contains(r#"/lang/en?next=/no-such-page"#),
        "the switch returns to the same address"
    );
    let res = app.get("/api/v1/nothing").await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["fields"].is_object());
}

async fn stylesheet_is_served(app: TestApp) {
    let res = app.get("/static/app.css").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    assert!(res.text().await.unwrap().contains(":focus-visible"));
    assert_eq!(app.get("/static/nope.js").await.status(), 404);
}

async fn queue_an_email(app: &TestApp) {
    let mut tx = app.app.storage().begin().await.unwrap();
    let msg = hod_db::outbox::NewMessage {
        channel: hod_db::outbox::Channel::Email,
        sender: "",
        recipient: "agent@x.test",
        subject: "Activate your account",
        body: "…",
        html: None,
        lang: "en",
        fallback_to: None,
        urgent: false,
        subscription_id: None,
        dedup_key: None,
    };
    hod_db::outbox::enqueue(&mut tx, &msg, app.app.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The harness catches a test that makes the system send something and never looks at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "never took with take_outbox()")]
async fn test_app_refuses_to_end_with_unread_messages() {
    let app = TestApp::spawn(hod_db::Backend::Sqlite).await.unwrap();
    queue_an_email(&app).await;
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_app_ends_cleanly_once_messages_are_taken() {
    let app = TestApp::spawn(hod_db::Backend::Sqlite).await.unwrap();
    queue_an_email(&app).await;
    let taken = app.take_outbox().await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].subject, "Activate your account");
    assert!(app.take_outbox().await.is_empty(), "taken once");
    drop(app);
}
