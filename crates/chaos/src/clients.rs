//! The clients of a run: partners submitting requests, agents' apps accepting offers; and
//! what they saw.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// The consent text's version the partners show (`GET /api/v1/consent`).
const CONSENT_VERSION: &str = "2026-11";

pub const PASSWORD: &str = "Generated-Agent-Pass-1";

/// What the clients saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Idempotency-Key → referral id, for every acknowledged submission.
    pub acked: Vec<(String, i64)>,
    /// (referral id, agent) for every accept answered 200.
    pub accepted: Vec<(i64, usize)>,
    /// Answers by status (0: no answer: connection refused or reset).
    pub statuses: BTreeMap<u16, u64>,
    /// Server errors other than 503, with what was asked.
    pub errors: Vec<String>,
}

pub type Shared = Arc<Mutex<Seen>>;

fn note(seen: &Shared, status: u16) {
    *seen.lock().unwrap().statuses.entry(status).or_default() += 1;
}

/// A small xorshift: which node, which ZIP.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Letters only (names refuse digits).
fn letters(mut n: u64) -> String {
    let mut s = String::new();
    loop {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

pub async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    bearer: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut r = http.request(method, url).bearer_auth(bearer);
    if let Some(b) = body {
        r = r.json(b);
    }
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    match r.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

fn record_error(seen: &Shared, status: u16, what: &str, body: &Value) {
    if status >= 500 && status != 503 {
        seen.lock()
            .unwrap()
            .errors
            .push(format!("{what}: {status} {body}"));
    }
}

/// A partner submitting requests until `stop`, each retried with its key until answered.
pub async fn partner(
    worker: u64,
    urls: Vec<String>,
    key: String,
    zips: Vec<String>,
    stop: Arc<AtomicBool>,
    seen: Shared,
    counter: Arc<AtomicU64>,
) {
    let http = reqwest::Client::new();
    let mut dice = Dice::new(worker * 7919 + 17);
    let run = std::process::id();
    while !stop.load(Ordering::Relaxed) {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let idem = format!("chaos-{run}-{n}");
        let body = json!({
            "zip": zips[dice.below(zips.len())], "language": "en",
            "first_name": "Chaos", "last_name": format!("Client {}", letters(n)),
            "phone": format!("(713) 555-01{:02}", n % 100), "contact_by": "text",
            "reason": "new_coverage",
            "consent": {"accepted": true, "text_version": CONSENT_VERSION},
        });
        for attempt in 0.. {
            let url = format!("{}/api/v1/referrals", urls[dice.below(urls.len())]);
            let (status, answer) = send(
                &http,
                reqwest::Method::POST,
                &url,
                &key,
                Some(&body),
                Some(&idem),
            )
            .await;
            note(&seen, status);
            record_error(&seen, status, "submit", &answer);
            if status == 201 || status == 200 {
                if let Some(id) = answer["id"].as_i64() {
                    seen.lock().unwrap().acked.push((idem.clone(), id));
                }
                break;
            }
            if (400..500).contains(&status) && status != 408 && status != 429 {
                seen.lock()
                    .unwrap()
                    .errors
                    .push(format!("submit refused: {status} {answer}"));
                break;
            }
            if attempt > 600 {
                seen.lock()
                    .unwrap()
                    .errors
                    .push(format!("submit {idem}: no answer after {attempt} tries"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An agent's app: asks for offers, accepts each one, until `stop`.
pub async fn agent(i: usize, urls: Vec<String>, stop: Arc<AtomicBool>, seen: Shared) {
    let http = reqwest::Client::new();
    let mut dice = Dice::new(i as u64 * 104_729 + 3);
    let username = format!("gen{}", i + 1);
    let mut token = String::new();
    while !stop.load(Ordering::Relaxed) {
        let base = &urls[dice.below(urls.len())];
        if token.is_empty() {
            let (status, answer) = send(
                &http,
                reqwest::Method::POST,
                &format!("{base}/api/v1/agent/token"),
                "",
                Some(&json!({"username": username, "password": PASSWORD})),
                None,
            )
            .await;
            note(&seen, status);
            record_error(&seen, status, "token", &answer);
            token = answer["token"].as_str().unwrap_or_default().to_owned();
            if token.is_empty() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            continue;
        }
        let (status, offers) = send(
            &http,
            reqwest::Method::GET,
            &format!("{base}/api/v1/agent/offers"),
            &token,
            None,
            None,
        )
        .await;
        note(&seen, status);
        record_error(&seen, status, "offers", &offers);
        if status == 401 {
            token.clear();
        }
        for offer in offers.as_array().into_iter().flatten() {
            let (Some(id), Some(rid)) = (offer["id"].as_i64(), offer["referral_id"].as_i64())
            else {
                continue;
            };
            let base = &urls[dice.below(urls.len())];
            let (status, answer) = send(
                &http,
                reqwest::Method::POST,
                &format!("{base}/api/v1/agent/offers/{id}/accept"),
                &token,
                None,
                None,
            )
            .await;
            note(&seen, status);
            record_error(&seen, status, "accept", &answer);
            if status == 200 {
                seen.lock().unwrap().accepted.push((rid, i));
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
