//! `/admin/outbox`: the messages the system stored or sent, newest first; failures (the dead
//! letter) with the provider's last answer, and a retry for administrators. Recipients are
//! shown only in part: they are consumers' and agents' contact details.
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::system::DeliveryStatus;

use super::{Administrator, Operator, meta, views, when};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;

#[derive(Debug, Default, serde::Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    status: String,
    done: Option<String>,
}

/// Enough of an address or number to tell messages apart, not enough to contact anyone.
pub(crate) fn partly(recipient: &str) -> String {
    if let Some((local, domain)) = recipient.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}…@{domain}");
    }
    if recipient.starts_with("https://") || recipient.starts_with("http://") {
        return url::Url::parse(recipient)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
    }
    let digits: String = recipient.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(4)..];
    format!("…{tail}")
}

pub async fn page(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    q: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/outbox";
    let t = Tr(lang);
    let q = q.map(|q| q.0).unwrap_or_default();
    let status = DeliveryStatus::ALL
        .into_iter()
        .find(|st| st.as_str() == q.status);
    let messages = s
        .app
        .newest_messages(status, 200)
        .await
        .or_page(lang, path)?;
    let stats = s.app.outbox_stats().await.or_page(lang, path)?;
    let page = views::OutboxPage {
        t,
        page: meta(&op, path),
        status: status.map(|st| st.as_str().to_owned()).unwrap_or_default(),
        counts: stats
            .by_status
            .iter()
            .map(|(st, n)| (st.as_str().to_owned(), *n))
            .collect(),
        recipients: messages.iter().map(|m| partly(&m.recipient)).collect(),
        times: messages
            .iter()
            .map(|m| when(&s, lang, m.created_at))
            .collect(),
        attempts: messages
            .iter()
            .map(|m| t.get_n("console-attempts", "count", m.attempts, &[]))
            .collect(),
        messages,
        is_admin: op.is_admin(),
        flash: q
            .done
            .filter(|d| d == "retried")
            .map(|_| t.get("console-done-retried")),
    };
    Ok(render(&page, lang, path))
}

pub async fn retry(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
) -> Response {
    match s.app.retry_message(&op, id, peer.client()).await {
        Ok(_) => Redirect::to("/admin/outbox?status=failed&done=retried").into_response(),
        Err(e) => PageError::internal(lang, "/admin/outbox", e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recipients_are_shown_in_part() {
        assert_eq!(super::partly("jane.doe@example.org"), "j…@example.org");
        assert_eq!(super::partly("+17135550101"), "…0101");
        assert_eq!(super::partly("https://push.example/abc"), "push.example");
    }
}
