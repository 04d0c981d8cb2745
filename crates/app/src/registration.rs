//! Registration from an invitation link (SPEC.md §3): the form's rules, the single use of
//! the link, the test text with a phone code, the confirmation email.
use hod_db::agents::{self, Registration};
use hod_db::{DbError, accounts, invitations};
use hod_domain::password::{self, Personal};
use hod_domain::{ContactMethod, Npn, PhoneE164, Username};
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use jiff::SignedDuration;
use serde::Serialize;

use crate::auth::Client;
use crate::fields::{FieldProblem, FieldProblems};
use crate::invitations::InvitationStatus;
use crate::outbox::Reach;
use crate::tokens::{six_digit_code, token_hash};
use crate::{App, AppError};

/// How long the code in the test text works.
pub const PHONE_CODE_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// What the agent typed on the registration page (or sent to the API).
#[derive(Clone, Default, serde::Deserialize)]
pub struct RegistrationForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub contact_method: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm_password: String,
    #[serde(default)]
    pub accept_terms: bool,
}

impl std::fmt::Debug for RegistrationForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The link does not work (any more).
    #[error("the invitation link does not work: {0:?}")]
    Link(InvitationStatus),
    #[error("some fields need correcting")]
    Fields(FieldProblems),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for RegisterError {
    fn from(e: DbError) -> Self {
        Self::App(e.into())
    }
}

/// A new account.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub agent_id: i64,
    pub username: String,
    /// The test text with a code went to this number (text methods only).
    pub code_sent_to: Option<String>,
}

pub(crate) fn code_hash(agent_id: i64, code: &str) -> String {
    token_hash(&format!("{agent_id}:{code}"))
}

impl App {
    /// Creates the account of the invited agent. Every field problem is reported at once;
    /// the link is used only when the account is created.
    /// `lang`: the language of the page (or app) registering, which the agent's letters use.
    pub async fn register(
        &self,
        form: &RegistrationForm,
        lang: UiLang,
    ) -> Result<Registered, RegisterError> {
        let InvitationStatus::Open {
            npn,
            first_name,
            last_name,
            email,
            ..
        } = self.invitation(&form.token).await?
        else {
            return Err(RegisterError::Link(self.invitation(&form.token).await?));
        };
        let mut problems = FieldProblems::new();
        let mut require = |field: &'static str, value: &str| {
            let empty = value.trim().is_empty();
            if empty {
                problems.insert(field, FieldProblem::Required);
            }
            !empty
        };
        let checks = (
            require("phone", &form.phone),
            require("contact_method", &form.contact_method),
            require("zip", &form.zip),
            require("username", &form.username),
            require("password", &form.password),
            require("confirm_password", &form.confirm_password),
        );
        let phone = match PhoneE164::parse_textable(&form.phone) {
            Ok(p) => Some(p),
            Err(e) => {
                if checks.0 {
                    problems.insert("phone", e.into());
                }
                None
            }
        };
        let method = ContactMethod::parse(&form.contact_method);
        if checks.1 && method.is_none() {
            problems.insert("contact_method", FieldProblem::ContactMethodUnknown);
        }
        let zip = match self.known_zip(&form.zip) {
            Ok(z) => Some(z),
            Err(p) => {
                // An empty field was already reported as required.
                if checks.2 {
                    problems.insert("zip", p);
                }
                None
            }
        };
        let username = match Username::parse(&form.username) {
            Ok(u) if agents::username_taken(&self.db, &u.key()).await? => {
                problems.insert("username", FieldProblem::UsernameTaken);
                None
            }
            Ok(u) => Some(u),
            Err(e) => {
                if checks.3 {
                    problems.insert("username", e.into());
                }
                None
            }
        };
        if checks.4 {
            let failed = password::check(
                &form.password,
                &Personal {
                    username: &form.username,
                    email: &email,
                    first_name: &first_name,
                    last_name: &last_name,
                },
            );
            if !failed.is_empty() {
                problems.insert("password", FieldProblem::Password(failed));
            }
        }
        if checks.5 && form.confirm_password != form.password {
            problems.insert("confirm_password", FieldProblem::PasswordMismatch);
        }
        if !form.accept_terms {
            problems.insert("accept_terms", FieldProblem::TermsRequired);
        }
        let (Some(phone), Some(method), Some(zip), Some(username), true) =
            (phone, method, zip, username, problems.is_empty())
        else {
            return Err(RegisterError::Fields(problems));
        };

        let hash = crate::passwords::hash(&form.password)
            .await
            .map_err(AppError::Other)?;
        let npn = Npn::parse(&npn).map_err(|e| AppError::Other(e.into()))?;
        let agent = agents::find_by_npn(&self.db, &npn)
            .await?
            .ok_or_else(|| AppError::Other(anyhow::anyhow!("invited NPN {npn} has no agent")))?;
        let now = self.now();
        // Profile defaults the agent reviews after logging in (the guide: "review the profile
        // information provided"): every state they are eligible in, and English.
        let eligible_states: Vec<hod_domain::UsState> =
            match self.plan_year_on(self.today()).await? {
                Some(py) => hod_db::eligibility::get(&self.db, py.year, &npn)
                    .await?
                    .filter(|v| v.eligible)
                    .map(|v| v.states)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
        let work = async |tx: &mut hod_db::Tx| -> Result<Option<Option<String>>, RegisterError> {
            if invitations::redeem(tx, &token_hash(&form.token), now)
                .await?
                .is_none()
            {
                return Ok(None);
            }
            let reg = Registration {
                username: username.as_str(),
                password_hash: &hash,
                phone: phone.as_str(),
                contact_method: method.id(),
                zip: &zip.to_string(),
            };
            match agents::register(tx, agent.id, &reg, now).await {
                Err(DbError::Conflict(_)) => {
                    return Err(RegisterError::Fields(FieldProblems::from([(
                        "username",
                        FieldProblem::UsernameTaken,
                    )])));
                }
                other => other?,
            }
            hod_db::availability::set_hours(tx, agent.id, &crate::profile::default_hours(), None)
                .await?;
            agents::set_languages(
                tx,
                agent.id,
                &[hod_domain::Lang::parse("en").expect("en is a language")],
            )
            .await?;
            agents::set_state_preferences(tx, agent.id, &eligible_states).await?;
            let code_sent_to = if method.texts() {
                self.text_phone_code(tx, agent.id, phone.as_str()).await?;
                Some(phone.national())
            } else {
                None
            };
            agents::set_ui_lang(tx, agent.id, lang.code()).await?;
            let letter = Letter::new("registered")
                .with("username", username.as_str())
                .link(format!("{}/agent/login", self.settings.public_url));
            let dedup = format!("registered:{}", agent.id);
            self.write_to_agent(tx, agent.id, letter, Reach::Email, &dedup)
                .await?;
            self.audit(tx, agent.id, "agent.registered", Client::default(), serde_json::json!({ "npn": npn.as_str(), "username": username.as_str(), "contact_method": method.id() })).await?;
            Ok(Some(code_sent_to))
        };
        // `None`: the link was used or withdrawn meanwhile (nothing was written).
        let Some(code_sent_to) = self.write(work).await? else {
            return Err(RegisterError::Link(self.invitation(&form.token).await?));
        };
        if let Err(e) = self.refresh_eligibility_of_agent(agent.id).await {
            tracing::warn!(
                error = format!("{e:#}"),
                agent = agent.id,
                "eligibility not refreshed after registration"
            );
        }
        Ok(Registered {
            agent_id: agent.id,
            username: username.to_string(),
            code_sent_to,
        })
    }

    /// Writes a new phone code and the text that carries it (the old code stops working).
    pub(crate) async fn text_phone_code(
        &self,
        tx: &mut hod_db::Tx,
        agent_id: i64,
        phone: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        let code = six_digit_code()?;
        accounts::put_phone_code(
            tx,
            agent_id,
            phone,
            &code_hash(agent_id, &code),
            now,
            now + PHONE_CODE_LIFETIME,
        )
        .await?;
        let lang =
            UiLang::parse(&agents::addressee(tx, agent_id).await?.ui_lang).unwrap_or(UiLang::En);
        let text = Letter::new("phone-code")
            .with("code", code.as_str())
            .short(lang);
        let dedup = format!("phone-code:{agent_id}:{}", now.as_millisecond());
        // No fallback by email: the code proves the phone gets texts.
        self.send_text(tx, phone, lang, &text, None, &dedup).await?;
        Ok(())
    }
}
