//! The agent's pages: log in and out, recovery, the dashboard (SPEC.md §4–§5).

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::auth::{LoginOutcome, PhoneCheck};

use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::throttle::{Key, Purpose};
use crate::views::{DashboardPage, LoginPage, NoticePage, PageMeta, TermsPage};

pub const SESSION_COOKIE: &str = "hod_session";
pub const REMEMBER_COOKIE: &str = "hod_user";

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn secure(s: &AppState) -> &'static str {
    if s.app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) fn session_cookie(s: &AppState, token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{}",
        secure(s)
    )
}

pub(crate) fn clear(s: &AppState, name: &str) -> String {
    format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        secure(s)
    )
}

pub(crate) fn notice(
    lang: UiLang,
    path: &str,
    title: &str,
    text: &str,
    status: StatusCode,
) -> Response {
    let page = NoticePage {
        t: Tr(lang),
        page: PageMeta::new(path),
        title: title.to_owned(),
        text: text.to_owned(),
    };
    let mut r = render(&page, lang, path);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// The logged-in agent; pages that need one send everyone else to the login page.
#[derive(Debug, Clone)]
pub struct CurrentAgent {
    pub agent_id: i64,
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts, false));
        };
        match s.app.agent_session(&token).await {
            Ok(Some(session)) => Ok(Self {
                agent_id: session.agent_id,
            }),
            Ok(None) => Err(to_login(parts, true)),
            Err(e) => Err(PageError::internal(
                crate::i18n::negotiate(&parts.headers),
                parts.uri.path(),
                e,
            )
            .into_response()),
        }
    }
}

impl CurrentAgent {
    /// The layout of one of the agent's own pages: their name and availability in the header.
    pub async fn page(
        &self,
        s: &AppState,
        lang: UiLang,
        path: &str,
    ) -> Result<PageMeta, PageError> {
        let signed_in = s.app.signed_in(self.agent_id).await.or_page(lang, path)?;
        Ok(PageMeta {
            agent: Some(signed_in),
            ..PageMeta::new(path)
        })
    }
}

/// A logged-in agent who has accepted the current terms. Referrals and availability are
/// closed before that: the agent is sent to the terms, which come back here once accepted.
#[derive(Debug, Clone)]
pub struct Agreed(pub CurrentAgent);

impl FromRequestParts<AppState> for Agreed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let me = CurrentAgent::from_request_parts(parts, s).await?;
        match s.app.terms_for(me.agent_id).await {
            Ok(terms) if terms.complete() => Ok(Self(me)),
            Ok(_) => {
                let back = match parts.method {
                    axum::http::Method::GET | axum::http::Method::HEAD => {
                        parts.uri.path_and_query().map(ToString::to_string)
                    }
                    _ => None,
                };
                let to = crate::redirect::then_back("/agent/terms", back.as_deref(), &[]);
                Err(Redirect::to(&to).into_response())
            }
            Err(e) => Err(PageError::internal(
                crate::i18n::negotiate(&parts.headers),
                parts.uri.path(),
                e,
            )
            .into_response()),
        }
    }
}

/// To the log-in page, which comes back here afterwards: a page asked for comes back to
/// itself, a form posted comes back to the page it was on (what it was saving is lost, and the
/// log-in page says so). `ended`: the browser's session is no longer open.
fn to_login(parts: &Parts, ended: bool) -> Response {
    use axum::http::Method;
    let asked = matches!(parts.method, Method::GET | Method::HEAD);
    let back = if asked {
        parts.uri.path_and_query().map(ToString::to_string)
    } else {
        parts
            .headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            })
    };
    let why: &[(&str, &str)] = match (ended, asked) {
        (false, _) => &[],
        (true, true) => &[("ended", "session")],
        (true, false) => &[("ended", "unsaved")],
    };
    Redirect::to(&crate::redirect::then_back(
        "/agent/login",
        back.as_deref(),
        why,
    ))
    .into_response()
}

/// What the log-in page says besides the form.
#[derive(Debug, Default)]
pub(crate) struct LoginState {
    /// What was typed (else the remembered username).
    pub username: Option<String>,
    /// The last attempt was refused.
    pub failed: bool,
    /// Too many failures from this address: how long to wait.
    pub wait: Option<crate::throttle::Wait>,
    /// Where to go once logged in.
    pub next: Option<String>,
    /// Why the agent is here again: `session` (it ended) or `unsaved` (it ended while a form
    /// was being saved).
    pub ended: Option<String>,
}

fn login_page(lang: UiLang, headers: &HeaderMap, state: LoginState) -> Response {
    let t = Tr(lang);
    let remembered = cookie(headers, REMEMBER_COOKIE)
        .and_then(|v| urlencoding_decode(&v))
        .unwrap_or_default();
    let ended = match state.ended.as_deref() {
        Some("session") => Some(t.get("login-ended")),
        Some("unsaved") => Some(t.get("login-ended-unsaved")),
        _ => None,
    };
    let page = LoginPage {
        t,
        page: PageMeta::new("/agent/login"),
        remember: !remembered.is_empty(),
        username: state.username.unwrap_or(remembered),
        failed: state.failed,
        wait: state.wait.map(|w| crate::throttle::wait_text(t, w)),
        next: state
            .next
            .as_deref()
            .and_then(crate::redirect::same_site_path)
            .unwrap_or_default(),
        ended,
    };
    let r = render(&page, lang, "/agent/login");
    match state.wait {
        Some(wait) => crate::throttle::over_budget(r, wait),
        None => r,
    }
}

fn urlencoding_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("u={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    ended: Option<String>,
}

pub async fn login_form(
    lang: UiLang,
    headers: HeaderMap,
    q: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|q| q.0).unwrap_or_default();
    login_page(
        lang,
        &headers,
        LoginState {
            next: q.next,
            ended: q.ended,
            ..LoginState::default()
        },
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

pub async fn login(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    // Guessing is what this limits: only refused attempts count.
    let address = [Key::address(peer.ip)];
    let now = s.app.now();
    if let Err(wait) = s.throttle.check(Purpose::FailedLogin, &address, now) {
        let state = LoginState {
            username: Some(f.username),
            wait: Some(wait),
            next: f.next,
            ..LoginState::default()
        };
        return login_page(lang, &headers, state);
    }
    match s.app.login(&f.username, &f.password, peer.client()).await {
        Ok(LoginOutcome::LoggedIn { token, agent_id }) => {
            let to = match after_login(&s, agent_id, f.next.as_deref()).await {
                Ok(to) => to,
                Err(e) => return PageError::internal(lang, "/agent/login", e).into_response(),
            };
            let mut r = Redirect::to(&to).into_response();
            // A new session: the old cookie, if any, is ended first.
            if let Some(old) = cookie(&headers, SESSION_COOKIE)
                && let Err(e) = s.app.logout(&old).await
            {
                return PageError::internal(lang, "/agent/login", e).into_response();
            }
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&session_cookie(&s, &token)).expect("hex token"),
            );
            let remember = if f.remember.is_some() {
                let value: String =
                    url::form_urlencoded::byte_serialize(f.username.trim().as_bytes()).collect();
                format!(
                    "{REMEMBER_COOKIE}={value}; Path=/agent; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
                    secure(&s)
                )
            } else {
                format!(
                    "{REMEMBER_COOKIE}=; Path=/agent; Max-Age=0; HttpOnly; SameSite=Lax{}",
                    secure(&s)
                )
            };
            if let Ok(v) = HeaderValue::from_str(&remember) {
                h.append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(LoginOutcome::Refused) => {
            s.throttle.charge(Purpose::FailedLogin, &address, now);
            let state = LoginState {
                username: Some(f.username),
                failed: true,
                next: f.next,
                ..LoginState::default()
            };
            let mut r = login_page(lang, &headers, state);
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => PageError::internal(lang, "/agent/login", e).into_response(),
    }
}

/// Where a fresh session goes: the terms first while they are not accepted (then on to
/// `next`), else `next` when it is a path on this site, else Home.
pub(crate) async fn after_login(
    s: &AppState,
    agent_id: i64,
    next: Option<&str>,
) -> Result<String, AppError> {
    if !s.app.terms_for(agent_id).await?.complete() {
        return Ok(crate::redirect::then_back("/agent/terms", next, &[]));
    }
    Ok(next
        .and_then(crate::redirect::same_site_path)
        .unwrap_or_else(|| "/agent".to_owned()))
}

pub async fn logout(State(s): State<AppState>, lang: UiLang, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.app.logout(&token).await
    {
        return PageError::internal(lang, "/agent/logout", e).into_response();
    }
    let mut r = Redirect::to("/agent/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&clear(&s, SESSION_COOKIE)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn dashboard_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    phone_message: Option<String>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let agent = match s.app.agent(me.agent_id).await {
        Ok(a) => a,
        Err(AppError::NotFound(_)) => return Ok(Redirect::to("/agent/login").into_response()),
        Err(e) => return Err(PageError::internal(lang, "/agent", e)),
    };
    let day = s.app.today();
    let eligibility = match hod_domain::Npn::parse(&agent.npn) {
        Ok(npn) => s.app.eligibility_of(&npn, day).await.ok(),
        Err(_) => None,
    };
    let texts = agent
        .contact_method
        .as_deref()
        .and_then(hod_domain::ContactMethod::parse)
        .is_some_and(hod_domain::ContactMethod::texts);
    let terms = match s.app.terms_for(me.agent_id).await {
        Ok(state) if state.complete() => None,
        Ok(state) if state.declined => Some("declined"),
        Ok(_) => Some("pending"),
        Err(e) => return Err(PageError::internal(lang, "/agent", e)),
    };
    let view = s.app.profile(me.agent_id).await.or_page(lang, "/agent")?;
    let eligible = eligibility.as_ref().is_some_and(|e| e.eligible);
    // What stands between the agent and referrals, each with where to fix it, in the order a
    // new agent meets them.
    let mut steps: Vec<(String, &'static str)> = Vec::new();
    if terms.is_some() {
        steps.push((t.get("step-terms"), "/agent/terms"));
    }
    if !eligible {
        steps.push((t.get("step-eligibility"), "#status-heading"));
    }
    if view.languages.is_empty() {
        steps.push((t.get("step-languages"), "/agent/profile#languages-heading"));
    }
    if eligible
        && !view
            .states
            .iter()
            .any(|st| view.eligible_states.contains(st))
    {
        steps.push((t.get("step-states"), "/agent/profile#states-heading"));
    }
    if !view.available_now {
        steps.push((t.get("step-availability"), "/agent/availability"));
    }
    let page = DashboardPage {
        terms,
        receiving: steps.is_empty(),
        steps,
        t,
        page: me.page(s, lang, "/agent").await?,
        name: format!("{} {}", agent.first_name, agent.last_name),
        username: agent.username.clone().unwrap_or_default(),
        phone_to_confirm: (texts && agent.phone_confirmed_at.is_none())
            .then(|| {
                agent
                    .phone
                    .as_deref()
                    .and_then(|p| hod_domain::PhoneE164::parse(p).ok())
                    .map(|p| p.national())
            })
            .flatten(),
        phone_message,
        eligible,
        states: eligibility
            .as_ref()
            .map(|e| e.states.join(", "))
            .unwrap_or_default(),
        // The agent is logged in: an account exists whatever the files say.
        reasons: eligibility
            .map(|e| crate::views::eligibility_reasons(t, &e.explained, &["no-account"]))
            .unwrap_or_default(),
    };
    Ok(render(&page, lang, "/agent"))
}

pub async fn dashboard(State(s): State<AppState>, lang: UiLang, me: CurrentAgent) -> Response {
    dashboard_page(&s, lang, &me, None).await.into_response()
}

#[derive(Debug, serde::Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    code: String,
}

pub async fn confirm_phone(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    Form(f): Form<PhoneForm>,
) -> Response {
    let t = Tr(lang);
    let message = match s.app.confirm_phone(me.agent_id, &f.code).await {
        Ok(PhoneCheck::Confirmed) => t.get("phone-confirmed"),
        Ok(PhoneCheck::Wrong { tries_left }) => {
            t.get_with("phone-wrong", &[("left", tries_left.to_string())])
        }
        Ok(PhoneCheck::NoCode) => t.get("phone-no-code"),
        Err(e) => return PageError::internal(lang, "/agent", e).into_response(),
    };
    dashboard_page(&s, lang, &me, Some(message))
        .await
        .into_response()
}

pub async fn resend_phone_code(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
) -> Response {
    if let Err(e) = s.app.resend_phone_code(me.agent_id).await {
        return PageError::internal(lang, "/agent", e).into_response();
    }
    dashboard_page(&s, lang, &me, Some(Tr(lang).get("phone-resent")))
        .await
        .into_response()
}

async fn terms_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    message: Option<String>,
    next: Option<&str>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let state = s
        .app
        .terms_for(me.agent_id)
        .await
        .or_page(lang, "/agent/terms")?;
    let (languages, states) = s
        .app
        .preferences(me.agent_id)
        .await
        .or_page(lang, "/agent/terms")?;
    let languages = languages
        .iter()
        .filter_map(|c| hod_domain::Lang::parse(c).ok())
        .map(|l| l.info().label(lang == UiLang::Es))
        .collect::<Vec<_>>()
        .join(", ");
    let states = states.join(", ");
    let documents = state
        .documents
        .iter()
        .map(|(d, accepted)| crate::info::terms_view(lang, d, *accepted))
        .collect();
    let page = TermsPage {
        t,
        page: me.page(s, lang, "/agent/terms").await?,
        documents,
        languages,
        states,
        message,
        next: next
            .and_then(crate::redirect::same_site_path)
            .unwrap_or_default(),
    };
    Ok(render(&page, lang, "/agent/terms"))
}

pub async fn terms(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    q: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = q.ok().and_then(|q| q.0.next);
    terms_page(&s, lang, &me, None, next.as_deref())
        .await
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
pub struct TermsForm {
    #[serde(default)]
    decision: String,
    /// Repeated `versions` fields, gathered by [`terms_decision`].
    #[serde(default)]
    versions: Vec<String>,
    /// Where the agent was going when the terms stopped them.
    next: Option<String>,
}

pub async fn terms_decision(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    body: axum::body::Bytes,
) -> Response {
    // `versions` repeats, which the plain form extractor does not gather.
    let mut form = TermsForm {
        decision: String::new(),
        versions: Vec::new(),
        next: None,
    };
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "decision" => form.decision = v.into_owned(),
            "versions" => form.versions.push(v.into_owned()),
            "next" => form.next = Some(v.into_owned()),
            _ => {}
        }
    }
    let result = if form.decision == "accept" {
        s.app.accept_terms(me.agent_id, &form.versions).await
    } else {
        s.app.decline_terms(me.agent_id).await
    };
    match result {
        Ok(()) if form.decision == "accept" => {
            crate::redirect::back_to(form.next.as_deref(), "/agent")
        }
        Ok(()) => Redirect::to("/agent").into_response(),
        Err(hod_app::AppError::Conflict(_)) => terms_page(
            &s,
            lang,
            &me,
            Some(Tr(lang).get("terms-changed")),
            form.next.as_deref(),
        )
        .await
        .into_response(),
        Err(e) => PageError::internal(lang, "/agent/terms", e).into_response(),
    }
}

/// The Help tab.
pub async fn help(State(s): State<AppState>, lang: UiLang, me: CurrentAgent) -> Response {
    let page = match me.page(&s, lang, "/agent/help").await {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let page = crate::views::HelpPage { t: Tr(lang), page };
    render(&page, lang, "/agent/help")
}
