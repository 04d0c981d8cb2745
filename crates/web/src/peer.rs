//! Who is asking: the client's address (behind the configured trusted proxies, the one they
//! forwarded for), the browser's or app's `User-Agent` and the reader's language, as the use
//! cases record them (audit log, consent records, sessions) and the throttle counts them.
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use hod_app::auth::Client;

use crate::AppState;

/// The client of a request.
#[derive(Debug, Clone)]
pub struct Peer {
    pub ip: IpAddr,
    /// `ip` as text, as it is stored.
    ip_text: String,
    user_agent: Option<String>,
    lang: hod_i18n::UiLang,
}

impl Peer {
    pub fn client(&self) -> Client<'_> {
        Client {
            ip: Some(&self.ip_text),
            user_agent: self.user_agent.as_deref(),
            lang: Some(self.lang),
        }
    }

    pub fn ip_text(&self) -> &str {
        &self.ip_text
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
}

impl FromRequestParts<AppState> for Peer {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        // `web::serve` always sets it; without it the server is wired wrong.
        let connected = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or((StatusCode::INTERNAL_SERVER_ERROR, "no peer address"))?
            .0
            .ip();
        let ip = client_address(connected, &parts.headers, &s.web.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            ip,
            ip_text: ip.to_string(),
            user_agent,
            lang: hod_i18n::negotiate(&parts.headers),
        })
    }
}

/// The address a request came from. A trusted proxy's `X-Forwarded-For` is read from the
/// right (each proxy appends the address it was sent from): the first address that is not
/// itself a trusted proxy is the client. Anything to its left was written by the client and
/// proves nothing. A connection from anywhere else is its own client, whatever it claims.
pub fn client_address(connected: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = connected;
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        else {
            // Garbage from a proxy we trust: keep the last address we can vouch for.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// An address with a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `10.0.0.5`, `10.1.0.0/16`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        };
        let ((net, width), (candidate, candidate_width)) = (bits(self.addr), bits(ip));
        if width != candidate_width {
            return false;
        }
        let shift = width - u32::from(self.prefix);
        shift >= width || (net >> shift) == (candidate >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let proxies = [
            IpNet::parse("10.0.0.0/8").unwrap(),
            IpNet::parse("127.0.0.1").unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(
            client_address(ip("203.0.113.9"), &forwarded(&["198.51.100.1"]), &proxies),
            ip("203.0.113.9")
        );
        // Through the proxy: the address it saw.
        assert_eq!(
            client_address(ip("127.0.0.1"), &forwarded(&["198.51.100.1"]), &proxies),
            ip("198.51.100.1")
        );
        // A client that writes its own header cannot hide behind it; two proxies in a row.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &forwarded(&["1.1.1.1, 198.51.100.1", "10.0.0.3"]),
                &proxies
            ),
            ip("198.51.100.1")
        );
        // No header, or nothing usable: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &forwarded(&["unknown"]), &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &forwarded(&["[2001:db8::1]:4711"]),
                &proxies
            ),
            ip("2001:db8::1")
        );
        // Nobody trusted: never read.
        assert_eq!(
            client_address(ip("127.0.0.1"), &forwarded(&["198.51.100.1"]), &[]),
            ip("127.0.0.1")
        );
    }
}
