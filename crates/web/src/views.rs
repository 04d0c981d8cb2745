//! Page templates (askama, in `templates/`). Every page carries `t` (its language) and
//! `page` (what the layout needs).
use askama::Template;

use crate::i18n::Tr;

/// Filters the templates use beyond askama's own.
pub(crate) mod filters {
    use askama::filters::Safe;

    /// The text, escaped, with every phone number written `1-800-318-2596` a link that dials
    /// it (a tap on a phone).
    #[askama::filter_fn]
    pub fn tel(text: impl ToString, _: &dyn askama::Values) -> askama::Result<Safe<String>> {
        Ok(Safe(super::link_phone_numbers(&text.to_string())))
    }
}

/// `text` escaped for HTML, with `1-NNN-NNN-NNNN` numbers made `tel:` links.
pub fn link_phone_numbers(text: &str) -> String {
    let escape = |s: &str| {
        askama::filters::escape(s, askama::filters::Html)
            .map_or_else(|_| String::new(), |e| e.to_string())
    };
    let bytes = text.as_bytes();
    let is_number = |at: usize| {
        let shape = b"1-ddd-ddd-dddd";
        bytes.len() >= at + shape.len()
            && shape
                .iter()
                .zip(&bytes[at..])
                .all(|(want, got)| match want {
                    b'd' => got.is_ascii_digit(),
                    w => w == got,
                })
            && !bytes.get(at + shape.len()).is_some_and(u8::is_ascii_digit)
            && !(at > 0 && bytes[at - 1].is_ascii_digit())
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_number(i) {
            let number = &text[i..i + 14];
            out.push_str(&escape(&text[plain..i]));
            out.push_str(&format!(
                "<a href=\"tel:+{}\">{number}</a>",
                number.replace('-', "")
            ));
            i += 14;
            plain = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&escape(&text[plain..]));
    out
}

/// Why an NPN is not eligible, in the reader's words (`eligibility-reason-<id>` in the
/// locales), leaving out the reasons `skip` names.
pub fn eligibility_reasons(
    t: Tr,
    explained: &[(&'static str, Vec<(&'static str, String)>)],
    skip: &[&str],
) -> Vec<String> {
    explained
        .iter()
        .filter(|(id, _)| !skip.contains(id))
        .map(|(id, args)| {
            let key = format!("eligibility-reason-{id}");
            // A count chooses the words (one state or several): Fluent needs it as a number.
            match args
                .iter()
                .find(|(k, _)| *k == "count")
                .and_then(|(_, v)| v.parse().ok())
            {
                Some(n) => t.get_n(&key, "count", n, args),
                None => t.get_with(&key, args),
            }
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn phone_numbers_dial() {
        assert_eq!(
            super::link_phone_numbers("Call <us> at 1-800-318-2596 (TTY: 1-855-889-4325)."),
            "Call &#60;us&#62; at <a href=\"tel:+18003182596\">1-800-318-2596</a> (TTY: \
             <a href=\"tel:+18558894325\">1-855-889-4325</a>)."
        );
        assert_eq!(
            super::link_phone_numbers("NPN 11-800-318-25967"),
            "NPN 11-800-318-25967"
        );
    }
}

#[derive(Debug, Clone)]
pub struct PageMeta {
    /// Path of this page, for the language switch to come back to.
    pub path: String,
    /// The logged-in agent, on their own pages: the header shows who and whether they are
    /// taking referrals, and a way out.
    pub agent: Option<hod_app::profile::SignedIn>,
    /// The logged-in operator, on console pages: the console's menu for their role.
    pub operator: Option<hod_app::operators::OperatorSession>,
}

impl PageMeta {
    pub fn new(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            agent: None,
            operator: None,
        }
    }
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
}

/// The live password checklist, every rule the server applies. It starts blank, also when a
/// refused password comes back (the field is always empty then): the error names the rules
/// that failed.
pub fn password_checklist(t: Tr) -> Vec<ChecklistItem> {
    hod_domain::password::Rule::CHECKLIST
        .iter()
        .map(|r| ChecklistItem {
            id: r.id(),
            label: t.get(&format!("rule-{}", r.id())),
        })
        .collect()
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
    /// Too many refused attempts from this address: how long to wait.
    pub wait: Option<String>,
    /// Where to go once logged in (a path on this site, or empty).
    pub next: String,
    /// Why the agent is asked to log in again.
    pub ended: Option<String>,
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
    /// What was typed, when the form is shown again.
    pub value: String,
    /// Too many requests: how long to wait.
    pub wait: Option<String>,
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
    /// Whose password it is, for the live checklist's `not_common` (not their name, username
    /// or email).
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub checklist: Vec<ChecklistItem>,
    pub errors: Vec<(&'static str, String)>,
    /// Too many attempts: how long to wait.
    pub wait: Option<String>,
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
    /// Offers can reach the agent now.
    pub receiving: bool,
    /// Otherwise what to do, and where: (text, link).
    pub steps: Vec<(String, &'static str)>,
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
    /// Where to go once the terms are accepted (a path on this site, or empty).
    pub next: String,
}

/// Privacy, terms, accessibility, contact.
#[derive(Debug, Template)]
#[template(path = "info.html")]
pub struct InfoPage {
    pub t: Tr,
    pub page: PageMeta,
    pub title: String,
    pub intro: String,
    pub sections: Vec<InfoSection>,
    /// The terms of use in force (the terms page only).
    pub documents: Vec<TermsView>,
}

#[derive(Debug, Clone)]
pub struct InfoSection {
    pub heading: String,
    pub text: String,
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
    pub username: String,
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
    /// Too many requests from this address: how long to wait.
    pub wait: Option<String>,
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
    /// The offer a message linked to, when it is still open.
    pub linked: Option<i64>,
    pub offers: Vec<OfferView>,
    /// The offers shown, for the live page to notice a change.
    pub offer_ids: String,
    pub decline_reasons: Vec<Opt>,
    pub referrals: Vec<MyReferral>,
}

impl ReferralsPage {
    pub fn is_linked(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.linked == Some(*id.borrow())
    }
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
    /// What is said instead of the contact details once they were erased (retention).
    pub erased: Option<String>,
}
