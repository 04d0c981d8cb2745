//! `/admin`: today at a glance.
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{Operator, language_name, meta, state_name, views, when};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};

/// An import older than this is flagged: CMS sends the lists daily or weekly.
const STALE_HOURS: i64 = 8 * 24;

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
) -> Result<Response, PageError> {
    let path = "/admin";
    let t = Tr(lang);
    let pulse = s.app.glance_pulse().await.or_page(lang, path)?;
    let glance = s.app.glance().await.or_page(lang, path)?;
    let mut available: Vec<(String, String, usize)> = glance
        .available
        .iter()
        .map(|(st, l, n)| (state_name(lang, st), language_name(lang, l), *n))
        .collect();
    available.sort_by_cached_key(|(st, l, _)| {
        (
            crate::i18n::collation_key(lang, st),
            crate::i18n::collation_key(lang, l),
        )
    });
    let imports = glance
        .imports
        .iter()
        .map(|i| {
            let hours = i.age.as_hours();
            views::ImportLine {
                kind: t.get(&format!("import-kind-{}", i.kind)),
                file: i.file_name.clone(),
                at: when(&s, lang, i.at),
                ago: t.get_n("console-hours-ago", "hours", hours, &[]),
                rows: i.rows,
                applied: i.applied,
                rejected: i.rejected,
                stale: hours > STALE_HOURS,
            }
        })
        .collect();
    let count = |status: &str| -> i64 {
        glance
            .outbox
            .by_status
            .iter()
            .filter(|(st, _)| st.as_str() == status)
            .map(|(_, n)| *n)
            .sum()
    };
    let outbox_failed = count("failed");
    let page = views::GlancePage {
        t,
        pulse,
        page: meta(&op, path),
        available,
        imports,
        outbox_text: t.get_with(
            "console-glance-outbox-text",
            &[
                ("pending", count("pending").to_string()),
                ("failed", outbox_failed.to_string()),
            ],
        ),
        outbox_failed,
        glance,
    };
    Ok(render(&page, lang, path))
}

/// Today's page stays current: the stream says when its numbers change (the page reloads).
pub async fn events(
    State(s): State<AppState>,
    _: Operator,
    headers: axum::http::HeaderMap,
) -> Response {
    let app = s.app.clone();
    let token = crate::agent::cookie(&headers, super::CONSOLE_COOKIE).unwrap_or_default();
    crate::referrals::live(&s, move || {
        let (app, token) = (app.clone(), token.clone());
        async move {
            // Ends with the session.
            app.operator_session(&token).await.ok().flatten()?;
            app.glance_pulse().await.ok()
        }
    })
    .into_response()
}
