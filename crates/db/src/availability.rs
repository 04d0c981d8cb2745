//! An agent's availability: standard hours, the override switch, Extended Absence.
use hod_domain::availability::{Absence, Mode, Period, WeeklyHours, parse_time, weekday_index};
use jiff::civil::Weekday;

use crate::query::query;
use crate::sql::parse_opt_date;
use crate::{Db, DbError, Result, Tx, on_pool};

/// Everything that decides when an agent takes referrals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub mode: Mode,
    /// The agent's own choice; `None` = the time zone of their ZIP code.
    pub time_zone: Option<String>,
    pub hours: WeeklyHours,
    pub absence: Option<Absence>,
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

/// availability_mode, time_zone, absence_from, absence_until.
type Row = (String, Option<String>, Option<String>, Option<String>);

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, agent_id: i64) -> Result<Option<Availability>> {
    let row: Option<Row> = on_pool!(db, p => sqlx::query_as(
        "SELECT availability_mode, time_zone, absence_from, absence_until FROM agents WHERE id = $1",
    )
    .bind(agent_id)
    .fetch_optional(p)
    .await)?;
    let Some((mode, time_zone, from, until)) = row else {
        return Ok(None);
    };
    let rows: Vec<HoursRow> = on_pool!(db, p => sqlx::query_as(
        "SELECT weekday, starts_at, ends_at FROM agent_hours WHERE agent_id = $1 ORDER BY weekday, starts_at",
    )
    .bind(agent_id)
    .fetch_all(p)
    .await)?;
    assemble(&mode, time_zone, from.as_deref(), until.as_deref(), rows).map(Some)
}

/// One weekly period as stored: weekday (Monday = 0), start, end.
pub(crate) type HoursRow = (i64, String, String);

/// An agent's availability from its stored columns and hours.
pub(crate) fn assemble(
    mode: &str,
    time_zone: Option<String>,
    absence_from: Option<&str>,
    absence_until: Option<&str>,
    rows: impl IntoIterator<Item = HoursRow>,
) -> Result<Availability> {
    let mut periods = Vec::new();
    for (day, start, end) in rows {
        let day = Weekday::from_monday_zero_offset(i8::try_from(day).map_err(corrupt)?)
            .map_err(corrupt)?;
        periods.push((
            day,
            Period {
                start: parse_time(&start).map_err(corrupt)?,
                end: parse_time(&end).map_err(corrupt)?,
            },
        ));
    }
    let absence = match parse_opt_date(absence_from)? {
        Some(from) => Some(Absence {
            from,
            until: parse_opt_date(absence_until)?,
        }),
        None => None,
    };
    Ok(Availability {
        mode: Mode::parse(mode).ok_or_else(|| corrupt(format!("availability mode {mode:?}")))?,
        time_zone,
        hours: WeeklyHours::new(periods).map_err(corrupt)?,
        absence,
    })
}

fn hhmm(t: jiff::civil::Time) -> String {
    if t == jiff::civil::Time::MAX {
        "24:00".into()
    } else {
        t.strftime("%H:%M").to_string()
    }
}

/// Replaces the standard hours and their time zone.
#[tracing::instrument(skip_all)]
pub async fn set_hours(
    tx: &mut Tx,
    agent_id: i64,
    hours: &WeeklyHours,
    time_zone: Option<&str>,
) -> Result<()> {
    {
        query("DELETE FROM agent_hours WHERE agent_id = $1")
            .bind(agent_id)
            .execute(tx)
            .await?;
        for (day, p) in hours.periods() {
            query("INSERT INTO agent_hours (agent_id, weekday, starts_at, ends_at) VALUES ($1, $2, $3, $4)")
                .bind(agent_id)
                .bind(i64::try_from(weekday_index(day)).unwrap_or(0))
                .bind(hhmm(p.start))
                .bind(hhmm(p.end))
                .execute(tx)
                .await?;
        }
        query("UPDATE agents SET time_zone = $2 WHERE id = $1")
            .bind(agent_id)
            .bind(time_zone)
            .execute(tx)
            .await?;
    };
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_mode(tx: &mut Tx, agent_id: i64, mode: Mode) -> Result<()> {
    query("UPDATE agents SET availability_mode = $2 WHERE id = $1")
        .bind(agent_id)
        .bind(mode.id())
        .execute(tx)
        .await?;
    Ok(())
}

/// Sets or (with `None`) ends the Extended Absence.
#[tracing::instrument(skip_all)]
pub async fn set_absence(tx: &mut Tx, agent_id: i64, absence: Option<&Absence>) -> Result<()> {
    query("UPDATE agents SET absence_from = $2, absence_until = $3 WHERE id = $1")
        .bind(agent_id)
        .bind(absence.map(|a| a.from.to_string()))
        .bind(absence.and_then(|a| a.until).map(|d| d.to_string()))
        .execute(tx)
        .await?;
    Ok(())
}
