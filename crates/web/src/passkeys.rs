//! Passkey endpoints for the pages' script (static/passkeys.js): JSON in and out, same-origin
//! like every posted form.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::auth::LoginOutcome;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::AppState;
use crate::agent::{CurrentAgent, session_cookie};
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::i18n::UiLang;
use crate::peer::Peer;

fn app_error(e: AppError) -> Response {
    match e {
        AppError::Invalid(m) => {
            ApiError::new(StatusCode::BAD_REQUEST, "passkey_failed", m).into_response()
        }
        e => ApiError::internal(e).into_response(),
    }
}

pub async fn register_start(State(s): State<AppState>, me: CurrentAgent) -> Response {
    match s.app.passkey_registration_start(me.agent_id).await {
        Ok((ceremony, options)) => {
            let mut body = serde_json::to_value(&options).unwrap_or_default();
            body["ceremony"] = ceremony.into();
            Json(body).into_response()
        }
        Err(e) => app_error(e),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct RegisterFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

pub async fn register_finish(
    State(s): State<AppState>,
    me: CurrentAgent,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> Response {
    match s
        .app
        .passkey_registration_finish(me.agent_id, &body.ceremony, &body.credential, &body.name)
        .await
    {
        Ok(id) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
        Err(e) => app_error(e),
    }
}

pub async fn remove(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    Path(id): Path<i64>,
) -> Response {
    match s.app.remove_passkey(me.agent_id, id).await {
        Ok(_) => Redirect::to("/agent/security").into_response(),
        Err(e) => crate::error::PageError::internal(lang, "/agent/security", e).into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginStart {
    #[serde(default)]
    username: String,
}

pub async fn login_start(
    State(s): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<LoginStart>,
) -> Response {
    let address = [crate::throttle::Key::address(peer.ip)];
    if let Err(wait) = s.throttle.take(
        crate::throttle::Purpose::PasskeyLogin,
        &address,
        s.app.now(),
    ) {
        return crate::api::over_budget(wait);
    }
    match s.app.passkey_login_start(&body.username).await {
        Ok(challenge) => Json(challenge).into_response(),
        Err(e) => app_error(e),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginFinish {
    ceremony: String,
    credential: PublicKeyCredential,
    /// The page the log-in form was to return to.
    #[serde(default)]
    next: Option<String>,
}

pub async fn login_finish(
    State(s): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<LoginFinish>,
) -> Response {
    let client = peer.client();
    match s
        .app
        .passkey_login_finish(&body.ceremony, &body.credential, client)
        .await
    {
        Ok(LoginOutcome::LoggedIn { token, agent_id }) => {
            let next = match crate::agent::after_login(&s, agent_id, body.next.as_deref()).await {
                Ok(next) => next,
                Err(e) => return app_error(e),
            };
            let mut r = Json(serde_json::json!({ "next": next })).into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&s, &token)) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(LoginOutcome::Refused) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_refused",
            "the passkey was not accepted",
        )
        .into_response(),
        Err(e) => app_error(e),
    }
}
