//! A stand-in for a Web Push service on a loopback port (real ones cannot be reached from
//! test machines). It hands out subscriptions with their own P-256 keys and auth secrets, and
//! for every push it checks what a real push service and browser would: the VAPID
//! `Authorization` (an ES256 JWT signed by the key it names, `aud` = this service's origin),
//! `TTL`, `Urgency`, `Content-Encoding: aes128gcm`, and decrypts the payload with the
//! subscription's keys, written here from RFC 8291 and RFC 8188 rather than taken from the
//! library the system sends with. It answers 201, or 404/410 (gone) or 429 when told to.
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Sha256;

/// A push the stand-in took, checked and decrypted.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which subscription (its index in the order they were made).
    pub subscription: usize,
    pub ttl: u64,
    pub urgency: String,
    pub topic: Option<String>,
    /// The VAPID public key the push named (`k=`).
    pub vapid_key: String,
    /// The JWT's claims.
    pub claims: serde_json::Value,
    /// The decrypted payload.
    pub payload: serde_json::Value,
}

/// How the stand-in answers a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// 410: the browser unsubscribed.
    Gone,
    /// 429: try later.
    Busy,
}

/// A subscription as the browser would send it to the server (`PushSubscription.toJSON()`).
#[derive(Debug, Clone)]
pub struct BrowserSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl BrowserSubscription {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": { "p256dh": self.p256dh, "auth": self.auth },
        })
    }
}

struct Keys {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

#[derive(Default)]
struct Shared {
    subscriptions: Vec<Keys>,
    received: Vec<Received>,
    /// Refusals: what went wrong with a push that was not well formed.
    refused: Vec<String>,
    answers: VecDeque<Answer>,
}

pub struct PushService {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PushService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushService")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl PushService {
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let router = axum::Router::new()
            .route("/push/{n}", axum::routing::post(take))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, shared, task }
    }

    /// A new browser subscription at this service.
    pub fn subscribe(&self) -> BrowserSubscription {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("randomness");
        let secret = p256::SecretKey::from_slice(&seed).expect("a scalar");
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).expect("randomness");
        let public = secret.public_key().as_affine().to_encoded_point(false);
        let mut shared = self.shared.lock().expect("not poisoned");
        let n = shared.subscriptions.len();
        shared.subscriptions.push(Keys { secret, auth });
        BrowserSubscription {
            endpoint: format!("http://{}/push/{n}", self.addr),
            p256dh: B64.encode(public.as_bytes()),
            auth: B64.encode(auth),
        }
    }

    /// The pushes taken so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("not poisoned").received.clone()
    }

    /// Pushes refused as malformed, with why (a test expects none).
    pub fn refused(&self) -> Vec<String> {
        self.shared.lock().expect("not poisoned").refused.clone()
    }

    /// Answers the next pushes so, in order (then 201 again).
    pub fn answer_next(&self, answers: &[Answer]) {
        self.shared
            .lock()
            .expect("not poisoned")
            .answers
            .extend(answers);
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn take(
    State(shared): State<Arc<Mutex<Shared>>>,
    Path(n): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut shared = shared.lock().expect("not poisoned");
    let checked = match shared.subscriptions.get(n) {
        None => Err("no such subscription".to_owned()),
        Some(keys) => {
            check(&headers, &body, keys).map(|(ttl, urgency, vapid_key, claims, payload)| {
                Received {
                    subscription: n,
                    ttl,
                    urgency,
                    topic: headers
                        .get("topic")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    vapid_key,
                    claims,
                    payload,
                }
            })
        }
    };
    match checked {
        Err(why) => {
            shared.refused.push(why);
            StatusCode::BAD_REQUEST.into_response()
        }
        Ok(push) => match shared.answers.pop_front().unwrap_or(Answer::Accept) {
            Answer::Accept => {
                shared.received.push(push);
                // Where the message can be followed, as push services answer.
                let location = format!("/message/{}", shared.received.len());
                (StatusCode::CREATED, [("location", location)]).into_response()
            }
            Answer::Gone => StatusCode::GONE.into_response(),
            Answer::Busy => StatusCode::TOO_MANY_REQUESTS.into_response(),
        },
    }
}

type Checked = (u64, String, String, serde_json::Value, serde_json::Value);

fn check(headers: &HeaderMap, body: &[u8], keys: &Keys) -> Result<Checked, String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} header"))
    };
    if header("content-encoding")? != "aes128gcm" {
        return Err("Content-Encoding is not aes128gcm".into());
    }
    let ttl: u64 = header("ttl")?.parse().map_err(|_| "TTL is not a number")?;
    let urgency = header("urgency")?;
    if !["very-low", "low", "normal", "high"].contains(&urgency.as_str()) {
        return Err(format!("Urgency {urgency:?}"));
    }
    let (vapid_key, claims) = vapid(&header("authorization")?)?;
    let payload = decrypt(body, keys)?;
    let payload = serde_json::from_slice(&payload).map_err(|e| format!("payload: {e}"))?;
    Ok((ttl, urgency, vapid_key, claims, payload))
}

/// `vapid t=<jwt>, k=<key>`: the JWT verified with the key it names.
fn vapid(authorization: &str) -> Result<(String, serde_json::Value), String> {
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("Authorization is not vapid")?;
    let mut jwt = None;
    let mut key = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => jwt = Some(v.to_owned()),
            Some(("k", v)) => key = Some(v.to_owned()),
            _ => return Err(format!("Authorization part {part:?}")),
        }
    }
    let (jwt, key) = (jwt.ok_or("no t=")?, key.ok_or("no k=")?);
    let verifier = VerifyingKey::from_sec1_bytes(&B64.decode(&key).map_err(|e| e.to_string())?)
        .map_err(|_| "k is not a P-256 public key")?;
    let (signed, signature) = jwt.rsplit_once('.').ok_or("JWT without signature")?;
    let (head, claims) = signed.split_once('.').ok_or("JWT without claims")?;
    let head: serde_json::Value =
        serde_json::from_slice(&B64.decode(head).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if head["alg"] != "ES256" {
        return Err(format!("JWT alg {}", head["alg"]));
    }
    let signature = Signature::from_slice(&B64.decode(signature).map_err(|e| e.to_string())?)
        .map_err(|_| "signature is not r||s")?;
    verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "JWT signature does not verify")?;
    let claims = serde_json::from_slice(&B64.decode(claims).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    Ok((key, claims))
}

/// RFC 8291 with RFC 8188's `aes128gcm`, one record.
fn decrypt(body: &[u8], keys: &Keys) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than the aes128gcm header".into());
    }
    let salt = &body[..16];
    let id_len = usize::from(body[20]);
    let sender = body.get(21..21 + id_len).ok_or("key id cut short")?;
    let ciphertext = &body[21 + id_len..];
    let sender =
        p256::PublicKey::from_sec1_bytes(sender).map_err(|_| "key id is not a P-256 key")?;
    let shared = p256::ecdh::diffie_hellman(keys.secret.to_nonzero_scalar(), sender.as_affine());
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(
        keys.secret
            .public_key()
            .as_affine()
            .to_encoded_point(false)
            .as_bytes(),
    );
    info.extend_from_slice(sender.as_affine().to_encoded_point(false).as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .map_err(|e| e.to_string())?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|e| e.to_string())?;
    let plain = Aes128Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt(Nonce::from_slice(&nonce), ciphertext)
        .map_err(|_| "the payload does not decrypt with the subscription's keys")?;
    // The last record ends with the delimiter 2, then any padding of zeros.
    let end = plain
        .iter()
        .rposition(|&b| b != 0)
        .ok_or("no padding delimiter")?;
    if plain[end] != 2 {
        return Err(format!("padding delimiter {}", plain[end]));
    }
    Ok(plain[..end].to_vec())
}
