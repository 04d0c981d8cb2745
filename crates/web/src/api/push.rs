//! Web Push for the agent app and the agent's pages (SPEC.md §7.1, §9): the program's public
//! key, subscribing a browser or app, and the one-tap answers an offer's notification posts
//! from the service worker (with the token the push carried, without a session).
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hod_app::push::{PushSubscriptionForm, SubscriptionError};
use hod_domain::referral::{OfferStatus, Status};
use hod_i18n::UiLang;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::agent::CurrentAgent;
use crate::api::agent::AppAgent;
use crate::api::{ApiJson, ApiPath};
use crate::error::ApiError;
use crate::peer::Peer;

use super::{bearer, not_found, unauthorized};

/// An agent by the app's bearer token, or by the session of their pages (the Security tab
/// subscribes the browser it is open in).
pub struct PushAgent {
    agent_id: i64,
}

impl FromRequestParts<AppState> for PushAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        if bearer(parts).is_some() {
            let me = AppAgent::from_request_parts(parts, s).await?;
            return Ok(Self {
                agent_id: me.agent_id,
            });
        }
        match CurrentAgent::from_request_parts(parts, s).await {
            Ok(me) => Ok(Self {
                agent_id: me.agent_id,
            }),
            Err(_) => Err(unauthorized("agent token")),
        }
    }
}

/// `GET /api/v1/push/vapid-public-key`.
pub async fn vapid_public_key(State(s): State<AppState>) -> Response {
    axum::Json(json!({ "key": s.app.vapid_public_key() })).into_response()
}

/// `POST /api/v1/agent/push-subscriptions`: the browser's `PushSubscription` JSON.
pub async fn subscribe(
    State(s): State<AppState>,
    me: PushAgent,
    peer: Peer,
    ApiJson(form): ApiJson<PushSubscriptionForm>,
) -> Result<Response, ApiError> {
    match s
        .app
        .subscribe_push(me.agent_id, &form, peer.client())
        .await
    {
        Ok(()) => Ok((
            StatusCode::CREATED,
            axum::Json(json!({ "status": "subscribed" })),
        )
            .into_response()),
        Err(e) => {
            let field = match e {
                SubscriptionError::Endpoint(_) => "endpoint",
                SubscriptionError::P256dh(_) => "keys.p256dh",
                SubscriptionError::Auth(_) => "keys.auth",
            };
            let why = e.to_string();
            let why = why.split_once(": ").map_or(why.as_str(), |(_, w)| w);
            Err(ApiError::with_fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "some fields need correcting",
                [(field.to_owned(), why.to_owned())].into(),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Unsubscribe {
    #[serde(default)]
    endpoint: String,
}

/// `DELETE /api/v1/agent/push-subscriptions` `{"endpoint":…}`.
pub async fn unsubscribe(
    State(s): State<AppState>,
    me: PushAgent,
    ApiJson(body): ApiJson<Unsubscribe>,
) -> Result<Response, ApiError> {
    if s.app.unsubscribe_push(me.agent_id, &body.endpoint).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found("push subscription"))
    }
}

#[derive(Debug, Deserialize)]
pub struct Answer {
    #[serde(default)]
    token: String,
}

/// `POST /api/v1/push/offers/{id}/accept` `{"token":…}`: Accept from the notification.
pub async fn accept(
    State(s): State<AppState>,
    lang: UiLang,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Answer>,
) -> Result<Response, ApiError> {
    let rid = s
        .app
        .answer_offer_by_token(id, &body.token, true, lang)
        .await?;
    Ok(axum::Json(json!({ "referral_id": rid, "status": Status::Accepted })).into_response())
}

/// `POST /api/v1/push/offers/{id}/decline` `{"token":…}`: Decline from the notification.
pub async fn decline(
    State(s): State<AppState>,
    lang: UiLang,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Answer>,
) -> Result<Response, ApiError> {
    s.app
        .answer_offer_by_token(id, &body.token, false, lang)
        .await?;
    Ok(axum::Json(json!({ "status": OfferStatus::Declined })).into_response())
}
