//! Transports that hand a message to a provider. The dispatcher in `hod-app` decides what to
//! send and when; a transport says whether the provider took the message and, when it did
//! not, whether trying again may help.
#![forbid(unsafe_code)]

pub mod push;
pub mod sms;
pub mod smtp;

pub use push::{Push, PushError, VapidKey};
pub use sms::{Sms, SmsUrl, Text};
pub use smtp::{Smtp, SmtpUrl};

/// An email ready for its provider.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// The outbox row's id: the `Message-ID` is made from it, so a retry is recognisable.
    pub id: i64,
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// A link that stops messages of this kind (`List-Unsubscribe`), where one applies.
    pub unsubscribe: Option<&'a str>,
    /// Marked high importance (an email in place of a text that could not be sent).
    pub urgent: bool,
}

/// Why a provider did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: no connection, a timeout, "try later" (SMTP 4xx, HTTP 429
    /// or 5xx).
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help: the address or number is refused, the credentials are
    /// wrong, the message is malformed.
    #[error("{0}")]
    Permanent(String),
}

/// A transport setting that cannot work, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    pub key: &'static str,
    pub reason: String,
}

/// The HTML alternative of a text email: the text escaped, its blank-line-separated
/// paragraphs as paragraphs and its line breaks kept.
pub fn html_from_text(text: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;font-size:16px;line-height:1.5\">",
    );
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.trim().lines().enumerate() {
            if i > 0 {
                html.push_str("<br>");
            }
            for c in line.chars() {
                match c {
                    '&' => html.push_str("&amp;"),
                    '<' => html.push_str("&lt;"),
                    '>' => html.push_str("&gt;"),
                    '"' => html.push_str("&quot;"),
                    c => html.push(c),
                }
            }
        }
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    html
}

/// Whether `host` is this machine (plain connections are allowed only to it).
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_keeps_paragraphs_and_escapes() {
        assert_eq!(
            super::html_from_text("Hello <Ana> & co,\n\nline one\nline two\n"),
            "<!DOCTYPE html><html><body style=\"font-family:sans-serif;font-size:16px;line-height:1.5\">\
             <p>Hello &lt;Ana&gt; &amp; co,</p><p>line one<br>line two</p></body></html>"
        );
    }
}
