//! The program calendar: plan years and which states are on the HealthCare.gov platform when.
use jiff::civil::{Date, date};
use std::fmt;

use crate::geo::UsState;

const STATES_SEED_CSV: &str = include_str!("../../../data/marketplace_states.csv");
const OWN_MARKETPLACES_CSV: &str = include_str!("../../../data/state_marketplaces.csv");

/// The Marketplace of a state that runs its own platform: (name, website). Consumers whose
/// ZIP is outside the HealthCare.gov states are sent there. (Where each fact comes from is in
/// the file's `source` column and `data/ATTRIBUTION.md`.)
pub fn own_marketplace(state: UsState) -> Option<(&'static str, &'static str)> {
    OWN_MARKETPLACES_CSV.lines().skip(1).find_map(|line| {
        let mut f = line.split(',');
        (f.next()? == state.code()).then_some(())?;
        Some((f.next()?, f.next()?))
    })
}

/// A plan year and the dates on which referrals count towards it (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanYear {
    pub year: i16,
    pub starts_on: Date,
    pub ends_on: Date,
}

impl PlanYear {
    /// The program's default boundaries: plan year N runs from Nov 1 of N-1 (the start of Open
    /// Enrollment) through Oct 31 of N, matching the RCL's end dates.
    pub fn standard(year: i16) -> Self {
        Self {
            year,
            starts_on: date(year - 1, 11, 1),
            ends_on: date(year, 10, 31),
        }
    }

    /// The plan year whose standard boundaries contain `day`.
    pub fn standard_for(day: Date) -> Self {
        let year = if day.month() >= 11 {
            day.year() + 1
        } else {
            day.year()
        };
        Self::standard(year)
    }

    pub fn contains(&self, day: Date) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }

    /// The configured plan year containing `day`, if any.
    pub fn find(years: &[PlanYear], day: Date) -> Option<&PlanYear> {
        years.iter().find(|py| py.contains(day))
    }
}

impl fmt::Display for PlanYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PY{}", self.year)
    }
}

/// How a state's Marketplace runs on the federal platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MarketplaceType {
    /// Federally-facilitated Marketplace.
    #[serde(rename = "FFM")]
    Ffm,
    /// State-based Marketplace on the federal platform.
    #[serde(rename = "SBM-FP")]
    SbmFp,
}

impl MarketplaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ffm => "FFM",
            Self::SbmFp => "SBM-FP",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "FFM" => Some(Self::Ffm),
            "SBM-FP" => Some(Self::SbmFp),
            _ => None,
        }
    }
}

/// One state's time on the HealthCare.gov platform: from `effective_from` (inclusive) until
/// `effective_to` (exclusive; `None` = still on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatePeriod {
    pub state: UsState,
    pub marketplace: MarketplaceType,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
}

impl StatePeriod {
    pub fn covers(&self, day: Date) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|end| day < end)
    }
}

/// The time-versioned table of HealthCare.gov states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateTable {
    periods: Vec<StatePeriod>,
}

impl StateTable {
    pub fn new(periods: Vec<StatePeriod>) -> Self {
        Self { periods }
    }

    /// The table shipped as seed data (`data/marketplace_states.csv`): PY2025 to PY2027.
    pub fn seed() -> Self {
        let periods = STATES_SEED_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                let day = |s: &str| s.parse::<Date>().expect("seed dates are YYYY-MM-DD");
                StatePeriod {
                    state: UsState::parse(f[0]).expect("seed state codes are valid"),
                    marketplace: MarketplaceType::parse(f[1])
                        .expect("seed marketplace types are valid"),
                    effective_from: day(f[2]),
                    effective_to: (!f[3].is_empty()).then(|| day(f[3])),
                }
            })
            .collect();
        Self { periods }
    }

    pub fn periods(&self) -> &[StatePeriod] {
        &self.periods
    }

    /// How `state` is served on `day`, or `None` when it is not on the platform that day.
    pub fn marketplace_on(&self, state: UsState, day: Date) -> Option<MarketplaceType> {
        self.periods
            .iter()
            .find(|p| p.state == state && p.covers(day))
            .map(|p| p.marketplace)
    }

    /// The states on the platform on `day`, sorted by code.
    pub fn states_on(&self, day: Date) -> Vec<(UsState, MarketplaceType)> {
        let mut on: Vec<_> = self
            .periods
            .iter()
            .filter(|p| p.covers(day))
            .map(|p| (p.state, p.marketplace))
            .collect();
        on.sort_by_key(|(s, _)| s.code());
        on
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_marketplaces() {
        let ca = crate::UsState::parse("CA").unwrap();
        assert_eq!(
            super::own_marketplace(ca),
            Some(("Covered California", "https://www.coveredca.com"))
        );
        assert_eq!(
            super::own_marketplace(crate::UsState::parse("TX").unwrap()),
            None
        );
        for line in super::OWN_MARKETPLACES_CSV.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "state,name,url,since,source: {line}");
            assert!(crate::UsState::parse(f[0]).is_ok(), "{line}");
            assert!(f[2].starts_with("https://"), "{line}");
            assert!(!f[4].is_empty(), "where the fact comes from: {line}");
        }
    }

    /// Each state and DC is served by exactly one Marketplace on any day: HealthCare.gov or
    /// its own (from the plan year it took over); the territories by none.
    #[test]
    fn every_state_has_exactly_one_marketplace() {
        let table = super::StateTable::seed();
        for py in 2025_i16..=2027 {
            let day = super::PlanYear::standard(py).starts_on;
            for info in crate::geo::states() {
                let state = crate::UsState::parse(info.code).unwrap();
                let federal = table.marketplace_on(state, day).is_some();
                let own = super::OWN_MARKETPLACES_CSV.lines().skip(1).any(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    f[0] == info.code && f[3].parse::<i16>().unwrap() <= py
                });
                if state.is_territory() {
                    assert!(!federal && !own, "{} in {py}", info.code);
                } else {
                    assert!(
                        federal ^ own,
                        "{} in {py}: HealthCare.gov {federal}, own {own}",
                        info.code
                    );
                }
            }
        }
    }

    use super::*;

    fn codes(table: &StateTable, day: Date) -> Vec<&'static str> {
        table
            .states_on(day)
            .into_iter()
            .map(|(s, _)| s.code())
            .collect()
    }

    #[test]
    fn plan_year_of_a_date() {
        assert_eq!(PlanYear::standard_for(date(2025, 10, 31)).year, 2025);
        assert_eq!(PlanYear::standard_for(date(2025, 11, 1)).year, 2026);
        assert_eq!(PlanYear::standard_for(date(2026, 11, 26)).year, 2027);
        let years = [PlanYear::standard(2026), PlanYear::standard(2027)];
        assert_eq!(PlanYear::find(&years, date(2026, 1, 1)).unwrap().year, 2026);
        assert!(PlanYear::find(&years, date(2024, 12, 1)).is_none());
    }

    #[test]
    fn seed_matches_the_published_plan_year_lists() {
        let t = StateTable::seed();
        let py2025 = "AK AL AR AZ DE FL HI IA IL IN KS LA MI MO MS MT NC ND NE NH OH OK OR SC SD TN TX UT WI WV WY";
        assert_eq!(codes(&t, date(2025, 1, 15)).join(" "), py2025);
        assert_eq!(codes(&t, date(2025, 1, 15)).len(), 31);
        let py2026 = py2025.replace("IL ", "");
        assert_eq!(codes(&t, date(2025, 11, 1)).join(" "), py2026);
        assert_eq!(codes(&t, date(2026, 10, 31)).join(" "), py2026);
        let py2027 = py2026.replace("OR ", "");
        assert_eq!(codes(&t, date(2026, 11, 1)).join(" "), py2027);
        assert!(codes(&t, date(2024, 10, 31)).is_empty());
    }

    #[test]
    fn oklahoma_and_oregon_change_mid_year() {
        let t = StateTable::seed();
        let ok = UsState::parse("OK").unwrap();
        let or = UsState::parse("OR").unwrap();
        assert_eq!(
            t.marketplace_on(ok, date(2026, 4, 30)),
            Some(MarketplaceType::Ffm)
        );
        assert_eq!(
            t.marketplace_on(ok, date(2026, 5, 1)),
            Some(MarketplaceType::SbmFp)
        );
        assert_eq!(
            t.marketplace_on(or, date(2026, 10, 31)),
            Some(MarketplaceType::SbmFp)
        );
        assert_eq!(t.marketplace_on(or, date(2026, 11, 1)), None);
        let ar = UsState::parse("AR").unwrap();
        assert_eq!(
            t.marketplace_on(ar, date(2027, 3, 1)),
            Some(MarketplaceType::SbmFp)
        );
    }
}
