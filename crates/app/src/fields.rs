//! Why a field a person filled in was refused: one problem per field, with a code that names
//! the message shown next to the field (locales: `problem-<code>`) and an English message for
//! the API.
use std::collections::BTreeMap;

use hod_domain::Zip;
use hod_domain::account::{PhoneError, UsernameError};
use hod_domain::password::Rule;
use serde::Serialize;

use crate::App;

/// Why a field was refused. [`FieldProblem::code`] names the message shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FieldProblem {
    Required,
    PhoneDigits,
    PhoneNotUs,
    /// A toll-free number where texts must reach (an agent's mobile, a consumer asking for texts).
    PhoneTollFree,
    /// A premium or non-geographic number where texts must reach.
    PhoneNotTextable,
    ContactMethodUnknown,
    ZipSyntax,
    ZipUnknown,
    UsernameLength,
    UsernameCharacters,
    UsernameTaken,
    /// The rules of SPEC.md §3.1 the password fails.
    Password(Vec<Rule>),
    PasswordMismatch,
    TermsRequired,
    /// Profile: at least one language.
    LanguagesRequired,
    LanguageUnknown,
    /// Profile: a state where the agent is not eligible (or not a state).
    StateNotEligible,
    /// Availability: a time that is not HH:MM, a period that ends before it starts, or two
    /// periods that overlap.
    HoursInvalid,
    TimeZoneUnknown,
    /// Extended Absence: no start, or an end before the start.
    AbsenceDates,
    /// Change password: the current password is wrong.
    CurrentPasswordWrong,
    /// An operator's password is shorter than 12 characters.
    OperatorPasswordLength,
    /// Consumer request: an email address that cannot be one.
    EmailInvalid,
    /// A value that is not one of the choices offered.
    ChoiceUnknown,
    TooLong,
    /// The consent box was not ticked.
    ConsentRequired,
    /// The consent text the consumer saw is not the current one.
    ConsentVersion,
    /// Not a date (YYYY-MM-DD), or not a plausible one.
    DateInvalid,
    /// Free text with a control character (a line break in a one-line field, ESC, NUL…).
    TextControl,
    /// Free text with an invisible character that reverses or isolates the text's direction.
    TextBidi,
    /// A name with no letter in it.
    NameNoLetter,
    /// Deferred, Delayed and Not a Good Prospect need a written justification.
    JustificationRequired,
    /// Sold needs the account or policy number.
    AccountNumberRequired,
}

impl FieldProblem {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::PhoneDigits => "phone-digits",
            Self::PhoneNotUs => "phone-not-us",
            Self::PhoneTollFree => "phone-toll-free",
            Self::PhoneNotTextable => "phone-not-textable",
            Self::ContactMethodUnknown => "contact-method-unknown",
            Self::ZipSyntax => "zip-syntax",
            Self::ZipUnknown => "zip-unknown",
            Self::UsernameLength => "username-length",
            Self::UsernameCharacters => "username-characters",
            Self::UsernameTaken => "username-taken",
            Self::Password(_) => "password-rules",
            Self::PasswordMismatch => "password-mismatch",
            Self::TermsRequired => "terms-required",
            Self::LanguagesRequired => "languages-required",
            Self::LanguageUnknown => "language-unknown",
            Self::StateNotEligible => "state-not-eligible",
            Self::HoursInvalid => "hours-invalid",
            Self::TimeZoneUnknown => "time-zone-unknown",
            Self::AbsenceDates => "absence-dates",
            Self::CurrentPasswordWrong => "current-password-wrong",
            Self::OperatorPasswordLength => "operator-password-length",
            Self::EmailInvalid => "email-invalid",
            Self::ChoiceUnknown => "choice-unknown",
            Self::TooLong => "too-long",
            Self::ConsentRequired => "consent-required",
            Self::ConsentVersion => "consent-version",
            Self::DateInvalid => "date-invalid",
            Self::TextControl => "text-control",
            Self::TextBidi => "text-bidi",
            Self::NameNoLetter => "name-no-letter",
            Self::JustificationRequired => "justification-required",
            Self::AccountNumberRequired => "account-number-required",
        }
    }

    /// The message in English (the API's language).
    pub fn message(&self) -> String {
        match self {
            Self::Required => "This field is required.".into(),
            Self::PhoneDigits => "Enter a US mobile number with area code, e.g. (713) 555-0101.".into(),
            Self::PhoneNotUs => "This is not a US phone number: the area code and the three digits after it cannot start with 0 or 1.".into(),
            Self::PhoneTollFree => "Toll-free numbers cannot receive text messages: enter a mobile number.".into(),
            Self::PhoneNotTextable => "This kind of number (premium or non-geographic) cannot receive text messages: enter a mobile number.".into(),
            Self::ContactMethodUnknown => "Choose one of the four contact methods.".into(),
            Self::ZipSyntax => "Enter a 5-digit ZIP code.".into(),
            Self::ZipUnknown => "This ZIP code does not exist.".into(),
            Self::UsernameLength => "A username is 3 to 64 characters.".into(),
            Self::UsernameCharacters => "A username may contain only letters, digits and . _ - @ +".into(),
            Self::UsernameTaken => "This username is taken; choose another.".into(),
            Self::Password(rules) => format!(
                "The password does not meet these rules: {}.",
                rules.iter().map(|r| r.id()).collect::<Vec<_>>().join(", ")
            ),
            Self::PasswordMismatch => "The two passwords are not the same.".into(),
            Self::TermsRequired => "You must agree to the Help On Demand Terms of Use.".into(),
            Self::LanguagesRequired => "Choose at least one language.".into(),
            Self::LanguageUnknown => "Use ISO 639-1 language codes from the list.".into(),
            Self::StateNotEligible => "Choose only states where you are eligible for referrals.".into(),
            Self::HoursInvalid => "Each period needs a start and an end (HH:MM) and must not overlap another.".into(),
            Self::TimeZoneUnknown => "Choose a time zone from the list.".into(),
            Self::AbsenceDates => "Give the first day of the absence, and an end on or after it (or no end).".into(),
            Self::CurrentPasswordWrong => "The current password is not correct.".into(),
            Self::OperatorPasswordLength => "Operator passwords must be at least 12 characters.".into(),
            Self::EmailInvalid => "Enter an email address like name@example.com, or leave it empty.".into(),
            Self::ChoiceUnknown => "Choose one of the options offered.".into(),
            Self::TooLong => "This is too long.".into(),
            Self::ConsentRequired => "You must agree to be contacted by a licensed agent.".into(),
            Self::DateInvalid => "Enter a date in the past year (YYYY-MM-DD), not in the future.".into(),
            Self::TextControl => "Remove the control characters (such as line breaks, tabs or escape characters) from this field.".into(),
            Self::TextBidi => "Remove the invisible characters that change the direction of the text.".into(),
            Self::NameNoLetter => "A name must contain at least one letter.".into(),
            Self::JustificationRequired => "This status needs a written justification.".into(),
            Self::AccountNumberRequired => "Sold needs the account or policy number.".into(),
            Self::ConsentVersion => format!(
                "The consent text has changed: show the current text (version {}) and ask again.",
                crate::referrals::CONSENT_VERSION
            ),
        }
    }
}

impl From<hod_domain::text::TextError> for FieldProblem {
    fn from(e: hod_domain::text::TextError) -> Self {
        match e {
            hod_domain::text::TextError::Control => Self::TextControl,
            hod_domain::text::TextError::Bidi => Self::TextBidi,
            hod_domain::text::TextError::NoLetter => Self::NameNoLetter,
        }
    }
}

impl From<PhoneError> for FieldProblem {
    fn from(e: PhoneError) -> Self {
        match e {
            PhoneError::Digits => Self::PhoneDigits,
            PhoneError::NotNanp => Self::PhoneNotUs,
            PhoneError::TollFree => Self::PhoneTollFree,
            PhoneError::NotTextable => Self::PhoneNotTextable,
        }
    }
}

impl From<UsernameError> for FieldProblem {
    fn from(e: UsernameError) -> Self {
        match e {
            UsernameError::Length => Self::UsernameLength,
            UsernameError::Characters => Self::UsernameCharacters,
        }
    }
}

impl App {
    /// A ZIP code that exists, or why not.
    pub(crate) fn known_zip(&self, raw: &str) -> Result<Zip, FieldProblem> {
        match Zip::parse(raw) {
            Ok(z) if self.zips.get(z).is_some() => Ok(z),
            Ok(_) => Err(FieldProblem::ZipUnknown),
            Err(_) => Err(FieldProblem::ZipSyntax),
        }
    }
}

/// Field name (SPEC.md §9.1) → problem.
pub type FieldProblems = BTreeMap<&'static str, FieldProblem>;
