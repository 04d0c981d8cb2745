//! Page templates (askama, in `templates/`). Every page carries `t` (its language) and
//! `page` (what the layout needs).
use askama::Template;

use crate::i18n::Tr;

/// What the base layout needs from every page.
/// A form page's problems, (field, message) in the form's order; templates ask
/// `self.error("zip")` beside each field.
pub trait FieldErrors {
    fn errors(&self) -> &[(&'static str, String)];

    fn error(&self, field: &str) -> Option<&str> {
        self.errors()
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct PageMeta {
    /// Path of this page, for the language switch to come back to.
    pub path: String,
}

#[derive(Debug, Template)]
#[template(path = "landing.html")]
pub struct Landing {
    pub t: Tr,
    pub page: PageMeta,
    pub states_intro: Option<String>,
    pub state_names: Vec<String>,
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
    pub reference: Option<String>,
}

/// A link that does not (or no longer) works: why, and what to do.
#[derive(Debug, Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
    /// A button: (href, label).
    pub action: Option<(String, String)>,
}

/// "Get Started by Creating a Profile".
#[derive(Debug, Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub t: Tr,
    pub page: PageMeta,
    pub token: String,
    pub expires: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub zip: String,
    pub username: String,
    pub accept_terms: bool,
    pub methods: Vec<MethodOption>,
    pub checklist: Vec<ChecklistItem>,
    /// (field, message), in the form's order.
    pub errors: Vec<(&'static str, String)>,
}

impl FieldErrors for RegisterPage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

/// One of the four Preferred Contact Methods.
#[derive(Debug, Clone)]
pub struct MethodOption {
    pub id: &'static str,
    pub label: String,
    pub checked: bool,
}

/// One rule of the live password checklist; `state` is "", "met" or "unmet" (a CSS class).
#[derive(Debug, Clone)]
pub struct ChecklistItem {
    pub id: &'static str,
    pub label: String,
    pub state: &'static str,
}

impl ChecklistItem {
    pub fn is_met(&self) -> bool {
        self.state == "met"
    }

    pub fn is_unmet(&self) -> bool {
        self.state == "unmet"
    }
}

/// "Your registration is almost complete!".
#[derive(Debug, Template)]
#[template(path = "registered.html")]
pub struct RegisteredPage {
    pub t: Tr,
    pub page: PageMeta,
    pub texted: bool,
}

/// A short page that says one thing (check your email, try later, …).
#[derive(Debug, Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: Tr,
    pub page: PageMeta,
    /// The remembered username, if any.
    pub username: String,
    pub remember: bool,
    /// The last attempt was refused.
    pub failed: bool,
}

/// "Forgot Username?" (`which` = "username") and "Forgot Password?" ("password").
#[derive(Debug, Template)]
#[template(path = "recover.html")]
pub struct RecoverPage {
    pub t: Tr,
    pub page: PageMeta,
    pub which: &'static str,
    /// The request was taken (the same words whether or not an account matched).
    pub sent: bool,
}

impl RecoverPage {
    pub fn key(&self, suffix: &str) -> String {
        format!("forgot-{}-{suffix}", self.which)
    }
}

#[derive(Debug, Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub t: Tr,
    pub page: PageMeta,
    pub token: String,
    /// For the live checklist's `not_common` (unknown before the link is used: empty).
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub checklist: Vec<ChecklistItem>,
    pub errors: Vec<(&'static str, String)>,
}

impl FieldErrors for ResetPage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub t: Tr,
    pub page: PageMeta,
    pub name: String,
    pub username: String,
    /// The number a code was texted to, while it is not confirmed.
    pub phone_to_confirm: Option<String>,
    pub phone_message: Option<String>,
    pub eligible: bool,
    pub states: String,
    pub reasons: Vec<String>,
    /// Terms not accepted: "declined" or "pending"; `None` when accepted.
    pub terms: Option<&'static str>,
}

/// One Terms of Use document as the terms page shows it.
#[derive(Debug, Clone)]
pub struct TermsView {
    pub kind: String,
    pub label: String,
    pub version: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub accepted: bool,
}

#[derive(Debug, Template)]
#[template(path = "terms.html")]
pub struct TermsPage {
    pub t: Tr,
    pub page: PageMeta,
    pub documents: Vec<TermsView>,
    pub languages: String,
    pub states: String,
    pub message: Option<String>,
}

/// A choice in a list of checkboxes, radios or options.
#[derive(Debug, Clone)]
pub struct Opt {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Debug, Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub t: Tr,
    pub page: PageMeta,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub zip: String,
    pub methods: Vec<MethodOption>,
    pub languages: Vec<Opt>,
    /// Eligible states only.
    pub states: Vec<Opt>,
    pub message: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

/// One day's row of period inputs.
#[derive(Debug, Clone)]
pub struct DayRow {
    pub name: String,
    pub periods: Vec<PeriodInputs>,
}

#[derive(Debug, Clone)]
pub struct PeriodInputs {
    pub start_name: String,
    pub end_name: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Template)]
#[template(path = "availability.html")]
pub struct AvailabilityPage {
    pub t: Tr,
    pub page: PageMeta,
    pub available_now: bool,
    pub modes: Vec<Opt>,
    pub time_zones: Vec<Opt>,
    pub slots: Vec<usize>,
    pub days: Vec<DayRow>,
    pub absence_from: String,
    pub absence_until: String,
    pub message: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Debug, Template)]
#[template(path = "security.html")]
pub struct SecurityPage {
    pub t: Tr,
    pub page: PageMeta,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub checklist: Vec<ChecklistItem>,
    /// (description, is this session).
    pub sessions: Vec<(String, bool)>,
    /// (id, "name · added … · last used …").
    pub passkeys: Vec<(i64, String)>,
    pub message: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

/// A page with a title and one paragraph, nothing else (the offline page).
#[derive(Debug, Template)]
#[template(path = "notice_only.html")]
pub struct NoticeOnly {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Template)]
#[template(path = "help.html")]
pub struct HelpPage {
    pub t: Tr,
    pub page: PageMeta,
}

/// A notice instead of (or above) a form: (title, text, a link (href, label)).
pub type Notice = (String, String, Option<(String, String)>);

/// "Get help": the consumer's request (SPEC.md §6.1).
#[derive(Debug, Template)]
#[template(path = "get_help.html")]
pub struct GetHelpPage {
    pub t: Tr,
    pub page: PageMeta,
    /// Intake closed or the ZIP is elsewhere: (title, text, a link (href, label)).
    pub closed: Option<Notice>,
    pub show_form: bool,
    pub consent_version: &'static str,
    pub zip: String,
    pub languages: Vec<Opt>,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub contact_by: Vec<Opt>,
    pub best_time: String,
    pub reasons: Vec<Opt>,
    pub consent: bool,
    pub errors: Vec<(&'static str, String)>,
}

impl FieldErrors for GetHelpPage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

/// The consumer's status page, reached by the link in their confirmation.
#[derive(Debug, Template)]
#[template(path = "request_status.html")]
pub struct RequestStatusPage {
    pub t: Tr,
    pub page: PageMeta,
    pub status: &'static str,
    pub heading: String,
    pub text: String,
    pub events_url: String,
}

/// An open offer as the Manage Referrals tab lists it.
#[derive(Debug, Clone)]
pub struct OfferView {
    pub id: i64,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub language: String,
    pub reason: String,
    pub expires_iso: String,
    pub expires_local: String,
}

/// One of the agent's accepted referrals.
#[derive(Debug, Clone)]
pub struct MyReferral {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub phone_display: String,
    pub status: String,
    pub accepted: String,
}

/// Manage Referrals: open offers (live) and the agent's referrals.
#[derive(Debug, Template)]
#[template(path = "referrals.html")]
pub struct ReferralsPage {
    pub t: Tr,
    pub page: PageMeta,
    pub message: Option<String>,
    pub offers: Vec<OfferView>,
    /// The offers shown, for the live page to notice a change.
    pub offer_ids: String,
    pub decline_reasons: Vec<Opt>,
    pub referrals: Vec<MyReferral>,
}

/// One accepted referral with the consumer's contact details.
#[derive(Debug, Template)]
#[template(path = "referral.html")]
pub struct ReferralPage {
    pub t: Tr,
    pub page: PageMeta,
    pub id: i64,
    pub message: Option<String>,
    pub errors: Vec<(&'static str, String)>,
    pub name: String,
    pub phone: String,
    pub phone_display: String,
    pub email: Option<String>,
    pub contact_by: String,
    pub best_time: String,
    pub place: String,
    pub language: String,
    pub reason: String,
    pub status_label: String,
    pub can_update: bool,
    pub steps: Vec<Opt>,
    pub consents: Vec<hod_app::referrals::ConsentRow>,
    pub consent_scope: String,
    pub consent_duration: String,
    pub consent_withdraw: String,
    pub today: String,
    /// (ISO time, local time, what, note).
    pub history: Vec<(String, String, String, String)>,
}
