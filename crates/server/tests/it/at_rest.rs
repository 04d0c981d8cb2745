//! Personal data at rest (issue 16): contact details given through the page and the API,
//! an agent's phone and the agent's notes never show in the database's files (SQLite's file
//! and its WAL, a PostgreSQL `pg_dump`), the logs at debug level, `/metrics`, error bodies,
//! or any message sent before an agent accepted; and `hod keys rotate` re-encrypts it all.
use std::io::Write;
use std::sync::{Arc, Mutex};

use hod_db::Backend;
use hod_test_support::{TestApp, app_tests};
use serde_json::json;

use crate::support::post;
use crate::world::{TestPartner, spec, world};

app_tests!(
    contact_details_never_show_outside_the_accepting_agents_view,
    rotating_the_keys_re_encrypts_everything_and_drops_the_old_key,
    consumers_details_are_erased_after_the_retention_period_and_consents_after_ten_years,
);

/// What each person gave, in the forms it may take on the way (as typed, E.164, digits).
struct Canary {
    first: &'static str,
    last: &'static str,
    typed_phone: &'static str,
    forms_of_phone: [&'static str; 2],
    email: &'static str,
    best_time: &'static str,
}

const BY_PAGE: Canary = Canary {
    first: "Zephyrine",
    last: "Quillfeather",
    typed_phone: "(713) 555-0163",
    forms_of_phone: ["+17135550163", "7135550163"],
    email: "zephyrine.q7@canary.example",
    best_time: "weekday mornings near the orchard",
};

const BY_API: Canary = Canary {
    first: "Obadiah",
    last: "Thistlewood",
    typed_phone: "832-555-0177",
    forms_of_phone: ["+18325550177", "8325550177"],
    email: "obadiah.t9@canary.example",
    best_time: "after the lighthouse shift",
};

const NOTE: &str = "left a voicemail about the marigold plan";
const ACCOUNT: &str = "ACCT-5318008-CANARY";
const AGENT_PHONE: [&str; 2] = ["+15125550148", "5125550148"];

impl Canary {
    fn strings(&self) -> Vec<&'static str> {
        let mut all = vec![self.first, self.last, self.email, self.best_time];
        all.extend(self.forms_of_phone);
        all
    }
}

fn every_canary() -> Vec<&'static str> {
    let mut all = BY_PAGE.strings();
    all.extend(BY_API.strings());
    all.extend([NOTE, ACCOUNT]);
    all.extend(AGENT_PHONE);
    all
}

/// The canaries found in `haystack` (bytes of a file, a dump, logs).
fn found_in(haystack: &[u8]) -> Vec<&'static str> {
    every_canary()
        .into_iter()
        .filter(|c| {
            haystack
                .windows(c.len())
                .any(|w| w.eq_ignore_ascii_case(c.as_bytes()))
        })
        .collect()
}

/// Everything logged, at debug level, from now on.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> Self {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test");
        logs
    }
}

/// The database as it lies on disk: SQLite's file and WAL, or PostgreSQL's `pg_dump`.
fn database_bytes(t: &TestApp) -> Vec<u8> {
    let url = t.test_db.url.expose().to_owned();
    match t.app.storage().backend() {
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").expect("a SQLite file URL");
            let mut bytes = std::fs::read(path).unwrap();
            let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
            assert!(!wal.is_empty(), "the WAL holds the test's writes");
            bytes.extend(wal);
            bytes
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", "--dbname", &url])
                .output()
                .expect("pg_dump (PostgreSQL's client tools)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout.len() > 10_000, "a dump of the test's database");
            out.stdout
        }
    }
}

async fn contact_details_never_show_outside_the_accepting_agents_view(t: TestApp) {
    let logs = Logs::capture();
    let agents = world(
        &t,
        &[
            spec("3160011", "Ana", "77002"),
            spec("3160012", "Bea", "77002"),
        ],
    )
    .await;
    let _ = t.take_outbox().await;
    agents[0]
        .update_profile(json!({ "phone": "(512) 555-0148" }))
        .await
        .expect(200);

    // A request through the page, one through the API, and one the API refuses.
    let r = post(
        &t,
        "/get-help",
        &[
            ("zip", "77002"),
            ("language", "en"),
            ("first_name", BY_PAGE.first),
            ("last_name", BY_PAGE.last),
            ("phone", BY_PAGE.typed_phone),
            ("email", BY_PAGE.email),
            ("contact_by", "text"),
            ("best_time", BY_PAGE.best_time),
            ("reason", "new_coverage"),
            ("consent", "true"),
            ("consent_version", hod_app::referrals::CONSENT_VERSION),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    let partner = TestPartner::new(&t).await;
    let request = |c: &Canary, email: &str| {
        json!({
            "zip": "77002", "language": "en", "first_name": c.first, "last_name": c.last,
            "phone": c.typed_phone, "email": email, "contact_by": "call",
            "best_time": c.best_time, "reason": "change",
            "consent": {"accepted": true, "text_version": hod_app::referrals::CONSENT_VERSION},
        })
    };
    let refused = partner
        .try_submit(request(&BY_API, "obadiah.t9@canary"))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        found_in(refused.body.to_string().as_bytes()),
        Vec::<&str>::new(),
        "an error body repeats what was sent: {}",
        refused.body
    );
    partner.submit(request(&BY_API, BY_API.email)).await;

    // Before anyone accepts: what went to agents says nothing of the consumers.
    let consumers: Vec<&str> = [&BY_PAGE, &BY_API]
        .iter()
        .flat_map(|c| [c.forms_of_phone[0], c.email])
        .collect();
    let before = t.take_outbox().await;
    let to_agents: Vec<_> = before
        .iter()
        .filter(|m| !consumers.contains(&m.recipient.as_str()))
        .collect();
    assert!(
        to_agents
            .iter()
            .filter(|m| m.body.contains("offer") || m.channel.as_str() == "push")
            .count()
            >= 2,
        "both agents were offered a referral: {to_agents:#?}"
    );
    for m in &to_agents {
        let text = format!(
            "{} {} {}",
            m.subject,
            m.body,
            m.html.as_deref().unwrap_or("")
        );
        let shown: Vec<_> = found_in(text.as_bytes())
            .into_iter()
            .filter(|c| !AGENT_PHONE.contains(c))
            .collect();
        assert_eq!(
            shown,
            Vec::<&str>::new(),
            "before acceptance, to {}: {text}",
            m.recipient
        );
    }

    // Each agent accepts their offer, sees the contact details, and writes a note.
    for agent in &agents {
        let offers = agent.offers().await;
        assert_eq!(offers.len(), 1, "{offers:?}");
        agent.accept(offers[0].id).await.expect(200);
        let seen = agent.referral(offers[0].referral_id).await.expect(200);
        assert!(
            [BY_PAGE.last, BY_API.last]
                .iter()
                .any(|l| seen.to_string().contains(l)),
            "the accepting agent sees the details: {seen}"
        );
        agent
            .record(offers[0].referral_id, "follow_up_completed", NOTE, ACCOUNT)
            .await
            .expect(200);
    }
    let _ = t.take_outbox().await;

    let metrics = t.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("hod_"), "{metrics}");
    assert_eq!(found_in(metrics.as_bytes()), Vec::<&str>::new(), "/metrics");

    let stored = database_bytes(&t);
    assert_eq!(
        found_in(&stored),
        Vec::<&str>::new(),
        "in the database's files"
    );

    let logged = logs.0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logged).contains("DEBUG"),
        "debug logs were captured"
    );
    assert_eq!(found_in(&logged), Vec::<&str>::new(), "in the logs");
}

async fn rotating_the_keys_re_encrypts_everything_and_drops_the_old_key(t: TestApp) {
    let agents = world(&t, &[spec("3160021", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let rid = partner
        .submit(json!({
            "zip": "77002", "language": "en", "first_name": BY_API.first, "last_name": BY_API.last,
            "phone": BY_API.typed_phone, "email": BY_API.email, "contact_by": "text",
            "best_time": BY_API.best_time, "reason": "change",
            "consent": {"accepted": true, "text_version": hod_app::referrals::CONSENT_VERSION},
        }))
        .await;
    let offer = agents[0].offers().await[0].id;
    agents[0].accept(offer).await.expect(200);
    let db = t.app.storage();
    let first = db.vault().current_key().unwrap();

    let rotation = t.app.rotate_keys(std::time::Duration::ZERO).await.unwrap();
    assert_eq!(rotation.key, first + 1);
    assert!(rotation.resealed > 10, "{rotation:?}");
    assert_eq!(
        rotation.dropped,
        vec![first],
        "nothing uses the old key any more"
    );
    assert_eq!(hod_db::keys::not_current(db).await.unwrap(), 0);
    assert_eq!(db.vault().current_key().unwrap(), rotation.key);

    // Everything still reads as it was written, and the STOP list still knows the number.
    let seen = agents[0].referral(rid).await.expect(200).to_string();
    for c in [BY_API.first, BY_API.last, BY_API.email, BY_API.best_time] {
        assert!(seen.contains(c), "{c} in {seen}");
    }
    let messages = hod_db::outbox::list(db, Some(BY_API.forms_of_phone[0]), None)
        .await
        .unwrap();
    assert!(
        !messages.is_empty(),
        "messages are found by recipient after rotation"
    );
    let _ = t.take_outbox().await;
    let audit = hod_db::audit::recent(db, 5).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "keys.rotated"),
        "{audit:?}"
    );

    // A node started with another master key cannot open this database's keys.
    let other = hod_db::Db::connect(&t.test_db.url, &hod_db::ConnectOptions::default())
        .await
        .unwrap();
    let err = hod_db::keys::unlock(&other, hod_db::vault::MasterKey::generate(), t.app.now())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not open with this master key"),
        "{err}"
    );
}

async fn consumers_details_are_erased_after_the_retention_period_and_consents_after_ten_years(
    t: TestApp,
) {
    let agents = world(&t, &[spec("3160031", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let submit = |c: &Canary| {
        json!({
            "zip": "77002", "language": "en", "first_name": c.first, "last_name": c.last,
            "phone": c.typed_phone, "email": c.email, "contact_by": "text",
            "best_time": c.best_time, "reason": "change",
            "consent": {"accepted": true, "text_version": hod_app::referrals::CONSENT_VERSION},
        })
    };
    let old = partner.submit(submit(&BY_API)).await;
    let offer = agents[0].offers().await[0].id;
    agents[0].accept(offer).await.expect(200);
    agents[0]
        .record(old, "sold", NOTE, ACCOUNT)
        .await
        .expect(200);
    t.app
        .record_consent(
            agents[0].id,
            old,
            &hod_app::referrals::ConsentForm {
                scope: "Help enrolling in a Marketplace plan".into(),
                duration: "Until the end of the plan year".into(),
                consented_on: "2026-11-26".into(),
                withdraw_how: "Call or write to the agent".into(),
                method: "verbal".into(),
            },
        )
        .await
        .unwrap();
    let days = |n: i64| jiff::SignedDuration::from_hours(24 * n);
    // What the accepting agent sees of it (their app's token has long expired by then).
    let contact = async || {
        let mine = t.app.my_referrals(agents[0].id).await.unwrap();
        let (_, c) = mine.into_iter().find(|(r, _)| r.id == old).unwrap();
        format!("{c:?}")
    };

    // The messages went (here: to the local outbox).
    t.app.dispatch("node-a").await.unwrap();

    // Within the period nothing is erased; the job runs on one node a day.
    t.clock.advance(days(300));
    let recent = partner.submit(submit(&BY_PAGE)).await;
    assert_eq!(
        t.app.run_daily_retention("node-a").await.unwrap(),
        Some(hod_app::retention::Erased::default())
    );
    assert_eq!(t.app.run_daily_retention("node-b").await.unwrap(), None);
    let seen = contact().await;
    assert!(seen.contains(BY_API.last), "{seen}");

    // A year after its last change: the details go, the referral and its numbers stay.
    t.clock.advance(days(66));
    let erased = t.app.run_daily_retention("node-b").await.unwrap().unwrap();
    assert_eq!(erased.referrals, 1, "{erased:?}");
    assert!(erased.messages > 0, "{erased:?}");
    let mut seen = contact().await;
    for e in t.app.referral_timeline(old).await.unwrap() {
        seen.push_str(&format!("{} {} {}", e.note, e.account_number, e.detail));
    }
    for c in BY_API.strings().into_iter().chain([NOTE, ACCOUNT]) {
        assert!(!seen.contains(c), "{c} still in {seen}");
    }
    let row = t.app.referral(old).await.unwrap().unwrap();
    assert_eq!(
        (row.status.id(), row.zip.as_str(), row.agent_id),
        ("sold", "77002", Some(agents[0].id))
    );
    assert!(
        t.app
            .referral_timeline(old)
            .await
            .unwrap()
            .iter()
            .any(|e| e.status.is_some_and(|s| s.id() == "sold")),
        "its history stays"
    );
    assert_eq!(
        t.app.consents(agents[0].id, old).await.unwrap().len(),
        1,
        "consent kept"
    );
    // The agent and the operators read that the details were erased, not an empty name.
    let agent = crate::support::login(&t, "ana.agent", crate::support::PASSWORD)
        .await
        .expect("the agent logs in");
    let (admin, _) = crate::console::operators(&t).await;
    for (path, cookie) in [
        (format!("/agent/referrals/{old}"), agent),
        (format!("/admin/referrals/{old}"), admin),
    ] {
        let page = crate::support::page(&t, &path, &cookie).await;
        assert!(
            page.contains("contact details were erased on"),
            "{path}: {page}"
        );
    }
    let messages = hod_db::outbox::list(t.app.storage(), Some(BY_API.forms_of_phone[0]), None)
        .await
        .unwrap();
    assert!(
        messages.is_empty(),
        "no message to them is left: {messages:?}"
    );
    // The newer referral is untouched.
    assert!(t.app.referral(recent).await.unwrap().is_some());
    assert!(
        !hod_db::outbox::list(t.app.storage(), Some(BY_PAGE.forms_of_phone[0]), None)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = hod_db::audit::recent(t.app.storage(), 10).await.unwrap();
    let logged = audit
        .iter()
        .find(|e| e.action == "privacy.erased" && e.subject == "referrals")
        .expect("the erasure is audited");
    assert!(
        logged.detail.contains(&format!("[{old}]")),
        "{}",
        logged.detail
    );

    // Consent records: ten years.
    t.clock.advance(days(3653));
    let erased = t.app.run_daily_retention("node-a").await.unwrap().unwrap();
    assert_eq!(erased.consents, 1, "{erased:?}");
    let _ = t.take_outbox().await;
}
