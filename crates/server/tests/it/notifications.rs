//! Messages reaching people (issue 12) through real protocols, on both databases: email over
//! a real SMTP conversation with a server inside the test, the MIME parsed and checked;
//! retries, the dead letter and the local outbox.
use hod_app::App;
use hod_app::dispatch::{Dispatched, Transports};
use hod_app::system::DeliveryStatus;
use hod_notify::{Sms, SmsUrl, Smtp, SmtpUrl};
use hod_test_support::smtp::{Answer, SmtpServer};
use hod_test_support::twilio::{self, SmsApi};
use hod_test_support::webpush::{self as push_service, BrowserSubscription, PushService};
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;

app_tests!(
    email_goes_through_smtp_as_text_and_html,
    texts_go_through_the_sms_api_with_its_fields_and_auth,
    an_invalid_number_is_not_tried_again,
    texted_keywords_are_honoured_and_answered_and_reports_recorded,
    flaky_then_down_then_recovered_providers_lose_and_double_nothing,
    other_nodes_hear_of_messages_and_changes_at_once,
    without_a_provider_messages_stay_in_the_local_outbox,
    a_provider_that_says_later_is_tried_again_then_given_up,
    a_refused_address_goes_to_the_dead_letter_at_once,
    offers_reach_subscribed_browsers_by_push_and_answer_in_one_tap,
    a_push_service_that_says_gone_removes_the_subscription,
);

/// The application of `t` handing email to `server`.
fn with_smtp(t: &TestApp, server: &SmtpServer) -> App {
    let smtp = Smtp::new(SmtpUrl::parse(&server.url()).unwrap()).unwrap();
    t.app.clone().with_transports(Transports {
        email: Some(smtp),
        sms: None,
    })
}

/// The application of `t` handing texts to `api`.
fn with_sms(t: &TestApp, api: &SmsApi) -> App {
    let sms = Sms::new(SmsUrl::parse(&api.url()).unwrap(), "+15125550100").unwrap();
    t.app.clone().with_transports(Transports {
        email: None,
        sms: Some(sms),
    })
}

/// Queues a consumer's confirmation text (and their email and the agent's offer email).
async fn queue_a_text(t: &TestApp) -> i64 {
    crate::world::world(t, &[crate::world::spec("5000011", "Ana", "77002")]).await;
    assert_eq!(t.app.dispatch("setup").await.unwrap().stored, 2);
    let partner = crate::world::TestPartner::new(t).await;
    partner
        .submit(crate::world::request("77002", "en", "713-555-0199"))
        .await
}

/// Queues one email: a forgotten-username reminder to a registered agent.
async fn queue_an_email(t: &TestApp) -> String {
    crate::world::world(t, &[crate::world::spec("5000001", "Ana", "77002")]).await;
    // The world's own messages (invitation, account ready) go to the local outbox first.
    assert_eq!(t.app.dispatch("setup").await.unwrap().stored, 2);
    t.app.forgot_username("ana@agency.test").await.unwrap();
    t.app.settle().await;
    "ana@agency.test".to_owned()
}

async fn status_of_last(t: &TestApp) -> (DeliveryStatus, i64) {
    let all = t.app.outbox(None, None).await.unwrap();
    let last = all.last().expect("a message");
    (last.status, last.attempts)
}

async fn email_goes_through_smtp_as_text_and_html(t: TestApp) {
    let server = SmtpServer::start().await;
    let to = queue_an_email(&t).await;
    let app = with_smtp(&t, &server);
    let done = app.dispatch("node-a").await.unwrap();
    assert_eq!(
        done,
        Dispatched {
            sent: 1,
            ..Dispatched::default()
        }
    );
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].from.as_str(), got[0].to.as_slice()),
        ("noreply@hod.test", [to.clone()].as_slice())
    );
    let mail = mail_parser::MessageParser::default()
        .parse(&got[0].data)
        .expect("MIME");
    let sent = t.expect_outbox(&[("email", &to)]).await;
    let row = &sent[0];
    assert_eq!(row.status, DeliveryStatus::Sent);
    assert_eq!(mail.subject(), Some(row.subject.as_str()));
    assert_eq!(
        mail.message_id(),
        Some(format!("outbox-{}@hod.test", row.id).as_str())
    );
    let from = mail.from().and_then(|f| f.first()).unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Help On Demand"), Some("noreply@hod.test"))
    );
    // The text part is the message as queued (MIME writes its lines ending in CRLF).
    assert_eq!(
        mail.body_text(0)
            .map(|b| b.replace("\r\n", "\n").trim_end().to_owned()),
        Some(row.body.trim_end().to_owned())
    );
    // The HTML alternative is the letter's template: the same words, the link as a button.
    let html = mail.body_html(0).expect("an HTML alternative");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(
        html.contains("Your Help On Demand username is ana.agent."),
        "{html}"
    );
    let login = format!("href=\"{}/agent/login\"", t.app.settings.public_url);
    assert!(html.contains(&login), "{html}");
    assert!(mail.header("Importance").is_none(), "not urgent");
    // Once taken, a message is not sent again.
    assert_eq!(app.dispatch("node-a").await.unwrap().total(), 0);
    assert_eq!(server.received().len(), 1);
}

async fn without_a_provider_messages_stay_in_the_local_outbox(t: TestApp) {
    let to = queue_an_email(&t).await;
    let done = t.app.dispatch("node-a").await.unwrap();
    assert_eq!(done.stored, 1, "{done:?}");
    let kept = t.expect_outbox(&[("email", &to)]).await;
    assert_eq!(kept[0].status, DeliveryStatus::Stored);
}

async fn a_provider_that_says_later_is_tried_again_then_given_up(t: TestApp) {
    let server = SmtpServer::start().await;
    let to = queue_an_email(&t).await;
    let app = with_smtp(&t, &server);
    server.answer_next(&[Answer::TryLater]);
    assert_eq!(app.dispatch("node-a").await.unwrap().retried, 1);
    assert_eq!(status_of_last(&t).await, (DeliveryStatus::Pending, 1));
    // Not due again before its wait (at least 7.5 s for the first retry).
    t.clock.advance(SignedDuration::from_secs(5));
    assert_eq!(app.dispatch("node-a").await.unwrap().total(), 0);
    t.clock.advance(SignedDuration::from_secs(10));
    assert_eq!(
        app.dispatch("node-a").await.unwrap().sent,
        1,
        "the second try"
    );
    assert_eq!(server.received().len(), 1);
    assert_eq!(status_of_last(&t).await, (DeliveryStatus::Sent, 2));
    t.expect_outbox(&[("email", &to)]).await;
    // Another that never gets through: eight tries, then the dead letter.
    t.app.forgot_username(&to).await.unwrap();
    t.app.settle().await;
    server.answer_all(Answer::TryLater);
    let mut tries = 0;
    loop {
        let d = app.dispatch("node-a").await.unwrap();
        tries += d.total();
        if d.dead == 1 {
            break;
        }
        assert!(tries < 20, "never given up");
        t.clock.advance(SignedDuration::from_mins(30));
    }
    assert_eq!(tries, 8);
    assert_eq!(status_of_last(&t).await, (DeliveryStatus::Failed, 8));
    let dead = t.expect_outbox(&[("email", &to)]).await;
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("451"),
        "{dead:?}"
    );
}

async fn a_refused_address_goes_to_the_dead_letter_at_once(t: TestApp) {
    let server = SmtpServer::start().await;
    let to = queue_an_email(&t).await;
    let app = with_smtp(&t, &server);
    server.answer_next(&[Answer::Refuse]);
    assert_eq!(app.dispatch("node-a").await.unwrap().dead, 1);
    assert_eq!(status_of_last(&t).await, (DeliveryStatus::Failed, 1));
    t.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(app.dispatch("node-a").await.unwrap().total(), 0);
    assert!(server.received().is_empty());
    // The dead letter, as `hod outbox list --failed` shows it.
    let dead = t
        .app
        .outbox(None, Some(DeliveryStatus::Failed))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{dead:?}"
    );
    t.expect_outbox(&[("email", &to)]).await;
}

async fn texts_go_through_the_sms_api_with_its_fields_and_auth(t: TestApp) {
    let api = SmsApi::start().await;
    queue_a_text(&t).await;
    let app = with_sms(&t, &api);
    api.answer_next(&[twilio::Answer::Busy]);
    let first = app.dispatch("node-a").await.unwrap();
    assert_eq!((first.retried, first.stored), (1, 1), "{first:?}");
    assert!(api.sent().is_empty());
    t.clock.advance(SignedDuration::from_secs(15));
    assert_eq!(app.dispatch("node-a").await.unwrap().sent, 1);
    let sent = api.sent();
    assert_eq!((sent.len(), api.requests()), (1, 2));
    let outbox = t
        .expect_outbox(&[("email", "ana@agency.test"), ("sms", "+17135550199")])
        .await;
    let text = outbox
        .iter()
        .find(|m| m.recipient == "+17135550199")
        .unwrap();
    let field = |name: &str| sent[0].fields.get(name).map(String::as_str);
    assert_eq!(field("To"), Some("+17135550199"));
    assert_eq!(field("From"), Some("+15125550100"));
    assert_eq!(field("Body"), Some(text.body.as_str()));
    assert_eq!(
        field("StatusCallback").map(str::to_owned),
        Some(format!("{}/webhooks/sms/status", t.app.settings.public_url))
    );
    assert_eq!(text.status, DeliveryStatus::Sent);
    assert_eq!(text.provider_id.as_deref(), Some(sent[0].sid.as_str()));
}

async fn an_invalid_number_is_not_tried_again(t: TestApp) {
    let api = SmsApi::start().await;
    queue_a_text(&t).await;
    let server = SmtpServer::start().await;
    let app = t.app.clone().with_transports(Transports {
        email: Some(Smtp::new(SmtpUrl::parse(&server.url()).unwrap()).unwrap()),
        sms: Some(Sms::new(SmsUrl::parse(&api.url()).unwrap(), "+15125550100").unwrap()),
    });
    api.answer_next(&[twilio::Answer::InvalidNumber]);
    let first = app.dispatch("node-a").await.unwrap();
    assert_eq!((first.sent, first.dead), (1, 1), "{first:?}");
    // The text goes to Jane's email instead, marked urgent.
    assert_eq!(app.dispatch("node-a").await.unwrap().sent, 1);
    t.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(app.dispatch("node-a").await.unwrap().total(), 0);
    assert_eq!(api.requests(), 1);
    let outbox = t
        .expect_outbox(&[
            ("email", "ana@agency.test"),
            ("email", "jane.doe@example.com"),
            ("sms", "+17135550199"),
        ])
        .await;
    let text = outbox
        .iter()
        .find(|m| m.recipient == "+17135550199")
        .unwrap();
    assert_eq!(text.status, DeliveryStatus::Failed);
    assert!(
        text.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("21211"),
        "{text:?}"
    );
    let got = server.received();
    let urgent = got
        .iter()
        .map(|m| {
            mail_parser::MessageParser::default()
                .parse(&m.data)
                .unwrap()
        })
        .find(|m| {
            m.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some("jane.doe@example.com")
        })
        .expect("the text by email");
    assert_eq!(
        urgent.header("Importance").and_then(|h| h.as_text()),
        Some("high")
    );
    assert!(
        urgent.subject().unwrap_or_default().starts_with("Urgent"),
        "{:?}",
        urgent.subject()
    );
    let body = urgent.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        body.contains("+17135550199") && body.contains(text.body.trim()),
        "{body}"
    );
}

/// Posts a provider's webhook to `addr`, signed with `token` for the public URL of `t`.
async fn webhook(
    t: &TestApp,
    addr: std::net::SocketAddr,
    path: &str,
    fields: &[(&str, &str)],
    token: &str,
) -> (u16, String) {
    let owned: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let url = format!("{}{path}", t.app.settings.public_url);
    let signature = hod_notify::sms::signature(token, &url, &owned);
    let r = t
        .client
        .post(format!("http://{addr}{path}"))
        .header("x-twilio-signature", signature)
        .form(&owned)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn texted_keywords_are_honoured_and_answered_and_reports_recorded(t: TestApp) {
    let api = SmsApi::start().await;
    let app = with_sms(&t, &api);
    let addr = t
        .serve_app(app.clone(), hod_web::WebSettings::default())
        .await;
    let inbound = "/webhooks/sms/inbound";
    let jane = "+17135550199";
    // Jane texts the program; what is texted back.
    let say = async |body: &str| {
        webhook(
            &t,
            addr,
            inbound,
            &[("From", jane), ("Body", body)],
            twilio::AUTH_TOKEN,
        )
        .await
    };
    // Not signed with the account's token: refused, nothing done.
    let (code, _) = webhook(
        &t,
        addr,
        inbound,
        &[("From", jane), ("Body", "STOP")],
        "guess",
    )
    .await;
    assert_eq!(code, 403);
    let (code, twiml) = say("stop").await;
    assert_eq!(code, 200);
    assert!(
        twiml.starts_with("<?xml")
            && twiml.contains("<Message>Help On Demand: you will get no more texts"),
        "{twiml}"
    );
    // Confirmed once.
    let (_, again) = say("STOP").await;
    assert!(!again.contains("<Message>"), "{again}");
    // Her confirmation text is not sent while she said STOP.
    queue_a_text(&t).await;
    let d = app.dispatch("node-a").await.unwrap();
    assert_eq!((d.dead, d.sent), (1, 0), "{d:?}");
    assert_eq!(api.requests(), 0);
    // It goes to her email instead (she gave one), not marked urgent: she chose this.
    assert_eq!(app.dispatch("node-a").await.unwrap().stored, 1);
    let kept = t
        .expect_outbox(&[
            ("email", "ana@agency.test"),
            ("email", "jane.doe@example.com"),
            ("sms", jane),
        ])
        .await;
    let blocked = kept.iter().find(|m| m.recipient == jane).unwrap();
    let by_email = kept
        .iter()
        .find(|m| m.recipient == "jane.doe@example.com")
        .unwrap();
    assert!(
        by_email.body.contains("stop texting +17135550199")
            && by_email.body.contains(blocked.body.trim()),
        "{by_email:?}"
    );
    assert!(!by_email.urgent);
    assert!(
        blocked
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("STOP"),
        "{blocked:?}"
    );
    // Spanish keywords get Spanish answers; HELP names the call center.
    let (_, ayuda) = say("AYUDA").await;
    assert!(
        ayuda.contains("Centro de Llamadas") && ayuda.contains("1-800-318-2596"),
        "{ayuda}"
    );
    let (_, other) = say("Thanks!").await;
    assert!(
        !other.contains("<Message>"),
        "no answer to ordinary texts: {other}"
    );
    // START: texts again.
    let (_, started) = say("START").await;
    assert!(started.contains("again"), "{started}");
    let partner = crate::world::TestPartner::new(&t).await;
    let mut second = crate::world::request("77002", "en", "713-555-0199");
    second["first_name"] = serde_json::json!("Juana");
    partner.submit(second).await;
    assert_eq!(app.dispatch("node-a").await.unwrap().sent, 1);
    let sid = api.sent()[0].sid.clone();
    // The provider's delivery report lands on the text it names.
    let (code, _) = webhook(
        &t,
        addr,
        "/webhooks/sms/status",
        &[("MessageSid", &sid), ("MessageStatus", "delivered")],
        twilio::AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 204);
    let sent = t
        .expect_outbox(&[("email", "ana@agency.test"), ("sms", jane)])
        .await;
    let text = sent.iter().find(|m| m.recipient == jane).unwrap();
    assert_eq!(
        (text.provider_id.as_deref(), text.provider_status.as_deref()),
        (Some(sid.as_str()), Some("delivered"))
    );
}

async fn flaky_then_down_then_recovered_providers_lose_and_double_nothing(t: TestApp) {
    use std::collections::{BTreeMap, BTreeSet};
    let server = SmtpServer::start().await;
    let api = SmsApi::start().await;
    crate::world::world(&t, &[crate::world::spec("5000021", "Ana", "77002")]).await;
    assert_eq!(t.app.dispatch("setup").await.unwrap().stored, 2);
    let app = t.app.clone().with_transports(Transports {
        email: Some(Smtp::new(SmtpUrl::parse(&server.url()).unwrap()).unwrap()),
        sms: Some(Sms::new(SmsUrl::parse(&api.url()).unwrap(), "+15125550100").unwrap()),
    });
    let partner = crate::world::TestPartner::new(&t).await;
    for n in 0..12 {
        let mut r = crate::world::request("77002", "en", &format!("713-555-01{n:02}"));
        r["first_name"] = serde_json::json!(format!("Person{n}"));
        partner.submit(r).await;
    }
    let pass = async |minutes: i64| {
        let d = app.dispatch("node-a").await.unwrap();
        t.clock.advance(SignedDuration::from_mins(minutes));
        d
    };
    // A third of the attempts refused for a while…
    let flaky: Vec<Answer> = (0..60)
        .map(|i| {
            if i % 3 == 0 {
                Answer::TryLater
            } else {
                Answer::Accept
            }
        })
        .collect();
    let flaky_sms: Vec<twilio::Answer> = (0..60)
        .map(|i| {
            if i % 3 == 1 {
                twilio::Answer::Down
            } else {
                twilio::Answer::Accept
            }
        })
        .collect();
    server.answer_next(&flaky);
    api.answer_next(&flaky_sms);
    for _ in 0..2 {
        pass(1).await;
    }
    // …then everything, for long enough that some messages use up their attempts…
    server.answer_all(Answer::TryLater);
    api.answer_all(twilio::Answer::Busy);
    for _ in 0..6 {
        pass(5).await;
    }
    // …then the providers recover.
    server.answer_all(Answer::Accept);
    api.answer_all(twilio::Answer::Accept);
    for _ in 0..12 {
        pass(30).await;
    }
    assert_eq!(
        app.dispatch("node-a").await.unwrap().total(),
        0,
        "nothing left to send"
    );
    let all = t.app.outbox(None, None).await.unwrap();
    let setup = 2;
    let messages = &all[setup..];
    assert!(messages.len() >= 24, "{}", messages.len());
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for m in messages {
        *by_status.entry(m.status.as_str()).or_default() += 1;
        assert!(
            matches!(m.status, DeliveryStatus::Sent | DeliveryStatus::Failed),
            "#{} {:?} is neither sent nor in the dead letter",
            m.id,
            m.status
        );
    }
    assert!(
        by_status.get("sent").copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    // Every email taken by the server is one outbox row, taken once.
    let ids: Vec<String> = server
        .received()
        .iter()
        .map(|r| {
            let mail = mail_parser::MessageParser::default()
                .parse(&r.data)
                .unwrap();
            mail.message_id().unwrap().to_owned()
        })
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an email was taken twice");
    let sent_emails: BTreeSet<String> = messages
        .iter()
        .filter(|m| {
            m.channel == hod_app::system::Channel::Email && m.status == DeliveryStatus::Sent
        })
        .map(|m| format!("outbox-{}@hod.test", m.id))
        .collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        sent_emails
    );
    // Every text taken by the provider is one outbox row with its sid, taken once.
    let sids: BTreeSet<String> = api.sent().into_iter().map(|s| s.sid).collect();
    assert_eq!(sids.len(), api.sent().len());
    let sent_texts: BTreeSet<String> = messages
        .iter()
        .filter(|m| m.channel == hod_app::system::Channel::Sms && m.status == DeliveryStatus::Sent)
        .map(|m| m.provider_id.clone().expect("a sent text keeps its sid"))
        .collect();
    assert_eq!(sids, sent_texts);
    assert_eq!(t.take_outbox().await.len(), messages.len());
}

async fn other_nodes_hear_of_messages_and_changes_at_once(t: TestApp) {
    crate::world::world(&t, &[crate::world::spec("5000031", "Ana", "77002")]).await;
    let other = t.other_node().await;
    let relay = {
        let other = other.clone();
        tokio::spawn(async move { other.relay_signals().await })
    };
    if t.app.storage().backend() == hod_db::Backend::Sqlite {
        // One node only: nothing to relay.
        assert!(relay.await.unwrap().is_ok());
        return;
    }
    // The relay subscribes in the background: queue until a signal gets through (a bound,
    // not a timing requirement: it normally comes at the first message).
    let mut woken = false;
    for _ in 0..50 {
        t.clock.advance(SignedDuration::from_secs(1));
        t.app.forgot_username("ana@agency.test").await.unwrap();
        t.app.settle().await;
        let signal = other.outbox_written().notified();
        if tokio::time::timeout(std::time::Duration::from_millis(200), signal)
            .await
            .is_ok()
        {
            woken = true;
            break;
        }
    }
    assert!(woken, "the other node's dispatcher was not woken");
    // A change on this node (an offer, a status) reaches the other node's live pages.
    let mut pages = other.changes.subscribe();
    pages.mark_unchanged();
    t.app.changed();
    tokio::time::timeout(std::time::Duration::from_secs(10), pages.changed())
        .await
        .expect("the other node's pages were not told")
        .unwrap();
    relay.abort();
    let taken = t.take_outbox().await;
    assert!(
        !taken.is_empty() && taken.iter().all(|m| m.recipient == "ana@agency.test"),
        "{taken:?}"
    );
}

/// Ana takes pushes on one browser; a request in her ZIP is offered to her.
async fn ana_with_a_browser(
    t: &TestApp,
    service: &PushService,
) -> (crate::world::TestAgent, BrowserSubscription) {
    let ana = crate::world::world(t, &[crate::world::spec("5000031", "Ana", "77002")])
        .await
        .remove(0);
    ana.update_profile(serde_json::json!({ "contact_method": "email_app" }))
        .await
        .expect(200);
    let browser = service.subscribe();
    let subscribed = ana.subscribe_push(browser.json()).await.expect(201);
    assert_eq!(subscribed["status"], "subscribed");
    (ana, browser)
}

async fn offers_reach_subscribed_browsers_by_push_and_answer_in_one_tap(t: TestApp) {
    use crate::world::api;
    let service = PushService::start().await;
    let (ana, _) = ana_with_a_browser(&t, &service).await;
    // Only push services of `push_endpoints` (here loopback), with keys that are a browser's.
    let mut elsewhere = service.subscribe().json();
    elsewhere["endpoint"] = serde_json::json!("https://push.example.org/x");
    let refused = ana.subscribe_push(elsewhere).await;
    assert_eq!(refused.refused(422), "invalid_fields");
    assert!(
        refused.body["error"]["fields"]["endpoint"].is_string(),
        "{}",
        refused.body
    );
    let mut bad_keys = service.subscribe().json();
    bad_keys["keys"]["auth"] = serde_json::json!("c2hvcnQ");
    let refused = ana.subscribe_push(bad_keys).await;
    assert!(
        refused.body["error"]["fields"]["keys.auth"].is_string(),
        "{}",
        refused.body
    );
    // A control character in an endpoint is stored as a URL writes it (PostgreSQL cannot
    // store NUL: found by fuzzing, a 500 before), and the same text finds it again.
    let mut odd = service.subscribe().json();
    let raw = format!("{}/x\u{0}y", odd["endpoint"].as_str().unwrap());
    odd["endpoint"] = serde_json::json!(raw);
    ana.subscribe_push(odd).await.expect(201);
    let path = "/api/v1/agent/push-subscriptions";
    let (gone, _) = api(
        &t,
        "DELETE",
        path,
        Some(&ana.token),
        Some(serde_json::json!({"endpoint": raw})),
    )
    .await;
    assert_eq!(gone, 204);
    let (none, _) = api(
        &t,
        "DELETE",
        path,
        Some(&ana.token),
        Some(serde_json::json!({"endpoint": "\u{0}"})),
    )
    .await;
    assert_eq!(none, 404);

    let partner = crate::world::TestPartner::new(&t).await;
    let rid = partner
        .submit(crate::world::request("77002", "en", "713-555-0131"))
        .await;
    let offer = ana.offers().await.remove(0);
    let done = t.app.dispatch("node-a").await.unwrap();
    assert_eq!(done.sent, 1, "the push: {done:?}");
    assert!(service.refused().is_empty(), "{:?}", service.refused());
    let got = service.received();
    assert_eq!(got.len(), 1);
    let push = &got[0];
    // Signed with the program's key for this push service; urgent, kept as long as the offer.
    let (_, key) = api(&t, "GET", "/api/v1/push/vapid-public-key", None, None).await;
    assert_eq!(push.vapid_key, key["key"].as_str().unwrap());
    assert_eq!(push.claims["aud"], format!("http://{}", service.addr));
    assert!(push.claims["sub"].as_str().unwrap().starts_with("mailto:"));
    assert_eq!((push.ttl, push.urgency.as_str()), (15 * 60, "high"));
    // A reminder would replace it on a device that has not shown it yet.
    assert_eq!(push.topic, Some(format!("offer{}", offer.id)));
    let kept = t
        .app
        .outbox(Some(&format!("agent:{}", ana.id)), None)
        .await
        .unwrap();
    assert_eq!(kept[0].provider_id.as_deref(), Some("/message/1"));
    // Where and what, never who.
    let p = &push.payload;
    assert_eq!(
        (
            p["type"].as_str(),
            p["offer_id"].as_i64(),
            p["referral_id"].as_i64()
        ),
        (Some("offer"), Some(offer.id), Some(rid))
    );
    assert_eq!(
        (
            p["city"].as_str(),
            p["zip"].as_str(),
            p["language"].as_str()
        ),
        (Some("Houston"), Some("77002"), Some("en"))
    );
    assert_eq!(p["expires_at"].as_str(), Some(offer.expires_at.as_str()));
    assert_eq!(
        p["actions"],
        serde_json::json!([
            { "action": "accept", "title": "Accept" },
            { "action": "decline", "title": "Decline" },
        ])
    );
    assert_eq!(p["title"], "You have a New Referral");
    let text = p.to_string();
    assert!(
        !text.contains("Jane") && !text.contains("555-0131") && !text.contains("jane.doe"),
        "{text}"
    );

    // One tap: Accept posts the token the push carried, without a session.
    let token = p["answer_token"].as_str().unwrap();
    let tap = async |offer: i64, token: &str| {
        let path = format!("/api/v1/push/offers/{offer}/accept");
        api(
            &t,
            "POST",
            &path,
            None,
            Some(serde_json::json!({ "token": token })),
        )
        .await
    };
    let (code, v) = tap(offer.id, "1-00").await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    assert_eq!(
        tap(offer.id + 1, token).await.0,
        404,
        "a token is bound to its offer"
    );
    let (code, v) = tap(offer.id, token).await;
    assert_eq!((code, v["referral_id"].as_i64()), (200, Some(rid)), "{v}");
    assert_eq!(partner.status(rid).await["status"], "accepted");
    // Good once: the offer is answered.
    assert_eq!(tap(offer.id, token).await.0, 409);
    ana.referral(rid).await.expect(200);
    let agent = format!("agent:{}", ana.id);
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("push", &agent),
        ("sms", "+17135550131"),
        ("sms", "+17135550131"),
    ])
    .await;
}

async fn a_push_service_that_says_gone_removes_the_subscription(t: TestApp) {
    let service = PushService::start().await;
    let (ana, browser) = ana_with_a_browser(&t, &service).await;
    service.answer_next(&[push_service::Answer::Busy, push_service::Answer::Gone]);
    let partner = crate::world::TestPartner::new(&t).await;
    partner
        .submit(crate::world::request("77002", "en", "713-555-0132"))
        .await;
    // 429: tried again later; then 410: the browser unsubscribed, so it is forgotten.
    assert_eq!(t.app.dispatch("node-a").await.unwrap().retried, 1);
    t.clock.advance(SignedDuration::from_secs(15));
    assert_eq!(t.app.dispatch("node-a").await.unwrap().dead, 1);
    let dead = t
        .app
        .outbox(None, Some(DeliveryStatus::Failed))
        .await
        .unwrap();
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("410"),
        "{dead:?}"
    );
    // The next offer finds no browser: kept in the local outbox, and unsubscribing again
    // finds nothing.
    let rid = partner
        .submit(crate::world::request("77002", "en", "713-555-0133"))
        .await;
    assert!(rid > 0);
    let d = t.app.dispatch("node-a").await.unwrap();
    assert_eq!(d.stored, 3, "text, email and push: {d:?}");
    let agent = format!("agent:{}", ana.id);
    let pushes = t.app.outbox(Some(&agent), None).await.unwrap();
    assert_eq!(pushes[1].status, DeliveryStatus::Stored);
    let (code, _) = crate::world::api(
        &t,
        "DELETE",
        "/api/v1/agent/push-subscriptions",
        Some(&ana.token),
        Some(serde_json::json!({ "endpoint": browser.endpoint })),
    )
    .await;
    assert_eq!(code, 404);
    assert!(service.received().is_empty());
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("push", &agent),
        ("push", &agent),
        ("sms", "+17135550132"),
        ("sms", "+17135550133"),
    ])
    .await;
}
