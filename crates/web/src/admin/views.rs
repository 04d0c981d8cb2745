//! The console's page templates (`templates/admin/`).
use askama::Template;
use hod_app::audit_log::AuditEntry;
use hod_app::console::{AgentHit, AgentStanding, Glance};
use hod_app::operators::OperatorInfo;
use hod_app::system::MessageRow;

use crate::i18n::Tr;
use crate::views::PageMeta;
use crate::views::{FieldErrors, filters};

#[derive(Debug, Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub t: Tr,
    pub page: PageMeta,
    pub username: String,
    pub failed: bool,
    pub wait: Option<String>,
    pub next: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/welcome.html")]
pub struct WelcomePage {
    pub t: Tr,
    pub page: PageMeta,
    pub username: String,
    pub intro: String,
    pub token: String,
    pub errors: Vec<(&'static str, String)>,
}

impl crate::views::FieldErrors for WelcomePage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

/// The operator's own account: password, passkeys, sessions.
#[derive(Debug, Template)]
#[template(path = "admin/account.html")]
pub struct AccountPage {
    pub t: Tr,
    pub page: PageMeta,
    pub username: String,
    /// (description, is this session).
    pub sessions: Vec<(String, bool)>,
    /// (id, "name · added … · last used …").
    pub passkeys: Vec<(i64, String)>,
    pub message: Option<String>,
    pub errors: Vec<(&'static str, String)>,
}

impl crate::views::FieldErrors for AccountPage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/glance.html")]
pub struct GlancePage {
    pub t: Tr,
    /// What the live stream compares with (`App::glance_pulse`).
    pub pulse: String,
    pub page: PageMeta,
    pub glance: Glance,
    /// (state name, language name, count)
    pub available: Vec<(String, String, usize)>,
    pub imports: Vec<ImportLine>,
    pub outbox_failed: i64,
    pub outbox_text: String,
}

/// The last import of one file, as today's page shows it.
#[derive(Debug)]
pub struct ImportLine {
    /// The file's name in the reader's words.
    pub kind: String,
    pub file: String,
    pub at: String,
    pub ago: String,
    pub rows: i64,
    pub applied: i64,
    pub rejected: usize,
    /// Older than CMS sends it.
    pub stale: bool,
}

#[derive(Debug, Template)]
#[template(path = "admin/agents.html")]
pub struct AgentsPage {
    pub t: Tr,
    pub page: PageMeta,
    pub q: String,
    pub state: String,
    pub language: String,
    /// (code, name) for the filters.
    pub states: Vec<(String, String)>,
    pub languages: Vec<(String, String)>,
    pub searched: bool,
    /// "3 agents found".
    pub found: String,
    pub hits: Vec<AgentHit>,
}

#[derive(Debug, Template)]
#[template(path = "admin/agent.html")]
pub struct AgentPage {
    pub t: Tr,
    pub page: PageMeta,
    pub a: AgentStanding,
    pub name: String,
    /// Why the agent is not eligible, in the reader's words.
    pub reasons: Vec<String>,
    /// The availability switch, in words.
    pub mode: String,
    pub is_admin: bool,
    pub flash: Option<String>,
    pub error: Option<String>,
    /// Lines of weekly hours: (day name, "9:00–17:00, …").
    pub hours: Vec<(String, String)>,
    /// Language names of the agent's languages.
    pub languages: Vec<String>,
    /// (reason id, rounds)
    pub filtered: Vec<(String, usize)>,
    /// (invitation id, sent, expires, state key, sent by)
    pub invitations: Vec<(i64, String, String, &'static str, String)>,
    pub can_resend: bool,
    pub locked_until: Option<String>,
    pub suspended: Option<(String, String)>,
    pub time_zone_now: String,
    /// Offers: (status, count), and the share accepted of those answered or lapsed.
    pub offers: Vec<(String, i64)>,
    pub acceptance: Option<String>,
    /// (id, status, state, city, created)
    pub referrals: Vec<(i64, String, String, String, String)>,
}

#[derive(Debug, Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub t: Tr,
    pub page: PageMeta,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub from: String,
    pub until: String,
    pub entries: Vec<AuditEntry>,
    /// Local times of the entries, in the program's time zone.
    pub times: Vec<String>,
    pub next: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    pub t: Tr,
    pub page: PageMeta,
    pub status: String,
    /// (status, count)
    pub counts: Vec<(String, i64)>,
    pub messages: Vec<MessageRow>,
    /// Recipients shown partly (they are personal data): one per message.
    pub recipients: Vec<String>,
    pub times: Vec<String>,
    /// "2 attempts", per message.
    pub attempts: Vec<String>,
    pub is_admin: bool,
    pub flash: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub t: Tr,
    pub page: PageMeta,
    /// (key, field id, value)
    pub settings: Vec<(&'static str, String, String)>,
    /// (field id, message)
    pub errors: Vec<(String, String)>,
    pub flash: Option<String>,
    /// (year, first day, last day), newest first.
    pub plan_years: Vec<(i16, String, String)>,
    /// (state, marketplace, from, until)
    pub states: Vec<(String, String, String, String)>,
    /// The terms in force: (title, version, published).
    pub terms: Vec<(String, String, String)>,
    /// (code, name) for the state form.
    pub state_choices: Vec<(String, String)>,
    pub consent_version: String,
    pub consent_text: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/operators.html")]
pub struct OperatorsPage {
    pub t: Tr,
    pub page: PageMeta,
    pub me: i64,
    pub operators: Vec<OperatorInfo>,
    pub username: String,
    pub email: String,
    pub role: String,
    pub errors: Vec<(&'static str, String)>,
    pub flash: Option<String>,
}

impl SettingsPage {
    pub fn invalid(&self, id: &str) -> bool {
        self.errors.iter().any(|(f, _)| f == id)
    }
}

impl crate::views::FieldErrors for OperatorsPage {
    fn errors(&self) -> &[(&'static str, String)] {
        &self.errors
    }
}

/// A referral in a list.
#[derive(Debug)]
pub struct ReferralLine {
    pub id: i64,
    pub status: String,
    pub place: String,
    pub language: String,
    pub created: String,
    /// Why nobody could take it.
    pub why: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/referrals.html")]
pub struct ReferralsPage {
    pub t: Tr,
    pub page: PageMeta,
    pub is_admin: bool,
    pub found: String,
    pub rows: Vec<ReferralLine>,
    pub unserved: Vec<ReferralLine>,
    pub states: Vec<(String, String)>,
    pub languages: Vec<(String, String)>,
    pub statuses: Vec<(String, String)>,
    pub from: String,
    pub until: String,
    pub state: String,
    pub language: String,
    pub status: String,
    pub npn: String,
    pub error: Option<String>,
}

/// One routing round's decision, in words.
#[derive(Debug)]
pub struct DecisionView {
    pub summary: String,
    /// (reason, how many, the first names)
    pub filtered: Vec<(String, u64, String)>,
    /// "Name (NPN …) (band · miles)", best first.
    pub ranked: Vec<String>,
}

#[derive(Debug)]
pub struct EventLine {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub note: String,
    pub decision: Option<DecisionView>,
}

#[derive(Debug)]
pub struct OfferLine {
    pub agent: String,
    pub npn: String,
    pub status: String,
    pub offered: String,
    pub expires: String,
    pub decided: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug)]
pub struct MessageLine {
    pub at: String,
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    /// What the provider said last (delivered, undelivered, the error).
    pub provider: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/referral.html")]
pub struct ReferralPage {
    pub t: Tr,
    pub page: PageMeta,
    pub id: i64,
    pub status: String,
    pub place: String,
    pub language: String,
    pub reason: String,
    pub source: String,
    pub created: String,
    /// The accepting agent: (name, NPN).
    pub agent: Option<(String, String)>,
    pub unserved: bool,
    /// Still open to reassignment.
    pub open: bool,
    pub is_admin: bool,
    pub events: Vec<EventLine>,
    pub offers: Vec<OfferLine>,
    pub messages: Vec<MessageLine>,
    /// Shown to an administrator who said why.
    pub contact: Option<hod_app::referrals::Contact>,
    /// What is said instead once the consumer's details were erased (retention).
    pub erased: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct ImportHistoryLine {
    pub id: i64,
    pub kind: String,
    pub file: String,
    pub at: String,
    pub actor: String,
    pub rows: i64,
    pub applied: i64,
    pub rejected: usize,
    pub dry_run: bool,
}

#[derive(Debug, Template)]
#[template(path = "admin/imports.html")]
pub struct ImportsPage {
    pub t: Tr,
    pub page: PageMeta,
    /// (kind, its name)
    pub kinds: Vec<(String, String)>,
    pub history: Vec<ImportHistoryLine>,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    pub t: Tr,
    pub page: PageMeta,
    pub id: i64,
    pub kind: String,
    pub file: String,
    pub at: String,
    pub actor: String,
    pub sha256: String,
    pub summary: String,
    /// (line, reason), the first ones.
    pub rejected: Vec<(u64, String)>,
    /// Rejected rows not shown (they are in the CSV).
    pub more: usize,
}

#[derive(Debug, Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub t: Tr,
    pub page: PageMeta,
    pub from: String,
    pub until: String,
    /// The period as a query string, for the CSV links.
    pub query: String,
    pub error: Option<String>,
    pub received: u32,
    pub served_share: String,
    pub unserved_count: u32,
    pub p50: String,
    pub p90: String,
    pub fairness: String,
    pub per_heading: String,
    /// The SVG, made by `charts::bars` (escaped there).
    pub chart: String,
    /// (period, received, served)
    pub periods: Vec<(String, u32, u32)>,
    /// (state, language, unserved)
    pub unserved: Vec<(String, String, u32)>,
    /// (name, NPN, offered, accepted, declined, missed, share accepted)
    pub agents: Vec<(String, String, i64, i64, i64, i64, String)>,
}

/// One place on the coverage page.
#[derive(Debug)]
pub struct CoverageLine {
    pub name: String,
    pub requests: u32,
    pub served: String,
    pub median: String,
    pub available: usize,
    /// The heat band (0: no requests … 5: nearly all served).
    pub band: usize,
}

#[derive(Debug, Template)]
#[template(path = "admin/coverage.html")]
pub struct CoveragePage {
    pub t: Tr,
    pub page: PageMeta,
    pub from: String,
    pub until: String,
    pub query: String,
    /// The period and the chosen state, for the ZIP3 CSV link.
    pub state_query: String,
    pub error: Option<String>,
    pub state: String,
    pub state_name: Option<String>,
    pub choices: Vec<(String, String)>,
    pub legend: Vec<String>,
    /// The SVG, made by `charts::tile_map` (escaped there).
    pub map: String,
    pub states: Vec<CoverageLine>,
    pub pairs: Vec<CoverageLine>,
    pub zip3: Vec<CoverageLine>,
}
