//! The SMS provider's webhooks (SPEC.md §7.1): delivery reports and texts people send back.
//! Each must carry `X-Twilio-Signature`, made with the auth token over the public URL of the
//! hook and its form fields; anything else gets 403.
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::i18n::{Tr, UiLang};
use crate::profile::{field, pairs};

/// The form fields, when the signature is the provider's.
fn signed(
    s: &AppState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Vec<(String, String)>> {
    let given = headers.get("x-twilio-signature")?.to_str().ok()?;
    let path = uri.0.path_and_query().map_or("/", |p| p.as_str());
    let fields = pairs(body);
    s.app
        .sms_webhook_signed(path, &fields, given)
        .then_some(fields)
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "the signature does not match").into_response()
}

/// `POST /webhooks/sms/status`: the provider reports what became of a text.
pub async fn sms_status(
    State(s): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(fields) = signed(&s, &uri, &headers, &body) else {
        return forbidden();
    };
    match s
        .app
        .sms_status(
            field(&fields, "MessageSid"),
            field(&fields, "MessageStatus"),
        )
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

/// `POST /webhooks/sms/inbound`: a text to the program's number; keywords are acted on and
/// answered (TwiML).
pub async fn sms_inbound(
    State(s): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(fields) = signed(&s, &uri, &headers, &body) else {
        return forbidden();
    };
    let reply = match s
        .app
        .sms_inbound(field(&fields, "From"), field(&fields, "Body"))
        .await
    {
        Ok(reply) => reply,
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
    };
    let message = reply.map(|r| {
        let lang = if r.spanish { UiLang::Es } else { UiLang::En };
        let text = Tr(lang).get(r.message);
        format!("<Message>{}</Message>", xml_text(&text))
    });
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{}</Response>",
            message.unwrap_or_default()
        ),
    )
        .into_response()
}

/// `text` as XML character data.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
