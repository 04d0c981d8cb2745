//! When an agent takes referrals (SPEC.md §5): standard hours for each day of the week in
//! the agent's time zone (several periods a day, so breaks are allowed), the override switch
//! (green = take referrals now, red = stop), and Extended Absence.
use std::fmt;

use jiff::civil::{Date, Time, Weekday};

/// The override switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Follow the standard hours.
    Schedule,
    /// Green: take referrals now, whatever the hours say.
    Available,
    /// Red: no referrals until switched back.
    Unavailable,
}

impl Mode {
    pub fn id(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Available => "available",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Schedule, Self::Available, Self::Unavailable]
            .into_iter()
            .find(|m| m.id() == s.trim())
    }
}

/// A period of one day, from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Time,
    pub end: Time,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0:?} is not a time (use HH:MM, 24-hour)")]
    Time(String),
    #[error("{0} ends before it starts")]
    Backwards(String),
    #[error("{0} overlaps {1}")]
    Overlap(String, String),
}

/// `HH:MM` (24-hour); `24:00` is the end of the day.
pub fn parse_time(s: &str) -> Result<Time, ScheduleError> {
    let s = s.trim();
    if s == "24:00" {
        return Ok(Time::MAX);
    }
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| ScheduleError::Time(s.to_owned()))?;
    let bad = || ScheduleError::Time(s.to_owned());
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// The standard hours: for each weekday (Monday first), the periods the agent works.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<Period>; 7],
}

/// Monday = 0 … Sunday = 6.
pub fn weekday_index(d: Weekday) -> usize {
    usize::try_from(d.to_monday_zero_offset()).unwrap_or(0)
}

impl WeeklyHours {
    /// Builds the week, refusing periods that end before they start or overlap.
    pub fn new(
        periods: impl IntoIterator<Item = (Weekday, Period)>,
    ) -> Result<Self, ScheduleError> {
        let mut days: [Vec<Period>; 7] = Default::default();
        for (day, p) in periods {
            if p.end <= p.start {
                return Err(ScheduleError::Backwards(p.to_string()));
            }
            days[weekday_index(day)].push(p);
        }
        for list in &mut days {
            list.sort_by_key(|p| p.start);
            for pair in list.windows(2) {
                if pair[1].start < pair[0].end {
                    return Err(ScheduleError::Overlap(
                        pair[0].to_string(),
                        pair[1].to_string(),
                    ));
                }
            }
        }
        Ok(Self { days })
    }

    pub fn on(&self, day: Weekday) -> &[Period] {
        &self.days[weekday_index(day)]
    }

    pub fn periods(&self) -> impl Iterator<Item = (Weekday, Period)> + '_ {
        self.days.iter().enumerate().flat_map(|(i, list)| {
            let day = Weekday::from_monday_zero_offset(i8::try_from(i).unwrap_or(0)).expect("0..7");
            list.iter().map(move |p| (day, *p))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Whether the local time falls in a period of its day.
    pub fn covers(&self, local: jiff::civil::DateTime) -> bool {
        let t = local.time();
        self.on(local.weekday())
            .iter()
            .any(|p| p.start <= t && (t < p.end || p.end == Time::MAX))
    }
}

/// Extended Absence: from a day, until a day (included) or with no end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absence {
    pub from: Date,
    pub until: Option<Date>,
}

impl Absence {
    pub fn covers(&self, day: Date) -> bool {
        self.from <= day && self.until.is_none_or(|u| day <= u)
    }
}

/// Whether the agent takes referrals at `local` (their own time zone's wall clock).
pub fn is_available(
    mode: Mode,
    hours: &WeeklyHours,
    absence: Option<&Absence>,
    local: jiff::civil::DateTime,
) -> bool {
    if absence.is_some_and(|a| a.covers(local.date())) {
        return false;
    }
    match mode {
        Mode::Available => true,
        Mode::Unavailable => false,
        Mode::Schedule => hours.covers(local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn p(a: &str, b: &str) -> Period {
        Period {
            start: parse_time(a).unwrap(),
            end: parse_time(b).unwrap(),
        }
    }

    #[test]
    fn hours_with_a_break() {
        let week = WeeklyHours::new([
            (Weekday::Monday, p("09:00", "12:00")),
            (Weekday::Monday, p("13:00", "17:30")),
        ])
        .unwrap();
        let monday = date(2026, 11, 30);
        assert!(week.covers(monday.at(9, 0, 0, 0)));
        assert!(week.covers(monday.at(11, 59, 0, 0)));
        assert!(!week.covers(monday.at(12, 0, 0, 0)), "the break");
        assert!(week.covers(monday.at(17, 29, 0, 0)));
        assert!(!week.covers(monday.at(17, 30, 0, 0)));
        assert!(
            !week.covers(date(2026, 12, 1).at(10, 0, 0, 0)),
            "Tuesday has no hours"
        );
        let late = WeeklyHours::new([(Weekday::Friday, p("20:00", "24:00"))]).unwrap();
        assert!(late.covers(date(2026, 11, 27).at(23, 59, 59, 0)));
    }

    #[test]
    fn bad_hours_are_refused() {
        assert_eq!(parse_time("9"), Err(ScheduleError::Time("9".into())));
        assert!(
            parse_time("25:00").is_err()
                && parse_time("12:60").is_err()
                && parse_time("1:5").is_err()
        );
        assert_eq!(parse_time("7:05").unwrap(), time(7, 5, 0, 0));
        assert!(matches!(
            WeeklyHours::new([(Weekday::Monday, p("12:00", "09:00"))]),
            Err(ScheduleError::Backwards(_))
        ));
        assert!(matches!(
            WeeklyHours::new([
                (Weekday::Monday, p("09:00", "12:00")),
                (Weekday::Monday, p("11:00", "13:00"))
            ]),
            Err(ScheduleError::Overlap(_, _))
        ));
    }

    #[test]
    fn switch_and_absence_win_over_hours() {
        let week = WeeklyHours::new([(Weekday::Monday, p("09:00", "17:00"))]).unwrap();
        let at = date(2026, 11, 30).at(10, 0, 0, 0);
        assert!(is_available(Mode::Schedule, &week, None, at));
        assert!(!is_available(Mode::Unavailable, &week, None, at));
        assert!(is_available(
            Mode::Available,
            &week,
            None,
            date(2026, 12, 1).at(3, 0, 0, 0)
        ));
        let away = Absence {
            from: date(2026, 11, 28),
            until: Some(date(2026, 11, 30)),
        };
        assert!(
            !is_available(Mode::Available, &week, Some(&away), at),
            "absence wins over green"
        );
        assert!(is_available(
            Mode::Schedule,
            &week,
            Some(&away),
            date(2026, 12, 7).at(10, 0, 0, 0)
        ));
        let open = Absence {
            from: date(2026, 11, 28),
            until: None,
        };
        assert!(!is_available(
            Mode::Available,
            &week,
            Some(&open),
            date(2030, 1, 1).at(10, 0, 0, 0)
        ));
    }
}
