//! The partner API: submit a consumer's request with a partner key (and `Idempotency-Key`),
//! follow it by id.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hod_app::partners::Partner;
use hod_app::referrals::{Origin, PublicStatus, RequestForm, SubmitError, Submitted};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::{ApiJson, ApiPath};
use crate::error::ApiError;
use crate::peer::Peer;

use super::{bearer, not_found, unauthorized};

/// A partner system, by its API key.
pub struct PartnerKey(Partner);

impl FromRequestParts<AppState> for PartnerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or_else(|| unauthorized("partner API key"))?;
        match s.app.partner(key).await {
            Ok(Some(p)) => Ok(Self(p)),
            Ok(None) => Err(unauthorized("partner API key")),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Consent {
    #[serde(default)]
    accepted: bool,
    #[serde(default)]
    text_version: String,
}

/// `POST /api/v1/referrals` body (SPEC.md §9.1).
#[derive(Debug, Deserialize)]
pub struct ReferralBody {
    #[serde(default)]
    zip: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    contact_by: String,
    #[serde(default)]
    best_time: Option<String>,
    #[serde(default)]
    reason: String,
    consent: Option<Consent>,
}

impl ReferralBody {
    fn into_form(self) -> RequestForm {
        let consent = self.consent.unwrap_or(Consent {
            accepted: false,
            text_version: String::new(),
        });
        RequestForm {
            zip: self.zip,
            language: self.language,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            email: self.email.unwrap_or_default(),
            contact_by: self.contact_by,
            best_time: self.best_time.unwrap_or_default(),
            reason: self.reason,
            consent: consent.accepted,
            consent_version: consent.text_version,
        }
    }
}

/// How a refused submission is answered on the API (the request page has its own notices).
impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Fields(problems) => ApiError::invalid_fields(&problems),
            SubmitError::OtherMarketplace { state, marketplace } => {
                let message = match marketplace {
                    Some((name, url)) => format!(
                        "{} runs its own Marketplace, {name} ({url}); Help On Demand serves the HealthCare.gov states",
                        state.info().name
                    ),
                    None => format!(
                        "{} is not served through HealthCare.gov; Help On Demand serves the HealthCare.gov states",
                        state.info().name
                    ),
                };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "outside_healthcare_gov",
                    message,
                )
            }
            e @ SubmitError::IntakeClosed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "intake_closed",
                e.to_string(),
            ),
            e @ SubmitError::AlreadyRequested => {
                ApiError::new(StatusCode::CONFLICT, "already_requested", e.to_string())
            }
            e @ SubmitError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                e.to_string(),
            ),
            SubmitError::App(e) => ApiError::internal(e),
        }
    }
}

fn submitted(s: &AppState, done: &Submitted) -> Response {
    let body = json!({
        "id": done.id,
        "status": done.status.id(),
        "status_url": format!("{}/requests/{}", s.app.settings.public_url, done.status_token),
    });
    let mut r = (StatusCode::CREATED, axum::Json(body)).into_response();
    if !done.created {
        r.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    r
}

/// 1 to 200 visible ASCII characters, spaces allowed inside (the OpenAPI pattern).
fn valid_idempotency_key(k: &str) -> bool {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    let bytes = k.as_bytes();
    (1..=200).contains(&bytes.len())
        && bytes.first().is_some_and(visible)
        && bytes.last().is_some_and(visible)
        && bytes.iter().all(|b| *b == b' ' || visible(b))
}

/// `POST /api/v1/referrals`.
pub async fn submit(
    State(s): State<AppState>,
    peer: Peer,
    PartnerKey(partner): PartnerKey,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReferralBody>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if valid_idempotency_key(k) => Some(k.to_owned()),
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                ));
            }
        },
    };
    let ui_lang = if body.language.trim() == "es" {
        "es"
    } else {
        "en"
    };
    let origin = Origin {
        ip: Some(peer.ip_text()),
        user_agent: peer.user_agent(),
        ui_lang,
        partner: Some((partner.key_id, key.as_deref())),
    };
    match s.app.submit_request(&body.into_form(), origin).await {
        Ok(done) => Ok(submitted(&s, &done)),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn public_status_json(s: &AppState, p: &PublicStatus) -> Value {
    json!({
        "id": p.id,
        "status": p.status.id(),
        "created_at": p.created_at.to_string(),
        "accepted_at": p.accepted_at.map(|t| t.to_string()),
        "agent": p.agent,
        "city": p.city,
        "state": p.state,
        "call_center": (p.status == hod_domain::referral::Status::Unserved).then_some(hod_app::referrals::CALL_CENTER),
        "links": { "api": format!("{}/api/v1/referrals/{}", s.app.settings.public_url, p.id) },
    })
}

/// `GET /api/v1/referrals/{id}`: a partner's own referral.
pub async fn partner_status(
    State(s): State<AppState>,
    PartnerKey(partner): PartnerKey,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    match s.app.partner_referral(partner.key_id, id).await {
        Ok(Some(p)) => Ok(axum::Json(public_status_json(&s, &p)).into_response()),
        Ok(None) => Err(not_found("referral")),
        Err(e) => Err(ApiError::internal(e)),
    }
}
