//! Program settings with their meaning and defaults: the routing policy (SPEC.md §6.3) and
//! the intake calendar (§6.1). Stored as text in `program_settings`; refused when invalid.
use hod_domain::actor::Actor;
use std::collections::HashMap;

use hod_db::{audit, settings};
use hod_domain::routing::{Policy, Strategy};
use jiff::SignedDuration;
use jiff::civil::Date;

use crate::{App, AppError, Result};

/// Every setting an administrator may change, with its default.
pub const KEYS: [(&str, &str); 14] = [
    ("routing.strategy", "one_at_a_time"),
    ("routing.offer_minutes", "15"),
    ("routing.cascade_minutes", "5"),
    ("routing.broadcast_size", "3"),
    ("routing.adaptive_step_minutes", "2"),
    ("routing.adaptive_width", "3"),
    ("routing.max_wait_minutes", "60"),
    ("routing.capacity", "5"),
    ("intake.paused", "false"),
    ("intake.closed_dates", ""),
    ("intake.duplicate_minutes", "10"),
    ("intake.closed_message_en", ""),
    ("intake.closed_message_es", ""),
    ("privacy.retention_days", "365"),
];

/// The longest message an administrator may write for consumers.
const MESSAGE_CHARS: usize = 600;

/// The settings routing and intake read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    pub policy: Policy,
    /// Intake stopped by an administrator.
    pub intake_paused: bool,
    /// Days (program time zone) when intake is closed, e.g. holidays.
    pub closed_dates: Vec<Date>,
    /// A second request from the same person within this window is the first one.
    pub duplicate_window: SignedDuration,
    /// What consumers read when intake is closed, in English and Spanish (empty: the
    /// standard words).
    pub closed_message: (String, String),
    /// How long a consumer's details are kept after their referral last changed.
    pub retention: SignedDuration,
}

fn message(key: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if v.chars().count() > MESSAGE_CHARS || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::Invalid(format!(
            "{key}: at most {MESSAGE_CHARS} characters of plain text"
        )));
    }
    Ok(v.to_owned())
}

fn minutes(key: &str, v: &str, min: i64, max: i64) -> Result<SignedDuration> {
    number(key, v, min, max).map(SignedDuration::from_mins)
}

fn number(key: &str, v: &str, min: i64, max: i64) -> Result<i64> {
    match v.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(AppError::Invalid(format!(
            "{key}: expected a whole number from {min} to {max}, got {v:?}"
        ))),
    }
}

pub(crate) fn parse(values: &HashMap<String, String>) -> Result<ProgramSettings> {
    let get = |key: &str| -> &str {
        values
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| KEYS.iter().find(|(k, _)| *k == key).map_or("", |(_, d)| d))
    };
    let strategy = match get("routing.strategy").trim() {
        "one_at_a_time" => Strategy::OneAtATime,
        "cascade" => Strategy::Cascade {
            step: minutes(
                "routing.cascade_minutes",
                get("routing.cascade_minutes"),
                1,
                60,
            )?,
        },
        "broadcast" => Strategy::Broadcast {
            size: u16::try_from(number(
                "routing.broadcast_size",
                get("routing.broadcast_size"),
                1,
                50,
            )?)
            .unwrap_or(1),
        },
        "adaptive" => Strategy::Adaptive {
            step: minutes(
                "routing.adaptive_step_minutes",
                get("routing.adaptive_step_minutes"),
                1,
                60,
            )?,
            width: u16::try_from(number(
                "routing.adaptive_width",
                get("routing.adaptive_width"),
                1,
                50,
            )?)
            .unwrap_or(1),
        },
        other => {
            return Err(AppError::Invalid(format!(
                "routing.strategy: expected {}, got {other:?}",
                Strategy::choices()
            )));
        }
    };
    let closed_dates = get("intake.closed_dates")
        .split([',', ' '])
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse::<Date>().map_err(|_| {
                AppError::Invalid(format!(
                    "intake.closed_dates: {d:?} is not a date (YYYY-MM-DD)"
                ))
            })
        })
        .collect::<Result<_>>()?;
    Ok(ProgramSettings {
        policy: Policy {
            strategy,
            offer_window: minutes(
                "routing.offer_minutes",
                get("routing.offer_minutes"),
                1,
                24 * 60,
            )?,
            max_wait: minutes(
                "routing.max_wait_minutes",
                get("routing.max_wait_minutes"),
                1,
                7 * 24 * 60,
            )?,
            capacity: u32::try_from(number(
                "routing.capacity",
                get("routing.capacity"),
                1,
                1_000_000,
            )?)
            .unwrap_or(1),
        },
        intake_paused: match get("intake.paused").trim() {
            "true" => true,
            "false" => false,
            other => {
                return Err(AppError::Invalid(format!(
                    "intake.paused: expected true or false, got {other:?}"
                )));
            }
        },
        closed_dates,
        duplicate_window: minutes(
            "intake.duplicate_minutes",
            get("intake.duplicate_minutes"),
            0,
            24 * 60,
        )?,
        closed_message: (
            message("intake.closed_message_en", get("intake.closed_message_en"))?,
            message("intake.closed_message_es", get("intake.closed_message_es"))?,
        ),
        retention: number(
            "privacy.retention_days",
            get("privacy.retention_days"),
            30,
            3650,
        )
        .map(|days| SignedDuration::from_hours(days * 24))?,
    })
}

impl App {
    pub async fn program_settings(&self) -> Result<ProgramSettings> {
        self.config().await?.program()
    }

    /// Every setting with its current value (the default where none was set).
    pub async fn program_setting_values(&self) -> Result<Vec<(&'static str, String)>> {
        let values = settings::all(&self.db).await?;
        Ok(KEYS
            .iter()
            .map(|(k, d)| {
                (
                    *k,
                    values.get(*k).cloned().unwrap_or_else(|| (*d).to_owned()),
                )
            })
            .collect())
    }

    /// Changes one setting (checked together with the others), on behalf of `actor`.
    pub async fn set_program_setting(&self, key: &str, value: &str, actor: Actor) -> Result<()> {
        if !KEYS.iter().any(|(k, _)| *k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(AppError::Invalid(format!(
                "unknown setting {key:?}; the settings are: {}",
                known.join(", ")
            )));
        }
        let mut values = settings::all(&self.db).await?;
        values.insert(key.to_owned(), value.trim().to_owned());
        parse(&values)?;
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            settings::put(tx, key, value.trim(), now).await?;
            audit::append(
                tx,
                &audit::Entry {
                    actor,
                    action: "program.setting_changed",
                    subject: key,
                    ip: None,
                    detail: serde_json::json!({ "value": value.trim() }),
                },
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<ProgramSettings> {
        parse(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_the_programs() {
        let s = with(&[]).unwrap();
        assert_eq!(s.policy, Policy::default());
        assert!(!s.intake_paused);
        assert_eq!(s.duplicate_window, SignedDuration::from_mins(10));
    }

    #[test]
    fn strategies_and_refusals() {
        let s = with(&[
            ("routing.strategy", "broadcast"),
            ("routing.broadcast_size", "4"),
        ])
        .unwrap();
        assert_eq!(s.policy.strategy, Strategy::Broadcast { size: 4 });
        let s = with(&[("routing.strategy", "cascade")]).unwrap();
        assert_eq!(
            s.policy.strategy,
            Strategy::Cascade {
                step: SignedDuration::from_mins(5)
            }
        );
        let s = with(&[
            ("routing.strategy", "adaptive"),
            ("routing.adaptive_width", "2"),
        ])
        .unwrap();
        assert_eq!(
            s.policy.strategy,
            Strategy::Adaptive {
                step: SignedDuration::from_mins(2),
                width: 2
            }
        );
        let e = with(&[("routing.offer_minutes", "0")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "routing.offer_minutes: expected a whole number from 1 to 1440, got \"0\""
        );
        let e = with(&[("intake.closed_dates", "2026-12-25, Christmas")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"Christmas\" is not a date"), "{e}");
        assert!(with(&[("routing.strategy", "lottery")]).is_err());
    }
}
