//! Email through an SMTP server (`smtp_url`, SPEC.md §7.1): STARTTLS (`smtp://…:587`, the
//! default), implicit TLS (`smtps://…:465`), or plain (`?tls=none`, only to this machine).
//! Connections are pooled; every message is multipart text + HTML with a `Message-ID` made
//! from its outbox id.
use std::fmt;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::{ConfigError, Email, SendError, is_loopback};

/// How long one SMTP conversation may take before it counts as a transient failure.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Connections kept open to the server.
const POOL: u32 = 32;

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection, upgraded with STARTTLS before anything is sent (refused if the server
    /// cannot).
    StartTls,
    /// TLS from the first byte.
    Implicit,
    /// No encryption: only to this machine.
    None,
}

/// `smtp_url` parsed. The password never appears in `Debug`.
#[derive(Clone)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    password: Option<SecretString>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |reason: String| ConfigError {
            key: "smtp_url",
            reason,
        };
        let url = url::Url::parse(text.trim()).map_err(|e| {
            bad(format!(
                "{e} (expected smtp://user:pass@host:587, smtps://user:pass@host:465 or smtp://127.0.0.1:2525?tls=none)"
            ))
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host".into()))?
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None | Some("implicit")) => Security::Implicit,
            ("smtp", None | Some("starttls")) => Security::StartTls,
            ("smtp", Some("none")) => Security::None,
            ("smtp" | "smtps", Some(other)) => {
                return Err(bad(format!(
                    "tls={other} is not known: use tls=starttls, tls=none (loopback only) or smtps://"
                )));
            }
            (scheme, _) => return Err(bad(format!("{scheme}:// is not smtp:// or smtps://"))),
        };
        if security == Security::None && !is_loopback(&host) {
            return Err(bad(format!(
                "tls=none sends passwords and messages in clear: only allowed to this machine, not {host}"
            )));
        }
        let port = url.port().unwrap_or(match security {
            Security::Implicit => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(|p| SecretString::from(decode(p)));
        Ok(Self {
            host,
            port,
            security,
            user,
            password,
        })
    }
}

/// A pooled SMTP client.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url: SmtpUrl,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp").field("url", &self.url).finish()
    }
}

impl Smtp {
    pub fn new(url: SmtpUrl) -> Result<Self, ConfigError> {
        let tls_error = |e: lettre::transport::smtp::Error| ConfigError {
            key: "smtp_url",
            reason: format!("cannot set up TLS for {}: {e}", url.host),
        };
        let builder = match url.security {
            Security::Implicit => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&url.host).map_err(tls_error)?
            }
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&url.host)
                .map_err(tls_error)?,
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host),
        };
        let mut builder = builder
            .port(url.port)
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL));
        if let Some(user) = &url.user {
            let password = url
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            url,
        })
    }

    /// Hands one email to the server.
    pub async fn send(&self, email: &Email<'_>) -> Result<(), SendError> {
        let message = build(email)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
        }
    }
}

/// The MIME message: text and HTML alternatives, from the program's sender.
fn build(email: &Email<'_>) -> Result<Message, SendError> {
    let malformed = |what: &str, e: &dyn fmt::Display| {
        SendError::Permanent(format!("{what} is not an email address: {e}"))
    };
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| malformed("the sender", &e))?;
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e| malformed("the recipient", &e))?;
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(Mailbox::new(Some("Help On Demand".into()), from.email))
        .to(to)
        .subject(email.subject)
        .message_id(Some(format!("<outbox-{}@{domain}>", email.id)));
    if let Some(link) = email.unsubscribe {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{link}>"),
        ));
    }
    if email.urgent {
        // What mail programs read as "high importance" (RFC 2156, and the older X-Priority).
        for (name, value) in [
            ("Importance", "high"),
            ("Priority", "urgent"),
            ("X-Priority", "1"),
        ] {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                value.to_owned(),
            ));
        }
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.to_owned(),
            email.html.to_owned(),
        ))
        .map_err(|e| SendError::Permanent(format!("the message cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::{Security, SmtpUrl};

    #[test]
    fn urls_of_the_three_kinds_and_their_defaults() {
        let u = SmtpUrl::parse("smtp://ana%40x.org:s%3Dcret@mail.example.org").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.security, u.user.as_deref()),
            (
                "mail.example.org",
                587,
                Security::StartTls,
                Some("ana@x.org")
            )
        );
        assert!(!format!("{u:?}").contains("cret"), "{u:?}");
        let u = SmtpUrl::parse("smtps://u:p@mail.example.org").unwrap();
        assert_eq!((u.port, u.security), (465, Security::Implicit));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((u.port, u.security, u.user), (2525, Security::None, None));
    }

    #[test]
    fn plain_connections_only_to_this_machine_and_clear_refusals() {
        for (url, says) in [
            (
                "smtp://mail.example.org:25?tls=none",
                "only allowed to this machine",
            ),
            (
                "smtp://mail.example.org?tls=maybe",
                "tls=maybe is not known",
            ),
            ("http://mail.example.org", "is not smtp://"),
            ("mail.example.org", "expected smtp://"),
        ] {
            let e = SmtpUrl::parse(url).unwrap_err();
            assert_eq!(e.key, "smtp_url");
            assert!(e.reason.contains(says), "{url}: {e}");
        }
        assert!(SmtpUrl::parse("smtp://localhost:2525?tls=none").is_ok());
        assert!(SmtpUrl::parse("smtp://[::1]:2525?tls=none").is_ok());
    }
}
