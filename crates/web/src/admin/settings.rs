//! `/admin/settings` (administrators): the routing policy and the intake calendar (a change
//! applies to the next routing round), plan years, the HealthCare.gov state table, the
//! Terms of Use and the consumer consent text.
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::{Administrator, meta, views};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};

/// The form field of a setting: its key with `.` made `-` (ids and names stay simple).
fn field(key: &str) -> String {
    key.replace('.', "-")
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    q: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let saved = q.ok().and_then(|q| q.0.done).is_some();
    let values = s
        .app
        .program_setting_values()
        .await
        .or_page(lang, "/admin/settings")?;
    let values = values.into_iter().map(|(k, v)| (k, field(k), v)).collect();
    settings_page(&s, lang, &op, values, Vec::new(), saved).await
}

async fn settings_page(
    s: &AppState,
    lang: UiLang,
    op: &hod_app::operators::OperatorSession,
    settings: Vec<(&'static str, String, String)>,
    errors: Vec<(String, String)>,
    saved: bool,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let path = "/admin/settings";
    let years = s.app.plan_years().await.or_page(lang, path)?;
    let states = s.app.state_periods().await.or_page(lang, path)?;
    let terms = s.app.current_terms().await.or_page(lang, path)?;
    let page = views::SettingsPage {
        t,
        page: meta(op, path),
        settings,
        flash: saved.then(|| t.get("console-done-saved")),
        errors,
        plan_years: years
            .iter()
            .rev()
            .map(|py| (py.year, py.starts_on.to_string(), py.ends_on.to_string()))
            .collect(),
        states: states
            .iter()
            .map(|p| {
                (
                    super::state_name(lang, p.state.code()),
                    t.get(&format!("console-marketplace-{}", p.marketplace.as_str())),
                    p.effective_from.to_string(),
                    p.effective_to.map(|d| d.to_string()).unwrap_or_default(),
                )
            })
            .collect(),
        terms: terms
            .iter()
            .map(|d| {
                let title = match lang {
                    UiLang::En => d.title_en.clone(),
                    UiLang::Es => d.title_es.clone(),
                };
                let published = jiff::Timestamp::from_millisecond(d.published_at)
                    .map(|at| super::when(s, lang, at))
                    .unwrap_or_default();
                (title, d.version.clone(), published)
            })
            .collect(),
        state_choices: super::state_choices(lang),
        consent_version: hod_app::referrals::CONSENT_VERSION.to_owned(),
        consent_text: t.get("consent-text"),
    };
    let mut r = render(&page, lang, path);
    if !page.errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// Saves every setting that changed, one by one, each checked with the others; what was
/// typed stays on the page when one is refused.
pub async fn save(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let current = match s.app.program_setting_values().await {
        Ok(v) => v,
        Err(e) => return Err(PageError::internal(lang, "/admin/settings", e)),
    };
    let mut shown = Vec::new();
    let mut errors = Vec::new();
    for (key, now) in current {
        let id = field(key);
        let typed = form
            .iter()
            .find(|(k, _)| *k == id)
            .map_or(now.clone(), |(_, v)| v.trim().to_owned());
        if typed != now
            && let Err(e) = s.app.set_program_setting(key, &typed, op.actor()).await
        {
            match e {
                hod_app::AppError::Invalid(_) => {
                    errors.push((id.clone(), t.get(&format!("setting-{id}-invalid"))));
                }
                e => return Err(PageError::internal(lang, "/admin/settings", e)),
            }
        }
        shown.push((key, id, typed));
    }
    if errors.is_empty() {
        Ok(Redirect::to("/admin/settings?done=saved").into_response())
    } else {
        settings_page(&s, lang, &op, shown, errors, false).await
    }
}

/// A refusal of one of the set-up forms: the page again, the problem named at its field.
async fn refused(
    s: &AppState,
    lang: UiLang,
    op: &hod_app::operators::OperatorSession,
    at: &str,
    e: hod_app::AppError,
) -> Result<Response, PageError> {
    let hod_app::AppError::Refused { id, .. } = e else {
        return Err(PageError::internal(lang, "/admin/settings", e));
    };
    let values = s
        .app
        .program_setting_values()
        .await
        .or_page(lang, "/admin/settings")?;
    let values = values.into_iter().map(|(k, v)| (k, field(k), v)).collect();
    let why = Tr(lang).get(&format!("refused-{id}"));
    settings_page(s, lang, op, values, vec![(at.to_owned(), why)], false).await
}

#[derive(Debug, serde::Deserialize)]
pub struct PlanYearForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

pub async fn plan_year(
    State(s): State<AppState>,
    lang: UiLang,
    peer: crate::peer::Peer,
    Administrator(op): Administrator,
    Form(f): Form<PlanYearForm>,
) -> Result<Response, PageError> {
    match s
        .app
        .put_plan_year(&op, &f.year, &f.starts_on, &f.ends_on, peer.client())
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/settings?done=saved#plan-years-heading").into_response()),
        Err(e) => refused(&s, lang, &op, "plan-year", e).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct TermsForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    title_es: String,
    #[serde(default)]
    body_en: String,
    #[serde(default)]
    body_es: String,
}

pub async fn terms(
    State(s): State<AppState>,
    lang: UiLang,
    peer: crate::peer::Peer,
    Administrator(op): Administrator,
    Form(f): Form<TermsForm>,
) -> Result<Response, PageError> {
    let published = s
        .app
        .publish_terms(
            &op,
            &f.kind,
            &f.version,
            (&f.title_en, &f.title_es),
            (&f.body_en, &f.body_es),
            peer.client(),
        )
        .await;
    match published {
        Ok(()) => Ok(Redirect::to("/admin/settings?done=saved#terms-heading").into_response()),
        Err(e) => refused(&s, lang, &op, "terms-version", e).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    from: String,
}

pub async fn state(
    State(s): State<AppState>,
    lang: UiLang,
    peer: crate::peer::Peer,
    Administrator(op): Administrator,
    Form(f): Form<StateForm>,
) -> Result<Response, PageError> {
    match s
        .app
        .set_state_platform(&op, &f.state, &f.platform, &f.from, peer.client())
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/settings?done=saved#states-heading").into_response()),
        Err(e) => refused(&s, lang, &op, "state-change", e).await,
    }
}
