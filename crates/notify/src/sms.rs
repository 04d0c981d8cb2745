//! Texts through a Twilio-compatible Messages API (`sms_url`, `sms_from`; SPEC.md §7.1):
//! `POST {base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json` with the form fields `To`,
//! `From` (or `MessagingServiceSid`), `Body`, `StatusCallback`, and HTTP Basic auth
//! `ACCOUNT_SID:AUTH_TOKEN`. The same token signs the provider's webhooks
//! (`X-Twilio-Signature`, checked by [`signature`]).
use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

use crate::{ConfigError, SendError, is_loopback};

/// How long one request to the provider may take before it counts as a transient failure.
const TIMEOUT: Duration = Duration::from_secs(15);

/// `sms_url` parsed. The auth token never appears in `Debug`.
#[derive(Clone)]
pub struct SmsUrl {
    /// `scheme://host[:port]`.
    pub base: String,
    pub account_sid: String,
    auth_token: SecretString,
}

impl fmt::Debug for SmsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsUrl")
            .field("base", &self.base)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"…")
            .finish()
    }
}

impl SmsUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |reason: String| ConfigError {
            key: "sms_url",
            reason,
        };
        let url = url::Url::parse(text.trim()).map_err(|e| {
            bad(format!(
                "{e} (expected https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com)"
            ))
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host".into()))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(bad(format!(
                    "http:// sends the auth token in clear: only allowed to this machine, not {host}"
                )));
            }
            other => return Err(bad(format!("{other}:// is not https://"))),
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let account_sid = decode(url.username());
        let auth_token = url.password().map(decode).unwrap_or_default();
        if account_sid.is_empty() || auth_token.is_empty() {
            return Err(bad(
                "give the account SID and auth token as user and password: https://ACCOUNT_SID:AUTH_TOKEN@host".into(),
            ));
        }
        let base = match url.port() {
            Some(p) => format!("{}://{host}:{p}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        Ok(Self {
            base,
            account_sid,
            auth_token: SecretString::from(auth_token),
        })
    }

    /// The token webhooks are signed with.
    pub fn auth_token(&self) -> &str {
        self.auth_token.expose_secret()
    }
}

/// A text for the provider.
#[derive(Debug, Clone)]
pub struct Text<'a> {
    pub to: &'a str,
    pub body: &'a str,
    /// Where the provider reports delivery (`/webhooks/sms/status`).
    pub status_callback: &'a str,
}

/// A client of the Messages API.
#[derive(Clone)]
pub struct Sms {
    client: reqwest::Client,
    url: SmsUrl,
    /// `sms_from`: a number, or a messaging service (`MG…`).
    from: String,
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sms")
            .field("url", &self.url)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The provider's answer to a text it took.
#[derive(Debug, serde::Deserialize)]
struct Created {
    sid: String,
}

/// The provider's refusal.
#[derive(Debug, Default, serde::Deserialize)]
struct Refusal {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl Sms {
    pub fn new(url: SmsUrl, from: &str) -> Result<Self, ConfigError> {
        let from = from.trim();
        if from.is_empty() {
            return Err(ConfigError {
                key: "sms_from",
                reason: "give the sending number (+15125550100) or messaging service (MG…)".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ConfigError {
                key: "sms_url",
                reason: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Self {
            client,
            url,
            from: from.to_owned(),
        })
    }

    pub fn url(&self) -> &SmsUrl {
        &self.url
    }

    /// Hands one text to the provider; its message id (`sid`) when taken.
    pub async fn send(&self, text: &Text<'_>) -> Result<String, SendError> {
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.url.base, self.url.account_sid
        );
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = [
            ("To", text.to),
            (sender, self.from.as_str()),
            ("Body", text.body),
            ("StatusCallback", text.status_callback),
        ];
        let answer = self
            .client
            .post(&endpoint)
            .basic_auth(&self.url.account_sid, Some(self.url.auth_token()))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("SMS provider: {e}")))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        if status.is_success() {
            return serde_json::from_str::<Created>(&body)
                .map(|c| c.sid)
                .map_err(|e| {
                    SendError::Transient(format!(
                        "SMS provider answered {status} without a message id: {e}"
                    ))
                });
        }
        let refusal: Refusal = serde_json::from_str(&body).unwrap_or_default();
        let said = format!(
            "SMS provider answered {status}{}{}",
            refusal
                .code
                .map(|c| format!(", error {c}"))
                .unwrap_or_default(),
            refusal
                .message
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(said))
        } else {
            Err(SendError::Permanent(said))
        }
    }
}

/// `X-Twilio-Signature` for a webhook posted to `url` with these form fields: the base64 of
/// HMAC-SHA1, keyed with the auth token, over the URL followed by each field's name and value,
/// the fields sorted by name.
pub fn signature(auth_token: &str, url: &str, fields: &[(String, String)]) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    signed_text(&mut mac, url, fields);
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        mac.finalize().into_bytes(),
    )
}

/// Whether `given` is the signature of a webhook posted to `url` with these fields (compared
/// in constant time, so the comparison does not tell how much of a guess was right).
pub fn verify(auth_token: &str, url: &str, fields: &[(String, String)], given: &str) -> bool {
    let Ok(given) = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, given)
    else {
        return false;
    };
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    signed_text(&mut mac, url, fields);
    mac.verify_slice(&given).is_ok()
}

fn signed_text(mac: &mut Hmac<sha1::Sha1>, url: &str, fields: &[(String, String)]) {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::{SmsUrl, signature, verify};

    #[test]
    fn urls_name_the_account_and_keep_the_token_out_of_logs() {
        let u = SmsUrl::parse("https://AC123:s3cr%2Ft@api.twilio.com").unwrap();
        assert_eq!(
            (u.base.as_str(), u.account_sid.as_str(), u.auth_token()),
            ("https://api.twilio.com", "AC123", "s3cr/t")
        );
        assert!(!format!("{u:?}").contains("s3cr"), "{u:?}");
        let u = SmsUrl::parse("http://AC1:t@127.0.0.1:4010").unwrap();
        assert_eq!(u.base, "http://127.0.0.1:4010");
        for (url, says) in [
            (
                "http://AC1:t@api.twilio.com",
                "only allowed to this machine",
            ),
            ("https://api.twilio.com", "account SID and auth token"),
            ("ftp://AC1:t@x.org", "is not https://"),
        ] {
            let e = SmsUrl::parse(url).unwrap_err();
            assert!(e.reason.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn signatures_follow_twilios_recipe() {
        // Twilio's documented example of request validation.
        let fields = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &fields
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verify(
            "12345",
            url,
            &fields,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify(
            "12345",
            url,
            &fields,
            "1/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify("12345", url, &fields, "not base64!"));
    }
}
