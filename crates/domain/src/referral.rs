//! A consumer's request for help and what happens to it (SPEC.md §6.1, §6.4): the choices a
//! consumer makes, the statuses a referral moves through and who may move it where.
use std::fmt;

/// How the consumer wants to be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactBy {
    Call,
    Text,
}

impl ContactBy {
    pub const ALL: [Self; 2] = [Self::Call, Self::Text];

    pub fn id(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == s.trim())
    }
}

/// Why the consumer asks for help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpReason {
    NewCoverage,
    Change,
    SpecialEnrollment,
}

impl HelpReason {
    pub const ALL: [Self; 3] = [Self::NewCoverage, Self::Change, Self::SpecialEnrollment];

    pub fn id(self) -> &'static str {
        match self {
            Self::NewCoverage => "new_coverage",
            Self::Change => "change",
            Self::SpecialEnrollment => "special_enrollment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == s.trim())
    }
}

/// Where a referral stands (SPEC.md §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting for the router (just submitted, or every offer lapsed and more are due).
    Searching,
    /// At least one agent holds an open offer.
    Offered,
    Accepted,
    FollowUpCompleted,
    QuoteCompleted,
    Sold,
    Deferred,
    Delayed,
    NotAGoodProspect,
    /// Nobody could take it: the consumer was given the call center.
    Unserved,
    Cancelled,
}

impl Status {
    pub const ALL: [Self; 11] = [
        Self::Searching,
        Self::Offered,
        Self::Accepted,
        Self::FollowUpCompleted,
        Self::QuoteCompleted,
        Self::Sold,
        Self::Deferred,
        Self::Delayed,
        Self::NotAGoodProspect,
        Self::Unserved,
        Self::Cancelled,
    ];

    /// What an agent may record once the referral is theirs, in the order the page offers.
    pub const AGENT_STEPS: [Self; 6] = [
        Self::FollowUpCompleted,
        Self::QuoteCompleted,
        Self::Sold,
        Self::Deferred,
        Self::Delayed,
        Self::NotAGoodProspect,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Searching => "searching",
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::FollowUpCompleted => "follow_up_completed",
            Self::QuoteCompleted => "quote_completed",
            Self::Sold => "sold",
            Self::Deferred => "deferred",
            Self::Delayed => "delayed",
            Self::NotAGoodProspect => "not_a_good_prospect",
            Self::Unserved => "unserved",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.id() == s.trim())
    }

    /// Still in the router's hands.
    pub fn is_routing(self) -> bool {
        matches!(self, Self::Searching | Self::Offered)
    }

    /// An agent holds it (accepted and not finished).
    pub fn is_with_agent(self) -> bool {
        matches!(
            self,
            Self::Accepted
                | Self::FollowUpCompleted
                | Self::QuoteCompleted
                | Self::Deferred
                | Self::Delayed
        )
    }

    /// Needs a written justification (SPEC.md §6.4).
    pub fn needs_justification(self) -> bool {
        matches!(
            self,
            Self::Deferred | Self::Delayed | Self::NotAGoodProspect
        )
    }

    /// Needs the account or policy number.
    pub fn needs_account_number(self) -> bool {
        self == Self::Sold
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Why an agent's status change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("this status cannot be recorded by an agent")]
    NotAnAgentStep,
    #[error("the referral is {0} and cannot change any more")]
    Closed(Status),
    #[error("the referral is already {0}")]
    Unchanged(Status),
    #[error("a written justification is required")]
    JustificationRequired,
    #[error("the account or policy number is required")]
    AccountNumberRequired,
}

/// Checks an agent's move of their referral from `from` to `to` with the given note and
/// account number (already trimmed).
pub fn check_step(
    from: Status,
    to: Status,
    note: &str,
    account_number: &str,
) -> Result<(), StepError> {
    if !Status::AGENT_STEPS.contains(&to) {
        return Err(StepError::NotAnAgentStep);
    }
    if !from.is_with_agent() {
        return Err(StepError::Closed(from));
    }
    if from == to {
        return Err(StepError::Unchanged(from));
    }
    if to.needs_justification() && note.is_empty() {
        return Err(StepError::JustificationRequired);
    }
    if to.needs_account_number() && account_number.is_empty() {
        return Err(StepError::AccountNumberRequired);
    }
    Ok(())
}

/// "Jane D.": how a consumer is told who will call, and how agents' lists name consumers
/// before they open a referral.
pub fn short_name(first: &str, last: &str) -> String {
    match last.trim().chars().next() {
        Some(initial) => format!("{} {}.", first.trim(), initial.to_uppercase()),
        None => first.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.id()), Some(s));
        }
        for r in HelpReason::ALL {
            assert_eq!(HelpReason::parse(r.id()), Some(r));
        }
        assert_eq!(ContactBy::parse(" text "), Some(ContactBy::Text));
        assert_eq!(Status::parse("won"), None);
    }

    #[test]
    fn agent_steps() {
        use Status::*;
        assert_eq!(check_step(Accepted, FollowUpCompleted, "", ""), Ok(()));
        assert_eq!(
            check_step(FollowUpCompleted, QuoteCompleted, "", ""),
            Ok(())
        );
        assert_eq!(
            check_step(QuoteCompleted, Sold, "", ""),
            Err(StepError::AccountNumberRequired)
        );
        assert_eq!(check_step(QuoteCompleted, Sold, "", "P-123"), Ok(()));
        for s in [Deferred, Delayed, NotAGoodProspect] {
            assert_eq!(
                check_step(Accepted, s, "", ""),
                Err(StepError::JustificationRequired)
            );
            assert_eq!(check_step(Accepted, s, "Call back in March", ""), Ok(()));
        }
        assert_eq!(
            check_step(Sold, Delayed, "x", ""),
            Err(StepError::Closed(Sold))
        );
        assert_eq!(
            check_step(Offered, FollowUpCompleted, "", ""),
            Err(StepError::Closed(Offered))
        );
        assert_eq!(
            check_step(Accepted, Unserved, "", ""),
            Err(StepError::NotAnAgentStep)
        );
        assert_eq!(
            check_step(Delayed, Delayed, "again", ""),
            Err(StepError::Unchanged(Delayed))
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("Jane", "doe"), "Jane D.");
        assert_eq!(short_name(" Ángel ", "Órtiz"), "Ángel Ó.");
        assert_eq!(short_name("Cher", ""), "Cher");
    }
}

/// Where an offer of a referral to one agent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Waiting for the agent's answer until it expires.
    Open,
    Accepted,
    Declined,
    /// Lapsed unanswered.
    Expired,
    /// Closed because someone else accepted, or the request gave up.
    Withdrawn,
}

impl OfferStatus {
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Accepted,
        Self::Declined,
        Self::Expired,
        Self::Withdrawn,
    ];

    /// The stored name (`referral_offers.status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Withdrawn => "withdrawn",
        }
    }
}

#[cfg(test)]
mod offer_status_tests {
    use super::OfferStatus;

    #[test]
    fn names_round_trip() {
        for s in OfferStatus::ALL {
            assert_eq!(OfferStatus::try_from(s.as_str().to_owned()), Ok(s));
        }
        assert!(OfferStatus::try_from("gone".to_owned()).is_err());
    }
}

/// What a referral's timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The request arrived (form or API), with its consent.
    Submitted,
    /// A routing round's decision log: who was considered, filtered out and offered.
    Decision,
    /// The referral's status changed (the entry carries the new status).
    Status,
    OfferExpired,
    OfferDeclined,
    /// The accepting agent was reminded to make contact.
    Reminder,
    /// The agent recorded the consumer's consent.
    Consent,
}

impl EventKind {
    pub const ALL: [Self; 7] = [
        Self::Submitted,
        Self::Decision,
        Self::Status,
        Self::OfferExpired,
        Self::OfferDeclined,
        Self::Reminder,
        Self::Consent,
    ];

    /// The stored name (`referral_events.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Decision => "decision",
            Self::Status => "status",
            Self::OfferExpired => "offer_expired",
            Self::OfferDeclined => "offer_declined",
            Self::Reminder => "reminder",
            Self::Consent => "consent",
        }
    }
}

macro_rules! serialize_as_str {
    ($($ty:ty => $name:ident),*) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$name())
            }
        }
    )*};
}
serialize_as_str!(Status => id, OfferStatus => as_str, EventKind => as_str);
crate::stored_name!(Status, id, "a referral status");
crate::stored_name!(OfferStatus, as_str, "an offer status");
crate::stored_name!(EventKind, as_str, "a timeline entry kind");

#[cfg(test)]
mod event_kind_tests {
    use super::{EventKind, Status};

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::try_from(k.as_str().to_owned()), Ok(k));
        }
        for s in Status::ALL {
            assert_eq!(Status::try_from(s.id().to_owned()), Ok(s));
        }
        assert!(EventKind::try_from("note".to_owned()).is_err());
        assert!(Status::try_from(" sold".to_owned()).is_err());
    }
}
