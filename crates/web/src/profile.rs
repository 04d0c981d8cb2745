//! The agent's Profile, Availability Settings and Security tabs (SPEC.md §5).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hod_app::auth::Principal;
use hod_app::fields::FieldProblems;
use hod_app::profile::{ProfileError, TIME_ZONES};
use hod_domain::availability::Mode;
use hod_domain::{ContactMethod, UsState};
use jiff::civil::Weekday;

use crate::AppState;
use crate::agent::{Agreed, CurrentAgent, SESSION_COOKIE, cookie};
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};
use crate::peer::Peer;
use crate::register::problem_text;
use crate::views::{
    AvailabilityPage, DayRow, MethodOption, Opt, PeriodInputs, ProfilePage, SecurityPage,
};

/// Periods shown per day (a day with a break needs two; three leaves room).
const SLOTS: usize = 3;
const DAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Choices in the order a reader of `lang` looks for them.
fn sorted(lang: UiLang, mut options: Vec<Opt>) -> Vec<Opt> {
    options.sort_by_cached_key(|o| crate::i18n::collation_key(lang, &o.label));
    options
}

/// A posted form's fields in order, repeated names kept.
pub(crate) fn pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn errors(t: Tr, problems: &FieldProblems) -> Vec<(&'static str, String)> {
    problems
        .iter()
        .map(|(f, p)| (*f, problem_text(t, p)))
        .collect()
}

/// What a page says after a save: the message, the problems, and the status (422 with
/// problems).
pub(crate) fn feedback(
    t: Tr,
    result: Option<&Outcome>,
) -> (Option<String>, Vec<(&'static str, String)>, StatusCode) {
    match result {
        Some(Ok(message)) => (Some(message.clone()), Vec::new(), StatusCode::OK),
        Some(Err(problems)) => (None, errors(t, problems), StatusCode::UNPROCESSABLE_ENTITY),
        None => (None, Vec::new(), StatusCode::OK),
    }
}

pub(crate) fn with_status(mut r: Response, status: StatusCode) -> Response {
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// After a save: the page again with a message, or with the problems (422).
pub(crate) type Outcome = Result<String, FieldProblems>;

pub(crate) fn outcome(
    t: Tr,
    result: Result<(), ProfileError>,
    saved: &str,
    path: &str,
) -> Result<Outcome, PageError> {
    match result {
        Ok(()) => Ok(Ok(t.get(saved))),
        Err(ProfileError::Fields(p)) => Ok(Err(p)),
        Err(ProfileError::App(e)) => Err(PageError::internal(t.lang(), path, e)),
    }
}

async fn profile_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    result: Option<Outcome>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let view = s
        .app
        .profile(me.agent_id)
        .await
        .or_page(lang, "/agent/profile")?;
    let method = view.agent.contact_method.clone().unwrap_or_default();
    let (message, errors, status) = feedback(t, result.as_ref());
    let page = ProfilePage {
        t,
        page: me.page(s, lang, "/agent/profile").await?,
        first_name: view.agent.first_name.clone(),
        last_name: view.agent.last_name.clone(),
        email: view.agent.email.clone(),
        phone: view
            .agent
            .phone
            .as_deref()
            .and_then(|p| hod_domain::PhoneE164::parse(p).ok())
            .map(|p| p.national())
            .unwrap_or_default(),
        zip: view.agent.zip.clone().unwrap_or_default(),
        methods: ContactMethod::ALL
            .iter()
            .map(|m| MethodOption {
                id: m.id(),
                label: t.get(&format!("contact-{}", m.id())),
                checked: m.id() == method,
            })
            .collect(),
        languages: sorted(
            lang,
            hod_domain::lang::languages()
                .iter()
                .map(|l| Opt {
                    id: l.code.to_owned(),
                    label: crate::referrals::language_label(lang, l.code),
                    checked: view.languages.iter().any(|c| c == l.code),
                })
                .collect(),
        ),
        states: sorted(
            lang,
            view.eligible_states
                .iter()
                .filter_map(|c| UsState::parse(c).ok())
                .map(|st| Opt {
                    id: st.code().to_owned(),
                    label: match lang {
                        UiLang::En => st.info().name.to_owned(),
                        UiLang::Es => st.info().name_es.to_owned(),
                    },
                    checked: view.states.iter().any(|c| c == st.code()),
                })
                .collect(),
        ),
        message,
        errors,
    };
    Ok(with_status(render(&page, lang, "/agent/profile"), status))
}

pub async fn profile(State(s): State<AppState>, lang: UiLang, me: CurrentAgent) -> Response {
    profile_page(&s, lang, &me, None).await.into_response()
}

pub async fn save_contact(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = pairs(&body);
    let r = s
        .app
        .update_contact(
            me.agent_id,
            field(&f, "phone"),
            field(&f, "contact_method"),
            field(&f, "zip"),
        )
        .await;
    let done = outcome(Tr(lang), r, "saved", "/agent/profile")?;
    profile_page(&s, lang, &me, Some(done)).await
}

pub async fn save_languages(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    body: Bytes,
) -> Result<Response, PageError> {
    let r = s
        .app
        .update_languages(me.agent_id, &all(&pairs(&body), "languages"))
        .await;
    let done = outcome(Tr(lang), r, "saved", "/agent/profile")?;
    profile_page(&s, lang, &me, Some(done)).await
}

pub async fn save_states(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    body: Bytes,
) -> Result<Response, PageError> {
    let r = s
        .app
        .update_states(me.agent_id, &all(&pairs(&body), "states"))
        .await;
    let done = outcome(Tr(lang), r, "saved", "/agent/profile")?;
    profile_page(&s, lang, &me, Some(done)).await
}

fn day_name(t: Tr, d: Weekday) -> String {
    t.get(&format!("weekday-{}", d.to_monday_zero_offset()))
}

fn hhmm(time: jiff::civil::Time) -> String {
    if time == jiff::civil::Time::MAX {
        "23:59".into()
    } else {
        time.strftime("%H:%M").to_string()
    }
}

async fn availability_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    result: Option<Outcome>,
) -> Result<Response, PageError> {
    let t = Tr(lang);
    let view = s
        .app
        .profile(me.agent_id)
        .await
        .or_page(lang, "/agent/availability")?;
    let a = &view.availability;
    let days = DAYS
        .iter()
        .map(|d| {
            let existing = a.hours.on(*d);
            DayRow {
                name: day_name(t, *d),
                periods: (0..SLOTS)
                    .map(|i| PeriodInputs {
                        start_name: format!("d{}s{i}", d.to_monday_zero_offset()),
                        end_name: format!("d{}e{i}", d.to_monday_zero_offset()),
                        start: existing.get(i).map(|p| hhmm(p.start)).unwrap_or_default(),
                        end: existing.get(i).map(|p| hhmm(p.end)).unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect();
    let (message, errors, status) = feedback(t, result.as_ref());
    let page = AvailabilityPage {
        t,
        page: me.page(s, lang, "/agent/availability").await?,
        available_now: view.available_now,
        modes: [Mode::Schedule, Mode::Available, Mode::Unavailable]
            .iter()
            .map(|m| Opt {
                id: m.id().to_owned(),
                label: t.get(&format!("mode-{}", m.id())),
                checked: *m == a.mode,
            })
            .collect(),
        time_zones: TIME_ZONES
            .iter()
            .map(|z| Opt {
                id: (*z).to_owned(),
                label: t.get(&format!("tz-{}", z.replace('/', "-").to_lowercase())),
                checked: *z == view.time_zone,
            })
            .collect(),
        days,
        absence_from: a.absence.map(|x| x.from.to_string()).unwrap_or_default(),
        absence_until: a
            .absence
            .and_then(|x| x.until)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        message,
        errors,
    };
    Ok(with_status(
        render(&page, lang, "/agent/availability"),
        status,
    ))
}

pub async fn availability(State(s): State<AppState>, lang: UiLang, Agreed(me): Agreed) -> Response {
    availability_page(&s, lang, &me, None).await.into_response()
}

pub async fn save_mode(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    body: Bytes,
) -> Response {
    let f = pairs(&body);
    let Some(mode) = Mode::parse(field(&f, "mode")) else {
        return availability_page(&s, lang, &me, Some(Err(FieldProblems::new())))
            .await
            .into_response();
    };
    match s.app.set_availability_mode(me.agent_id, mode).await {
        Ok(()) => availability_page(&s, lang, &me, Some(Ok(Tr(lang).get("saved"))))
            .await
            .into_response(),
        Err(e) => PageError::internal(lang, "/agent/availability", e).into_response(),
    }
}

pub async fn save_hours(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = pairs(&body);
    let mut periods = Vec::new();
    for d in DAYS {
        for i in 0..SLOTS {
            let n = d.to_monday_zero_offset();
            let (start, end) = (
                field(&f, &format!("d{n}s{i}")),
                field(&f, &format!("d{n}e{i}")),
            );
            // A period ending at 23:59 runs to the end of the day.
            let end = if end == "23:59" { "24:00" } else { end };
            periods.push((d, start.to_owned(), end.to_owned()));
        }
    }
    let tz = field(&f, "time_zone");
    let r = s
        .app
        .update_hours(me.agent_id, &periods, (!tz.is_empty()).then_some(tz))
        .await;
    let done = outcome(Tr(lang), r, "saved", "/agent/availability")?;
    availability_page(&s, lang, &me, Some(done)).await
}

pub async fn save_absence(
    State(s): State<AppState>,
    lang: UiLang,
    Agreed(me): Agreed,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = pairs(&body);
    let ending = field(&f, "end") == "true";
    let (from, until) = if ending {
        ("", "")
    } else {
        (field(&f, "from"), field(&f, "until"))
    };
    let r = s.app.set_absence(me.agent_id, from, until).await;
    let done = outcome(Tr(lang), r, "saved", "/agent/availability")?;
    availability_page(&s, lang, &me, Some(done)).await
}

async fn security_page(
    s: &AppState,
    lang: UiLang,
    me: &CurrentAgent,
    headers: &HeaderMap,
    result: Option<Outcome>,
) -> Result<Response, PageError> {
    const PATH: &str = "/agent/security";
    let t = Tr(lang);
    let agent = s.app.agent(me.agent_id).await.or_page(lang, PATH)?;
    let mine = cookie(headers, SESSION_COOKIE).unwrap_or_default();
    let sessions = s
        .app
        .sessions_of(Principal::Agent(me.agent_id), &mine)
        .await
        .or_page(lang, PATH)?;
    let passkeys = s
        .app
        .passkeys_of(Principal::Agent(me.agent_id))
        .await
        .or_page(lang, PATH)?;
    let passkeys = crate::passkeys::listed(s, t, passkeys);
    let (message, errors, status) = feedback(t, result.as_ref());
    let page = SecurityPage {
        t,
        page: me.page(s, lang, PATH).await?,
        email: agent.email,
        first_name: agent.first_name,
        last_name: agent.last_name,
        username: agent.username.clone().unwrap_or_default(),
        checklist: crate::views::password_checklist(t),
        sessions,
        passkeys,
        message,
        errors,
    };
    Ok(with_status(render(&page, lang, PATH), status))
}

pub async fn security(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    headers: HeaderMap,
) -> Response {
    security_page(&s, lang, &me, &headers, None)
        .await
        .into_response()
}

pub async fn change_password(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = pairs(&body);
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    let client = peer.client();
    let r = s
        .app
        .change_password(
            me.agent_id,
            field(&f, "current_password"),
            field(&f, "password"),
            field(&f, "confirm_password"),
            &token,
            client,
        )
        .await;
    let done = outcome(Tr(lang), r, "security-password-changed", "/agent/security")?;
    security_page(&s, lang, &me, &headers, Some(done)).await
}

pub async fn end_other_sessions(
    State(s): State<AppState>,
    lang: UiLang,
    me: CurrentAgent,
    headers: HeaderMap,
) -> Response {
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    match s
        .app
        .end_other_sessions(Principal::Agent(me.agent_id), &token)
        .await
    {
        Ok(n) => {
            let message = Tr(lang).get_with("security-ended", &[("count", n.to_string())]);
            security_page(&s, lang, &me, &headers, Some(Ok(message)))
                .await
                .into_response()
        }
        Err(e) => PageError::internal(lang, "/agent/security", e).into_response(),
    }
}
