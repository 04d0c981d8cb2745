//! Every JSON body of the API and the public forms, fed valid bodies with fields dropped,
//! replaced by any JSON, or joined by unknown ones, and bytes that are not JSON at all. No
//! answer may be a server error, every API answer keeps the documented shape (checked
//! against openapi.json), and the server still answers afterwards.
//!
//! CI runs 48 bodies per endpoint, new ones each run; a long run (docs/security.md):
//! `PROPTEST_CASES=5000 cargo nextest run -p hod-server fuzz_bodies`.
use hod_test_support::{TestApp, app_tests};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{Map, Value, json};

use crate::world::{TestPartner, api, request, spec, world};

app_tests!(json_bodies_and_forms_never_make_a_server_error);

fn cases() -> usize {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \\t\\r\\n\\u{0}\\u{7f}\\u{a0}\\u{202e}\\u{feff}0-9a-zA-Z+().,@_<>&\"'-]{0,40}",
        "[0-9]{0,400}",
        Just("x".repeat(70_000)),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What happens to one field of a valid body.
#[derive(Debug, Clone)]
enum Change {
    Keep,
    Drop,
    Replace(Value),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => Just(Change::Keep),
        1 => Just(Change::Drop),
        2 => any_json().prop_map(Change::Replace),
    ]
}

/// `valid` with its fields changed, sometimes more fields, sometimes another JSON entirely.
fn bodies(valid: Value) -> impl Strategy<Value = Value> {
    let fields: Vec<String> = valid
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let n = fields.len();
    prop_oneof![
        8 => (
            prop::collection::vec(change(), n..=n),
            prop::collection::btree_map("[a-z_]{1,12}", any_json(), 0..3),
        )
            .prop_map(move |(changes, extra)| {
                let mut body: Map<String, Value> = valid.as_object().cloned().unwrap_or_default();
                for (field, c) in fields.iter().zip(changes) {
                    match c {
                        Change::Keep => {}
                        Change::Drop => {
                            body.remove(field);
                        }
                        Change::Replace(v) => {
                            body.insert(field.clone(), v);
                        }
                    }
                }
                body.extend(extra);
                Value::Object(body)
            }),
        1 => any_json(),
    ]
}

/// The generator: a new seed each run (shown with a failure) unless `PROPTEST_RNG_SEED` names
/// one to replay.
fn runner() -> TestRunner {
    use std::hash::BuildHasher;
    let seed = match Config::default().rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => std::hash::RandomState::new().hash_one("seed"),
    };
    eprintln!("bodies generated from PROPTEST_RNG_SEED={seed}");
    TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    })
}

fn sample<S: Strategy>(runner: &mut TestRunner, s: &S) -> S::Value {
    s.new_tree(runner).expect("a value").current()
}

async fn json_bodies_and_forms_never_make_a_server_error(t: TestApp) {
    let agents = world(&t, &[spec("3170011", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let rid = partner
        .submit(request("77002", "en", "(713) 555-0171"))
        .await;
    let offer = agents[0].offers().await[0].id;
    let token = agents[0].token.clone();
    let endpoints: Vec<(&str, String, Option<&str>, Value)> = vec![
        (
            "POST",
            "/api/v1/password-policy/check".into(),
            None,
            json!({"password": "Summer#2026!x"}),
        ),
        (
            "POST",
            "/api/v1/registrations".into(),
            None,
            json!({"token": "abc", "phone": "(713) 555-0100", "contact_method": "email_only",
                   "zip": "77002", "username": "someone", "password": "Summer#2026!x",
                   "confirm_password": "Summer#2026!x", "accept_terms": true}),
        ),
        (
            "POST",
            "/api/v1/referrals".into(),
            Some(&partner.key),
            request("77002", "en", "(713) 555-0172"),
        ),
        (
            "POST",
            "/api/v1/agent/token".into(),
            None,
            json!({"username": "ana", "password": "x"}),
        ),
        (
            "POST",
            "/api/v1/agent/terms/accept".into(),
            Some(&token),
            json!({"versions": ["x"]}),
        ),
        (
            "PUT",
            "/api/v1/agent/profile".into(),
            Some(&token),
            json!({"contact_method": "email_text", "phone": "(713) 555-0199", "zip": "77002",
                   "languages": ["en"], "states": ["TX"]}),
        ),
        (
            "POST",
            format!("/api/v1/agent/offers/{offer}/decline"),
            Some(&token),
            json!({"reason": "busy"}),
        ),
        (
            "POST",
            format!("/api/v1/agent/referrals/{rid}/status"),
            Some(&token),
            json!({"status": "sold", "note": "n", "account_number": "A1"}),
        ),
        (
            "PUT",
            "/api/v1/agent/availability".into(),
            Some(&token),
            json!({"mode": "available"}),
        ),
        (
            "POST",
            "/api/v1/agent/push-subscriptions".into(),
            Some(&token),
            json!({"endpoint": "http://127.0.0.1:9/push", "keys": {"p256dh": "x", "auth": "y"}}),
        ),
        (
            "DELETE",
            "/api/v1/agent/push-subscriptions".into(),
            Some(&token),
            json!({"endpoint": "http://127.0.0.1:9/push"}),
        ),
    ];
    let mut runner = runner();
    for (method, path, bearer, valid) in &endpoints {
        let strategy = bodies(valid.clone());
        for _ in 0..cases() {
            let body = sample(&mut runner, &strategy);
            let (status, answer) = api(&t, method, path, *bearer, Some(body.clone())).await;
            assert!(
                status < 500,
                "{method} {path} with {body}: {status} {answer}"
            );
        }
        // Bytes that are not JSON, declared as JSON.
        for _ in 0..cases() / 4 {
            let raw = sample(&mut runner, &prop::collection::vec(any::<u8>(), 0..256));
            let mut req = t
                .client
                .request(method.parse().unwrap(), t.url(path))
                .header("content-type", "application/json")
                .body(raw.clone());
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let answer: Value = r.json().await.unwrap_or(Value::Null);
            assert!(status < 500, "{method} {path} with {raw:?}: {status}");
            assert!(
                answer["error"]["code"].is_string(),
                "{method} {path}: {answer}"
            );
        }
    }

    // The public forms: any text in any field.
    let forms: [(&str, &[&str]); 5] = [
        (
            "/get-help",
            &[
                "zip",
                "language",
                "first_name",
                "last_name",
                "phone",
                "email",
                "contact_by",
                "best_time",
                "reason",
                "consent",
                "consent_version",
            ],
        ),
        (
            "/agent/login",
            &["username", "password", "remember", "next"],
        ),
        ("/admin/login", &["username", "password", "next"]),
        ("/agent/forgot-password", &["value"]),
        ("/agent/forgot-username", &["value"]),
    ];
    let values = prop::collection::vec(prop::option::weighted(0.8, text()), 11..=11);
    let mut before = String::new();
    for (path, fields) in forms {
        for _ in 0..cases() {
            let picked = sample(&mut runner, &values);
            let form: Vec<(&str, String)> = fields
                .iter()
                .zip(picked)
                .filter_map(|(f, v)| v.map(|v| (*f, v)))
                .collect();
            let r = t
                .client
                .post(t.url(path))
                .header("origin", t.url(""))
                .form(&form)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!("{path}: no answer ({e}) to {form:?}; before it: {before}")
                });
            // What the previous answer said matters when the connection is reused.
            before = format!("{} {:?}", r.status(), r.headers());
            let status = r.status().as_u16();
            assert!(
                status < 500 && status != 404,
                "{path} with {form:?}: {status}"
            );
            if status == 429 {
                // Throttled: the window passes, so that the next ones reach the form again.
                t.clock.advance(jiff::SignedDuration::from_mins(11));
            }
        }
    }
    assert_eq!(t.get("/healthz").await.status(), 200);
    let _ = t.take_outbox().await;
}
