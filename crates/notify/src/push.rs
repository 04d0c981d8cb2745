//! Web Push (RFC 8030): a payload encrypted for one browser or app subscription (RFC 8291,
//! `aes128gcm`), posted to the subscription's push service with `TTL`, `Urgency` and a VAPID
//! signature (RFC 8292: `Authorization: vapid t=<JWT ES256>, k=<public key>`, `aud` = the
//! endpoint's origin). The program's VAPID key is made once and kept by the caller (in the
//! database), so every node signs alike.
use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::{SendError, is_loopback};

/// How long one request to a push service may take before it counts as a transient failure.
const TIMEOUT: Duration = Duration::from_secs(15);

/// How long a VAPID signature is good for (RFC 8292 allows at most 24 hours).
const JWT_LIFETIME_SECS: i64 = 12 * 60 * 60;

/// The program's VAPID key pair (P-256). Never shown by `Debug`.
#[derive(Clone)]
pub struct VapidKey(SigningKey);

impl fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VapidKey").field(&self.public_key()).finish()
    }
}

impl VapidKey {
    /// A new key from 32 random bytes (`None` in the rare case they are not a valid scalar:
    /// draw again).
    pub fn from_random(bytes: [u8; 32]) -> Option<Self> {
        Self::from_bytes(&bytes)
    }

    /// The key kept as its 32-byte secret scalar.
    pub fn from_bytes(secret: &[u8]) -> Option<Self> {
        SigningKey::from_slice(secret).ok().map(Self)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    pub fn public_key(&self) -> String {
        let point = self.0.verifying_key().as_affine().to_encoded_point(false);
        B64.encode(point.as_bytes())
    }

    /// The VAPID JWT for a push service at `audience` (an origin), valid from `now` (Unix
    /// seconds).
    fn jwt(&self, audience: &str, contact: &str, now: i64) -> String {
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now + JWT_LIFETIME_SECS,
            "sub": contact,
        });
        let claims = B64.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.0.sign(signed.as_bytes());
        format!("{signed}.{}", B64.encode(signature.to_bytes()))
    }
}

/// A browser's or app's `PushSubscription`: where to post, and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    /// The subscription's P-256 public key, base64url.
    pub p256dh: String,
    /// Its 16-byte authentication secret, base64url.
    pub auth: String,
}

/// Why a subscription is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("endpoint: {0}")]
    Endpoint(String),
    #[error("keys.p256dh: {0}")]
    P256dh(String),
    #[error("keys.auth: {0}")]
    Auth(String),
}

/// The endpoint as a URL writes it (control characters percent-encoded, the host in lower
/// case): what is stored and compared. `None` when it is not a URL at all.
pub fn canonical_endpoint(raw: &str) -> Option<String> {
    url::Url::parse(raw.trim()).ok().map(String::from)
}

impl Subscription {
    /// Checks the keys, and that the endpoint is a push service of `allowed` (`push_endpoints`:
    /// host names, `*.` for any subdomain; `http://` only for a loopback host in the list).
    pub fn check(&self, allowed: &[String]) -> Result<(), SubscriptionError> {
        let url = url::Url::parse(&self.endpoint)
            .map_err(|e| SubscriptionError::Endpoint(format!("not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| SubscriptionError::Endpoint("no host".into()))?;
        if !allowed.iter().any(|pattern| host_matches(pattern, host)) {
            return Err(SubscriptionError::Endpoint(format!(
                "{host} is not a push service this program sends to"
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            other => {
                return Err(SubscriptionError::Endpoint(format!(
                    "{other}:// is not https://"
                )));
            }
        }
        self.public_key()?;
        self.auth_secret()?;
        Ok(())
    }

    fn public_key(&self) -> Result<p256::PublicKey, SubscriptionError> {
        let bytes = decode(&self.p256dh).map_err(SubscriptionError::P256dh)?;
        p256::PublicKey::from_sec1_bytes(&bytes)
            .map_err(|_| SubscriptionError::P256dh("not a P-256 public key".into()))
    }

    fn auth_secret(&self) -> Result<web_push_native::Auth, SubscriptionError> {
        let bytes = decode(&self.auth).map_err(SubscriptionError::Auth)?;
        if bytes.len() != 16 {
            return Err(SubscriptionError::Auth(format!(
                "{} bytes, expected 16",
                bytes.len()
            )));
        }
        Ok(*web_push_native::Auth::from_slice(&bytes))
    }
}

/// Base64url, with or without padding (browsers send it without; some libraries with).
fn decode(text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text.trim().trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => !pattern.is_empty() && host == pattern,
    }
}

/// How soon the push service should deliver (RFC 8030 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

impl Urgency {
    fn header(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// One push.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    pub payload: &'a [u8],
    /// How long the push service keeps it for a device that is offline (seconds; 0: deliver
    /// now or never).
    pub ttl: u64,
    pub urgency: Urgency,
    /// A later push with the same topic replaces this one on a device that has not taken it
    /// yet (RFC 8030 §5.4; at most 32 base64url characters).
    pub topic: Option<&'a str>,
}

/// Why a push was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The subscription no longer exists (404 or 410): forget it.
    #[error("the subscription is gone ({0})")]
    Gone(u16),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Web Push through each subscription's own push service.
#[derive(Debug, Clone)]
pub struct Push {
    client: reqwest::Client,
    key: VapidKey,
    /// The `sub` claim: how the push service can reach the sender (`mailto:…`).
    contact: String,
}

impl Push {
    pub fn new(key: VapidKey, contact: &str) -> Result<Self, SendError> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| SendError::Permanent(format!("push client: {e}")))?;
        Ok(Self {
            client,
            key,
            contact: contact.to_owned(),
        })
    }

    pub fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// Encrypts and posts one notification; `now` is Unix seconds (the signature's start).
    /// Returns the push service's name for the message (its `Location`), when it gives one.
    pub async fn send(
        &self,
        to: &Subscription,
        notification: &Notification<'_>,
        now: i64,
    ) -> Result<Option<String>, PushError> {
        let permanent = |e: SubscriptionError| PushError::Send(SendError::Permanent(e.to_string()));
        let public = to.public_key().map_err(permanent)?;
        let auth = to.auth_secret().map_err(permanent)?;
        let url = url::Url::parse(&to.endpoint)
            .map_err(|e| permanent(SubscriptionError::Endpoint(e.to_string())))?;
        let audience = url.origin().ascii_serialization();
        let body = web_push_native::encrypt(notification.payload.to_vec(), &public, &auth)
            .map_err(|e| SendError::Permanent(format!("push encryption: {e}")))?;
        let jwt = self.key.jwt(&audience, &self.contact, now);
        let mut request = self.client.post(url);
        if let Some(topic) = notification.topic {
            request = request.header("Topic", topic);
        }
        let answer = request
            .header("TTL", notification.ttl.to_string())
            .header("Urgency", notification.urgency.header())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Authorization",
                format!("vapid t={jwt}, k={}", self.key.public_key()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("push service: {e}")))?;
        let status = answer.status();
        if status.is_success() {
            let location = answer
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok());
            return Ok(location.map(str::to_owned));
        }
        let code = status.as_u16();
        if code == 404 || code == 410 {
            return Err(PushError::Gone(code));
        }
        let text = answer.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        let why = format!("push service answered {code}: {text}");
        Err(PushError::Send(
            if code == 429 || status.is_server_error() {
                SendError::Transient(why)
            } else {
                SendError::Permanent(why)
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_against_the_list() {
        let allowed: Vec<String> = ["fcm.googleapis.com", "*.push.apple.com", "127.0.0.1"]
            .map(String::from)
            .to_vec();
        let sub = |endpoint: &str| Subscription {
            endpoint: endpoint.into(),
            // Any P-256 public key in the browser's encoding.
            p256dh: VapidKey::from_random([9; 32]).unwrap().public_key(),
            auth: "8eDyX_uCN0XRhSbY5hs7Hg".into(),
        };
        assert_eq!(
            sub("https://fcm.googleapis.com/fcm/send/x").check(&allowed),
            Ok(())
        );
        assert_eq!(sub("https://web.push.apple.com/x").check(&allowed), Ok(()));
        assert_eq!(sub("http://127.0.0.1:9/x").check(&allowed), Ok(()));
        for bad in [
            "https://push.apple.com/x",
            "https://evilpush.apple.com.example/x",
            "http://fcm.googleapis.com/x",
            "https://example.org/x",
        ] {
            assert!(
                matches!(
                    sub(bad).check(&allowed),
                    Err(SubscriptionError::Endpoint(_))
                ),
                "{bad}"
            );
        }
        let mut short = sub("https://fcm.googleapis.com/x");
        short.auth = "AAAA".into();
        assert!(matches!(
            short.check(&allowed),
            Err(SubscriptionError::Auth(_))
        ));
        let mut off = sub("https://fcm.googleapis.com/x");
        off.p256dh = "BAAA".into();
        assert!(matches!(
            off.check(&allowed),
            Err(SubscriptionError::P256dh(_))
        ));
    }

    #[test]
    fn the_jwt_is_es256_over_its_header_and_claims() {
        use p256::ecdsa::VerifyingKey;
        use p256::ecdsa::signature::Verifier;
        let key = VapidKey::from_random([7; 32]).unwrap();
        let jwt = key.jwt("https://push.example", "mailto:noreply@example.org", 1_000);
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(signed.split_once('.').unwrap().1).unwrap())
                .unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["exp"], 1_000 + JWT_LIFETIME_SECS);
        let public = B64.decode(key.public_key()).unwrap();
        assert_eq!(public.len(), 65);
        let verifier = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let signature = Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
        assert!(verifier.verify(signed.as_bytes(), &signature).is_ok());
        assert_eq!(
            VapidKey::from_bytes(&key.to_bytes()).unwrap().public_key(),
            key.public_key()
        );
    }
}
