//! HTTP for Help On Demand: every route and layer is declared in [`router`].
#![forbid(unsafe_code)]

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hod_app::App;
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub mod admin;
mod agent;
pub mod api;
mod consumer;
pub mod error;
pub use hod_i18n as i18n;
mod icons;
mod info;
pub mod limits;
pub mod metrics;
mod passkeys;
pub mod peer;
mod profile;
mod recover;
mod redirect;
mod referrals;
mod register;
pub mod serve;
pub mod throttle;
mod views;
mod webhooks;

use error::{ApiError, PageError, render};
use i18n::{LANG_COOKIE, Tr, UiLang};
pub use limits::HttpLimits;
use views::{Landing, PageMeta};

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
    pub throttle: std::sync::Arc<throttle::Throttle>,
    pub web: std::sync::Arc<WebSettings>,
}

/// How the HTTP side is set up (the `http_*` and `metrics_*` configuration keys).
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    pub limits: HttpLimits,
    pub metrics: metrics::MetricsAccess,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`trusted_proxies`).
    pub trusted_proxies: Vec<peer::IpNet>,
}

impl AppState {
    pub fn new(app: App, web: WebSettings) -> Self {
        Self {
            app,
            metrics: metrics::handle(),
            throttle: std::sync::Arc::default(),
            web: std::sync::Arc::new(web),
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let https = state.app.settings.public_url.starts_with("https://");
    let mut security = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form
        // posts, which the same-origin check below could not tell from a cross-site post.
        // Other sites still get no referrer (links carry tokens).
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        // Pages and API answers carry sessions, tokens and contact details: no cache may
        // keep them. Static assets say otherwise themselves.
        (header::CACHE_CONTROL, "no-store"),
    ];
    if https {
        security.push((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ));
    }
    let mut router = Router::new()
        .route("/", get(landing))
        .route("/lang/{code}", get(switch_language))
        .route(
            "/register/{token}",
            get(register::page).post(register::submit),
        )
        .route("/registered", get(register::done))
        .route("/agent", get(agent::dashboard))
        .route("/agent/login", get(agent::login_form).post(agent::login))
        .route("/agent/logout", post(agent::logout))
        .route(
            "/agent/forgot-username",
            get(recover::forgot_username_form).post(recover::forgot_username),
        )
        .route(
            "/agent/forgot-password",
            get(recover::forgot_password_form).post(recover::forgot_password),
        )
        .route(
            "/agent/reset/{token}",
            get(recover::reset_form).post(recover::reset),
        )
        .route(
            "/agent/terms",
            get(agent::terms).post(agent::terms_decision),
        )
        .route("/agent/help", get(agent::help))
        .route("/privacy", get(info::privacy))
        .route("/terms", get(info::terms))
        .route("/accessibility", get(info::accessibility))
        .route("/contact", get(info::contact))
        .route(
            "/get-help",
            get(consumer::get_help).post(consumer::post_help),
        )
        .route("/requests/{token}", get(consumer::request_status))
        .route("/requests/{token}/events", get(consumer::request_events))
        .route("/agent/referrals", get(referrals::referrals_page))
        .route("/agent/referrals/events", get(referrals::referrals_events))
        .route("/agent/referrals/{id}", get(referrals::referral))
        .route("/agent/referrals/{id}/status", post(referrals::post_status))
        .route(
            "/agent/referrals/{id}/consent",
            post(referrals::post_consent),
        )
        .route("/agent/offers/{id}/accept", post(referrals::accept))
        .route("/agent/offers/{id}/decline", post(referrals::decline))
        .route("/agent/profile", get(profile::profile))
        .route("/agent/profile/contact", post(profile::save_contact))
        .route("/agent/profile/languages", post(profile::save_languages))
        .route("/agent/profile/states", post(profile::save_states))
        .route("/agent/availability", get(profile::availability))
        .route("/agent/availability/mode", post(profile::save_mode))
        .route("/agent/availability/hours", post(profile::save_hours))
        .route("/agent/availability/absence", post(profile::save_absence))
        .route("/agent/security", get(profile::security))
        .route("/agent/security/password", post(profile::change_password))
        .route(
            "/agent/security/sessions",
            post(profile::end_other_sessions),
        )
        .route(
            "/agent/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/agent/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route("/agent/passkeys/{id}/remove", post(passkeys::remove))
        .route("/agent/passkeys/login/start", post(passkeys::login_start))
        .route("/agent/passkeys/login/finish", post(passkeys::login_finish))
        .route("/agent/phone", post(agent::confirm_phone))
        .route("/agent/phone/resend", post(agent::resend_phone_code))
        .route("/api/v1/registrations", post(register::api))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/referrals", post(api::partner::submit))
        .route("/api/v1/referrals/{id}", get(api::partner::partner_status))
        .route("/api/v1/agent/token", post(api::agent::token))
        .route("/api/v1/agent/terms", get(api::agent::terms))
        .route("/api/v1/agent/terms/accept", post(api::agent::accept_terms))
        .route(
            "/api/v1/agent/profile",
            get(api::agent::profile).put(api::agent::update_profile),
        )
        .route(
            "/api/v1/agent/availability",
            axum::routing::put(api::agent::availability),
        )
        .route("/api/v1/agent/offers", get(api::agent::offers))
        .route("/api/v1/agent/offers/{id}/accept", post(api::agent::accept))
        .route(
            "/api/v1/agent/offers/{id}/decline",
            post(api::agent::decline),
        )
        .route("/api/v1/agent/referrals", get(api::agent::my_referrals))
        .route("/api/v1/agent/referrals/{id}", get(api::agent::my_referral))
        .route(
            "/api/v1/agent/referrals/{id}/status",
            post(api::agent::record_status),
        )
        .route(
            "/api/v1/push/vapid-public-key",
            get(api::push::vapid_public_key),
        )
        .route(
            "/api/v1/agent/push-subscriptions",
            post(api::push::subscribe).delete(api::push::unsubscribe),
        )
        .route("/api/v1/push/offers/{id}/accept", post(api::push::accept))
        .route("/api/v1/push/offers/{id}/decline", post(api::push::decline))
        .route("/static/{file}", get(static_file))
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/icons/{file}", get(icon))
        .route("/offline", get(offline))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/v1/password-policy/check", post(api::password_check))
        .route("/api/v1/consent", get(api::consent))
        // The operators' console (SPEC.md §8): which role may open what is decided by each
        // handler's extractor (`admin::Operator` or `admin::Administrator`).
        .route("/admin", get(admin::glance::page))
        .route("/admin/events", get(admin::glance::events))
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/account", get(admin::account::page))
        .route(
            "/admin/account/password",
            post(admin::account::change_password),
        )
        .route(
            "/admin/account/sessions",
            post(admin::account::end_other_sessions),
        )
        .route(
            "/admin/passkeys/register/start",
            post(passkeys::operator_register_start),
        )
        .route(
            "/admin/passkeys/register/finish",
            post(passkeys::operator_register_finish),
        )
        .route(
            "/admin/passkeys/{id}/remove",
            post(passkeys::operator_remove),
        )
        .route(
            "/admin/passkeys/login/start",
            post(passkeys::operator_login_start),
        )
        .route(
            "/admin/passkeys/login/finish",
            post(passkeys::operator_login_finish),
        )
        .route(
            "/admin/welcome/{token}",
            get(admin::welcome_form).post(admin::welcome),
        )
        .route("/admin/agents", get(admin::agents::search))
        .route("/admin/agents/{npn}", get(admin::agents::agent))
        .route("/admin/agents/{npn}/resend", post(admin::agents::resend))
        .route("/admin/agents/{npn}/unlock", post(admin::agents::unlock))
        .route("/admin/agents/{npn}/suspend", post(admin::agents::suspend))
        .route(
            "/admin/agents/{npn}/reinstate",
            post(admin::agents::reinstate),
        )
        .route("/admin/referrals", get(admin::referrals::search))
        .route("/admin/referrals/{id}", get(admin::referrals::referral))
        .route(
            "/admin/referrals/{id}/contact",
            post(admin::referrals::contact),
        )
        .route(
            "/admin/referrals/{id}/reroute",
            post(admin::referrals::reroute),
        )
        .route(
            "/admin/referrals/{id}/reassign",
            post(admin::referrals::reassign),
        )
        .route(
            "/admin/settings",
            get(admin::settings::page).post(admin::settings::save),
        )
        .route(
            "/admin/settings/plan-years",
            post(admin::settings::plan_year),
        )
        .route("/admin/settings/terms", post(admin::settings::terms))
        .route("/admin/settings/states", post(admin::settings::state))
        .route("/admin/dashboard", get(admin::dashboard::dashboard))
        .route("/admin/coverage", get(admin::dashboard::coverage))
        .route("/admin/operators", get(admin::operators::page))
        .route("/admin/operators/invite", post(admin::operators::invite))
        .route("/admin/operators/{id}", post(admin::operators::change))
        .route("/admin/audit", get(admin::audit::page))
        .route("/admin/outbox", get(admin::outbox::page))
        .route("/admin/outbox/{id}/retry", post(admin::outbox::retry))
        .route("/webhooks/sms/status", post(webhooks::sms_status))
        .route("/webhooks/sms/inbound", post(webhooks::sms_inbound))
        .fallback(not_found)
        // Every route answers within 30 s — but an upload of a CMS file, which takes as long
        // as the file does to send and apply.
        .route_layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        // `limits::UPLOAD_PATH`: the body streams, up to `limits::MAX_UPLOAD_BYTES`.
        .route(
            "/admin/imports",
            post(admin::imports::upload).get(admin::imports::page),
        )
        .route("/admin/imports/{id}", get(admin::imports::report))
        .route(
            "/admin/imports/{id}/rejected.csv",
            get(admin::imports::rejected_csv),
        );
    router = router
        .layer(middleware::from_fn_with_state(state.clone(), limits::read_body))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_forms))
        .layer(middleware::from_fn(metrics::record_request))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RandomRequestId))
                .layer(
                    TraceLayer::new_for_http()
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                        .make_span_with(|req: &Request<Body>| {
                        let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(CatchPanicLayer::new()),
        );
    // Outermost, so that every answer carries them: pages, the API, and what the layers
    // above make themselves (a refused cross-site form, a timeout, a caught panic).
    for (name, value) in security {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router.with_state(state)
}

#[derive(Debug, Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let mut b = [0u8; 12];
        getrandom::fill(&mut b).ok()?;
        HeaderValue::from_str(&hex::encode(b))
            .ok()
            .map(RequestId::new)
    }
}

/// CSRF defence for the pages (DESIGN.md §5): a form may only be posted from this site. The
/// browser says where a request comes from in `Origin` (or, failing that, `Referer`); it must
/// be the public URL's origin or the host the request was sent to. The JSON API is exempt:
/// it does not use cookies.
async fn same_origin_forms(
    State(s): State<AppState>,
    lang: UiLang,
    req: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // The API authenticates with bearer tokens and the webhooks with signatures, not cookies.
    if safe || req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/webhooks/") {
        return next.run(req).await;
    }
    let origin_of = |url: &str| {
        url::Url::parse(url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    };
    let headers = req.headers();
    // Browsers say outright where a request comes from; a page on another site cannot fake it.
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site == Some("same-origin") {
        return next.run(req).await;
    }
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        });
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let allowed = claimed.as_deref().is_some_and(|o| {
        Some(o) == origin_of(&s.app.settings.public_url).as_deref()
            || host.is_some_and(|h| o == format!("http://{h}") || o == format!("https://{h}"))
    });
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(origin = ?claimed, path = %req.uri().path(), "cross-site form refused");
        limits::body_left_unread(
            PageError::Forbidden {
                lang,
                path: req.uri().path().to_owned(),
            }
            .into_response(),
        )
    }
}

async fn landing(State(s): State<AppState>, lang: UiLang) -> Response {
    let t = Tr(lang);
    let program = match s.app.program_today().await {
        Ok(p) => p,
        Err(e) => return PageError::internal(lang, "/", e).into_response(),
    };
    let (states_intro, state_names) = match program.plan_year {
        Some(py) if !program.states.is_empty() => {
            let intro = t.get_with(
                "landing-states-text",
                &[
                    ("year", py.year.to_string()),
                    ("count", program.states.len().to_string()),
                ],
            );
            let mut names: Vec<String> = program
                .states
                .iter()
                .map(|(s, _)| match lang {
                    UiLang::En => s.info().name.to_owned(),
                    UiLang::Es => s.info().name_es.to_owned(),
                })
                .collect();
            names.sort_by_cached_key(|n| i18n::collation_key(lang, n));
            (Some(intro), names)
        }
        _ => (None, Vec::new()),
    };
    let page = Landing {
        t,
        page: PageMeta::new("/"),
        states_intro,
        state_names,
    };
    render(&page, lang, "/")
}

#[derive(Debug, serde::Deserialize)]
struct NextPath {
    next: Option<String>,
}

/// Sets the language cookie and goes back to the page the switch was on (local paths only).
async fn switch_language(
    Path(code): Path<String>,
    q: Result<Query<NextPath>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(lang) = UiLang::parse(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    (
        [(header::SET_COOKIE, cookie)],
        redirect::back_to(q.ok().and_then(|Query(q)| q.next).as_deref(), "/"),
    )
        .into_response()
}

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (
            include_str!("../../../static/app.css"),
            "text/css; charset=utf-8",
        ),
        "app.js" => (
            include_str!("../../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "passkeys.js" => (
            include_str!("../../../static/passkeys.js"),
            "text/javascript; charset=utf-8",
        ),
        "password.js" => (
            include_str!("../../../static/password.js"),
            "text/javascript; charset=utf-8",
        ),
        "push.js" => (
            include_str!("../../../static/push.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The web app manifest: what makes the site installable on a phone's home screen.
async fn manifest(lang: UiLang) -> Response {
    let t = Tr(lang);
    let body = serde_json::json!({
        "name": t.get("site-name"),
        "short_name": "Help On Demand",
        "description": t.get("site-tagline"),
        "lang": lang.code(),
        "start_url": "/agent",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b4f8a",
        "icons": [
            { "src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png" },
            { "src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png" },
            { "src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable" },
            { "src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml" },
        ],
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        body.to_string(),
    )
        .into_response()
}

/// The service worker, at the root so that it covers the whole site.
async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../../static/sw.js"),
    )
        .into_response()
}

async fn icon(Path(file): Path<String>) -> Response {
    let png = |size| {
        icons::cached(size).map(|b| {
            (
                [
                    (header::CONTENT_TYPE, "image/png"),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                ],
                b,
            )
                .into_response()
        })
    };
    let found = match file.as_str() {
        "icon-192.png" => png(192),
        "icon-512.png" => png(512),
        "apple-touch-icon.png" => png(180),
        "icon.svg" => Some(([(header::CONTENT_TYPE, "image/svg+xml")], icons::SVG).into_response()),
        _ => None,
    };
    found.unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// What the installed app shows without a connection.
async fn offline(lang: UiLang) -> Response {
    let t = Tr(lang);
    let page = views::NoticeOnly {
        t,
        page: PageMeta::new("/offline"),
        title: t.get("offline-title"),
        text: t.get("offline-text"),
    };
    render(&page, lang, "/offline")
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.ready().await {
        Ok(()) => {
            Json(serde_json::json!({ "status": "ready", "database": s.app.storage_backend() }))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "not ready");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// `GET /api/v1/openapi.json`: the API described (written by hand, checked by a test against
/// the routes).
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../api/openapi.json"),
    )
        .into_response()
}

async fn not_found(lang: UiLang, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such endpoint: {}", uri.path()),
        )
        .into_response();
    }
    PageError::NotFound {
        lang,
        path: uri.path().to_owned(),
    }
    .into_response()
}
