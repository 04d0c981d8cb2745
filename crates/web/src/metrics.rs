//! `/metrics` for Prometheus: this node's counters and histograms, the process (CPU, memory,
//! descriptors, start time), the database pool, and the outbox as the database sees it. Only
//! loopback, the configured addresses, or a request with the configured bearer token may read
//! it; anyone else gets the site's 404.
use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hod_app::metrics as names;
use hod_app::system::DeliveryStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusHandle};

use crate::AppState;
use crate::i18n::UiLang;
pub use crate::peer::IpNet;
use crate::peer::Peer;

/// Who may read `/metrics` besides loopback.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// Addresses or networks (`10.0.0.5`, `10.1.0.0/16`).
    pub allow: Vec<IpNet>,
    /// A bearer token Prometheus sends (`authorization` in its scrape config).
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("allow", &self.allow)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The process-wide Prometheus recorder (installed on first use), with every metric described.
pub fn handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::TIME_TO_ACCEPT.into()),
                        names::TIME_TO_ACCEPT_BUCKETS,
                    )
                })
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            names::describe();
            metrics_process::Collector::default().describe();
            metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// Counts and times every request by its route (not its path: ids would make a series each).
pub async fn record_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

fn allowed(access: &MetricsAccess, peer: IpAddr, headers: &HeaderMap) -> bool {
    let token_ok = access.token.as_deref().is_some_and(|want| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, given)| {
                scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(given.trim(), want)
            })
    });
    peer.is_loopback()
        || matches!(peer, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
        || access.allow.iter().any(|net| net.contains(peer))
        || token_ok
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /metrics`.
pub async fn scrape(
    State(s): State<AppState>,
    peer: Peer,
    lang: UiLang,
    headers: HeaderMap,
) -> Response {
    // The client's address, not a trusted proxy's: a proxy on this host would otherwise
    // make every visitor look like loopback.
    if !allowed(&s.web.metrics, peer.ip, &headers) {
        return crate::error::PageError::NotFound {
            lang,
            path: "/metrics".into(),
        }
        .into_response();
    }
    metrics_process::Collector::default().collect();
    let pool = s.app.pool_stats();
    metrics::gauge!(names::DB_CONNECTIONS, "state" => "in_use").set(f64::from(pool.in_use));
    metrics::gauge!(names::DB_CONNECTIONS, "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!(names::DB_MAX_CONNECTIONS).set(f64::from(pool.max));
    match s.app.outbox_stats().await {
        Ok(stats) => {
            for status in DeliveryStatus::ALL {
                let n = stats
                    .by_status
                    .iter()
                    .find(|(st, _)| *st == status)
                    .map_or(0, |(_, n)| *n);
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!(names::OUTBOX_MESSAGES, "status" => status.as_str()).set(n as f64);
            }
            let age = stats.oldest_pending.map_or(0.0, |created| {
                s.app.now().duration_since(created).as_secs_f64().max(0.0)
            });
            metrics::gauge!(names::OUTBOX_OLDEST_PENDING).set(age);
        }
        Err(e) => tracing::warn!(error = %e, "outbox figures for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{IpNet, MetricsAccess, allowed};
    use axum::http::HeaderMap;

    #[test]
    fn only_loopback_listed_addresses_or_the_token_may_scrape() {
        let access = MetricsAccess {
            allow: vec![IpNet::parse("10.1.0.0/16").unwrap()],
            token: Some("s3cret-token".into()),
        };
        let none = HeaderMap::new();
        let mut with_token = HeaderMap::new();
        with_token.insert("authorization", "Bearer s3cret-token".parse().unwrap());
        let mut wrong_token = HeaderMap::new();
        wrong_token.insert("authorization", "Bearer s3cret-tokeN".parse().unwrap());
        assert!(allowed(&access, "127.0.0.1".parse().unwrap(), &none));
        assert!(allowed(&access, "::1".parse().unwrap(), &none));
        assert!(allowed(&access, "10.1.2.3".parse().unwrap(), &none));
        assert!(!allowed(&access, "203.0.113.9".parse().unwrap(), &none));
        assert!(allowed(
            &access,
            "203.0.113.9".parse().unwrap(),
            &with_token
        ));
        assert!(!allowed(
            &access,
            "203.0.113.9".parse().unwrap(),
            &wrong_token
        ));
        let no_token = MetricsAccess::default();
        assert!(!allowed(
            &no_token,
            "203.0.113.9".parse().unwrap(),
            &with_token
        ));
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = IpNet::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        assert!(
            IpNet::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.1".parse().unwrap())
        );
        assert_eq!(IpNet::parse("10.0.0.0/33"), None);
        assert_eq!(IpNet::parse("not an address"), None);
    }
}
