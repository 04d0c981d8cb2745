//! `/admin/audit`: the audit log, filtered by actor, action, subject and period; newest first.
use axum::extract::{Query, State};
use axum::response::Response;
use hod_app::audit_log::AuditFilter;

use super::{Operator, meta, views, when};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};

const PAGE: i64 = 100;

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    /// YYYY-MM-DD, first day included (program time zone).
    #[serde(default)]
    from: String,
    /// YYYY-MM-DD, last day included.
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: Option<i64>,
}

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/audit";
    let t = Tr(lang);
    let q = q.map(|q| q.0).unwrap_or_default();
    let (from, until, error) = match super::period_of(&s, t, &q.from, &q.until) {
        Ok((f, u)) => (f, u, None),
        Err(e) => (None, None, Some(e)),
    };
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        actor: opt(&q.actor),
        action: opt(&q.action),
        subject: opt(&q.subject),
        from,
        until,
        before_id: q.before,
    };
    let entries = if error.is_some() {
        Vec::new()
    } else {
        s.app
            .audit_entries(&filter, PAGE + 1)
            .await
            .or_page(lang, path)?
    };
    let more = entries.len() > usize::try_from(PAGE).unwrap_or(100);
    let entries: Vec<_> = entries
        .into_iter()
        .take(usize::try_from(PAGE).unwrap_or(100))
        .collect();
    let next = more
        .then(|| entries.last().map(|e| e.id))
        .flatten()
        .map(|before| {
            let qs = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("actor", q.actor.as_str()),
                    ("action", &q.action),
                    ("subject", &q.subject),
                    ("from", &q.from),
                    ("until", &q.until),
                    ("before", &before.to_string()),
                ])
                .finish();
            format!("{path}?{qs}")
        });
    let page = views::AuditPage {
        t,
        page: meta(&op, path),
        times: entries.iter().map(|e| when(&s, lang, e.at)).collect(),
        entries,
        actor: q.actor,
        action: q.action,
        subject: q.subject,
        from: q.from,
        until: q.until,
        next,
        error,
    };
    let mut r = render(&page, lang, path);
    if page.error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}
