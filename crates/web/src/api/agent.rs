//! The agent app's API: a bearer token from a log-in, terms, profile, availability, offers
//! (accept, decline) and the agent's referrals with their statuses.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hod_app::auth::LoginOutcome;
use hod_app::referrals::{AgentReferral, Contact, OfferError, OpenOffer, ReferralRow};
use hod_domain::availability::Mode;
use hod_domain::referral::{EventKind, OfferStatus, Status};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::{ApiJson, ApiPath};
use crate::error::ApiError;
use crate::peer::Peer;
use crate::throttle::{Key, Purpose};

use super::{bearer, not_found, over_budget, unauthorized};

/// The agent app, by its bearer token.
pub struct AppAgent {
    pub(crate) agent_id: i64,
}

impl FromRequestParts<AppState> for AppAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| unauthorized("agent token"))?;
        match s.app.agent_app_session(token).await {
            Ok(Some(session)) => Ok(Self {
                agent_id: session.agent_id,
            }),
            Ok(None) => Err(unauthorized(
                "agent token (it may have expired: ask for a new one)",
            )),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /api/v1/agent/token`.
pub async fn token(
    State(s): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    // The log-in page's budget: refused attempts from one address.
    let address = [Key::address(peer.ip)];
    let now = s.app.now();
    if let Err(wait) = s.throttle.check(Purpose::FailedLogin, &address, now) {
        return Ok(over_budget(wait));
    }
    let client = peer.client();
    match s
        .app
        .app_token(&body.username, &body.password, client)
        .await
    {
        Ok(LoginOutcome::LoggedIn { token, .. }) => Ok(axum::Json(json!({
            "token": token,
            "token_type": "Bearer",
            "expires_in": hod_app::auth::APP_TOKEN_LIFETIME.as_secs(),
        }))
        .into_response()),
        Ok(_) => {
            s.throttle.charge(Purpose::FailedLogin, &address, now);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the username or password is not correct, or the account is locked",
            ))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `GET /api/v1/agent/terms`.
pub async fn terms(State(s): State<AppState>, me: AppAgent) -> Result<Response, ApiError> {
    let state = s.app.terms_for(me.agent_id).await?;
    Ok(axum::Json(json!({
        "complete": state.complete(),
        "declined": state.declined,
        "documents": state.documents.iter().map(|(d, accepted)| json!({
            "version": d.label(),
            "kind": d.kind,
            "title": d.title_en,
            "title_es": d.title_es,
            "body": d.body_en,
            "body_es": d.body_es,
            "accepted": accepted,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct Versions {
    #[serde(default)]
    versions: Vec<String>,
}

/// `POST /api/v1/agent/terms/accept`.
pub async fn accept_terms(
    State(s): State<AppState>,
    me: AppAgent,
    ApiJson(body): ApiJson<Versions>,
) -> Result<Response, ApiError> {
    match s.app.accept_terms(me.agent_id, &body.versions).await {
        Ok(()) => terms(State(s), me).await,
        Err(hod_app::AppError::Invalid(m)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "terms_versions",
            m,
        )),
        // Not the current versions: a new one was published since the agent read them.
        Err(hod_app::AppError::Conflict(m)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "terms_versions", m))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `GET /api/v1/agent/offers`.
pub async fn offers(State(s): State<AppState>, me: AppAgent) -> Result<Response, ApiError> {
    let offers: Vec<OpenOffer> = s.app.open_offers(me.agent_id).await?;
    Ok(axum::Json(offers).into_response())
}

/// How a refused answer to an offer, or a refused status, is answered on the API.
impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::NotFound => not_found("offer or referral"),
            e @ OfferError::Gone => ApiError::new(StatusCode::CONFLICT, "gone", e.to_string()),
            e @ OfferError::AtCapacity { .. } => {
                ApiError::new(StatusCode::CONFLICT, "at_capacity", e.to_string())
            }
            OfferError::StepConflict(e) => {
                ApiError::new(StatusCode::CONFLICT, "status_conflict", e.to_string())
            }
            OfferError::Invalid { field, problem } => ApiError::with_fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{field}: {}", problem.message()),
                [(field.to_owned(), problem.message())].into(),
            ),
            OfferError::App(e) => ApiError::internal(e),
        }
    }
}

/// `POST /api/v1/agent/offers/{id}/accept`: first accept wins; the others get 409.
pub async fn accept(
    State(s): State<AppState>,
    me: AppAgent,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let rid = s.app.accept_offer(me.agent_id, id).await?;
    Ok(axum::Json(json!({ "referral_id": rid, "status": Status::Accepted })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Decline {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/agent/offers/{id}/decline`.
pub async fn decline(
    State(s): State<AppState>,
    me: AppAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Decline>,
) -> Result<Response, ApiError> {
    s.app.decline_offer(me.agent_id, id, &body.reason).await?;
    Ok(axum::Json(json!({ "status": OfferStatus::Declined })).into_response())
}

pub(crate) fn referral_json(r: &ReferralRow, c: &Contact) -> Value {
    json!({
        "id": r.id,
        "status": r.status,
        "zip": r.zip,
        "city": r.city,
        "state": r.state,
        "language": r.language,
        "reason": r.reason,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "phone": c.phone,
        "email": c.email,
        "contact_by": r.contact_by,
        "best_time": c.best_time,
        "accepted_at": r.accepted_at,
    })
}

/// `GET /api/v1/agent/referrals`.
pub async fn my_referrals(State(s): State<AppState>, me: AppAgent) -> Result<Response, ApiError> {
    let list = s.app.my_referrals(me.agent_id).await?;
    Ok(axum::Json(
        list.iter()
            .map(|(r, c)| referral_json(r, c))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

/// `GET /api/v1/agent/referrals/{id}`: only the accepting agent gets it.
pub async fn my_referral(
    State(s): State<AppState>,
    peer: Peer,
    me: AppAgent,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let AgentReferral {
        referral,
        contact,
        events,
        ..
    } = s
        .app
        .agent_referral(me.agent_id, id, Some(peer.ip_text()))
        .await?;
    let mut v = referral_json(&referral, &contact);
    v["history"] = events
        .iter()
        .filter(|e| e.kind == EventKind::Status)
        .map(|e| {
            json!({
                "at": e.at,
                "status": e.status,
                "note": e.note,
                "account_number": e.account_number,
                "actor": e.actor,
            })
        })
        .collect();
    Ok(axum::Json(v).into_response())
}

#[derive(Debug, Deserialize)]
pub struct StatusBody {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    account_number: Option<String>,
}

/// `POST /api/v1/agent/referrals/{id}/status`.
pub async fn record_status(
    State(s): State<AppState>,
    me: AppAgent,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Response, ApiError> {
    let status = s
        .app
        .record_status(
            me.agent_id,
            id,
            &body.status,
            body.note.as_deref().unwrap_or_default(),
            body.account_number.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(axum::Json(json!({ "id": id, "status": status.id() })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ModeBody {
    #[serde(default)]
    mode: String,
}

/// `PUT /api/v1/agent/availability`: the override switch.
pub async fn availability(
    State(s): State<AppState>,
    me: AppAgent,
    ApiJson(body): ApiJson<ModeBody>,
) -> Result<Response, ApiError> {
    let Some(mode) = Mode::parse(&body.mode) else {
        return Err(ApiError::with_fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
            "some fields need correcting",
            [(
                "mode".to_owned(),
                "expected available, unavailable or schedule".to_owned(),
            )]
            .into(),
        ));
    };
    s.app.set_availability_mode(me.agent_id, mode).await?;
    Ok(axum::Json(json!({ "mode": mode.id() })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ProfileBody {
    phone: Option<String>,
    contact_method: Option<String>,
    zip: Option<String>,
    languages: Option<Vec<String>>,
    states: Option<Vec<String>>,
}

/// Profile fields to correct, on the API.
impl From<hod_app::profile::ProfileError> for ApiError {
    fn from(e: hod_app::profile::ProfileError) -> Self {
        match e {
            hod_app::profile::ProfileError::Fields(problems) => ApiError::invalid_fields(&problems),
            hod_app::profile::ProfileError::App(e) => ApiError::internal(e),
        }
    }
}

/// `PUT /api/v1/agent/profile`: changes the fields given (contact, languages, state
/// preferences), with the rules of the Profile tab; then the profile as `GET` shows it.
pub async fn update_profile(
    State(s): State<AppState>,
    me: AppAgent,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Response, ApiError> {
    if body.phone.is_some() || body.contact_method.is_some() || body.zip.is_some() {
        let current = s.app.profile(me.agent_id).await?;
        let phone = body.phone.or(current.agent.phone).unwrap_or_default();
        let method = body
            .contact_method
            .or(current.agent.contact_method)
            .unwrap_or_default();
        let zip = body.zip.or(current.agent.zip).unwrap_or_default();
        s.app
            .update_contact(me.agent_id, &phone, &method, &zip)
            .await?;
    }
    if let Some(languages) = &body.languages {
        s.app.update_languages(me.agent_id, languages).await?;
    }
    if let Some(states) = &body.states {
        s.app.update_states(me.agent_id, states).await?;
    }
    profile(State(s), me).await
}

/// `GET /api/v1/agent/profile`.
pub async fn profile(State(s): State<AppState>, me: AppAgent) -> Result<Response, ApiError> {
    let p = s.app.profile(me.agent_id).await?;
    let terms = s.app.terms_for(me.agent_id).await?;
    Ok(axum::Json(json!({
        "npn": p.agent.npn,
        "first_name": p.agent.first_name,
        "last_name": p.agent.last_name,
        "email": p.agent.email,
        "username": p.agent.username,
        "phone": p.agent.phone,
        "contact_method": p.agent.contact_method,
        "zip": p.agent.zip,
        "languages": p.languages,
        "states": p.states,
        "eligible_states": p.eligible_states,
        "availability": { "mode": p.availability.mode.id(), "time_zone": p.time_zone, "available_now": p.available_now },
        "registration_complete": p.agent.registered_at.is_some() && terms.complete(),
    }))
    .into_response())
}
