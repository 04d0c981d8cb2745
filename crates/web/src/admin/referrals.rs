//! `/admin/referrals`: search, the unserved queue with a re-route, and one referral's file —
//! decision logs, offers, messages and status changes; the consumer's contact details only to
//! an administrator who says why; reassignment.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::console::ReferralQuery;
use hod_app::operators::OperatorSession;

use super::{
    Administrator, Operator, language_choices, language_name, meta, state_choices, state_name,
    views, when,
};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;

/// Every status a referral can have, in the order of its life.
pub const STATUSES: [&str; 11] = [
    "searching",
    "offered",
    "accepted",
    "follow_up_completed",
    "quote_completed",
    "sold",
    "deferred",
    "delayed",
    "not_a_good_prospect",
    "unserved",
    "cancelled",
];

/// A status in the reader's words.
pub(crate) fn status_name(t: Tr, status: &str) -> String {
    t.get(&format!("status-{}", status.replace('_', "-")))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    npn: String,
}

pub async fn search(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/referrals";
    let t = Tr(lang);
    let q = q.map(|q| q.0).unwrap_or_default();
    let (from, until, error) = match super::period_of(&s, t, &q.from, &q.until) {
        Ok((f, u)) => (f, u, None),
        Err(e) => (None, None, Some(e)),
    };
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = ReferralQuery {
        from,
        until,
        state: opt(&q.state),
        language: opt(&q.language),
        status: opt(&q.status).filter(|st| STATUSES.contains(&st.as_str())),
        npn: opt(&q.npn),
    };
    let rows = if error.is_some() {
        Vec::new()
    } else {
        s.app
            .find_referrals(&query, 200)
            .await
            .or_page(lang, path)?
    };
    let unserved = s.app.unserved_queue(50).await.or_page(lang, path)?;
    let line = |r: &hod_app::referrals::ReferralRow| views::ReferralLine {
        id: r.id,
        status: status_name(t, &r.status.to_string()),
        place: format!("{}, {} {}", r.city, state_name(lang, &r.state), r.zip),
        language: language_name(lang, &r.language),
        created: when(&s, lang, r.created_at),
        why: r
            .unserved_reason
            .as_deref()
            .map(|w| t.get(&format!("unserved-{w}"))),
    };
    let page = views::ReferralsPage {
        t,
        page: meta(&op, path),
        is_admin: op.is_admin(),
        found: t.get_n(
            "console-referrals-found",
            "count",
            i64::try_from(rows.len()).unwrap_or(0),
            &[],
        ),
        rows: rows.iter().map(line).collect(),
        unserved: unserved.iter().map(line).collect(),
        states: state_choices(lang),
        languages: language_choices(lang),
        statuses: STATUSES
            .iter()
            .map(|st| ((*st).to_owned(), status_name(t, st)))
            .collect(),
        from: q.from,
        until: q.until,
        state: q.state,
        language: q.language,
        status: q.status,
        npn: q.npn,
        error,
    };
    let mut r = render(&page, lang, path);
    if page.error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn referral(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    referral_page(&s, lang, &op, id, None, None).await
}

async fn referral_page(
    s: &AppState,
    lang: UiLang,
    op: &OperatorSession,
    id: i64,
    contact: Option<hod_app::referrals::Contact>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let path = format!("/admin/referrals/{id}");
    let t = Tr(lang);
    let file = s.app.referral_file(id).await.or_page(lang, &path)?;
    let r = &file.referral;
    let events = file
        .events
        .iter()
        .map(|e| views::EventLine {
            at: when(s, lang, e.at),
            actor: e.actor.to_string(),
            what: match (e.kind.as_str(), e.status) {
                ("status", Some(st)) => status_name(t, &st.to_string()),
                (kind, _) => t.get(&format!("event-{kind}")),
            },
            note: e.note.clone(),
            decision: (e.kind.as_str() == "decision").then(|| decision(t, &e.detail)),
        })
        .collect();
    let offers = file
        .offers
        .iter()
        .map(|(o, name, npn)| views::OfferLine {
            agent: name.clone(),
            npn: npn.clone(),
            status: t.get(&format!("offer-status-{}", o.status.as_str())),
            offered: when(s, lang, o.offered_at),
            expires: when(s, lang, o.expires_at),
            decided: o.decided_at.map(|d| when(s, lang, d)),
            reason: o.decline_reason.clone(),
        })
        .collect();
    let messages = file
        .messages
        .iter()
        .map(|m| views::MessageLine {
            at: when(s, lang, m.created_at),
            channel: t.get(&format!("channel-{}", m.channel.as_str())),
            to: super::outbox::partly(&m.recipient),
            subject: m.subject.clone(),
            status: t.get(&format!("delivery-{}", m.status.as_str())),
            provider: m.provider_status.clone().or_else(|| m.last_error.clone()),
        })
        .collect();
    let page = views::ReferralPage {
        t,
        page: meta(op, &path),
        id,
        status: status_name(t, &r.status.to_string()),
        place: format!("{}, {} {}", r.city, state_name(lang, &r.state), r.zip),
        language: language_name(lang, &r.language),
        reason: t.get(&format!("reason-{}", r.reason.replace('_', "-"))),
        source: t.get(&format!("console-source-{}", r.source)),
        created: when(s, lang, r.created_at),
        agent: file.agent.clone(),
        unserved: r.status.to_string() == "unserved",
        open: matches!(
            r.status.to_string().as_str(),
            "searching" | "offered" | "unserved" | "accepted"
        ),
        is_admin: op.is_admin(),
        events,
        offers,
        messages,
        contact,
        erased: r
            .erased_at
            .map(|at| t.get_with("referral-erased", &[("day", when(s, lang, at))])),
        error,
    };
    let mut resp = render(&page, lang, &path);
    if page.error.is_some() {
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// A decision log in words: who was considered, who was left out and why, who was ranked
/// and offered.
fn decision(t: Tr, d: &serde_json::Value) -> views::DecisionView {
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let filtered = d["filtered"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(why, e)| {
                    let names = e["agents"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default();
                    (
                        t.get(&format!("filter-{why}")),
                        n(&e["count"]),
                        names.join("; "),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ranked = d["ranked"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let band = x["band"].as_str().unwrap_or_default();
                    let miles = x["miles"]
                        .as_f64()
                        .map(|m| format!(" · {m} mi"))
                        .unwrap_or_default();
                    format!(
                        "{} ({}{miles})",
                        x["name"].as_str().unwrap_or_default(),
                        t.get(&format!("band-{band}"))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    views::DecisionView {
        summary: t.get_with(
            "console-decision-summary",
            &[
                ("considered", n(&d["considered"]).to_string()),
                ("qualified", n(&d["qualified"]).to_string()),
                (
                    "offered",
                    d["offered"].as_array().map_or(0, Vec::len).to_string(),
                ),
            ],
        ),
        filtered,
        ranked,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    npn: String,
}

async fn refused(
    s: &AppState,
    lang: UiLang,
    op: &OperatorSession,
    id: i64,
    e: AppError,
) -> Result<Response, PageError> {
    match e {
        AppError::Refused { id: rule, .. } => {
            let why = Tr(lang).get(&format!("refused-{rule}"));
            referral_page(s, lang, op, id, None, Some(why)).await
        }
        e => Err(PageError::internal(
            lang,
            format!("/admin/referrals/{id}"),
            e,
        )),
    }
}

/// The consumer's contact details, shown once on this answer (not at an address that could
/// be bookmarked or shared).
pub async fn contact(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, PageError> {
    match s
        .app
        .operator_sees_contact(&op, id, &f.reason, peer.client())
        .await
    {
        Ok(c) => referral_page(&s, lang, &op, id, Some(c), None).await,
        Err(AppError::NotFound(_)) => Err(PageError::NotFound {
            lang,
            path: format!("/admin/referrals/{id}"),
        }),
        Err(e) => refused(&s, lang, &op, id, e).await,
    }
}

pub async fn reroute(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    match s.app.reroute_referral(&op, id, peer.client()).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/referrals/{id}")).into_response()),
        Err(e) => refused(&s, lang, &op, id, e).await,
    }
}

pub async fn reassign(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, PageError> {
    let Ok(npn) = hod_domain::Npn::parse(f.npn.trim()) else {
        let why = Tr(lang).get("refused-reassign-unknown-agent");
        return referral_page(&s, lang, &op, id, None, Some(why)).await;
    };
    match s
        .app
        .reassign_referral(&op, id, &npn, &f.reason, peer.client())
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/admin/referrals/{id}")).into_response()),
        Err(AppError::NotFound(_)) => Err(PageError::NotFound {
            lang,
            path: format!("/admin/referrals/{id}"),
        }),
        Err(e) => refused(&s, lang, &op, id, e).await,
    }
}
