//! The consumer's pages: asking for help at `/get-help` (English and Spanish, phones first)
//! and following the request at its signed link, updated live.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::referrals::{
    CALL_CENTER, CONSENT_VERSION, Origin, PublicStatus, RequestForm, SubmitError,
};
use hod_domain::referral::{ContactBy, HelpReason, Status};

use crate::AppState;
use crate::error::{PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::profile::{field, pairs};
use crate::register::problem_text;
use crate::throttle::{Key, Purpose};
use crate::views::{GetHelpPage, Opt, PageMeta, RequestStatusPage};

use crate::referrals::{language_label, live, reason_label, with_status};

/// The request form's fields in page order, for the error summary.
const FIELD_ORDER: [&str; 10] = [
    "zip",
    "language",
    "first_name",
    "last_name",
    "phone",
    "email",
    "contact_by",
    "best_time",
    "reason",
    "consent",
];

fn help_page(lang: UiLang, form: &RequestForm, errors: Vec<(&'static str, String)>) -> GetHelpPage {
    let t = Tr(lang);
    let chosen_lang = if form.language.is_empty() {
        lang.code()
    } else {
        form.language.as_str()
    };
    let mut langs: Vec<(&str, String)> = hod_domain::lang::languages()
        .iter()
        .map(|l| (l.code, language_label(lang, l.code)))
        .collect();
    // English and Spanish first, the rest by name as the reader writes and sorts it.
    langs.sort_by_cached_key(|(code, label)| {
        (
            !matches!(*code, "en" | "es"),
            *code != "en",
            crate::i18n::collation_key(lang, label),
        )
    });
    GetHelpPage {
        t,
        page: PageMeta::new("/get-help"),
        closed: None,
        show_form: true,
        consent_version: CONSENT_VERSION,
        zip: form.zip.clone(),
        languages: langs
            .into_iter()
            .map(|(code, label)| Opt {
                id: code.to_owned(),
                label,
                checked: code == chosen_lang,
            })
            .collect(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        contact_by: ContactBy::ALL
            .iter()
            .map(|c| Opt {
                id: c.id().into(),
                label: t.get(&format!("contact-by-{}", c.id())),
                checked: form.contact_by == c.id()
                    || (form.contact_by.is_empty() && *c == ContactBy::Call),
            })
            .collect(),
        best_time: form.best_time.clone(),
        reasons: HelpReason::ALL
            .iter()
            .map(|r| Opt {
                id: r.id().into(),
                label: reason_label(t, r.id()),
                checked: form.reason == r.id(),
            })
            .collect(),
        consent: form.consent,
        errors,
        wait: None,
    }
}

/// What consumers read while intake is closed: the administrators' message when they wrote
/// one for the reader's language, else the standard words.
async fn closed_notice(s: &AppState, t: Tr) -> crate::views::Notice {
    let written = s.app.program_settings().await.ok().map(|p| match t.lang() {
        UiLang::En => p.closed_message.0,
        UiLang::Es => p.closed_message.1,
    });
    (
        t.get("intake-closed-title"),
        written
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| t.get("intake-closed-text")),
        None,
    )
}

/// `GET /get-help`.
pub async fn get_help(State(s): State<AppState>, lang: UiLang) -> Response {
    let mut page = help_page(lang, &RequestForm::default(), Vec::new());
    match s.app.intake_open().await {
        Ok(true) => {}
        Ok(false) => {
            page.closed = Some(closed_notice(&s, Tr(lang)).await);
            page.show_form = false;
        }
        Err(e) => return PageError::internal(lang, "/get-help", e).into_response(),
    }
    render(&page, lang, "/get-help")
}

/// `POST /get-help`: the request is stored and routed; the consumer goes to the status page.
pub async fn post_help(
    State(s): State<AppState>,
    peer: Peer,
    lang: UiLang,
    body: Bytes,
) -> Response {
    let f = pairs(&body);
    let form = RequestForm {
        zip: field(&f, "zip").into(),
        language: field(&f, "language").into(),
        first_name: field(&f, "first_name").into(),
        last_name: field(&f, "last_name").into(),
        phone: field(&f, "phone").into(),
        email: field(&f, "email").into(),
        contact_by: field(&f, "contact_by").into(),
        best_time: field(&f, "best_time").into(),
        reason: field(&f, "reason").into(),
        consent: field(&f, "consent") == "true",
        consent_version: field(&f, "consent_version").into(),
    };
    let origin = Origin {
        ip: Some(peer.ip_text()),
        user_agent: peer.user_agent(),
        ui_lang: lang.code(),
        partner: None,
    };
    let t = Tr(lang);
    // A public form that makes agents' phones ring, limited per address — generously: many
    // people may share one, and the same person asking again is caught by the person key.
    let address = [Key::address(peer.ip)];
    if let Err(wait) = s.throttle.take(Purpose::HelpRequest, &address, s.app.now()) {
        let mut page = help_page(lang, &form, Vec::new());
        page.wait = Some(crate::throttle::wait_text(t, wait));
        return crate::throttle::over_budget(render(&page, lang, "/get-help"), wait);
    }
    match s.app.submit_request(&form, origin).await {
        Ok(done) => Redirect::to(&format!("/requests/{}", done.status_token)).into_response(),
        Err(SubmitError::Fields(problems)) => {
            let errors = FIELD_ORDER
                .iter()
                .filter_map(|f| problems.get(f).map(|p| (*f, problem_text(t, p))))
                .collect();
            with_status(
                render(&help_page(lang, &form, errors), lang, "/get-help"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(SubmitError::OtherMarketplace { state, marketplace }) => {
            let mut page = help_page(lang, &form, Vec::new());
            let name = match lang {
                UiLang::En => state.info().name,
                UiLang::Es => state.info().name_es,
            };
            page.closed = Some(match marketplace {
                Some((market, url)) => (
                    t.get_with("elsewhere-title", &[("state", name.to_owned())]),
                    t.get_with(
                        "elsewhere-text",
                        &[
                            ("state", name.to_owned()),
                            ("marketplace", market.to_owned()),
                        ],
                    ),
                    Some((
                        url.to_owned(),
                        t.get_with("elsewhere-go", &[("marketplace", market.to_owned())]),
                    )),
                ),
                // The territories have no Marketplace at all.
                None if state.is_territory() => (
                    t.get_with("territory-title", &[("state", name.to_owned())]),
                    t.get_with("territory-text", &[("state", name.to_owned())]),
                    None,
                ),
                None => (
                    t.get_with("elsewhere-title", &[("state", name.to_owned())]),
                    t.get("elsewhere-none"),
                    Some((
                        "https://www.healthcare.gov/marketplace-in-your-state/".to_owned(),
                        t.get("elsewhere-find"),
                    )),
                ),
            });
            with_status(
                render(&page, lang, "/get-help"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(SubmitError::IntakeClosed) => {
            let mut page = help_page(lang, &form, Vec::new());
            page.closed = Some(closed_notice(&s, t).await);
            page.show_form = false;
            with_status(
                render(&page, lang, "/get-help"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        Err(SubmitError::AlreadyRequested) => {
            let mut page = help_page(lang, &RequestForm::default(), Vec::new());
            page.closed = Some((
                t.get("request-exists-title"),
                t.get("request-exists-text"),
                None,
            ));
            page.show_form = false;
            render(&page, lang, "/get-help")
        }
        // Only partners send Idempotency-Keys.
        Err(e @ SubmitError::IdempotencyKeyReused) => {
            PageError::internal(lang, "/get-help", e).into_response()
        }
        Err(SubmitError::App(e)) => PageError::internal(lang, "/get-help", e).into_response(),
    }
}

fn status_words(t: Tr, p: &PublicStatus) -> (String, String) {
    match p.status {
        Status::Searching | Status::Offered => (
            t.get("status-searching-title"),
            t.get("status-searching-text"),
        ),
        Status::Unserved | Status::Cancelled => (
            t.get("status-unserved-title"),
            t.get_with("status-unserved-text", &[("phone", CALL_CENTER.to_owned())]),
        ),
        _ => (
            t.get("status-accepted-title"),
            t.get_with(
                "status-accepted-text",
                &[("agent", p.agent.clone().unwrap_or_default())],
            ),
        ),
    }
}

/// What the consumer's page shows, as one word (the status that starts the phase): the
/// page reloads when it changes.
fn consumer_phase(p: &PublicStatus) -> &'static str {
    match p.status {
        Status::Searching | Status::Offered => Status::Searching,
        Status::Unserved | Status::Cancelled => Status::Unserved,
        _ => Status::Accepted,
    }
    .id()
}

/// `GET /requests/{token}`.
pub async fn request_status(
    State(s): State<AppState>,
    lang: UiLang,
    Path(token): Path<String>,
) -> Response {
    let path = format!("/requests/{token}");
    match s.app.status_by_token(&token).await {
        Ok(Some(p)) => {
            let (heading, text) = status_words(Tr(lang), &p);
            let page = RequestStatusPage {
                t: Tr(lang),
                page: PageMeta::new(&path),
                status: consumer_phase(&p),
                heading,
                text,
                events_url: format!("{path}/events"),
            };
            render(&page, lang, &path)
        }
        Ok(None) => PageError::NotFound { lang, path }.into_response(),
        Err(e) => PageError::internal(lang, path, e).into_response(),
    }
}

/// `GET /requests/{token}/events`: the status as it changes.
pub async fn request_events(
    State(s): State<AppState>,
    lang: UiLang,
    Path(token): Path<String>,
) -> Response {
    match s.app.status_by_token(&token).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return PageError::NotFound {
                lang,
                path: format!("/requests/{token}/events"),
            }
            .into_response();
        }
        Err(e) => return PageError::internal(lang, "/requests", e).into_response(),
    }
    let app = s.app.clone();
    live(&s, move || {
        let (app, token) = (app.clone(), token.clone());
        async move {
            app.status_by_token(&token)
                .await
                .ok()
                .flatten()
                .map(|p| consumer_phase(&p).to_owned())
        }
    })
    .into_response()
}
