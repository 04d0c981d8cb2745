//! The operator's own account (`/admin/account`): passkeys to log in with, the password, and
//! the sessions open on other devices. Every operator has one, whatever their role.
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use hod_app::auth::Principal;
use hod_app::operators::OperatorSession;

use super::{CONSOLE_COOKIE, Operator, meta, views::AccountPage};
use crate::AppState;
use crate::agent::cookie;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::profile::{Outcome, feedback, outcome, with_status};

const PATH: &str = "/admin/account";

async fn account_page(
    s: &AppState,
    lang: UiLang,
    op: &OperatorSession,
    headers: &HeaderMap,
    result: Option<Outcome>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let who = Principal::Operator(op.id);
    let mine = cookie(headers, CONSOLE_COOKIE).unwrap_or_default();
    let sessions = s.app.sessions_of(who, &mine).await.or_page(lang, PATH)?;
    let passkeys = s.app.passkeys_of(who).await.or_page(lang, PATH)?;
    let (message, errors, status) = feedback(t, result.as_ref());
    let page = AccountPage {
        t,
        page: meta(op, PATH),
        username: op.username.clone(),
        sessions,
        passkeys: crate::passkeys::listed(s, t, passkeys),
        message,
        errors,
    };
    Ok(with_status(render(&page, lang, PATH), status))
}

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    account_page(&s, lang, &op, &headers, None).await
}

#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_password(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let token = cookie(&headers, CONSOLE_COOKIE).unwrap_or_default();
    let r = s
        .app
        .operator_change_password(
            &op,
            &f.current_password,
            &f.password,
            &f.confirm_password,
            &token,
            peer.client(),
        )
        .await;
    let done = outcome(Tr(lang), r, "security-password-changed", "/admin/account")?;
    account_page(&s, lang, &op, &headers, Some(done)).await
}

pub async fn end_other_sessions(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let token = cookie(&headers, CONSOLE_COOKIE).unwrap_or_default();
    let n = s
        .app
        .end_other_sessions(Principal::Operator(op.id), &token)
        .await
        .or_page(lang, PATH)?;
    let message = Tr(lang).get_with("security-ended", &[("count", n.to_string())]);
    account_page(&s, lang, &op, &headers, Some(Ok(message))).await
}
