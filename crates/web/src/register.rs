//! Registration from an invitation link: the page, the form, the API (SPEC.md §3, §9).
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::fields::FieldProblem;
use hod_app::invitations::InvitationStatus;
use hod_app::registration::{RegisterError, RegistrationForm};
use hod_domain::ContactMethod;
use hod_domain::password::Rule;

use crate::AppState;
use crate::api::ApiJson;
use crate::error::{ApiError, PageError, render};
use crate::i18n::{self, Tr, UiLang};
use crate::views::{InvitationPage, MethodOption, PageMeta, RegisterPage, RegisteredPage};

/// The form's fields in page order (for the error summary).
const FIELD_ORDER: [&str; 7] = [
    "phone",
    "contact_method",
    "zip",
    "username",
    "password",
    "confirm_password",
    "accept_terms",
];

/// A link that does not work: why, and what to do (410, or 404 for an unknown link).
fn closed_link(lang: UiLang, path: &str, status: &InvitationStatus) -> Response {
    let t = Tr(lang);
    let (key, code, action) = match status {
        InvitationStatus::Expired => ("expired", StatusCode::GONE, None),
        InvitationStatus::Used => (
            "used",
            StatusCode::GONE,
            Some(("/agent/login".to_owned(), t.get("nav-agent-login"))),
        ),
        InvitationStatus::Replaced => ("replaced", StatusCode::GONE, None),
        InvitationStatus::Unknown | InvitationStatus::Open { .. } => {
            ("unknown", StatusCode::NOT_FOUND, None)
        }
    };
    let page = InvitationPage {
        t,
        page: PageMeta::new(path),
        title: t.get(&format!("invitation-{key}-title")),
        text: t.get(&format!("invitation-{key}-text")),
        action,
    };
    let mut r = render(&page, lang, path);
    if r.status() == StatusCode::OK {
        *r.status_mut() = code;
    }
    r
}

pub(crate) fn problem_text(t: Tr, problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Password(rules) if rules.iter().all(|r| *r == Rule::NotCommon) => {
            t.get("problem-password-common")
        }
        // The checklist is blank again (the field is empty): the message names what failed.
        FieldProblem::Password(rules) => {
            let failed: Vec<String> = rules
                .iter()
                .map(|r| t.get(&format!("rule-{}", r.id())))
                .collect();
            t.get_with("problem-password-failed", &[("rules", failed.join("; "))])
        }
        other => t.get(&format!("problem-{}", other.code())),
    }
}

/// The page with what the agent typed (never the passwords) and the problems found.
fn form_page(
    s: &AppState,
    lang: UiLang,
    token: &str,
    status: &InvitationStatus,
    form: &RegistrationForm,
    problems: &hod_app::fields::FieldProblems,
) -> Response {
    let t = Tr(lang);
    let path = format!("/register/{token}");
    let InvitationStatus::Open {
        first_name,
        last_name,
        email,
        expires_at,
        ..
    } = status
    else {
        return closed_link(lang, &path, status);
    };
    let when = i18n::long_instant(lang, *expires_at, &s.app.settings.program_time_zone);
    let checklist = crate::views::password_checklist(t);
    let errors = FIELD_ORDER
        .iter()
        .filter_map(|f| problems.get(f).map(|p| (*f, problem_text(t, p))))
        .collect();
    let contact_method = if form.contact_method.is_empty() {
        ContactMethod::EmailTextApp.id().to_owned()
    } else {
        form.contact_method.clone()
    };
    let methods = ContactMethod::ALL
        .iter()
        .map(|m| MethodOption {
            id: m.id(),
            label: t.get(&format!("contact-{}", m.id())),
            checked: m.id() == contact_method,
        })
        .collect();
    let page = RegisterPage {
        t,
        page: PageMeta::new(&path),
        token: token.to_owned(),
        expires: t.get_with("invitation-open-expires", &[("when", when)]),
        first_name: first_name.clone(),
        last_name: last_name.clone(),
        email: email.clone(),
        phone: form.phone.clone(),
        zip: form.zip.clone(),
        username: if form.username.is_empty() && problems.is_empty() {
            email.clone()
        } else {
            form.username.clone()
        },
        accept_terms: form.accept_terms,
        methods,
        checklist,
        errors,
    };
    let mut r = render(&page, lang, &path);
    if !problems.is_empty() && r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// `GET /register/{token}`: the registration form while the link works.
pub async fn page(State(s): State<AppState>, lang: UiLang, Path(token): Path<String>) -> Response {
    match s.app.invitation(&token).await {
        Ok(status) => form_page(
            &s,
            lang,
            &token,
            &status,
            &RegistrationForm::default(),
            &Default::default(),
        ),
        Err(e) => PageError::internal(lang, format!("/register/{token}"), e).into_response(),
    }
}

/// The form as browsers send it: the checkbox is present only when ticked.
#[derive(Debug, serde::Deserialize)]
pub struct SubmittedForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    contact_method: String,
    #[serde(default)]
    zip: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
    accept_terms: Option<String>,
}

/// `POST /register/{token}`: Sign Up.
pub async fn submit(
    State(s): State<AppState>,
    lang: UiLang,
    Path(token): Path<String>,
    Form(f): Form<SubmittedForm>,
) -> Response {
    let form = RegistrationForm {
        token: token.clone(),
        phone: f.phone,
        contact_method: f.contact_method,
        zip: f.zip,
        username: f.username,
        password: f.password,
        confirm_password: f.confirm_password,
        accept_terms: f.accept_terms.is_some(),
    };
    let path = format!("/register/{token}");
    match s.app.register(&form, lang).await {
        Ok(done) => {
            let to = if done.code_sent_to.is_some() {
                "/registered?text=1"
            } else {
                "/registered"
            };
            Redirect::to(to).into_response()
        }
        Err(RegisterError::Link(status)) => closed_link(lang, &path, &status),
        Err(RegisterError::Fields(problems)) => match s.app.invitation(&token).await {
            Ok(status) => form_page(&s, lang, &token, &status, &form, &problems),
            Err(e) => PageError::internal(lang, path, e).into_response(),
        },
        Err(RegisterError::App(e)) => PageError::internal(lang, path, e).into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    text: Option<String>,
}

/// `GET /registered`: "Your registration is almost complete!".
pub async fn done(lang: UiLang, Query(q): Query<DoneQuery>) -> Response {
    let page = RegisteredPage {
        t: Tr(lang),
        page: PageMeta::new("/registered"),
        texted: q.text.is_some(),
    };
    render(&page, lang, "/registered")
}

/// `POST /api/v1/registrations`: the same registration for the app and partners.
pub async fn api(
    State(s): State<AppState>,
    lang: UiLang,
    ApiJson(form): ApiJson<RegistrationForm>,
) -> Response {
    match s.app.register(&form, lang).await {
        Ok(done) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "agent_id": done.agent_id,
                "username": done.username,
                "status": "registered",
                "phone_code_sent": done.code_sent_to.is_some(),
            })),
        )
            .into_response(),
        Err(RegisterError::Link(status)) => {
            let (code, message) = match status {
                InvitationStatus::Expired => (
                    "invitation_expired",
                    "the invitation link has expired; ask the help desk for a new one",
                ),
                InvitationStatus::Used => (
                    "invitation_used",
                    "the invitation link has already been used; log in instead",
                ),
                InvitationStatus::Replaced => (
                    "invitation_replaced",
                    "a newer invitation link was sent; use that one",
                ),
                _ => ("invitation_unknown", "the invitation token is not valid"),
            };
            let status = if code == "invitation_unknown" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::GONE
            };
            ApiError::new(status, code, message).into_response()
        }
        Err(RegisterError::Fields(problems)) => ApiError::invalid_fields(&problems).into_response(),
        Err(RegisterError::App(e)) => ApiError::internal(e).into_response(),
    }
}
