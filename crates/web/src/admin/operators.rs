//! `/admin/operators`: administrators invite operators, change their role, disable, enable
//! and unlock them.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::fields::FieldProblem;
use hod_app::operators::{OperatorChange, OperatorSession, Role};
use hod_domain::Username;

use super::{Administrator, meta, views};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn operators_page(
    s: &AppState,
    lang: UiLang,
    op: &OperatorSession,
    form: InviteForm,
    errors: Vec<(&'static str, String)>,
    done: Option<String>,
) -> Result<Response, PageError> {
    let path = "/admin/operators";
    let t = Tr(lang);
    let operators = s.app.operators(op).await.or_page(lang, path)?;
    let page = views::OperatorsPage {
        t,
        page: meta(op, path),
        me: op.id,
        operators,
        username: form.username,
        email: form.email,
        role: form.role,
        flash: done.map(|d| {
            t.get(&format!(
                "console-done-{}",
                d.replace(|c: char| !c.is_ascii_alphabetic() && c != '_', "")
            ))
        }),
        errors,
    };
    let mut r = render(&page, lang, path);
    if !page.errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    q: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let done = q.ok().and_then(|q| q.0.done);
    operators_page(&s, lang, &op, InviteForm::default(), Vec::new(), done).await
}

pub async fn invite(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Form(f): Form<InviteForm>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let mut errors = Vec::new();
    let username = f.username.trim();
    if let Err(e) = Username::parse(username) {
        let problem = FieldProblem::from(e);
        errors.push(("username", t.get(&format!("problem-{}", problem.code()))));
    }
    let email_ok = f
        .email
        .trim()
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !email_ok {
        errors.push(("email", t.get("console-problem-email")));
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        errors.push(("role", t.get("console-problem-role")));
    }
    if let (true, Some(role)) = (errors.is_empty(), role) {
        match s
            .app
            .invite_operator(&op, username, f.email.trim(), role, lang, peer.client())
            .await
        {
            Ok(_) => return Ok(Redirect::to("/admin/operators?done=invited").into_response()),
            Err(AppError::Conflict(_)) => {
                errors.push(("username", t.get("console-problem-username-taken")));
            }
            Err(e) => return Err(PageError::internal(lang, "/admin/operators", e)),
        }
    }
    operators_page(&s, lang, &op, f, errors, None).await
}

#[derive(Debug, serde::Deserialize)]
pub struct ChangeForm {
    change: String,
}

pub async fn change(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
    Form(f): Form<ChangeForm>,
) -> Result<Response, PageError> {
    let change = match f.change.as_str() {
        "admin" => OperatorChange::Role(Role::Admin),
        "help_desk" => OperatorChange::Role(Role::HelpDesk),
        "disable" => OperatorChange::Disable,
        "enable" => OperatorChange::Enable,
        "unlock" => OperatorChange::Unlock,
        "password" => OperatorChange::PasswordLink,
        _ => {
            return Err(PageError::NotFound {
                lang,
                path: format!("/admin/operators/{id}"),
            });
        }
    };
    match s.app.change_operator(&op, id, change, peer.client()).await {
        Ok(()) => Ok(
            Redirect::to(&format!("/admin/operators?done=changed#operator-{id}")).into_response(),
        ),
        Err(AppError::Refused { id: rule, .. }) => {
            let t = Tr(lang);
            operators_page(
                &s,
                lang,
                &op,
                InviteForm::default(),
                vec![("change", t.get(&format!("refused-{rule}")))],
                None,
            )
            .await
        }
        Err(e) => Err(PageError::internal(lang, "/admin/operators", e)),
    }
}
