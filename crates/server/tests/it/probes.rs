//! Defects found by probing the running server from outside (issue 10): redirects leaving the
//! site, idempotency keys blind to the body, duplicates handing out a consumer's link, slow
//! clients, control characters, capacity, recovery timing, the API contract, headers,
//! metrics and phone numbers. Each test failed before its fix; all run on both databases.
use std::time::Duration;

use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{PASSWORD, post};
use crate::world::{TestAgent, TestPartner, api, request, set, spec, world};

app_tests!(
    return_targets_never_leave_the_site,
    an_idempotency_key_is_bound_to_its_request_and_expires,
    a_duplicate_from_someone_else_gets_no_status_link,
    slow_and_idle_clients_are_cut_off_and_connections_capped,
    control_and_invisible_characters_are_refused,
    capacity_holds_when_offering_and_when_accepting,
    password_recovery_answers_without_doing_the_work_first,
    the_api_answers_in_its_documented_shape,
    every_answer_carries_the_security_headers,
    metrics_are_described_and_cover_the_system,
    numbers_that_cannot_take_texts_are_refused_where_texts_go,
);

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn return_targets_never_leave_the_site(t: TestApp) {
    for (next, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0a/evil.example", "/"),
        ("/a%0d%0ab", "/"),
        ("//evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/.//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/get-help?zip=77002", "/get-help?zip=77002"),
        ("/agent/../get-help", "/get-help"),
    ] {
        let r = t.get(&format!("/lang/es?next={next}")).await;
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(location(&r), expected, "{next}");
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .starts_with("hod_lang=es"),
            "{next}"
        );
    }
}

async fn an_idempotency_key_is_bound_to_its_request_and_expires(t: TestApp) {
    world(&t, &[spec("3100011", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let other_partner = TestPartner::new(&t).await.key;
    let send = |key: String, idem: &'static str, body: Value| {
        let t = &t;
        async move {
            let r = t
                .client
                .post(t.url("/api/v1/referrals"))
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .json(&body)
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (
                r.status().as_u16(),
                replayed,
                r.json::<Value>().await.unwrap(),
            )
        }
    };
    let jane = request("77002", "en", "713-555-0161");
    let mut maria = request("77002", "es", "713-555-0162");
    maria["first_name"] = json!("María");
    let (status, replayed, first) = send(partner.key.clone(), "order-1", jane.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    // The same key with another person: refused, not silently answered with Jane's request.
    let (status, _, refused) = send(partner.key.clone(), "order-1", maria.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");
    assert!(refused.get("id").is_none() && refused.get("status_url").is_none());
    // The same key and the same request: the same answer.
    let (status, replayed, again) = send(partner.key.clone(), "order-1", jane.clone()).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first);
    // Keys belong to their partner: another partner's "order-1" is its own.
    let (status, replayed, theirs) = send(other_partner, "order-1", maria.clone()).await;
    assert_eq!((status, replayed), (201, false), "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
    // After 24 hours the key is forgotten and may name a new request.
    t.clock.advance(SignedDuration::from_hours(25));
    let mut later = request("77002", "en", "713-555-0163");
    later["first_name"] = json!("Lena");
    let (status, replayed, new) = send(partner.key, "order-1", later).await;
    assert_eq!((status, replayed), (201, false), "{new}");
    assert_ne!(new["id"], first["id"]);
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("sms", "+17135550161"),
        ("sms", "+17135550162"),
        ("sms", "+17135550162"),
        ("sms", "+17135550163"),
    ])
    .await;
}

async fn a_duplicate_from_someone_else_gets_no_status_link(t: TestApp) {
    world(&t, &[spec("3100021", "Ana", "77002")]).await;
    let first_partner = TestPartner::new(&t).await.key;
    let other_partner = TestPartner::new(&t).await.key;
    let consumer = request("77002", "en", "713-555-0171");
    let (status, made) = submit_as(&t, &first_partner, &consumer).await;
    assert_eq!(status, 201, "{made}");
    let link = made["status_url"].as_str().unwrap().to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();
    t.expect_outbox(&[("email", "ana@agency.test"), ("sms", "+17135550171")])
        .await;
    // Another partner who knows the name, phone and ZIP learns nothing it could follow.
    let (status, dup) = submit_as(&t, &other_partner, &consumer).await;
    assert_eq!(status, 409, "{dup}");
    assert_eq!(dup["error"]["code"], "already_requested");
    assert!(!dup.to_string().contains(&token), "{dup}");
    // The consumer gets the link again the way she chose, by text (once per request).
    let sent = t.take_outbox().await;
    let to: Vec<&str> = sent.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(to, ["+17135550171"], "{sent:?}");
    assert!(sent.iter().all(|m| m.body.contains(&link)), "{sent:?}");
    // Nor does anyone at the public form.
    let form = [
        ("zip", "77002"),
        ("language", "en"),
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("phone", "(713) 555-0171"),
        ("contact_by", "text"),
        ("reason", "new_coverage"),
        ("consent", "true"),
        ("consent_version", hod_app::referrals::CONSENT_VERSION),
    ];
    let r = post(&t, "/get-help", &form, None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("location").is_none());
    let page = r.text().await.unwrap();
    assert!(!page.contains(&token));
    assert!(page.contains("You already asked for help"), "{page}");
    assert!(
        t.take_outbox().await.is_empty(),
        "the link goes again only once"
    );
    // The partner that made the request may ask again: it has had the link all along.
    let (status, own) = submit_as(&t, &first_partner, &consumer).await;
    assert_eq!(status, 201);
    assert_eq!(own["status_url"], link);
}

/// `POST /api/v1/referrals` with a partner's key: (status, body).
async fn submit_as(t: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    api(
        t,
        "POST",
        "/api/v1/referrals",
        Some(key),
        Some(body.clone()),
    )
    .await
}

/// The agent accepts the first offer open to them.
async fn accept_first_offer(agent: &TestAgent) {
    let offer = agent.offers().await[0].id;
    agent.accept(offer).await.expect(200);
}

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_to_close(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

async fn slow_and_idle_clients_are_cut_off_and_connections_capped(t: TestApp) {
    let limits = hod_web::HttpLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_body_bytes: 4096,
        max_connections: 4,
    };
    let addr = t
        .serve_with(hod_web::WebSettings {
            limits,
            ..Default::default()
        })
        .await;
    let connect = || tokio::net::TcpStream::connect(addr);
    // Headers one line at a time, too slowly: the server hangs up.
    let mut slow = connect().await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = read_to_close(&mut slow, Duration::from_secs(15)).await;
    assert!(
        closed.is_some(),
        "a client that never finishes its headers is disconnected"
    );
    // A body that stops arriving: 408 with the usual headers, and the connection closed.
    let mut stalled = connect().await.unwrap();
    stalled
        .write_all(
            b"POST /api/v1/password-policy/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pass",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stalled, Duration::from_secs(15))
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("x-content-type-options: nosniff"),
        "{answer}"
    );
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    // A kept-alive connection left idle after its answer is closed too.
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut idle, Duration::from_secs(15))
        .await
        .expect("closed after idling");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Sockets opened and never used take every slot; the server still answers once the
    // head deadline frees them.
    let mut hogs = Vec::new();
    for _ in 0..limits.max_connections * 3 {
        hogs.push(connect().await.unwrap());
    }
    let health = tokio::time::timeout(
        Duration::from_secs(30),
        reqwest::get(format!("http://{addr}/healthz")),
    )
    .await
    .expect("answered within the head deadline of the hogs")
    .unwrap();
    assert_eq!(health.status(), 200);
    // Too large a body: 413 before it is read.
    let big = "x".repeat(limits.max_body_bytes + 1);
    let r = t
        .client
        .post(format!("http://{addr}/api/v1/password-policy/check"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    // The refused body is left unread, so the server closes that connection: it says so,
    // and a client that keeps connections open sends its next request on a new one (found
    // by fuzzing: the next request failed now and then).
    let big = "x".repeat(limits.max_body_bytes + 1);
    for (origin, status) in [("http://evil.example", 403), ("", 413)] {
        let r = t
            .client
            .post(format!("http://{addr}/get-help"))
            .header(
                "origin",
                if origin.is_empty() {
                    format!("http://{addr}")
                } else {
                    origin.into()
                },
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["connection"], "close");
        let next = t
            .client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .expect("the next request on this client is answered");
        assert_eq!(next.status(), 200);
    }
}

async fn control_and_invisible_characters_are_refused(t: TestApp) {
    let agents = world(&t, &[spec("3100031", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    for (field, value, problem) in [
        (
            "first_name",
            "\u{200b}\u{200b}",
            "A name must contain at least one letter.",
        ),
        ("first_name", "Jane\u{1b}[31m", "control characters"),
        (
            "last_name",
            "Doe\r\nBcc: x@evil.example",
            "control characters",
        ),
        ("last_name", "D\u{0}oe", "control characters"),
        ("first_name", "\u{202e}enaJ", "direction"),
        ("best_time", "after 5\u{7}", "control characters"),
    ] {
        let mut body = request("77002", "en", "713-555-0181");
        body[field] = json!(value);
        let (status, v) = api(
            &t,
            "POST",
            "/api/v1/referrals",
            Some(&partner.key),
            Some(body),
        )
        .await;
        assert_eq!(status, 422, "{field}={value:?}: {v}");
        let said = v["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(said.contains(problem), "{field}={value:?}: {v}");
    }
    // Names are kept in NFC: "e" + combining acute is stored as "é".
    let mut body = request("77002", "en", "713-555-0182");
    body["first_name"] = json!("Jose\u{301}");
    let rid = partner.submit(body).await;
    accept_first_offer(&agents[0]).await;
    let (_, referral) = api(
        &t,
        "GET",
        &format!("/api/v1/agent/referrals/{rid}"),
        Some(&agents[0].token),
        None,
    )
    .await;
    assert_eq!(referral["first_name"], "José");
    // A status note may have lines, not escape sequences.
    let (status, v) = api(
        &t,
        "POST",
        &format!("/api/v1/agent/referrals/{rid}/status"),
        Some(&agents[0].token),
        Some(json!({"status": "deferred", "note": "call back\u{1b}[2J"})),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    // A form that is not UTF-8 is refused, not stored with replacement characters.
    let r = t
        .client
        .post(t.url("/get-help"))
        .header("origin", t.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("zip=77002&first_name=Jos%E9&last_name=Doe")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("could not be read"));
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("sms", "+17135550182"),
        ("sms", "+17135550182"),
    ])
    .await;
}

async fn capacity_holds_when_offering_and_when_accepting(t: TestApp) {
    let agents = world(&t, &[spec("3100041", "Ana", "77002")]).await;
    let ana = &agents[0];
    let partner = TestPartner::new(&t).await;
    set(&t, "routing.capacity", "2").await;
    let phones = ["713-555-0191", "713-555-0192", "713-555-0193"];
    let mut ids = Vec::new();
    for phone in phones {
        ids.push(partner.submit(request("77002", "en", phone)).await);
    }
    // Two offers held fill a capacity of two: the third request is not offered to her.
    let held = ana.offers().await;
    assert_eq!(held.len(), 2, "{held:?}");
    let (_, third) = api(
        &t,
        "GET",
        &format!("/api/v1/referrals/{}", ids[2]),
        Some(&partner.key),
        None,
    )
    .await;
    assert_eq!(third["status"], "unserved", "{third}");
    // Accepting re-checks the capacity in the accepting transaction.
    let accept = |offer: i64| {
        let (t, token) = (&t, ana.token.clone());
        async move {
            let path = format!("/api/v1/agent/offers/{offer}/accept");
            api(t, "POST", &path, Some(&token), None).await
        }
    };
    let (status, v) = accept(held[0].id).await;
    assert_eq!(status, 200, "{v}");
    set(&t, "routing.capacity", "1").await;
    let (status, v) = accept(held[1].id).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "at_capacity");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Follow-Up Completed")
    );
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("sms", "+17135550191"),
        ("sms", "+17135550191"),
        ("sms", "+17135550192"),
        ("sms", "+17135550193"),
        ("sms", "+17135550193"),
    ])
    .await;
}

async fn password_recovery_answers_without_doing_the_work_first(t: TestApp) {
    crate::login::registered(&t).await;
    // Hold what the work for a known account needs (SQLite: the writer's turn; PostgreSQL:
    // the agent's row, which the reset token refers to). A page that did the work before
    // answering would wait; one that answers at once for everybody does not.
    let mut tx = t.app.storage().begin().await.unwrap();
    if let Some(pg) = tx.postgres() {
        sqlx::query("SELECT id FROM agents FOR UPDATE")
            .execute(pg)
            .await
            .unwrap();
    }
    for value in ["ana.alvarez", "nobody.here"] {
        let answered = tokio::time::timeout(
            Duration::from_secs(20),
            post(&t, "/agent/forgot-password", &[("value", value)], None),
        )
        .await
        .unwrap_or_else(|_| panic!("forgot-password for {value} waited for the database"));
        assert_eq!(answered.status(), 200);
    }
    tx.rollback().await.unwrap();
    // The work is done after the answer: the known account gets its link.
    let sent = t.take_outbox().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].recipient, "ana.alvarez@agency.test");
    assert!(sent[0].body.contains("/agent/reset/"));
}

async fn the_api_answers_in_its_documented_shape(t: TestApp) {
    let agents = world(&t, &[spec("3100051", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    // 401 names the scheme; the scheme is matched ignoring case.
    let r = t.get("/api/v1/agent/offers").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"hod\"");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = t
            .client
            .get(t.url("/api/v1/agent/offers"))
            .header("authorization", format!("{scheme} {}", agents[0].token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
    let json_error = |r: reqwest::Response| async move {
        assert_eq!(r.headers()["content-type"], "application/json", "{r:?}");
        r.json::<Value>().await.unwrap()["error"]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A path id that is not a number: 400 in the API's shape, not the framework's text.
    let r = t
        .client
        .post(t.url("/api/v1/agent/offers/abc/accept"))
        .bearer_auth(&agents[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json_error(r).await, "invalid_path");
    // A wrong JSON type: 422. Not JSON: 400. Not sent as JSON: 415.
    let mut body = request("77002", "en", "713-555-0101");
    body["zip"] = json!(77002);
    let send = |ct: &'static str, body: String| {
        t.client
            .post(t.url("/api/v1/referrals"))
            .bearer_auth(&partner.key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = send("application/json", body.to_string()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(json_error(r).await, "invalid_json_shape");
    let r = send("application/json", "{\"zip\":".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json_error(r).await, "invalid_json");
    let r = send("text/plain", "{}".into()).await.unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(json_error(r).await, "unsupported_media_type");
    // The consent text partners must show, in the version submissions must name.
    let (status, consent) = api(&t, "GET", "/api/v1/consent", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(consent["version"], hod_app::referrals::CONSENT_VERSION);
    assert!(
        consent["text"]["en"]
            .as_str()
            .unwrap()
            .starts_with("I agree to be contacted")
    );
    assert!(
        consent["text"]["es"]
            .as_str()
            .unwrap()
            .starts_with("Acepto")
    );
    // The document says all of this for every operation.
    let (_, doc) = api(&t, "GET", "/api/v1/openapi.json", None, None).await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let documented = |code: &str| op["responses"].get(code).is_some();
            if op.get("security").is_some() {
                assert!(documented("401"), "{method} {path}: 401");
                let unauthorized = &doc["components"]["responses"]["Unauthorized"];
                assert!(unauthorized["headers"].get("WWW-Authenticate").is_some());
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415", "422"] {
                    assert!(documented(code), "{method} {path}: {code}");
                }
            }
            if path.contains("{id}") {
                assert!(documented("400"), "{method} {path}: 400");
            }
        }
    }
    let schema = &doc["components"]["schemas"]["ReferralRequest"]["properties"];
    assert_eq!(
        schema["consent"]["properties"]["text_version"]["const"],
        hod_app::referrals::CONSENT_VERSION
    );
    assert!(
        schema["language"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("es"))
    );
    assert_eq!(schema["first_name"]["minLength"], 1);
    assert!(schema["phone"]["pattern"].is_string());
}

async fn every_answer_carries_the_security_headers(t: TestApp) {
    let agents = world(&t, &[spec("3100061", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let has_security_headers = |r: &reqwest::Response, what: &str| {
        let h = r.headers();
        assert!(h.contains_key("content-security-policy"), "{what}: CSP");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
    };
    // A form posted from another site: refused by a layer, with the headers all the same.
    let r = t
        .client
        .post(t.url("/get-help"))
        .header("origin", "https://evil.example")
        .form(&[("zip", "77002")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    has_security_headers(&r, "cross-site form");
    // What the framework answers itself.
    let r = t
        .client
        .delete(t.url("/api/v1/referrals"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    has_security_headers(&r, "405");
    let r = t.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    has_security_headers(&r, "404");
    // Answers with tokens or contact details are never stored by a cache.
    let rid = partner.submit(request("77002", "en", "713-555-0151")).await;
    accept_first_offer(&agents[0]).await;
    let r = t
        .client
        .get(t.url(&format!("/api/v1/agent/referrals/{rid}")))
        .bearer_auth(&agents[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    has_security_headers(&r, "referral");
    let r = t
        .client
        .post(t.url("/api/v1/agent/token"))
        .json(&json!({"username": "ana.agent", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // Static files may be cached.
    let r = t.get("/static/app.css").await;
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("sms", "+17135550151"),
        ("sms", "+17135550151"),
    ])
    .await;
}

async fn metrics_are_described_and_cover_the_system(t: TestApp) {
    let agents = world(&t, &[spec("3100071", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    partner.submit(request("77002", "en", "713-555-0141")).await;
    accept_first_offer(&agents[0]).await;
    let r = t.get("/metrics").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for family in [
        "hod_http_requests_total",
        "hod_http_request_duration_seconds",
        "hod_build_info",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "hod_db_pool_connections",
        "hod_db_begin_wait_seconds",
        "hod_outbox_messages",
        "hod_outbox_oldest_pending_age_seconds",
        "hod_referrals_submitted_total",
        "hod_referrals_accepted_total",
        "hod_referral_time_to_accept_seconds",
        "hod_offers_total",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(family) && !l.starts_with('#')),
            "{family} has no sample:\n{text}"
        );
    }
    // Every family has its help text (what `promtool check metrics` asks for).
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("sms", "+17135550141"),
        ("sms", "+17135550141"),
    ])
    .await;
}

async fn numbers_that_cannot_take_texts_are_refused_where_texts_go(t: TestApp) {
    crate::eligibility::import_all(&t.app).await;
    let token = crate::support::invitation_token(&t.take_outbox().await, "ana.alvarez@agency.test");
    let r = t
        .client
        .post(t.url("/api/v1/registrations"))
        .json(&json!({"token": token, "phone": "1-800-555-0101", "contact_method": "email_text", "zip": "77002",
            "username": "ana.alvarez", "password": PASSWORD, "confirm_password": PASSWORD, "accept_terms": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["fields"]["phone"]
            .as_str()
            .unwrap()
            .contains("Toll-free numbers cannot receive text messages"),
        "{v}"
    );
    // A consumer may be called at a toll-free number, not texted there.
    let agents = world(&t, &[spec("3100081", "Bea", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let mut texted = request("77002", "en", "(888) 555-0101");
    let (status, v) = submit_as(&t, &partner.key, &texted).await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["fields"]["phone"].is_string());
    texted["contact_by"] = json!("call");
    partner.submit(texted).await;
    // The agent app's profile refuses it too.
    let (status, v) = api(
        &t,
        "PUT",
        "/api/v1/agent/profile",
        Some(&agents[0].token),
        Some(json!({"phone": "877-555-0101"})),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    // Asked to be called: the confirmation goes by email.
    t.expect_outbox(&[
        ("email", "bea@agency.test"),
        ("email", "jane.doe@example.com"),
    ])
    .await;
}
