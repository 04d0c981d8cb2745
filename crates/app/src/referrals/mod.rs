//! Consumer requests and routing (SPEC.md §6). The types every part shares live here; each
//! job has its file: `intake` (the request, its checks, idempotency and duplicates),
//! `rounds` (routing rounds, decision logs, the sweeper), `offers` (accept, decline), `casework`
//! (what agents and partners read and record afterwards), `messages` (what consumers and agents
//! are sent), `status_link` (the consumer's signed link).
pub use hod_db::referrals::{ConsentRow, Contact, EventRow, OpenOffer, ReferralRow};
use hod_domain::UsState;
use hod_domain::referral::{Status, StepError};
use jiff::{SignedDuration, Timestamp};

use crate::fields::{FieldProblem, FieldProblems};
use crate::{App, AppError};

mod casework;
mod facts;
mod intake;
mod messages;
mod offers;
mod rounds;
mod status_link;

pub(crate) use facts::RoutingFacts;
pub(crate) use status_link::load_status_key;

/// The version of the consent text the request page shows (SPEC.md §6.1). A new wording
/// gets a new version; the text of each version is in the locales (`consent-text`).
pub const CONSENT_VERSION: &str = "2026-11";

/// The Marketplace Call Center, the fallback when nobody can help.
pub const CALL_CENTER: &str = "1-800-318-2596";

/// An accepting agent is expected to contact the consumer within this time.
pub const FOLLOW_UP_WITHIN: SignedDuration = SignedDuration::from_mins(60);

/// A request as typed (web form or JSON). Field names are SPEC.md §9.1's.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub zip: String,
    pub language: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub contact_by: String,
    pub best_time: String,
    pub reason: String,
    pub consent: bool,
    pub consent_version: String,
}

/// How long a partner's `Idempotency-Key` is remembered; afterwards it may be used again.
pub const IDEMPOTENCY_KEY_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Where a request comes from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Language of the messages to the consumer: `en` or `es`.
    pub ui_lang: &'a str,
    /// The partner key and its `Idempotency-Key`, for API submissions.
    pub partner: Option<(i64, Option<&'a str>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("some fields need attention")]
    Fields(FieldProblems),
    /// The ZIP is in a state whose Marketplace is not HealthCare.gov.
    #[error("{state} is not served through HealthCare.gov")]
    OtherMarketplace {
        state: UsState,
        /// (name, website) of the state's own Marketplace, when it has one.
        marketplace: Option<(&'static str, &'static str)>,
    },
    #[error("requests are not taken now; call the Marketplace Call Center at {CALL_CENTER}")]
    IntakeClosed,
    /// The same person asked a few minutes ago through someone else (another partner, or the
    /// public form): the link to that request went to the consumer's own phone or email again.
    #[error(
        "this person already asked for help a few minutes ago; the link to that request was sent to their phone or email again"
    )]
    AlreadyRequested,
    /// An `Idempotency-Key` the partner already used for a different request.
    #[error(
        "this Idempotency-Key was already used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused,
    #[error(transparent)]
    App(#[from] AppError),
}

/// A submitted request: new, or the one the same person (or the same `Idempotency-Key`)
/// submitted a moment ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: i64,
    pub status: Status,
    /// The secret of the consumer's status page, `/requests/{token}`.
    pub status_token: String,
    pub created: bool,
}

/// Why an agent could not act on an offer.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("no such offer")]
    NotFound,
    /// Someone else accepted first, or the offer lapsed or was withdrawn.
    #[error("this referral is no longer available")]
    Gone,
    /// The agent already has as many open referrals as the program allows.
    #[error(
        "you already have {capacity} open referrals, the most the program allows at once: record Follow-Up Completed on one before accepting another"
    )]
    AtCapacity { capacity: u32 },
    /// The step is not possible from the referral's current status.
    #[error(transparent)]
    StepConflict(StepError),
    /// A field to correct (`status`, `note`, `account_number`, `reason`) and why.
    #[error("{field}: {}", problem.message())]
    Invalid {
        field: &'static str,
        problem: FieldProblem,
    },
    #[error(transparent)]
    App(#[from] AppError),
}

impl OfferError {
    fn invalid(field: &'static str, problem: impl Into<FieldProblem>) -> Self {
        Self::Invalid {
            field,
            problem: problem.into(),
        }
    }
}

/// A refused step: a conflict with where the referral is, or a field to correct.
impl From<StepError> for OfferError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Closed(_) | StepError::Unchanged(_) => Self::StepConflict(e),
            StepError::NotAnAgentStep => Self::invalid("status", FieldProblem::ChoiceUnknown),
            StepError::JustificationRequired => {
                Self::invalid("note", FieldProblem::JustificationRequired)
            }
            StepError::AccountNumberRequired => {
                Self::invalid("account_number", FieldProblem::AccountNumberRequired)
            }
        }
    }
}

impl From<hod_db::DbError> for SubmitError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

impl From<hod_db::DbError> for OfferError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

/// Why a record on a referral was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no such referral")]
    NotFound,
    #[error("some fields need attention")]
    Fields(FieldProblems),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<hod_db::DbError> for RecordError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

/// What the consumer's status page and the partner API show: no agent-private data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicStatus {
    pub id: i64,
    pub status: Status,
    pub created_at: Timestamp,
    pub ui_lang: String,
    /// "Jane D.", once an agent accepted.
    pub agent: Option<String>,
    pub accepted_at: Option<Timestamp>,
    pub city: String,
    pub state: String,
}

/// A referral as its agent sees it, with the consumer's contact details.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReferral {
    pub referral: ReferralRow,
    pub contact: Contact,
    pub status: Status,
    pub events: Vec<EventRow>,
}

/// The consumer's consent in the terms of the CMS model consent form, as the agent records it.
#[derive(Debug, Clone, Default)]
pub struct ConsentForm {
    pub scope: String,
    pub duration: String,
    /// YYYY-MM-DD.
    pub consented_on: String,
    pub withdraw_how: String,
    /// `verbal`, `written` or `electronic`.
    pub method: String,
}

/// How long consent records are kept.
pub const CONSENT_KEPT_YEARS: i16 = 10;

/// What one routing round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    pub offered: Vec<i64>,
    pub expired: Vec<i64>,
    pub unserved: bool,
}

/// What a sweep did across all due referrals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    pub rounds: usize,
    pub offered: usize,
    pub expired: usize,
    pub unserved: usize,
    pub reminders: usize,
}

impl App {
    /// Tells live pages (server-sent events) that something changed: on this node at once,
    /// on the others through the database's signal (PostgreSQL). Pages also look every few
    /// seconds, in case a signal was lost.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        self.db.signal(hod_db::signal::CHANGES);
    }
}
