//! What a client may cost the server: how long it may take to send a request, how large a
//! body may be, how many connections it may hold. Slow or oversized requests are answered
//! (`408`, `413`) instead of holding a connection and a task for ever.
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::i18n::UiLang;

/// Limits on what one client may take (configuration: `http_*` keys, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time allowed for a request's head (request line and headers), counted from the
    /// connection's start or from the end of its previous response: also the time an idle
    /// kept-alive connection stays open.
    pub header_timeout: Duration,
    /// Time allowed for a request's whole body once its head has arrived.
    pub body_timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            max_body_bytes: 256 * 1024,
            max_connections: 1024,
        }
    }
}

/// Where administrators upload CMS files: the one body that streams to its handler (after the
/// handler has checked who is sending it), up to [`MAX_UPLOAD_BYTES`], with no time limit.
/// (The router names it again in `lib.rs`; the console's upload test sends a file larger
/// than the ordinary limit there.)
pub const UPLOAD_PATH: &str = "/admin/imports";
/// The largest CMS file the console takes (a full Registration Completion List is well under).
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

/// Why a request's body or query was not taken.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Slow,
    TooLarge,
    Unreadable,
    NotUtf8,
}

fn refuse(lang: UiLang, path: &str, why: Refusal) -> Response {
    let (status, code, message) = match why {
        Refusal::Slow => (
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        ),
        Refusal::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts",
        ),
        Refusal::Unreadable => (
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the request body could not be read",
        ),
        Refusal::NotUtf8 => (
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
            "the form or query is not valid UTF-8 once percent-decoded",
        ),
    };
    let mut r = if path.starts_with("/api/") {
        ApiError::new(status, code, message).into_response()
    } else {
        PageError::Refused {
            lang,
            path: path.to_owned(),
            status,
        }
        .into_response()
    };
    if matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        r = body_left_unread(r);
    }
    r
}

/// An answer given without reading the request's body: the server closes the connection
/// after it (the rest of the body may still be on its way), so it says so, or a client that
/// keeps connections open would send its next request on a closed one.
pub(crate) fn body_left_unread(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Reads the whole body within the time and size allowed before any handler sees the
/// request, and refuses forms and queries that are not UTF-8 (rather than replacing the bad
/// bytes, which would store something other than what was sent).
pub async fn read_body(
    State(s): State<AppState>,
    lang: UiLang,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if req
        .uri()
        .query()
        .is_some_and(|q| !percent_decodes_to_utf8(q.as_bytes()))
    {
        return body_left_unread(refuse(lang, &path, Refusal::NotUtf8));
    }
    let limits = s.web.limits;
    if req.method() == axum::http::Method::POST && path == UPLOAD_PATH {
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > MAX_UPLOAD_BYTES as u64);
        if too_large {
            return refuse(lang, &path, Refusal::TooLarge);
        }
        let (parts, body) = req.into_parts();
        let body = Body::new(Limited::new(body, MAX_UPLOAD_BYTES));
        return next.run(Request::from_parts(parts, body)).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return refuse(lang, &path, Refusal::TooLarge);
    }
    let has_body =
        declared.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(req).await;
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let read = Limited::new(body, limits.max_body_bytes).collect();
    let bytes: Bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Err(_) => return refuse(lang, &path, Refusal::Slow),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse(lang, &path, Refusal::TooLarge);
        }
        Ok(Err(_)) => return refuse(lang, &path, Refusal::Unreadable),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    if form && !percent_decodes_to_utf8(&bytes) {
        return refuse(lang, &path, Refusal::NotUtf8);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether every key and value of `a=b&c=d` (or a query) is UTF-8 once `+` and `%XX` are
/// decoded.
fn percent_decodes_to_utf8(raw: &[u8]) -> bool {
    raw.split(|b| *b == b'&' || *b == b'=').all(|piece| {
        let decoded: Vec<u8> = percent_decode(piece).collect();
        std::str::from_utf8(&decoded).is_ok()
    })
}

fn percent_decode(piece: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *piece.get(i)?;
        i += 1;
        Some(match b {
            b'+' => b' ',
            b'%' => {
                let hex = piece
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        i += 2;
                        v
                    }
                    None => b'%',
                }
            }
            other => other,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::percent_decodes_to_utf8;

    #[test]
    fn forms_must_decode_to_utf8() {
        assert!(percent_decodes_to_utf8(b"first_name=Jos%C3%A9&zip=77002"));
        assert!(percent_decodes_to_utf8(b"a=100%&b=%zz+c"));
        assert!(!percent_decodes_to_utf8(b"first_name=Jos%E9"));
        assert!(!percent_decodes_to_utf8(b"first_name=%FF%FE"));
        assert!(!percent_decodes_to_utf8(b"name=a&%C3=b"));
        assert!(!percent_decodes_to_utf8(b"x=\xff"));
    }
}
