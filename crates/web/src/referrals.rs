//! The agent's Manage Referrals tab (SPEC.md §6.3–6.4): live offers, accepted referrals,
//! statuses and consent; and what the live pages share (the consumer's are in `consumer`).
//! Live pages listen to server-sent events; without JavaScript they still work by reloading.
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use hod_app::referrals::{ConsentForm, OfferError, RecordError};
use hod_domain::Lang;
use hod_domain::referral::{EventKind, Status};

use crate::AppState;
use crate::agent::{Agreed, CurrentAgent};
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::profile::{field, pairs};
use crate::register::problem_text;
use crate::views::{MyReferral, OfferView, Opt, ReferralPage, ReferralsPage};

/// How often live pages look for changes made on other nodes (changes on this node wake
/// them at once).
pub(crate) const LIVE_POLL: Duration = Duration::from_secs(2);

/// The decline reasons offered on the page (stored in English, as the API's free text).
const DECLINE_REASONS: [&str; 5] = ["busy", "language", "location", "capacity", "other"];

pub(crate) fn with_status(mut r: Response, status: StatusCode) -> Response {
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

pub(crate) fn status_label(t: Tr, status: Status) -> String {
    t.get(&format!("status-{}", status.id().replace('_', "-")))
}

pub(crate) fn reason_label(t: Tr, reason: &str) -> String {
    t.get(&format!("reason-{}", reason.replace('_', "-")))
}

/// A language as the reader names it, with its own name beside it.
pub(crate) fn language_label(lang: UiLang, code: &str) -> String {
    Lang::parse(code).map_or_else(|_| code.to_owned(), |l| l.info().label(lang == UiLang::Es))
}

fn phone_display(e164: &str) -> String {
    hod_domain::PhoneE164::parse(e164).map_or_else(|_| e164.to_owned(), |p| p.national())
}

/// An instant for a `<time>` element: machine-readable, and in the agent's time zone.
fn local_time(lang: UiLang, at: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> (String, String) {
    (at.to_string(), crate::i18n::long_instant(lang, at, tz))
}

/// A stream that sends `event: change` with `look()`'s value whenever it changes: checked
/// at once, whenever this node changes something, and every [`LIVE_POLL`].
pub(crate) fn live<F, Fut>(
    s: &AppState,
    look: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<F, Fut>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<String>> + Send,
{
    let rx = s.app.changes.subscribe();
    let stream = futures_util::stream::unfold(
        (None::<String>, rx, true, look),
        |(last, mut rx, first, look)| async move {
            let mut first = first;
            loop {
                if !first {
                    let _ = tokio::time::timeout(LIVE_POLL, rx.changed()).await;
                }
                first = false;
                let now = look().await?;
                if last.as_deref() != Some(now.as_str()) {
                    let event = Event::default().event("change").data(now.clone());
                    return Some((Ok(event), (Some(now), rx, false, look)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct Flash {
    #[serde(default)]
    m: Option<String>,
    /// The offer a message linked to (`?offer=ID`): shown first, or said to be gone.
    #[serde(default)]
    offer: Option<i64>,
}

fn flash(t: Tr, f: &Flash) -> Option<String> {
    match f.m.as_deref() {
        Some(k @ ("declined" | "gone" | "capacity" | "saved" | "consent")) => {
            Some(t.get(&format!("flash-{k}")))
        }
        _ => None,
    }
}

async fn agent_tz(s: &AppState, agent_id: i64) -> jiff::tz::TimeZone {
    s.app
        .agent_time_zone(agent_id)
        .await
        .unwrap_or_else(|_| s.app.settings.program_time_zone.clone())
}

/// `GET /agent/referrals`: Manage Referrals.
pub async fn referrals_page(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    Query(f): Query<Flash>,
) -> Response {
    let t = Tr(lang);
    let path = "/agent/referrals";
    let (offers, mine) = match (
        s.app.open_offers(me.agent_id).await,
        s.app.my_referrals(me.agent_id).await,
    ) {
        (Ok(o), Ok(m)) => (o, m),
        (Err(e), _) | (_, Err(e)) => return PageError::internal(lang, path, e).into_response(),
    };
    let tz = agent_tz(&s, me.agent_id).await;
    let meta = match me.page(&s, lang, path).await {
        Ok(meta) => meta,
        Err(e) => return e.into_response(),
    };
    // A link from an offer's message: that offer, or why it is no longer here.
    let linked = f.offer.filter(|id| offers.iter().any(|o| o.id == *id));
    let message = match f.offer {
        Some(_) if linked.is_none() => Some(t.get("flash-gone")),
        _ => flash(t, &f),
    };
    let page = ReferralsPage {
        t,
        page: meta,
        message,
        linked,
        offer_ids: offers
            .iter()
            .map(|o| o.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        offers: offers
            .iter()
            .map(|o| {
                let (expires_iso, expires_local) = local_time(lang, o.expires_at, &tz);
                OfferView {
                    id: o.id,
                    city: o.city.clone(),
                    state: o.state.clone(),
                    zip: o.zip.clone(),
                    language: language_label(lang, &o.language),
                    reason: reason_label(t, &o.reason),
                    expires_iso,
                    expires_local,
                }
            })
            .collect(),
        decline_reasons: DECLINE_REASONS
            .iter()
            .map(|r| Opt {
                id: (*r).into(),
                label: t.get(&format!("decline-{r}")),
                checked: false,
            })
            .collect(),
        referrals: mine
            .iter()
            .map(|(r, c)| MyReferral {
                id: r.id,
                name: format!("{} {}", c.first_name, c.last_name),
                phone: c.phone.clone(),
                phone_display: phone_display(&c.phone),
                status: status_label(t, r.status),
                accepted: r
                    .accepted_at
                    .map(|at| local_time(lang, at, &tz).1)
                    .unwrap_or_default(),
            })
            .collect(),
    };
    render(&page, lang, path)
}

/// `GET /agent/referrals/events`: the open offers (ids) as they change. The stream ends when
/// the session does (log out, expiry); an open Manage Referrals page keeps it in use.
pub async fn referrals_events(
    State(s): State<AppState>,
    Agreed(me): Agreed,
    headers: HeaderMap,
) -> Response {
    let app = s.app.clone();
    let token = crate::agent::cookie(&headers, crate::agent::SESSION_COOKIE).unwrap_or_default();
    live(&s, move || {
        let (app, token) = (app.clone(), token.clone());
        async move {
            app.agent_session(&token).await.ok().flatten()?;
            let offers = app.open_offers(me.agent_id).await.ok()?;
            Some(
                offers
                    .iter()
                    .map(|o| o.id.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        }
    })
    .into_response()
}

/// An accept or decline that did not happen: gone (someone else, or lapsed) back to the list
/// with a message; someone else's offer is not found.
fn offer_refused(lang: UiLang, id: i64, e: OfferError) -> Response {
    match e {
        OfferError::Gone => Redirect::to("/agent/referrals?m=gone").into_response(),
        OfferError::AtCapacity { .. } => {
            Redirect::to("/agent/referrals?m=capacity").into_response()
        }
        OfferError::NotFound => PageError::NotFound {
            lang,
            path: format!("/agent/offers/{id}"),
        }
        .into_response(),
        // The page's forms send only valid answers.
        e @ OfferError::Invalid { .. } => {
            PageError::internal(lang, "/agent/referrals", e).into_response()
        }
        OfferError::StepConflict(e) => {
            PageError::internal(lang, "/agent/referrals", e).into_response()
        }
        OfferError::App(e) => PageError::internal(lang, "/agent/referrals", e).into_response(),
    }
}

/// `POST /agent/offers/{id}/accept`.
pub async fn accept(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    Path(id): Path<i64>,
) -> Response {
    match s.app.accept_offer(me.agent_id, id).await {
        Ok(rid) => Redirect::to(&format!("/agent/referrals/{rid}")).into_response(),
        Err(e) => offer_refused(lang, id, e),
    }
}

/// `POST /agent/offers/{id}/decline`.
pub async fn decline(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = pairs(&body);
    let choice = field(&f, "reason");
    let reason = if DECLINE_REASONS.contains(&choice) {
        Tr(UiLang::En).get(&format!("decline-{choice}"))
    } else {
        Tr(UiLang::En).get("decline-other")
    };
    match s.app.decline_offer(me.agent_id, id, &reason).await {
        Ok(()) => Redirect::to("/agent/referrals?m=declined").into_response(),
        Err(e) => offer_refused(lang, id, e),
    }
}

async fn referral_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    id: i64,
    ip: &str,
    message: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let path = format!("/agent/referrals/{id}");
    let r = s
        .app
        .agent_referral(me.agent_id, id, Some(ip))
        .await
        .or_page(lang, &path)?;
    let consents = s.app.consents(me.agent_id, id).await.or_page(lang, &path)?;
    let tz = agent_tz(s, me.agent_id).await;
    let (first, last) = (r.contact.first_name.clone(), r.contact.last_name.clone());
    let erased = r.referral.erased_at.map(|at| {
        let day = at.to_zoned(tz.clone()).date().to_string();
        t.get_with("referral-erased", &[("day", day)])
    });
    let page = ReferralPage {
        t,
        page: me.page(s, lang, &path).await?,
        id,
        message,
        errors,
        name: if erased.is_some() {
            t.get("referral-erased-name")
        } else {
            format!("{first} {last}")
        },
        phone: r.contact.phone.clone(),
        phone_display: phone_display(&r.contact.phone),
        email: r.contact.email.clone(),
        contact_by: t.get(&format!("contact-by-{}", r.referral.contact_by)),
        best_time: r.contact.best_time.clone(),
        place: format!(
            "{}, {} {}",
            r.referral.city, r.referral.state, r.referral.zip
        ),
        language: language_label(lang, &r.referral.language),
        reason: reason_label(t, &r.referral.reason),
        status_label: status_label(t, r.status),
        can_update: r.status.is_with_agent(),
        steps: Status::AGENT_STEPS
            .iter()
            .filter(|x| **x != r.status)
            .map(|x| Opt {
                id: x.id().into(),
                label: status_label(t, *x),
                checked: false,
            })
            .collect(),
        consents,
        consent_scope: t.get("consent-scope-default"),
        consent_duration: t.get_with(
            "consent-duration-default",
            &[("year", r.referral.plan_year.to_string())],
        ),
        consent_withdraw: t.get("consent-withdraw-default"),
        today: s.app.today().to_string(),
        history: r
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Status | EventKind::Consent | EventKind::Reminder
                )
            })
            .map(|e| {
                let (iso, local) = local_time(lang, e.at, &tz);
                let what = match (e.kind, e.status) {
                    (EventKind::Status, Some(st)) => status_label(t, st),
                    (EventKind::Consent, _) => t.get("referral-history-consent"),
                    _ => t.get("referral-history-reminder"),
                };
                let note = [e.note.as_str(), e.account_number.as_str()]
                    .iter()
                    .filter(|x| !x.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" · ");
                (iso, local, what, note)
            })
            .collect(),
        erased,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(with_status(render(&page, lang, &path), status))
}

/// `GET /agent/referrals/{id}`: only the accepting agent sees it (404 for everyone else).
pub async fn referral(
    State(s): State<AppState>,
    peer: Peer,
    lang: UiLang,
    Agreed(me): Agreed,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    referral_page(
        &s,
        lang,
        &me,
        id,
        &peer.ip.to_string(),
        flash(Tr(lang), &f),
        Vec::new(),
    )
    .await
    .into_response()
}

/// `POST /agent/referrals/{id}/status`.
pub async fn post_status(
    State(s): State<AppState>,
    peer: Peer,
    lang: UiLang,
    Agreed(me): Agreed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = pairs(&body);
    let to = field(&f, "status");
    match s
        .app
        .record_status(
            me.agent_id,
            id,
            to,
            field(&f, "note"),
            field(&f, "account_number"),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/agent/referrals/{id}?m=saved")).into_response(),
        Err(OfferError::NotFound) => PageError::NotFound {
            lang,
            path: format!("/agent/referrals/{id}"),
        }
        .into_response(),
        Err(OfferError::Gone | OfferError::AtCapacity { .. }) => {
            Redirect::to(&format!("/agent/referrals/{id}")).into_response()
        }
        Err(e @ (OfferError::Invalid { .. } | OfferError::StepConflict(_))) => {
            let t = Tr(lang);
            let error = match e {
                OfferError::Invalid { field, problem } => (field, problem_text(t, &problem)),
                _ => ("status", t.get("referral-step-invalid")),
            };
            referral_page(&s, lang, &me, id, &peer.ip.to_string(), None, vec![error])
                .await
                .into_response()
        }
        Err(OfferError::App(e)) => PageError::internal(lang, "/agent/referrals", e).into_response(),
    }
}

/// `POST /agent/referrals/{id}/consent`.
pub async fn post_consent(
    State(s): State<AppState>,
    peer: Peer,
    lang: UiLang,
    Agreed(me): Agreed,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = pairs(&body);
    let form = ConsentForm {
        scope: field(&f, "scope").into(),
        duration: field(&f, "duration").into(),
        consented_on: field(&f, "consented_on").into(),
        withdraw_how: field(&f, "withdraw_how").into(),
        method: field(&f, "method").into(),
    };
    match s.app.record_consent(me.agent_id, id, &form).await {
        Ok(()) => Redirect::to(&format!("/agent/referrals/{id}?m=consent")).into_response(),
        Err(RecordError::NotFound) => PageError::NotFound {
            lang,
            path: format!("/agent/referrals/{id}"),
        }
        .into_response(),
        Err(RecordError::Fields(problems)) => {
            let t = Tr(lang);
            let errors = [
                "scope",
                "duration",
                "consented_on",
                "withdraw_how",
                "method",
            ]
            .iter()
            .filter_map(|f| problems.get(f).map(|p| (*f, problem_text(t, p))))
            .collect();
            referral_page(&s, lang, &me, id, &peer.ip.to_string(), None, errors)
                .await
                .into_response()
        }
        Err(RecordError::App(e)) => {
            PageError::internal(lang, "/agent/referrals", e).into_response()
        }
    }
}
