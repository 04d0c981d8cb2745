//! A stand-in for a Twilio-compatible Messages API on a loopback port (the real one cannot be
//! reached from test machines): `POST /2010-04-01/Accounts/{sid}/Messages.json` with HTTP
//! Basic auth and the form fields Twilio takes, answering as Twilio does (201 with a message
//! sid, 401, 400 with an error code, 429, 503), and able to report delivery to a text's
//! `StatusCallback`, signed as Twilio signs.
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token";

/// A text the stand-in took: its form fields by name.
#[derive(Debug, Clone)]
pub struct Sent {
    pub sid: String,
    pub fields: HashMap<String, String>,
}

/// How the stand-in answers a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// 429 Too Many Requests.
    Busy,
    /// 503: the provider is down.
    Down,
    /// 400 with Twilio's error 21211 (invalid number).
    InvalidNumber,
}

#[derive(Debug, Default)]
struct Shared {
    sent: Vec<Sent>,
    answers: VecDeque<Answer>,
    otherwise: Option<Answer>,
    /// Requests answered, whatever the answer.
    requests: usize,
}

#[derive(Debug)]
pub struct SmsApi {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmsApi {
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let router = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                axum::routing::post(create),
            )
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

    /// `sms_url` for this stand-in.
    pub fn url(&self) -> String {
        format!("http://{ACCOUNT_SID}:{AUTH_TOKEN}@{}", self.addr)
    }

    /// The texts taken so far, oldest first.
    pub fn sent(&self) -> Vec<Sent> {
        self.shared.lock().expect("not poisoned").sent.clone()
    }

    /// Requests answered so far (taken or refused).
    pub fn requests(&self) -> usize {
        self.shared.lock().expect("not poisoned").requests
    }

    pub fn answer_next(&self, answers: &[Answer]) {
        self.shared
            .lock()
            .expect("not poisoned")
            .answers
            .extend(answers);
    }

    pub fn answer_all(&self, answer: Answer) {
        let mut s = self.shared.lock().expect("not poisoned");
        s.answers.clear();
        s.otherwise = Some(answer);
    }
}

impl Drop for SmsApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message, "status": status.as_u16() });
    (status, axum::Json(body)).into_response()
}

async fn create(
    State(shared): State<Arc<Mutex<Shared>>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let mut s = shared.lock().expect("not poisoned");
    s.requests += 1;
    if sid != ACCOUNT_SID
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    for required in ["To", "Body"] {
        if fields.get(required).is_none_or(String::is_empty) {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21604,
                &format!("A '{required}' parameter is required."),
            );
        }
    }
    if !fields.contains_key("From") && !fields.contains_key("MessagingServiceSid") {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    let answer = s
        .answers
        .pop_front()
        .or(s.otherwise)
        .unwrap_or(Answer::Accept);
    match answer {
        Answer::Accept => {
            let sid = format!("SM{:032x}", s.sent.len() + 1);
            s.sent.push(Sent {
                sid: sid.clone(),
                fields,
            });
            let body = serde_json::json!({ "sid": sid, "status": "queued" });
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Answer::Busy => twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests"),
        Answer::Down => twilio_error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Service Unavailable",
        ),
        Answer::InvalidNumber => {
            twilio_error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number")
        }
    }
}
