//! What each simulated client does until the deadline: a partner submitting requests, an
//! agent's app polling for offers and accepting them, an agent reading their pages, an
//! agent's page holding its live stream open.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};

use crate::http::{Conn, Target};
use crate::stats::Tally;

/// What every client shares: when to stop, and how many requests may still be made.
#[derive(Debug)]
pub struct Bounds {
    pub deadline: Instant,
    pub budget: AtomicU64,
}

impl Bounds {
    /// Whether another request may go: before the deadline and within the budget.
    pub fn go(&self) -> bool {
        Instant::now() < self.deadline
            && self
                .budget
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// A partner: its API key, the ZIP codes of its requests, and a name unique to this client
/// in this run (each request is a different person).
#[derive(Debug)]
pub struct Partner {
    pub key: Arc<str>,
    pub zips: Arc<[String]>,
    pub name: String,
}

/// A partner submitting requests through the API, each a different person.
pub async fn partner(target: Target, who: Partner, client: usize, bounds: Arc<Bounds>) -> Tally {
    let Partner { key, zips, name } = who;
    let mut tally = Tally::default();
    let mut conn = Conn::new(target);
    let auth = format!("Bearer {key}");
    let mut i = 0usize;
    while bounds.go() {
        i += 1;
        let zip = &zips[(client + i) % zips.len()];
        let body = serde_json::json!({
            "zip": zip, "language": "en", "first_name": "Load",
            "last_name": format!("L{name}x{i}"),
            "phone": format!("713-{:03}-{:04}", 200 + client % 800, i % 10_000),
            "contact_by": "call", "reason": "new_coverage",
            "consent": {"accepted": true, "text_version": "2026-11"},
        });
        let started = Instant::now();
        let answer = conn
            .send(
                Method::POST,
                "/api/v1/referrals",
                &[("authorization", &auth), JSON],
                Some(body.to_string()),
            )
            .await;
        tally
            .kind("intake")
            .answered(started.elapsed(), &answer, &[StatusCode::CREATED]);
    }
    tally
}

/// Logs an agent's app in; its bearer token.
pub async fn app_token(target: &Target, username: &str, password: &str) -> Result<String> {
    let mut conn = Conn::new(target.clone());
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let a = conn
        .send(Method::POST, "/api/v1/agent/token", &[JSON], Some(body))
        .await?;
    if a.status != StatusCode::OK {
        bail!(
            "logging {username} in through the API: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&a.body)?;
    Ok(v["token"]
        .as_str()
        .context("the token answer has no token")?
        .to_owned())
}

/// The ZIP in an agent's profile (requests sent there reach the agents under load).
pub async fn profile_zip(target: &Target, token: &str) -> Result<String> {
    let mut conn = Conn::new(target.clone());
    let auth = format!("Bearer {token}");
    let a = conn
        .send(
            Method::GET,
            "/api/v1/agent/profile",
            &[("authorization", &auth)],
            None,
        )
        .await?;
    let v: serde_json::Value = serde_json::from_slice(&a.body)?;
    Ok(v["zip"]
        .as_str()
        .context("the profile has no zip")?
        .to_owned())
}

/// An agent's app: asks for open offers every `poll`, and accepts each one at once.
pub async fn accepting_agent(
    target: Target,
    token: String,
    poll: Duration,
    bounds: Arc<Bounds>,
) -> Tally {
    let mut tally = Tally::default();
    let mut conn = Conn::new(target);
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), JSON];
    while bounds.go() {
        let started = Instant::now();
        let answer = conn
            .send(Method::GET, "/api/v1/agent/offers", &headers, None)
            .await;
        tally
            .kind("offers (poll)")
            .answered(started.elapsed(), &answer, &[StatusCode::OK]);
        let offers: Vec<i64> = match answer {
            Ok(a) if a.status == StatusCode::OK => {
                let list: Vec<serde_json::Value> =
                    serde_json::from_slice(&a.body).unwrap_or_default();
                list.iter().filter_map(|o| o["id"].as_i64()).collect()
            }
            _ => Vec::new(),
        };
        for id in offers {
            if !bounds.go() {
                break;
            }
            let started = Instant::now();
            let answer = conn
                .send(
                    Method::POST,
                    &format!("/api/v1/agent/offers/{id}/accept"),
                    &headers,
                    None,
                )
                .await;
            // 409: another agent was first, or this one is at capacity (both expected).
            tally.kind("accept").answered(
                started.elapsed(),
                &answer,
                &[StatusCode::OK, StatusCode::CONFLICT],
            );
        }
        let rest = poll.saturating_sub(started.elapsed());
        tokio::time::sleep(rest.min(bounds.deadline.saturating_duration_since(Instant::now())))
            .await;
    }
    tally
}

/// Logs an agent in on the web pages; the session cookie.
pub async fn web_session(target: &Target, username: &str, password: &str) -> Result<String> {
    let mut conn = Conn::new(target.clone());
    let body = format!("username={username}&password={password}");
    let a = conn
        .send(
            Method::POST,
            "/agent/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "same-origin"),
            ],
            Some(body),
        )
        .await?;
    if a.status != StatusCode::SEE_OTHER {
        bail!("logging {username} in on the web: {}", a.status);
    }
    a.headers
        .get_all(hyper::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hod_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .context("the log-in set no session cookie")
}

/// An agent reading their pages: the dashboard, then the referrals list, one after the other.
pub async fn viewer(target: Target, cookie: String, bounds: Arc<Bounds>) -> Tally {
    let mut tally = Tally::default();
    let mut conn = Conn::new(target);
    let headers = [("cookie", cookie.as_str())];
    let mut i = 0usize;
    while bounds.go() {
        i += 1;
        let (kind, path) = if i.is_multiple_of(2) {
            ("page: /agent", "/agent")
        } else {
            ("page: /agent/referrals", "/agent/referrals")
        };
        let started = Instant::now();
        let answer = conn.send(Method::GET, path, &headers, None).await;
        tally
            .kind(kind)
            .answered(started.elapsed(), &answer, &[StatusCode::OK]);
    }
    tally
}

/// An agent's referrals page holding its live stream open until the deadline: the time to
/// the stream's first byte, and how many updates arrived.
pub async fn stream(target: Target, cookie: String, bounds: Arc<Bounds>) -> Tally {
    let mut tally = Tally::default();
    if !bounds.go() {
        return tally;
    }
    let mut conn = Conn::new(target);
    let started = Instant::now();
    let response = conn
        .start(
            Method::GET,
            "/agent/referrals/events",
            &[("cookie", cookie.as_str()), ("accept", "text/event-stream")],
            None,
        )
        .await;
    let samples = tally.kind("live stream (opened)");
    samples.record(started.elapsed());
    let mut body = match response {
        Ok(r) if r.status() == StatusCode::OK => r.into_body(),
        Ok(r) => {
            samples.error(format!("{}", r.status()));
            return tally;
        }
        Err(e) => {
            samples.error(format!("{e:#}"));
            return tally;
        }
    };
    let mut last = Instant::now();
    loop {
        let left = bounds.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if frame
                    .data_ref()
                    .is_some_and(|d| d.windows(5).any(|w| w == b"data:"))
                {
                    tally.kind("live stream (update)").record(last.elapsed());
                    last = Instant::now();
                }
            }
            Ok(Some(Err(e))) => {
                tally.kind("live stream (opened)").error(format!("{e:#}"));
                break;
            }
            Ok(None) => {
                tally
                    .kind("live stream (opened)")
                    .error("the server ended the stream".into());
                break;
            }
            Err(_) => break,
        }
    }
    tally
}
