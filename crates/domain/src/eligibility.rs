//! Who may receive referrals (SPEC §2): the five conditions, checked for a date against the
//! facts the CMS files give about one NPN, with the reasons in words a help desk can read out.
use std::fmt;

use jiff::civil::Date;

use crate::geo::UsState;
use crate::licence::{License, ValidLoas};
use crate::npn::Npn;
use crate::program::{PlanYear, StateTable};

/// `NPN Valid (Current Plan Year Only)` on the RCL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpnValid {
    Yes,
    No,
    /// `-`: the column is only filled for the current plan year.
    NotGiven,
}

impl NpnValid {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "Y" | "y" => Some(Self::Yes),
            "N" | "n" => Some(Self::No),
            "-" | "" => Some(Self::NotGiven),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "Y",
            Self::No => "N",
            Self::NotGiven => "-",
        }
    }
}

/// One row of the FFM Agent/Broker Registration Completion List.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RclEntry {
    pub npn: Npn,
    pub plan_year: i16,
    pub individual_completed_on: Option<Date>,
    pub individual_end_on: Option<Date>,
    pub shop_completed_on: Option<Date>,
    pub shop_end_on: Option<Date>,
    pub npn_valid: NpnValid,
}

/// One row of the MLMS Help On Demand course file (also the agent's name and email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlmsEntry {
    pub npn: Npn,
    pub plan_year: i16,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub course_completed_on: Option<Date>,
}

/// A status on the Suspension and Termination List: `T1`–`T4` or `R1`–`R4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListStatus {
    pub reinstated: bool,
    pub code: u8,
}

impl ListStatus {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_uppercase();
        let (kind, digit) = s.split_at_checked(1)?;
        let code = match digit {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            "4" => 4,
            _ => return None,
        };
        match kind {
            "T" => Some(Self {
                reinstated: false,
                code,
            }),
            "R" => Some(Self {
                reinstated: true,
                code,
            }),
            _ => None,
        }
    }

    /// What a `T` status stands for (SPEC §2, condition 3).
    pub fn meaning(self) -> &'static str {
        match self.code {
            1 | 2 => "licence problem",
            3 => "fraud",
            _ => "non-compliance",
        }
    }
}

impl fmt::Display for ListStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            if self.reinstated { 'R' } else { 'T' },
            self.code
        )
    }
}

/// Which Marketplaces a list row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marketplaces {
    Individual,
    Shop,
    Both,
}

impl Marketplaces {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "INDIVIDUAL" => Some(Self::Individual),
            "SHOP" => Some(Self::Shop),
            "BOTH" => Some(Self::Both),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "INDIVIDUAL",
            Self::Shop => "SHOP",
            Self::Both => "BOTH",
        }
    }

    /// Help On Demand serves the individual market; SHOP-only rows do not concern it.
    pub fn includes_individual(self) -> bool {
        matches!(self, Self::Individual | Self::Both)
    }
}

/// One row of the Suspension and Termination List.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub npn: Npn,
    pub status: ListStatus,
    pub marketplaces: Marketplaces,
    pub plan_year: i16,
    pub registration_completed_on: Option<Date>,
    pub effective_on: Date,
}

/// Everything known about one NPN.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub npn: &'a Npn,
    pub rcl: Option<&'a RclEntry>,
    pub mlms: Option<&'a MlmsEntry>,
    pub events: &'a [StatusEvent],
    pub licenses: &'a [License],
    /// The agent has created a Help On Demand account.
    pub registered: bool,
    /// …and accepted the current Agent/Broker and Help On Demand Terms of Use.
    pub terms_accepted: bool,
}

/// The program as of one day.
#[derive(Debug, Clone, Copy)]
pub struct ProgramOn<'a> {
    pub day: Date,
    pub plan_year: &'a PlanYear,
    pub states: &'a StateTable,
    pub valid_loas: &'a ValidLoas,
}

/// Why an NPN cannot receive referrals. Each maps to one condition of SPEC §2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NotOnRcl,
    RclNpnNotValid(NpnValid),
    IndividualRegistrationMissing,
    IndividualRegistrationEnded(Date),
    NotInMlms,
    CourseNotCompleted,
    Suspended { status: ListStatus, on: Date },
    NoLicenceData,
    NoHealthLicence,
    LicensedOffPlatform(Vec<UsState>),
    NoAccount,
    TermsNotAccepted,
}

impl Reason {
    /// The condition of SPEC §2 this reason fails (1–5).
    pub fn condition(&self) -> u8 {
        match self {
            Self::NotOnRcl
            | Self::RclNpnNotValid(_)
            | Self::IndividualRegistrationMissing
            | Self::IndividualRegistrationEnded(_) => 1,
            Self::NotInMlms | Self::CourseNotCompleted => 2,
            Self::Suspended { .. } => 3,
            Self::NoLicenceData | Self::NoHealthLicence | Self::LicensedOffPlatform(_) => 4,
            Self::NoAccount | Self::TermsNotAccepted => 5,
        }
    }

    /// Names the reason's words in the locales (`eligibility-reason-<id>`), where pages find
    /// them in the reader's language.
    pub fn id(&self) -> &'static str {
        match self {
            Self::NotOnRcl => "not-on-rcl",
            Self::RclNpnNotValid(NpnValid::No) => "npn-not-valid",
            Self::RclNpnNotValid(_) => "npn-unconfirmed",
            Self::IndividualRegistrationMissing => "registration-missing",
            Self::IndividualRegistrationEnded(_) => "registration-ended",
            Self::NotInMlms => "not-in-mlms",
            Self::CourseNotCompleted => "course-not-completed",
            Self::Suspended { status, .. } => match status.code {
                1 | 2 => "suspended-licence",
                3 => "suspended-fraud",
                _ => "suspended-compliance",
            },
            Self::NoLicenceData => "no-licence-data",
            Self::NoHealthLicence => "no-health-licence",
            Self::LicensedOffPlatform(_) => "licensed-off-platform",
            Self::NoAccount => "no-account",
            Self::TermsNotAccepted => "terms-not-accepted",
        }
    }

    /// The values the reason's words name: `npn`, `year`, `day`, and where they apply `end`,
    /// `status`, `on`, `states` and `count` (how many states).
    pub fn args(&self, npn: &Npn, plan_year: i16, day: Date) -> Vec<(&'static str, String)> {
        let mut args = vec![
            ("npn", npn.to_string()),
            ("year", plan_year.to_string()),
            ("day", day.to_string()),
        ];
        match self {
            Self::IndividualRegistrationEnded(end) => args.push(("end", end.to_string())),
            Self::Suspended { status, on } => {
                args.push(("status", status.to_string()));
                args.push(("on", on.to_string()));
            }
            Self::LicensedOffPlatform(states) => {
                let list: Vec<&str> = states.iter().map(|s| s.code()).collect();
                args.push(("states", list.join(", ")));
                args.push(("count", list.len().to_string()));
            }
            _ => {}
        }
        args
    }

    /// The reason as a sentence a help-desk person can read out.
    pub fn sentence(&self, npn: &Npn, plan_year: i16, day: Date) -> String {
        match self {
            Self::NotOnRcl => format!(
                "NPN {npn} is not on the Registration Completion List for plan year {plan_year}"
            ),
            Self::RclNpnNotValid(NpnValid::No) => format!(
                "the Registration Completion List marks NPN {npn} as not valid for plan year {plan_year} (NPN Valid is N)"
            ),
            Self::RclNpnNotValid(_) => format!(
                "the Registration Completion List does not confirm NPN {npn} as valid for plan year {plan_year} (NPN Valid is -)"
            ),
            Self::IndividualRegistrationMissing => format!(
                "NPN {npn} has not completed Individual Marketplace registration for plan year {plan_year} (the Registration Completion List has no Individual Registration Completion Date)"
            ),
            Self::IndividualRegistrationEnded(end) => format!(
                "NPN {npn}'s Individual Marketplace registration for plan year {plan_year} ended on {end}"
            ),
            Self::NotInMlms => format!(
                "NPN {npn} has no Help On Demand course record in MLMS for plan year {plan_year}"
            ),
            Self::CourseNotCompleted => format!(
                "NPN {npn} has not completed the Help On Demand course in MLMS for plan year {plan_year}"
            ),
            Self::Suspended { status, on } => format!(
                "NPN {npn} is on the Suspension and Termination List for plan year {plan_year}: {status} ({}) since {on}, with no reinstatement after it",
                status.meaning()
            ),
            Self::NoLicenceData => format!("there is no NIPR licence data for NPN {npn}"),
            Self::NoHealthLicence => format!(
                "NPN {npn} holds no active state licence with an active health line of authority on {day}"
            ),
            Self::LicensedOffPlatform(states) => {
                let list: Vec<&str> = states.iter().map(|s| s.code()).collect();
                format!(
                    "NPN {npn} is licensed for health only in {}, which {} not on HealthCare.gov on {day}",
                    list.join(", "),
                    if list.len() == 1 { "is" } else { "are" }
                )
            }
            Self::NoAccount => format!("NPN {npn} has not created a Help On Demand account yet"),
            Self::TermsNotAccepted => format!(
                "NPN {npn} has not accepted the current Agent/Broker and Help On Demand Terms of Use, so registration is incomplete"
            ),
        }
    }
}

/// The outcome for one NPN on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Conditions 1–4 hold: the agent may take part (and is due an invitation).
    pub eligible: bool,
    /// Condition 5 holds.
    pub registration_complete: bool,
    /// Where the agent may take referrals: licensed-with-health-LOA states on the platform
    /// that day, sorted by code; empty when not eligible.
    pub states: Vec<UsState>,
    /// Every failed condition, in the order of SPEC §2.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// Referrals go only to agents for whom both hold.
    pub fn may_receive_referrals(&self) -> bool {
        self.eligible && self.registration_complete
    }
}

/// Checks the conditions of SPEC §2 for `facts` on `program.day`.
pub fn evaluate(facts: &Facts<'_>, program: &ProgramOn<'_>) -> Verdict {
    let py = program.plan_year.year;
    let day = program.day;
    let mut reasons = Vec::new();

    // 1. Marketplace registration for the plan year.
    match facts.rcl.filter(|r| r.plan_year == py) {
        None => reasons.push(Reason::NotOnRcl),
        Some(r) => {
            if r.npn_valid != NpnValid::Yes {
                reasons.push(Reason::RclNpnNotValid(r.npn_valid));
            }
            if r.individual_completed_on.is_none() {
                reasons.push(Reason::IndividualRegistrationMissing);
            }
            if let Some(end) = r.individual_end_on.filter(|end| *end < day) {
                reasons.push(Reason::IndividualRegistrationEnded(end));
            }
        }
    }

    // 2. The Help On Demand course.
    match facts.mlms.filter(|m| m.plan_year == py) {
        None => reasons.push(Reason::NotInMlms),
        Some(m) if m.course_completed_on.is_none() => reasons.push(Reason::CourseNotCompleted),
        Some(_) => {}
    }

    // 3. Not suspended or terminated: the latest individual-market row of the plan year that
    // is already in force decides; on the same day a reinstatement comes after the termination.
    let mut events: Vec<&StatusEvent> = facts
        .events
        .iter()
        .filter(|e| {
            e.plan_year == py && e.marketplaces.includes_individual() && e.effective_on <= day
        })
        .collect();
    events.sort_by_key(|e| (e.effective_on, e.status.reinstated));
    if let Some(last) = events.last().filter(|e| !e.status.reinstated) {
        reasons.push(Reason::Suspended {
            status: last.status,
            on: last.effective_on,
        });
    }

    // 4. Licensed with a health LOA in states on the platform that day.
    let health = program.valid_loas.health_states(facts.licenses, day);
    let states: Vec<UsState> = health
        .iter()
        .copied()
        .filter(|s| program.states.marketplace_on(*s, day).is_some())
        .collect();
    if facts.licenses.is_empty() {
        reasons.push(Reason::NoLicenceData);
    } else if health.is_empty() {
        reasons.push(Reason::NoHealthLicence);
    } else if states.is_empty() {
        reasons.push(Reason::LicensedOffPlatform(health));
    }

    let eligible = reasons.is_empty();
    let states = if eligible { states } else { Vec::new() };
    // 5. Registration in Help On Demand, terms accepted.
    if !facts.registered {
        reasons.push(Reason::NoAccount);
    } else if !facts.terms_accepted {
        reasons.push(Reason::TermsNotAccepted);
    }
    Verdict {
        eligible,
        registration_complete: facts.registered && facts.terms_accepted,
        states,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::LineOfAuthority;
    use jiff::civil::date;

    fn npn() -> Npn {
        Npn::parse("1234567").unwrap()
    }

    fn rcl() -> RclEntry {
        RclEntry {
            npn: npn(),
            plan_year: 2027,
            individual_completed_on: Some(date(2026, 9, 2)),
            individual_end_on: Some(date(2027, 10, 31)),
            shop_completed_on: None,
            shop_end_on: None,
            npn_valid: NpnValid::Yes,
        }
    }

    fn mlms() -> MlmsEntry {
        MlmsEntry {
            npn: npn(),
            plan_year: 2027,
            first_name: "Ana".into(),
            last_name: "Lopez".into(),
            email: "ana@example.org".into(),
            course_completed_on: Some(date(2026, 10, 1)),
        }
    }

    fn licence(state: &str, loa: &str) -> License {
        License {
            state: UsState::parse(state).unwrap(),
            license_number: format!("L-{state}"),
            license_class: "Producer".into(),
            resident: true,
            active: true,
            expires_on: None,
            loas: vec![LineOfAuthority {
                loa: loa.into(),
                loa_code: "14".into(),
                active: true,
                status_date: None,
            }],
        }
    }

    fn event(status: &str, on: Date) -> StatusEvent {
        StatusEvent {
            npn: npn(),
            status: ListStatus::parse(status).unwrap(),
            marketplaces: Marketplaces::Both,
            plan_year: 2027,
            registration_completed_on: None,
            effective_on: on,
        }
    }

    struct Case {
        rcl: Option<RclEntry>,
        mlms: Option<MlmsEntry>,
        events: Vec<StatusEvent>,
        licenses: Vec<License>,
        registered: bool,
        terms_accepted: bool,
        day: Date,
    }

    impl Case {
        fn good() -> Self {
            Self {
                rcl: Some(rcl()),
                mlms: Some(mlms()),
                events: vec![],
                licenses: vec![
                    licence("TX", "Accident & Health or Sickness"),
                    licence("CA", "Health"),
                ],
                registered: true,
                terms_accepted: true,
                day: date(2026, 11, 26),
            }
        }

        fn verdict(&self) -> Verdict {
            let py = PlanYear::standard_for(self.day);
            let table = StateTable::seed();
            let mut loas = ValidLoas::default();
            loas.insert(None, "Accident & Health or Sickness");
            loas.insert(None, "Health");
            let n = npn();
            evaluate(
                &Facts {
                    npn: &n,
                    rcl: self.rcl.as_ref(),
                    mlms: self.mlms.as_ref(),
                    events: &self.events,
                    licenses: &self.licenses,
                    registered: self.registered,
                    terms_accepted: self.terms_accepted,
                },
                &ProgramOn {
                    day: self.day,
                    plan_year: &py,
                    states: &table,
                    valid_loas: &loas,
                },
            )
        }
    }

    #[test]
    fn all_conditions_met_gives_platform_states_only() {
        let v = Case::good().verdict();
        assert!(v.eligible && v.registration_complete && v.may_receive_referrals());
        assert_eq!(
            v.states,
            vec![UsState::parse("TX").unwrap()],
            "CA is not on HealthCare.gov"
        );
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn each_failed_condition_is_a_reason() {
        let mut c = Case::good();
        c.rcl = None;
        assert_eq!(c.verdict().reasons, vec![Reason::NotOnRcl]);

        let mut c = Case::good();
        c.rcl.as_mut().unwrap().plan_year = 2026;
        assert_eq!(
            c.verdict().reasons,
            vec![Reason::NotOnRcl],
            "last year's row does not count"
        );

        let mut c = Case::good();
        c.rcl.as_mut().unwrap().npn_valid = NpnValid::No;
        assert_eq!(
            c.verdict().reasons,
            vec![Reason::RclNpnNotValid(NpnValid::No)]
        );

        let mut c = Case::good();
        c.rcl.as_mut().unwrap().individual_completed_on = None;
        assert_eq!(
            c.verdict().reasons,
            vec![Reason::IndividualRegistrationMissing]
        );

        let mut c = Case::good();
        c.rcl.as_mut().unwrap().individual_end_on = Some(date(2026, 11, 25));
        assert_eq!(
            c.verdict().reasons,
            vec![Reason::IndividualRegistrationEnded(date(2026, 11, 25))]
        );
        c.rcl.as_mut().unwrap().individual_end_on = Some(date(2026, 11, 26));
        assert!(c.verdict().eligible, "the end date itself is not past");

        let mut c = Case::good();
        c.mlms = None;
        assert_eq!(c.verdict().reasons, vec![Reason::NotInMlms]);
        let mut c = Case::good();
        c.mlms.as_mut().unwrap().course_completed_on = None;
        assert_eq!(c.verdict().reasons, vec![Reason::CourseNotCompleted]);

        let mut c = Case::good();
        c.licenses.clear();
        assert_eq!(c.verdict().reasons, vec![Reason::NoLicenceData]);
        let mut c = Case::good();
        c.licenses = vec![licence("TX", "Life")];
        assert_eq!(c.verdict().reasons, vec![Reason::NoHealthLicence]);
        let mut c = Case::good();
        c.licenses = vec![licence("CA", "Health"), licence("NY", "Health")];
        let v = c.verdict();
        assert_eq!(
            v.reasons,
            vec![Reason::LicensedOffPlatform(vec![
                UsState::parse("CA").unwrap(),
                UsState::parse("NY").unwrap()
            ])]
        );
        assert_eq!(
            v.reasons[0].sentence(&npn(), 2027, c.day),
            "NPN 1234567 is licensed for health only in CA, NY, which are not on HealthCare.gov on 2026-11-26"
        );

        let mut c = Case::good();
        c.registered = false;
        let v = c.verdict();
        assert!(v.eligible && !v.registration_complete && !v.may_receive_referrals());
        assert_eq!(v.reasons, vec![Reason::NoAccount]);
        c.registered = true;
        c.terms_accepted = false;
        let v = c.verdict();
        assert!(v.eligible && !v.registration_complete);
        assert_eq!(v.reasons, vec![Reason::TermsNotAccepted]);
    }

    #[test]
    fn termination_holds_until_a_later_reinstatement() {
        let mut c = Case::good();
        c.events = vec![event("T3", date(2026, 11, 10))];
        let v = c.verdict();
        assert!(!v.eligible);
        assert_eq!(
            v.reasons[0].sentence(&npn(), 2027, c.day),
            "NPN 1234567 is on the Suspension and Termination List for plan year 2027: T3 (fraud) since 2026-11-10, with no reinstatement after it"
        );
        c.events.push(event("R3", date(2026, 11, 20)));
        assert!(c.verdict().eligible);
        c.events.push(event("T1", date(2026, 11, 22)));
        assert!(
            !c.verdict().eligible,
            "a termination after the reinstatement counts again"
        );
        c.events.push(event("R1", date(2026, 11, 22)));
        assert!(
            c.verdict().eligible,
            "same day: the reinstatement comes after"
        );

        let mut c = Case::good();
        c.events = vec![event("T4", date(2026, 12, 1))];
        assert!(c.verdict().eligible, "not in force yet");
        let mut shop = event("T2", date(2026, 11, 1));
        shop.marketplaces = Marketplaces::Shop;
        let mut other_year = event("T2", date(2026, 3, 1));
        other_year.plan_year = 2026;
        c.events = vec![shop, other_year];
        assert!(
            c.verdict().eligible,
            "SHOP-only rows and other plan years do not count"
        );
    }

    #[test]
    fn states_follow_the_platform_calendar() {
        // Oregon is on the platform until 2026-10-31 (PY2026) and off it from 2026-11-01.
        let mut c = Case::good();
        c.licenses = vec![licence("OR", "Health")];
        c.rcl.as_mut().unwrap().plan_year = 2026;
        c.mlms.as_mut().unwrap().plan_year = 2026;
        c.day = date(2026, 10, 31);
        assert_eq!(c.verdict().states, vec![UsState::parse("OR").unwrap()]);
        c.day = date(2026, 11, 1);
        c.rcl.as_mut().unwrap().plan_year = 2027;
        c.mlms.as_mut().unwrap().plan_year = 2027;
        assert_eq!(
            c.verdict().reasons,
            vec![Reason::LicensedOffPlatform(vec![
                UsState::parse("OR").unwrap()
            ])]
        );
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(ListStatus::parse("t3").unwrap().to_string(), "T3");
        assert!(ListStatus::parse("R4").unwrap().reinstated);
        for bad in ["", "T", "T5", "X1", "T12"] {
            assert!(ListStatus::parse(bad).is_none(), "{bad}");
        }
    }
}
