//! Account recovery (SPEC.md §4): Forgot Username, Forgot Password and the reset link. Each
//! answers the same whatever was typed, so that nobody learns whether an account exists.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hod_app::auth::ResetError;

use crate::AppState;
use crate::agent::{SESSION_COOKIE, clear, notice};
use crate::error::{PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::throttle::{Key, Purpose};
use crate::views::{PageMeta, RecoverPage, ResetPage};

/// Forgot username / forgot password: the form, and the same answer whatever was typed.
fn recover_page(lang: UiLang, which: &'static str, sent: bool) -> Response {
    recover_form(lang, which, sent, String::new(), None)
}

fn recover_form(
    lang: UiLang,
    which: &'static str,
    sent: bool,
    value: String,
    wait: Option<crate::throttle::Wait>,
) -> Response {
    let t = Tr(lang);
    let path = format!("/agent/forgot-{which}");
    let page = RecoverPage {
        t,
        page: PageMeta::new(&path),
        which,
        sent,
        value,
        wait: wait.map(|w| crate::throttle::wait_text(t, w)),
    };
    let r = render(&page, lang, &path);
    match wait {
        Some(wait) => crate::throttle::over_budget(r, wait),
        None => r,
    }
}

/// Room for one more recovery message: from this address, and for what was typed.
fn recovery_allowed(s: &AppState, peer: &Peer, value: &str) -> Result<(), crate::throttle::Wait> {
    let now = s.app.now();
    let address = [Key::address(peer.ip)];
    let account = [Key::name(value)];
    s.throttle.check(Purpose::Recovery, &address, now)?;
    s.throttle.check(Purpose::RecoveryOf, &account, now)?;
    s.throttle.charge(Purpose::Recovery, &address, now);
    s.throttle.charge(Purpose::RecoveryOf, &account, now);
    Ok(())
}

pub async fn forgot_username_form(lang: UiLang) -> Response {
    recover_page(lang, "username", false)
}

pub async fn forgot_password_form(lang: UiLang) -> Response {
    recover_page(lang, "password", false)
}

#[derive(Debug, serde::Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
    value: String,
}

pub async fn forgot_username(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Form(f): Form<RecoverForm>,
) -> Response {
    if let Err(wait) = recovery_allowed(&s, &peer, &f.value) {
        return recover_form(lang, "username", false, f.value, Some(wait));
    }
    // Answered at once, whatever the address: how long the answer takes must not tell
    // whether an account uses it (SPEC.md §4).
    let app = s.app.clone();
    s.app.in_background("forgot username", async move {
        app.forgot_username(&f.value).await
    });
    recover_page(lang, "username", true)
}

pub async fn forgot_password(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Form(f): Form<RecoverForm>,
) -> Response {
    if let Err(wait) = recovery_allowed(&s, &peer, &f.value) {
        return recover_form(lang, "password", false, f.value, Some(wait));
    }
    // Answered at once, whatever the username: how long the answer takes must not tell
    // whether the account exists (SPEC.md §4).
    let app = s.app.clone();
    s.app.in_background("forgot password", async move {
        app.forgot_password(&f.value, peer.client()).await
    });
    recover_page(lang, "password", true)
}

fn reset_page(
    lang: UiLang,
    token: &str,
    owner: &hod_app::AgentRow,
    problems: &hod_app::fields::FieldProblems,
    wait: Option<crate::throttle::Wait>,
) -> Response {
    let t = Tr(lang);
    let path = format!("/agent/reset/{token}");
    let checklist = crate::views::password_checklist(t);
    let errors = ["password", "confirm_password"]
        .iter()
        .filter_map(|f| {
            problems
                .get(f)
                .map(|p| (*f, crate::register::problem_text(t, p)))
        })
        .collect();
    let page = ResetPage {
        t,
        page: PageMeta::new(&path),
        token: token.to_owned(),
        email: owner.email.clone(),
        first_name: owner.first_name.clone(),
        last_name: owner.last_name.clone(),
        username: owner.username.clone().unwrap_or_default(),
        checklist,
        errors,
        wait: wait.map(|w| crate::throttle::wait_text(t, w)),
    };
    let mut r = render(&page, lang, &path);
    if let Some(wait) = wait {
        return crate::throttle::over_budget(r, wait);
    }
    if !problems.is_empty() && r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn reset_closed(lang: UiLang, token: &str) -> Response {
    let t = Tr(lang);
    notice(
        lang,
        &format!("/agent/reset/{token}"),
        &t.get("reset-closed-title"),
        &t.get("reset-closed-text"),
        StatusCode::GONE,
    )
}

pub async fn reset_form(
    State(s): State<AppState>,
    lang: UiLang,
    Path(token): Path<String>,
) -> Response {
    match s.app.reset_link_owner(&token).await {
        Ok(Some(owner)) => reset_page(lang, &token, &owner, &Default::default(), None),
        Ok(None) => reset_closed(lang, &token),
        Err(e) => PageError::internal(lang, "/agent/reset", e).into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn reset(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    // A reset link is a secret in the agent's mailbox: what is limited is guessing at
    // links from one address, and trying passwords on one link.
    let keys = [Key::address(peer.ip), Key::name(&token)];
    let throttled = s.throttle.take(Purpose::Reset, &keys, s.app.now()).err();
    let owner = match s.app.reset_link_owner(&token).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return reset_closed(lang, &token),
        Err(e) => return PageError::internal(lang, "/agent/reset", e).into_response(),
    };
    if let Some(wait) = throttled {
        return reset_page(lang, &token, &owner, &Default::default(), Some(wait));
    }
    match s
        .app
        .reset_password(&token, &f.password, &f.confirm_password, peer.client())
        .await
    {
        Ok(()) => {
            let t = Tr(lang);
            let mut r = notice(
                lang,
                "/agent/reset",
                &t.get("reset-done-title"),
                &t.get("reset-done-text"),
                StatusCode::OK,
            );
            if let Ok(v) = HeaderValue::from_str(&clear(&s, SESSION_COOKIE)) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(ResetError::Link) => reset_closed(lang, &token),
        Err(ResetError::Fields(problems)) => reset_page(lang, &token, &owner, &problems, None),
        Err(ResetError::App(e)) => PageError::internal(lang, "/agent/reset", e).into_response(),
    }
}
