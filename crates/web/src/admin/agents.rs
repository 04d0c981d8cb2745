//! `/admin/agents`: finding an agent, and one agent's page — "why no referrals?", invitation,
//! unlock, suspend and reinstate.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hod_app::AppError;
use hod_app::console::AgentQuery;
use hod_domain::Npn;

use super::{
    Administrator, Operator, language_choices, language_name, meta, state_choices, views, when,
};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;

#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    language: String,
}

pub async fn search(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/agents";
    let q = q.map(|q| q.0).unwrap_or_default();
    // An exact NPN goes straight to the agent.
    if let Ok(npn) = Npn::parse(q.q.trim())
        && q.state.is_empty()
        && q.language.is_empty()
        && let Ok(hits) = s
            .app
            .find_agents(
                &AgentQuery {
                    text: Some(npn.to_string()),
                    ..AgentQuery::default()
                },
                2,
            )
            .await
        && hits.len() == 1
        && hits[0].npn == npn.as_str()
    {
        return Ok(Redirect::to(&format!("/admin/agents/{npn}")).into_response());
    }
    let searched = !(q.q.trim().is_empty() && q.state.is_empty() && q.language.is_empty());
    let hits = if searched {
        let query = AgentQuery {
            text: Some(q.q.clone()).filter(|t| !t.trim().is_empty()),
            state: Some(q.state.clone()).filter(|t| !t.is_empty()),
            language: Some(q.language.clone()).filter(|t| !t.is_empty()),
        };
        s.app.find_agents(&query, 200).await.or_page(lang, path)?
    } else {
        Vec::new()
    };
    let page = views::AgentsPage {
        t: Tr(lang),
        page: meta(&op, path),
        q: q.q,
        state: q.state,
        language: q.language,
        states: state_choices(lang),
        languages: language_choices(lang),
        searched,
        found: Tr(lang).get_n(
            "console-agents-found",
            "count",
            i64::try_from(hits.len()).unwrap_or(0),
            &[],
        ),
        hits,
    };
    Ok(render(&page, lang, path))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Flash {
    done: Option<String>,
}

pub async fn agent(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    Path(npn): Path<String>,
    flash: Result<Query<Flash>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let done = flash.ok().and_then(|f| f.0.done);
    agent_page(&s, lang, &op, &npn, done, None).await
}

async fn agent_page(
    s: &AppState,
    lang: UiLang,
    op: &hod_app::operators::OperatorSession,
    npn: &str,
    done: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let path = format!("/admin/agents/{npn}");
    let t = Tr(lang);
    let npn = Npn::parse(npn).map_err(|_| PageError::NotFound {
        lang,
        path: path.clone(),
    })?;
    let st = s.app.agent_standing(&npn).await.or_page(lang, &path)?;
    let now = s.app.now();
    let hours = (0..7)
        .filter_map(|i| {
            let periods: Vec<String> = st
                .hours
                .periods()
                .filter(|(d, _)| hod_domain::availability::weekday_index(*d) == i)
                .map(|(_, p)| format!("{}–{}", p.start.strftime("%H:%M"), p.end.strftime("%H:%M")))
                .collect();
            (!periods.is_empty()).then(|| (t.get(&format!("weekday-{i}")), periods.join(", ")))
        })
        .collect();
    let invitations = st
        .invitations
        .iter()
        .map(|i| {
            let at = |ms| {
                hod_db_time(ms)
                    .map(|ts| when(s, lang, ts))
                    .unwrap_or_default()
            };
            let state = if i.used_at.is_some() {
                "used"
            } else if i.revoked_at.is_some() {
                "revoked"
            } else if i.expires_at <= now.as_millisecond() {
                "expired"
            } else {
                "open"
            };
            (
                i.id,
                at(i.created_at),
                at(i.expires_at),
                state,
                i.sent_by.clone().unwrap_or_default(),
            )
        })
        .collect();
    let answered: i64 = st
        .offers
        .iter()
        .filter(|(status, _)| matches!(status.as_str(), "accepted" | "declined" | "expired"))
        .map(|(_, n)| n)
        .sum();
    let accepted: i64 = st
        .offers
        .iter()
        .filter(|(status, _)| status == "accepted")
        .map(|(_, n)| n)
        .sum();
    let acceptance = (answered > 0).then(|| format!("{}%", accepted * 100 / answered));
    let referrals = st
        .referrals
        .iter()
        .map(|r| {
            (
                r.id,
                r.status.to_string(),
                r.state.clone(),
                r.city.clone(),
                when(s, lang, r.created_at),
            )
        })
        .collect();
    let page = views::AgentPage {
        t,
        page: meta(op, &path),
        is_admin: op.is_admin(),
        flash: done.map(|d| {
            t.get(&format!(
                "console-done-{}",
                d.replace(|c: char| !c.is_ascii_alphabetic(), "")
            ))
        }),
        error,
        hours,
        languages: st
            .languages
            .iter()
            .map(|l| language_name(lang, l))
            .collect(),
        filtered: st.filtered.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        invitations,
        can_resend: st.agent.registered_at.is_none()
            && st.eligibility.as_ref().is_some_and(|e| e.eligible),
        locked_until: st.locked_until.map(|u| when(s, lang, u)),
        suspended: st
            .suspended
            .as_ref()
            .map(|(at, why)| (when(s, lang, *at), why.clone())),
        time_zone_now: jiff::tz::TimeZone::get(&st.time_zone)
            .map(|tz| crate::i18n::long_instant(lang, now, &tz))
            .unwrap_or_default(),
        offers: st.offers.clone(),
        acceptance,
        referrals,
        mode: t.get(&format!("mode-{}", st.mode.id())),
        reasons: st
            .eligibility
            .as_ref()
            .map(|e| crate::views::eligibility_reasons(t, &e.explained, &[]))
            .unwrap_or_default(),
        name: format!("{} {}", st.agent.first_name, st.agent.last_name),
        a: st,
    };
    Ok(render(&page, lang, &path))
}

fn hod_db_time(ms: i64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).ok()
}

/// After an action: back to the agent's page, saying what was done.
fn done(npn: &Npn, what: &str) -> Response {
    Redirect::to(&format!("/admin/agents/{npn}?done={what}")).into_response()
}

/// An action refused for a reason the operator can act on: the page again, saying why.
async fn refused(
    s: &AppState,
    lang: UiLang,
    op: &hod_app::operators::OperatorSession,
    npn: &Npn,
    e: AppError,
) -> Response {
    let t = Tr(lang);
    let why = match e {
        AppError::Refused { id, .. } => t.get(&format!("refused-{id}")),
        e => {
            return PageError::from_app(lang, &format!("/admin/agents/{npn}"), e).into_response();
        }
    };
    let mut r = agent_page(s, lang, op, npn.as_str(), None, Some(why))
        .await
        .unwrap_or_else(IntoResponse::into_response);
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    r
}

fn parse_npn(lang: UiLang, npn: &str) -> Result<Npn, PageError> {
    Npn::parse(npn).map_err(|_| PageError::NotFound {
        lang,
        path: format!("/admin/agents/{npn}"),
    })
}

pub async fn resend(
    State(s): State<AppState>,
    lang: UiLang,
    Operator(op): Operator,
    Path(npn): Path<String>,
) -> Result<Response, PageError> {
    let npn = parse_npn(lang, &npn)?;
    Ok(match s.app.resend_invitation(&npn, op.actor()).await {
        Ok(()) => done(&npn, "resent"),
        Err(e) => refused(&s, lang, &op, &npn, e).await,
    })
}

pub async fn unlock(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Operator(op): Operator,
    Path(npn): Path<String>,
) -> Result<Response, PageError> {
    let npn = parse_npn(lang, &npn)?;
    Ok(match s.app.unlock_agent(&op, &npn, peer.client()).await {
        Ok(()) => done(&npn, "unlocked"),
        Err(e) => refused(&s, lang, &op, &npn, e).await,
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct SuspendForm {
    #[serde(default)]
    reason: String,
}

pub async fn suspend(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(npn): Path<String>,
    Form(f): Form<SuspendForm>,
) -> Result<Response, PageError> {
    let npn = parse_npn(lang, &npn)?;
    Ok(
        match s
            .app
            .suspend_agent(&op, &npn, Some(&f.reason), peer.client())
            .await
        {
            Ok(()) => done(&npn, "suspended"),
            Err(e) => refused(&s, lang, &op, &npn, e).await,
        },
    )
}

pub async fn reinstate(
    State(s): State<AppState>,
    lang: UiLang,
    peer: Peer,
    Administrator(op): Administrator,
    Path(npn): Path<String>,
) -> Result<Response, PageError> {
    let npn = parse_npn(lang, &npn)?;
    Ok(
        match s.app.suspend_agent(&op, &npn, None, peer.client()).await {
            Ok(()) => done(&npn, "reinstated"),
            Err(e) => refused(&s, lang, &op, &npn, e).await,
        },
    )
}
