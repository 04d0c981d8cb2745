//! The operators' console under `/admin` (SPEC.md §8): log-in, the menu each role sees, and the
//! two extractors every console handler starts with — [`Operator`] (help desk or
//! administrator; everyone else goes to `/admin/login`) and [`Administrator`] (help desk gets
//! a 403 page). An agent's session is not an operator's: it never opens a console page.
use axum::Form;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::operators::{OperatorLogin, OperatorSession};
use hod_app::profile::ProfileError;

use crate::AppState;
use crate::agent::{clear, cookie};
use crate::error::{PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::throttle::{Key, Purpose};
use crate::views::PageMeta;

pub mod account;
pub mod agents;
pub mod audit;
mod charts;
pub mod dashboard;
pub mod glance;
pub mod imports;
pub mod operators;
pub mod outbox;
pub mod referrals;
pub mod settings;
mod views;

/// The console's own cookie: an agent's session cookie never opens it, and it is sent to
/// console paths only.
pub const CONSOLE_COOKIE: &str = "hod_console";

/// The console's menu for this operator on the page at `path`: (path, locale key, whether it
/// is the current section).
pub fn menu(op: &OperatorSession, path: &str) -> Vec<(&'static str, &'static str, bool)> {
    let mut items = vec![
        ("/admin", "console-nav-today"),
        ("/admin/agents", "console-nav-agents"),
        ("/admin/referrals", "console-nav-referrals"),
    ];
    if op.is_admin() {
        items.extend([
            ("/admin/imports", "console-nav-imports"),
            ("/admin/dashboard", "console-nav-dashboard"),
            ("/admin/coverage", "console-nav-coverage"),
            ("/admin/settings", "console-nav-settings"),
            ("/admin/operators", "console-nav-operators"),
        ]);
    }
    items.extend([
        ("/admin/audit", "console-nav-audit"),
        ("/admin/outbox", "console-nav-outbox"),
    ]);
    items
        .into_iter()
        .map(|(href, key)| {
            let current =
                path == href || (href != "/admin" && path.starts_with(&format!("{href}/")));
            (href, key, current)
        })
        .collect()
}

/// A logged-in operator of either role.
#[derive(Debug, Clone)]
pub struct Operator(pub OperatorSession);

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let lang = crate::i18n::negotiate(&parts.headers);
        let Some(token) = cookie(&parts.headers, CONSOLE_COOKIE) else {
            return Err(to_login(parts));
        };
        match s.app.operator_session(&token).await {
            Ok(Some(op)) => Ok(Self(op)),
            Ok(None) => Err(to_login(parts)),
            Err(e) => Err(PageError::internal(lang, parts.uri.path(), e).into_response()),
        }
    }
}

/// A logged-in administrator; a help-desk operator gets a page saying their role does not
/// include this.
#[derive(Debug, Clone)]
pub struct Administrator(pub OperatorSession);

impl FromRequestParts<AppState> for Administrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Operator(op) = Operator::from_request_parts(parts, s).await?;
        if op.is_admin() {
            Ok(Self(op))
        } else {
            let lang = crate::i18n::negotiate(&parts.headers);
            Err(PageError::NotAllowed {
                lang,
                path: parts.uri.path().to_owned(),
            }
            .into_response())
        }
    }
}

/// The layout of a console page for `op`.
pub(crate) fn meta(op: &OperatorSession, path: &str) -> PageMeta {
    PageMeta {
        operator: Some(op.clone()),
        ..PageMeta::new(path)
    }
}

fn to_login(parts: &Parts) -> Response {
    let back = match parts.method {
        axum::http::Method::GET | axum::http::Method::HEAD => {
            parts.uri.path_and_query().map(ToString::to_string)
        }
        _ => None,
    };
    Redirect::to(&crate::redirect::then_back(
        "/admin/login",
        back.as_deref(),
        &[],
    ))
    .into_response()
}

pub(crate) fn console_cookie(s: &AppState, token: &str) -> String {
    let secure = if s.app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{CONSOLE_COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}")
}

/// Where a console log-in goes: back to the console page that asked for it, or `/admin`.
pub(crate) fn console_next(next: Option<&str>) -> String {
    next.and_then(crate::redirect::same_site_path)
        .filter(|p| p.starts_with("/admin"))
        .unwrap_or_else(|| "/admin".to_owned())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    lang: UiLang,
    username: String,
    failed: bool,
    wait: Option<crate::throttle::Wait>,
    next: Option<&str>,
) -> Response {
    let t = Tr(lang);
    let page = views::LoginPage {
        t,
        page: PageMeta::new("/admin/login"),
        username,
        failed,
        wait: wait.map(|w| crate::throttle::wait_text(t, w)),
        next: next
            .and_then(crate::redirect::same_site_path)
            .unwrap_or_default(),
    };
    let mut r = render(&page, lang, "/admin/login");
    if let Some(wait) = wait {
        r = crate::throttle::over_budget(r, wait);
    } else if failed {
        *r.status_mut() = StatusCode::UNAUTHORIZED;
    }
    r
}

pub async fn login_form(
    lang: UiLang,
    q: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = q.ok().and_then(|q| q.0.next);
    login_page(lang, String::new(), false, None, next.as_deref())
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let address = [Key::address(peer.ip)];
    let now = s.app.now();
    if let Err(wait) = s.throttle.check(Purpose::FailedLogin, &address, now) {
        return login_page(lang, f.username, false, Some(wait), f.next.as_deref());
    }
    match s
        .app
        .operator_login(&f.username, &f.password, peer.client())
        .await
    {
        Ok(OperatorLogin::LoggedIn { token }) => {
            if let Some(old) = cookie(&headers, CONSOLE_COOKIE)
                && let Ok(Some(op)) = s.app.operator_session(&old).await
                && let Err(e) = s.app.operator_logout(&op, &old).await
            {
                return PageError::internal(lang, "/admin/login", e).into_response();
            }
            let mut r = Redirect::to(&console_next(f.next.as_deref())).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&console_cookie(&s, &token)).expect("hex token"),
            );
            r
        }
        Ok(OperatorLogin::Refused) => {
            s.throttle.charge(Purpose::FailedLogin, &address, now);
            login_page(lang, f.username, true, None, f.next.as_deref())
        }
        Err(e) => PageError::internal(lang, "/admin/login", e).into_response(),
    }
}

pub async fn logout(State(s): State<AppState>, lang: UiLang, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, CONSOLE_COOKIE)
        && let Ok(Some(op)) = s.app.operator_session(&token).await
        && let Err(e) = s.app.operator_logout(&op, &token).await
    {
        return PageError::internal(lang, "/admin/logout", e).into_response();
    }
    let mut r = Redirect::to("/admin/login").into_response();
    let cleared = clear(&s, CONSOLE_COOKIE).replace("Path=/", "Path=/admin");
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The page an invited operator opens from their email to choose a password.
pub async fn welcome_form(
    State(s): State<AppState>,
    lang: UiLang,
    Path(token): Path<String>,
) -> Response {
    welcome_page(&s, lang, &token, None).await
}

async fn welcome_page(
    s: &AppState,
    lang: UiLang,
    token: &str,
    problems: Option<&hod_app::fields::FieldProblems>,
) -> Response {
    let t = Tr(lang);
    let path = "/admin/welcome";
    let username = match s.app.operator_link(token).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return crate::agent::notice(
                lang,
                path,
                &t.get("console-welcome-gone-title"),
                &t.get("console-welcome-gone-text"),
                StatusCode::GONE,
            );
        }
        Err(e) => return PageError::internal(lang, path, e).into_response(),
    };
    let errors = problems.map_or_else(Vec::new, |p| {
        p.iter()
            .map(|(field, p)| (*field, crate::register::problem_text(t, p)))
            .collect()
    });
    let page = views::WelcomePage {
        t,
        page: PageMeta::new(path),
        intro: t.get_with("console-welcome-text", &[("username", username.clone())]),
        username,
        token: token.to_owned(),
        errors,
    };
    let mut r = render(&page, lang, path);
    if !page.errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

#[derive(Debug, serde::Deserialize)]
pub struct WelcomeForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn welcome(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Path(token): Path<String>,
    Form(f): Form<WelcomeForm>,
) -> Response {
    match s
        .app
        .operator_set_password(&token, &f.password, &f.confirm_password, peer.client())
        .await
    {
        Ok(()) => Redirect::to("/admin/login").into_response(),
        Err(ProfileError::Fields(problems)) => {
            welcome_page(&s, lang, &token, Some(&problems)).await
        }
        Err(ProfileError::App(hod_app::AppError::NotFound(_))) => {
            welcome_page(&s, lang, &token, None).await
        }
        Err(ProfileError::App(e)) => PageError::internal(lang, "/admin/welcome", e).into_response(),
    }
}

/// A state's name in the reader's language (the code when unknown).
pub(crate) fn state_name(lang: UiLang, code: &str) -> String {
    match hod_domain::UsState::parse(code) {
        Ok(s) => match lang {
            UiLang::En => s.info().name.to_owned(),
            UiLang::Es => s.info().name_es.to_owned(),
        },
        Err(_) => code.to_owned(),
    }
}

/// A language's name in the reader's language, with its own name beside it.
pub(crate) fn language_name(lang: UiLang, code: &str) -> String {
    hod_domain::Lang::parse(code)
        .map_or_else(|_| code.to_owned(), |l| l.info().label(lang == UiLang::Es))
}

/// An instant as the console writes it: in the program's time zone, in the reader's words.
pub(crate) fn when(s: &AppState, lang: UiLang, at: jiff::Timestamp) -> String {
    crate::i18n::long_instant(lang, at, &s.app.settings.program_time_zone)
}

/// Every state, by name in the reader's collation: (code, name).
pub(crate) fn state_choices(lang: UiLang) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = hod_domain::geo::states()
        .iter()
        .map(|s| (s.code.to_owned(), state_name(lang, s.code)))
        .collect();
    all.sort_by_cached_key(|(_, n)| crate::i18n::collation_key(lang, n));
    all
}

/// Every language, by name in the reader's collation: (code, name).
pub(crate) fn language_choices(lang: UiLang) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = hod_domain::lang::languages()
        .iter()
        .map(|l| (l.code.to_owned(), l.label(lang == UiLang::Es)))
        .collect();
    all.sort_by_cached_key(|(_, n)| crate::i18n::collation_key(lang, n));
    all
}

/// The period a console filter names by its first and last day (either may be empty): the
/// instants it runs between, or what to tell the operator about a day that is not a date.
pub(crate) fn period_of(
    s: &AppState,
    t: Tr,
    from: &str,
    until: &str,
) -> Result<(Option<jiff::Timestamp>, Option<jiff::Timestamp>), String> {
    let bad = |field: &str, value: String| {
        t.get_with(
            "console-bad-date",
            &[("field", t.get(field)), ("value", value)],
        )
    };
    let from = day_start(s, from, false).map_err(|v| bad("console-from", v))?;
    let until = day_start(s, until, true).map_err(|v| bad("console-until", v))?;
    Ok((from, until))
}

/// A day typed in a console filter (YYYY-MM-DD, the program's time zone) as the instant it
/// starts — or, for the last day of a period (`through`), the instant after it ends. Empty:
/// `None`; not a date: what was typed, for the error.
fn day_start(s: &AppState, raw: &str, through: bool) -> Result<Option<jiff::Timestamp>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let day: jiff::civil::Date = raw.parse().map_err(|_| raw.to_owned())?;
    let day = if through {
        day.tomorrow().map_err(|_| raw.to_owned())?
    } else {
        day
    };
    day.to_zoned(s.app.settings.program_time_zone.clone())
        .map(|z| Some(z.timestamp()))
        .map_err(|_| raw.to_owned())
}
