//! The JSON API under `/api/v1` (SPEC.md §9). Bodies are parsed by [`ApiJson`], so a bad body
//! gets the API's error shape like every other failure.
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::rejection::JsonRejection};
use hod_domain::password::{self, Personal, Rule};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A JSON body; a malformed one is answered `400 {"error":{"code":"invalid_json",…}}`.
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
            Err(rejection) => Err(ApiError::new(
                match rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::BAD_REQUEST,
                },
                "invalid_json",
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
