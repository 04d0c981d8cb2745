//! Passkey endpoints for the pages' script (static/passkeys.js): JSON in and out, same-origin
//! like every posted form. Agents use them under `/agent/passkeys`, operators under
//! `/admin/passkeys`; the ceremonies are the same, the sessions they open are not.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::auth::{LoginOutcome, Principal, PrincipalKind};
use hod_app::operators::OperatorLogin;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::AppState;
use crate::admin::Operator;
use crate::agent::{CurrentAgent, session_cookie};
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use hod_app::passkeys::PasskeyInfo;

fn app_error(e: AppError) -> Response {
    match e {
        AppError::Invalid(m) => {
            ApiError::new(StatusCode::BAD_REQUEST, "passkey_failed", m).into_response()
        }
        e => ApiError::internal(e).into_response(),
    }
}

/// An account's passkeys as its security page lists them: (id, "name · added … · last used
/// …").
pub(crate) fn listed(s: &AppState, t: Tr, passkeys: Vec<PasskeyInfo>) -> Vec<(i64, String)> {
    let tz = s.app.settings.program_time_zone.clone();
    let day = |ts: jiff::Timestamp| ts.to_zoned(tz.clone()).date().to_string();
    passkeys
        .into_iter()
        .map(|p| {
            let used = p
                .last_used_at
                .map(|u| format!(" · {} {}", t.get("security-passkey-used"), day(u)))
                .unwrap_or_default();
            let added = t.get("security-passkey-added");
            (
                p.id,
                format!("{} · {added} {}{used}", p.name, day(p.created_at)),
            )
        })
        .collect()
}

pub async fn register_start(State(s): State<AppState>, me: CurrentAgent) -> Response {
    start_registration(&s, Principal::Agent(me.agent_id)).await
}

pub async fn operator_register_start(
    State(s): State<AppState>,
    Operator(op): Operator,
) -> Response {
    start_registration(&s, Principal::Operator(op.id)).await
}

async fn start_registration(s: &AppState, who: Principal) -> Response {
    match s.app.passkey_registration_start(who).await {
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
    finish_registration(&s, Principal::Agent(me.agent_id), &body).await
}

pub async fn operator_register_finish(
    State(s): State<AppState>,
    Operator(op): Operator,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> Response {
    finish_registration(&s, Principal::Operator(op.id), &body).await
}

async fn finish_registration(s: &AppState, who: Principal, body: &RegisterFinish) -> Response {
    match s
        .app
        .passkey_registration_finish(who, &body.ceremony, &body.credential, &body.name)
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
    removed(
        &s,
        lang,
        Principal::Agent(me.agent_id),
        id,
        "/agent/security",
    )
    .await
}

pub async fn operator_remove(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    Path(id): Path<i64>,
) -> Response {
    removed(&s, lang, Principal::Operator(op.id), id, "/admin/account").await
}

/// Removes the passkey and goes back to the page that lists them (`back`); a key that is not
/// the asker's is a 404 page.
async fn removed(s: &AppState, lang: UiLang, who: Principal, id: i64, back: &str) -> Response {
    match s.app.remove_passkey(who, id).await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => crate::error::PageError::from_app(lang, back, e).into_response(),
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
    start_login(&s, &peer, PrincipalKind::Agent, &body.username).await
}

pub async fn operator_login_start(
    State(s): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<LoginStart>,
) -> Response {
    start_login(&s, &peer, PrincipalKind::Operator, &body.username).await
}

async fn start_login(s: &AppState, peer: &Peer, kind: PrincipalKind, username: &str) -> Response {
    let address = [crate::throttle::Key::address(peer.ip)];
    if let Err(wait) = s.throttle.take(
        crate::throttle::Purpose::PasskeyLogin,
        &address,
        s.app.now(),
    ) {
        return crate::api::over_budget(wait);
    }
    match s.app.passkey_login_start(kind, username).await {
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
        Ok(LoginOutcome::Refused) => refused(),
        Err(e) => app_error(e),
    }
}

pub async fn operator_login_finish(
    State(s): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<LoginFinish>,
) -> Response {
    match s
        .app
        .operator_passkey_login_finish(&body.ceremony, &body.credential, peer.client())
        .await
    {
        Ok(OperatorLogin::LoggedIn { token }) => {
            let next = crate::admin::console_next(body.next.as_deref());
            let mut r = Json(serde_json::json!({ "next": next })).into_response();
            if let Ok(v) = HeaderValue::from_str(&crate::admin::console_cookie(&s, &token)) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(OperatorLogin::Refused) => refused(),
        Err(e) => app_error(e),
    }
}

fn refused() -> Response {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_refused",
        "the passkey was not accepted",
    )
    .into_response()
}
