//! `/admin/dashboard` and `/admin/coverage` (administrators): how the program is doing over a
//! chosen period, and where consumers wait with nobody to help them. Every table can be
//! downloaded as CSV (`?csv=<table>` with the same period).
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};

use super::{Administrator, charts, language_name, meta, state_choices, state_name, views};
use crate::AppState;
use crate::error::{OrPage, PageError, render};
use crate::i18n::{Tr, UiLang};

#[derive(Debug, Default, serde::Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    state: String,
    /// Which table to download as CSV.
    csv: Option<String>,
}

/// The period asked for (days, program time zone, both included): the last 7 days by default.
fn period(
    s: &AppState,
    t: Tr,
    q: &PeriodQuery,
) -> (Timestamp, Timestamp, String, String, Option<String>) {
    let today = s.app.today();
    let default_from = today
        .checked_sub(jiff::Span::new().days(6))
        .unwrap_or(today)
        .to_string();
    let from_text = if q.from.trim().is_empty() {
        default_from
    } else {
        q.from.trim().to_owned()
    };
    let until_text = if q.until.trim().is_empty() {
        today.to_string()
    } else {
        q.until.trim().to_owned()
    };
    let fallback = (
        s.app.now() - SignedDuration::from_hours(24 * 7),
        s.app.now(),
    );
    match super::period_of(s, t, &from_text, &until_text) {
        Ok((Some(f), Some(u))) if f < u => (f, u, from_text, until_text, None),
        Ok(_) => (
            fallback.0,
            fallback.1,
            from_text,
            until_text,
            Some(t.get("console-period-backwards")),
        ),
        Err(e) => (fallback.0, fallback.1, from_text, until_text, Some(e)),
    }
}

fn minutes(t: Tr, d: Option<SignedDuration>) -> String {
    d.map_or_else(
        || t.get("console-none"),
        |d| {
            let secs = d.as_secs();
            if secs < 60 {
                t.get_n("console-seconds", "count", secs, &[])
            } else {
                t.get_n("console-minutes", "count", (secs + 30) / 60, &[])
            }
        },
    )
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

fn csv_response(name: &str, header_row: &[String], rows: Vec<Vec<String>>) -> Response {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(header_row);
    for r in rows {
        let _ = out.write_record(r);
    }
    let body = out.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The query string of this period, for the CSV links.
fn period_query(from: &str, until: &str, state: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("from", from), ("until", until), ("state", state)])
        .finish()
}

pub async fn dashboard(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    q: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/dashboard";
    let t = Tr(lang);
    let q = q.map(|q| q.0).unwrap_or_default();
    let (from, until, from_text, until_text, error) = period(&s, t, &q);
    let d = s.app.dashboard(from, until).await.or_page(lang, path)?;
    let zone = s.app.settings.program_time_zone.clone();
    let label = |at: Timestamp| {
        let z = at.to_zoned(zone.clone());
        if d.hourly {
            z.strftime("%m-%d %H:00").to_string()
        } else {
            z.strftime("%Y-%m-%d").to_string()
        }
    };
    let periods: Vec<(String, u32, u32)> = d
        .buckets
        .iter()
        .map(|b| (label(b.start), b.received, b.served))
        .collect();
    let per_heading = t.get(if d.hourly {
        "console-dash-per-hour"
    } else {
        "console-dash-per-day"
    });
    let (received_word, served_word) =
        (t.get("console-dash-received"), t.get("console-dash-served"));
    let unserved: Vec<(String, String, u32)> = d
        .unserved_by
        .iter()
        .map(|(st, l, n)| (state_name(lang, st), language_name(lang, l), *n))
        .collect();
    let agents: Vec<(String, String, i64, i64, i64, i64, String)> = d
        .per_agent
        .iter()
        .map(|a| {
            let share = (a.offered > 0).then(|| a.accepted as f64 / a.offered as f64);
            (
                format!("{} {}", a.first_name, a.last_name),
                a.npn.clone(),
                a.offered,
                a.accepted,
                a.declined,
                a.expired,
                percent(share),
            )
        })
        .collect();
    if let Some(table) = q.csv.as_deref() {
        return Ok(match table {
            "periods" => csv_response(
                "referrals-per-period",
                &[t.get("console-dash-period"), received_word, served_word],
                periods
                    .iter()
                    .map(|(l, a, b)| vec![l.clone(), a.to_string(), b.to_string()])
                    .collect(),
            ),
            "unserved" => csv_response(
                "unserved",
                &[
                    t.get("console-state"),
                    t.get("console-language"),
                    t.get("console-dash-unserved"),
                ],
                unserved
                    .iter()
                    .map(|(s, l, n)| vec![s.clone(), l.clone(), n.to_string()])
                    .collect(),
            ),
            "agents" => csv_response(
                "offers-per-agent",
                &[
                    t.get("console-agent-name"),
                    "NPN".to_owned(),
                    t.get("console-dash-offers"),
                    t.get("offer-status-accepted"),
                    t.get("offer-status-declined"),
                    t.get("offer-status-expired"),
                    t.get("console-dash-accept-share"),
                ],
                agents
                    .iter()
                    .map(|(n, npn, o, a, de, e, sh)| {
                        vec![
                            n.clone(),
                            npn.clone(),
                            o.to_string(),
                            a.to_string(),
                            de.to_string(),
                            e.to_string(),
                            sh.clone(),
                        ]
                    })
                    .collect(),
            ),
            _ => {
                return Err(PageError::NotFound {
                    lang,
                    path: path.to_owned(),
                });
            }
        });
    }
    let chart = charts::bars(
        "per-period",
        &per_heading,
        &t.get_with(
            "console-dash-chart-desc",
            &[
                ("received", d.received.to_string()),
                ("served", d.served.to_string()),
            ],
        ),
        (&received_word, &served_word),
        &periods,
    );
    let page = views::DashboardPage {
        t,
        page: meta(&op, path),
        from: from_text.clone(),
        until: until_text.clone(),
        query: period_query(&from_text, &until_text, ""),
        error,
        received: d.received,
        served_share: percent(
            (d.received > 0).then(|| f64::from(d.served) / f64::from(d.received)),
        ),
        unserved_count: d.unserved,
        p50: minutes(t, d.accept_p50),
        p90: minutes(t, d.accept_p90),
        fairness: d
            .fairness
            .map_or_else(|| "–".to_owned(), |f| format!("{f:.2}")),
        per_heading,
        chart,
        periods,
        unserved,
        agents,
    };
    Ok(render(&page, lang, path))
}

pub async fn coverage(
    State(s): State<AppState>,
    lang: UiLang,
    Administrator(op): Administrator,
    q: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let path = "/admin/coverage";
    let t = Tr(lang);
    let q = q.map(|q| q.0).unwrap_or_default();
    let (from, until, from_text, until_text, error) = period(&s, t, &q);
    let state = hod_domain::UsState::parse(q.state.trim())
        .ok()
        .map(|s| s.code().to_owned());
    let c = s
        .app
        .coverage(from, until, state.as_deref())
        .await
        .or_page(lang, path)?;
    let line = |name: String, p: &hod_app::console::Place| views::CoverageLine {
        name,
        requests: p.requests,
        served: percent(p.served_share()),
        median: minutes(t, p.median_accept),
        available: p.available,
        band: charts::heat(p.served_share()).2,
    };
    let mut states: Vec<views::CoverageLine> = c
        .by_state
        .iter()
        .map(|(st, p)| line(state_name(lang, st), p))
        .collect();
    states.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut pairs: Vec<views::CoverageLine> = c
        .by_state_language
        .iter()
        .map(|((st, l), p)| {
            line(
                format!("{} · {}", state_name(lang, st), language_name(lang, l)),
                p,
            )
        })
        .collect();
    pairs.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.name.cmp(&b.name))
    });
    let zip3: Vec<views::CoverageLine> = c
        .by_zip3
        .iter()
        .map(|(z, p)| line(format!("{z}xx"), p))
        .collect();
    let header_row = vec![
        t.get("console-place"),
        t.get("console-cov-requests"),
        t.get("console-cov-served"),
        t.get("console-cov-median"),
        t.get("console-agents-available"),
    ];
    let rows = |lines: &[views::CoverageLine]| {
        lines
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    l.requests.to_string(),
                    l.served.clone(),
                    l.median.clone(),
                    l.available.to_string(),
                ]
            })
            .collect::<Vec<_>>()
    };
    match q.csv.as_deref() {
        Some("states") => {
            return Ok(csv_response(
                "coverage-by-state",
                &header_row,
                rows(&states),
            ));
        }
        Some("languages") => {
            return Ok(csv_response(
                "coverage-by-state-and-language",
                &header_row,
                rows(&pairs),
            ));
        }
        Some("zip3") => return Ok(csv_response("coverage-by-zip3", &header_row, rows(&zip3))),
        Some(_) => {
            return Err(PageError::NotFound {
                lang,
                path: path.to_owned(),
            });
        }
        None => {}
    }
    let tiles: Vec<(&str, Option<f64>, String)> = charts::TILES
        .iter()
        .map(|(code, ..)| {
            let p = c.by_state.get(*code).cloned().unwrap_or_default();
            let words = t.get_with(
                "console-cov-tile",
                &[
                    ("state", state_name(lang, code)),
                    ("requests", p.requests.to_string()),
                    ("served", percent(p.served_share())),
                    ("available", p.available.to_string()),
                ],
            );
            (*code, p.served_share(), words)
        })
        .collect();
    let query = period_query(&from_text, &until_text, "");
    let map = charts::tile_map(
        "coverage-map",
        &t.get("console-cov-map-title"),
        &t.get("console-cov-map-desc"),
        &tiles,
        |code| {
            format!(
                "/admin/coverage?{}",
                period_query(&from_text, &until_text, code)
            )
        },
    );
    let page = views::CoveragePage {
        t,
        page: meta(&op, path),
        from: from_text.clone(),
        until: until_text.clone(),
        state_name: state.as_deref().map(|st| state_name(lang, st)),
        state: state.clone().unwrap_or_default(),
        state_query: period_query(
            &from_text,
            &until_text,
            state.as_deref().unwrap_or_default(),
        ),
        query,
        error,
        choices: state_choices(lang),
        legend: (0..6)
            .map(|i| t.get(&format!("console-cov-band-{i}")))
            .collect(),
        map,
        states,
        pairs,
        zip3,
    };
    Ok(render(&page, lang, path))
}
