//! Who is asking: the connection's address, the browser's or app's `User-Agent` and the
//! reader's language, as the use cases record them (audit log, consent records, sessions).
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use hod_app::auth::Client;

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

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // `web::serve` always sets it; without it the server is wired wrong.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or((StatusCode::INTERNAL_SERVER_ERROR, "no peer address"))?
            .0
            .ip();
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
