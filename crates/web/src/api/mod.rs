//! The JSON API under `/api/v1` (SPEC.md §9): what every endpoint shares (body and path
//! extractors, bearer credentials), the small public endpoints; partners' endpoints in `partner`,
//! the agent app's in `agent`. Bodies are parsed by [`ApiJson`], so a bad body
//! gets the API's error shape like every other failure.
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::rejection::JsonRejection};
use hod_domain::password::{self, Personal, Rule};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub(crate) mod agent;
pub(crate) mod partner;
pub(crate) mod push;

/// `429` for an attempt over its budget, with `Retry-After`.
pub(crate) fn over_budget(wait: crate::throttle::Wait) -> Response {
    crate::throttle::over_budget(
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "too many attempts from this address; try again in {} seconds",
                wait.seconds()
            ),
        )
        .into_response(),
        wait,
    )
}

/// A JSON body, refused in the API's error shape: `415` without a JSON content type, `400`
/// when it is not JSON, `422` when it is JSON of the wrong shape (a number for a string, a
/// missing required field). Too large or too slow bodies are answered earlier, by
/// [`crate::limits`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                let (status, code) = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                    }
                    JsonRejection::JsonDataError(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_json_shape")
                    }
                    JsonRejection::BytesRejection(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
                    _ => (StatusCode::BAD_REQUEST, "invalid_json"),
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

/// Path parameters; one that does not parse (`/referrals/abc`) is a `400` in the API's
/// error shape, not the framework's plain text.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                rejection.body_text(),
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordCheck {
    password: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

#[derive(Debug, Serialize)]
struct PasswordVerdict {
    valid: bool,
    failed: Vec<Rule>,
}

/// `POST /api/v1/password-policy/check`: which rules of SPEC.md §3.1 a password fails.
pub async fn password_check(ApiJson(body): ApiJson<PasswordCheck>) -> Response {
    let failed = password::check(
        &body.password,
        &Personal {
            username: &body.username,
            email: &body.email,
            first_name: &body.first_name,
            last_name: &body.last_name,
        },
    );
    Json(PasswordVerdict {
        valid: failed.is_empty(),
        failed,
    })
    .into_response()
}

/// `GET /api/v1/consent`: the consent text a partner must show the consumer, in the version
/// `POST /api/v1/referrals` expects in `consent.text_version` (SPEC.md §9).
pub async fn consent() -> Response {
    use crate::i18n::{Tr, UiLang};
    Json(serde_json::json!({
        "version": hod_app::referrals::CONSENT_VERSION,
        "text": {
            "en": Tr(UiLang::En).get("consent-text"),
            "es": Tr(UiLang::Es).get("consent-text"),
        },
    }))
    .into_response()
}

/// The credentials of `Authorization: Bearer …`; the scheme is matched ignoring case
/// (RFC 9110 §11.1).
pub(super) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

pub(super) fn unauthorized(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("send a valid {what} as `Authorization: Bearer …`"),
    )
}

pub(super) fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}
