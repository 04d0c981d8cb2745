//! State licences as NIPR reports them, and which lines of authority count as health-related.
use std::collections::{HashMap, HashSet};

use jiff::civil::Date;

use crate::geo::UsState;

/// A state licence with its lines of authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub state: UsState,
    pub license_number: String,
    pub license_class: String,
    pub resident: bool,
    pub active: bool,
    pub expires_on: Option<Date>,
    pub loas: Vec<LineOfAuthority>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineOfAuthority {
    pub loa: String,
    pub loa_code: String,
    pub active: bool,
    pub status_date: Option<Date>,
}

impl License {
    /// Active on `day`: flagged active and not expired (the expiry day itself still counts).
    pub fn in_force_on(&self, day: Date) -> bool {
        self.active && self.expires_on.is_none_or(|end| day <= end)
    }
}

/// LOA names are compared ignoring case and surrounding spaces (SPEC §2.1).
pub fn loa_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Lines of authority that never make a licence health-related, whatever a table says.
pub fn never_health_related(name: &str) -> bool {
    let key = loa_key(name);
    matches!(key.as_str(), "life" | "credit" | "travel") || key.starts_with("limited line")
}

/// The valid-LOA table: per state (or `*` for every state) the LOA names that count as
/// health-related.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidLoas {
    everywhere: HashSet<String>,
    by_state: HashMap<UsState, HashSet<String>>,
}

impl ValidLoas {
    /// `state` `None` stands for `*`.
    pub fn insert(&mut self, state: Option<UsState>, loa: &str) {
        let key = loa_key(loa);
        match state {
            None => self.everywhere.insert(key),
            Some(s) => self.by_state.entry(s).or_default().insert(key),
        };
    }

    pub fn is_empty(&self) -> bool {
        self.everywhere.is_empty() && self.by_state.is_empty()
    }

    pub fn qualifies(&self, state: UsState, loa: &str) -> bool {
        if never_health_related(loa) {
            return false;
        }
        let key = loa_key(loa);
        self.everywhere.contains(&key)
            || self.by_state.get(&state).is_some_and(|s| s.contains(&key))
    }

    /// States where some licence in force on `day` has an active health-related LOA, sorted.
    pub fn health_states(&self, licenses: &[License], day: Date) -> Vec<UsState> {
        let mut states: Vec<UsState> = licenses
            .iter()
            .filter(|l| l.in_force_on(day))
            .filter(|l| {
                l.loas
                    .iter()
                    .any(|a| a.active && self.qualifies(l.state, &a.loa))
            })
            .map(|l| l.state)
            .collect();
        states.sort_by_key(|s| s.code());
        states.dedup();
        states
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn st(code: &str) -> UsState {
        UsState::parse(code).unwrap()
    }

    fn licence(state: &str, loa: &str) -> License {
        License {
            state: st(state),
            license_number: "1".into(),
            license_class: "Producer".into(),
            resident: true,
            active: true,
            expires_on: Some(date(2027, 6, 30)),
            loas: vec![LineOfAuthority {
                loa: loa.into(),
                loa_code: String::new(),
                active: true,
                status_date: None,
            }],
        }
    }

    #[test]
    fn names_compare_ignoring_case_and_spaces() {
        let mut t = ValidLoas::default();
        t.insert(None, "Accident & Health or Sickness");
        t.insert(Some(st("TX")), "Health Maintenance Organization");
        assert!(t.qualifies(st("FL"), "  ACCIDENT &  health or sickness "));
        assert!(t.qualifies(st("TX"), "health maintenance organization"));
        assert!(!t.qualifies(st("FL"), "Health Maintenance Organization"));
    }

    #[test]
    fn life_credit_travel_and_limited_lines_never_qualify() {
        let mut t = ValidLoas::default();
        for n in ["Life", "Credit", "Travel", "Limited Lines Travel"] {
            t.insert(None, n);
            assert!(!t.qualifies(st("TX"), n), "{n}");
        }
    }

    #[test]
    fn only_licences_in_force_with_an_active_health_loa_count() {
        let mut t = ValidLoas::default();
        t.insert(None, "Health");
        let mut expired = licence("AL", "Health");
        expired.expires_on = Some(date(2026, 11, 25));
        let mut inactive_loa = licence("FL", "Health");
        inactive_loa.loas[0].active = false;
        let mut inactive = licence("GA", "Health");
        inactive.active = false;
        let ls = [
            licence("TX", "Health"),
            licence("TX", "Life"),
            licence("OH", "Life"),
            expired,
            inactive_loa,
            inactive,
        ];
        let day = date(2026, 11, 26);
        assert_eq!(t.health_states(&ls, day), vec![st("TX")]);
        assert_eq!(
            t.health_states(&ls, date(2026, 11, 25)),
            vec![st("AL"), st("TX")],
            "the expiry day itself still counts"
        );
    }
}
