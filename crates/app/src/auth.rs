//! Logging in and account recovery (SPEC.md §4): sessions in the database, lockout per
//! account, "Forgot Username?", "Forgot Password?" with a single-use 60-minute link, and the
//! phone code of the test text. Nothing here tells whether an account exists.
use hod_domain::actor::Actor;
use std::sync::OnceLock;

pub use hod_db::sessions::PrincipalKind;
use hod_db::sessions::{self, NewSession, SessionClient};
use hod_db::{Tx, accounts, agents, audit, from_millis};
use hod_domain::Username;
use hod_domain::password::{self, Personal};
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use jiff::SignedDuration;

use crate::fields::{FieldProblem, FieldProblems};
use crate::outbox::Reach;
use crate::registration::code_hash;
use crate::tokens::{random_token, token_hash};
use crate::{App, AppError, Result, passwords};

/// A session ends after this long without a request…
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_mins(15);
/// …and this long after login in any case.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// The agent app's bearer token ends after this long unused (the app is opened when an offer
/// arrives, which may be days apart)…
pub const APP_TOKEN_IDLE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// …and this long after it was issued in any case.
pub const APP_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(30 * 24);
/// This many failed logins within [`FAILURE_WINDOW`] lock the account for [`LOCK_FOR`].
pub const LOCK_AFTER: i64 = 5;
pub const FAILURE_WINDOW: SignedDuration = SignedDuration::from_mins(120);
pub const LOCK_FOR: SignedDuration = SignedDuration::from_mins(60);
/// How long a password reset link works.
pub const RESET_LIFETIME: SignedDuration = SignedDuration::from_mins(60);
/// Wrong phone codes allowed before a new code must be sent.
pub const PHONE_CODE_TRIES: i64 = 5;

/// Where a request comes from, for the audit log and the sessions list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Client<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The language of the page or app asking: a log-in makes it the agent's letters' language.
    pub lang: Option<UiLang>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The cookie value of a fresh session.
    LoggedIn { token: String, agent_id: i64 },
    /// Wrong username or password, or a locked account: the same answer for all three.
    Refused,
}

/// A live agent session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSession {
    pub agent_id: i64,
}

/// What became of a phone code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneCheck {
    Confirmed,
    Wrong {
        tries_left: i64,
    },
    /// No open code (never sent, expired, or too many tries): send a new one.
    NoCode,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("the reset link does not work")]
    Link,
    #[error("some fields need correcting")]
    Fields(FieldProblems),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<hod_db::DbError> for ResetError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

/// A hash to verify against when there is no account, so that an unknown username costs the
/// same time as a wrong password.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| passwords::hash_now("decoy-Password-4821").expect("hashing works"))
}

/// Whose account: an agent's or an operator's (sessions and passkeys belong to either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Agent(i64),
    Operator(i64),
}

impl Principal {
    pub(crate) fn of(kind: PrincipalKind, id: i64) -> Self {
        match kind {
            PrincipalKind::Agent => Self::Agent(id),
            PrincipalKind::Operator => Self::Operator(id),
        }
    }

    pub(crate) fn kind(self) -> PrincipalKind {
        match self {
            Self::Agent(_) => PrincipalKind::Agent,
            Self::Operator(_) => PrincipalKind::Operator,
        }
    }

    pub(crate) fn id(self) -> i64 {
        match self {
            Self::Agent(id) | Self::Operator(id) => id,
        }
    }

    pub(crate) fn actor(self) -> Actor {
        match self {
            Self::Agent(id) => Actor::Agent(id),
            Self::Operator(id) => Actor::Operator(id),
        }
    }
}

impl App {
    /// Writes an audit entry about `who`'s own account (`agent.passkey_added`, …).
    pub(crate) async fn audit_own(
        &self,
        tx: &mut hod_db::Tx,
        who: Principal,
        what: &str,
        client: Client<'_>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let actor = who.actor();
        let action = format!("{}.{what}", who.kind().as_str());
        self.audit_by(tx, actor, &action, &actor.to_string(), client, detail)
            .await
    }

    pub(crate) async fn audit(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        action: &str,
        client: Client<'_>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let who = Actor::Agent(agent_id);
        audit::append(
            tx,
            &audit::Entry {
                actor: who,
                action,
                subject: &who.to_string(),
                ip: client.ip,
                detail,
            },
            self.now(),
        )
        .await?;
        Ok(())
    }

    /// Username and password → a new session (a new token on every login), or `Refused`.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Client<'_>,
    ) -> Result<LoginOutcome> {
        self.log_in(username, password, client, SessionClient::Web)
            .await
    }

    /// Username and password → a bearer token for the agent app (same rules and lockout as
    /// the web login).
    pub async fn app_token(
        &self,
        username: &str,
        password: &str,
        client: Client<'_>,
    ) -> Result<LoginOutcome> {
        self.log_in(username, password, client, SessionClient::App)
            .await
    }

    async fn log_in(
        &self,
        username: &str,
        password: &str,
        client: Client<'_>,
        session: SessionClient,
    ) -> Result<LoginOutcome> {
        let now = self.now();
        let account = match Username::parse(username) {
            Ok(u) => agents::find_for_login(&self.db, &u.key()).await?,
            Err(_) => None,
        };
        let Some(account) = account else {
            passwords::verify(password, decoy_hash()).await;
            return Ok(LoginOutcome::Refused);
        };
        let barred = barred(&account, now)?;
        let matches = passwords::verify(password, &account.password_hash).await;
        // The outcome, and for a failed password whether it locked the account.
        let (outcome, failed) = self
            .write(async |tx| -> Result<_> {
                if let Some(why) = barred {
                    self.audit(tx, account.id, why, client, serde_json::json!({}))
                        .await?;
                    return Ok((LoginOutcome::Refused, None));
                }
                if !matches {
                    let failures = accounts::record_login_failure(
                        tx,
                        account.id,
                        client.ip,
                        now,
                        now - FAILURE_WINDOW,
                    )
                    .await?;
                    self.audit(
                        tx,
                        account.id,
                        "agent.login_failed",
                        client,
                        serde_json::json!({ "failures": failures }),
                    )
                    .await?;
                    let locks = failures >= LOCK_AFTER;
                    if locks {
                        accounts::lock(tx, account.id, now + LOCK_FOR).await?;
                        self.audit(
                            tx,
                            account.id,
                            "agent.locked",
                            client,
                            serde_json::json!({ "minutes": LOCK_FOR.as_mins() }),
                        )
                        .await?;
                        let letter = Letter::new("locked")
                            .with("attempts", LOCK_AFTER.to_string())
                            .with("minutes", LOCK_FOR.as_mins().to_string())
                            .link(format!(
                                "{}/agent/forgot-password",
                                self.settings.public_url
                            ));
                        let dedup = format!("locked:{}:{}", account.id, now.as_millisecond());
                        self.write_to_agent(tx, account.id, letter, Reach::Email, &dedup)
                            .await?;
                    }
                    return Ok((LoginOutcome::Refused, Some(locks)));
                }
                let token = self
                    .open_session(tx, account.id, client, session, "password")
                    .await?;
                Ok((
                    LoginOutcome::LoggedIn {
                        token,
                        agent_id: account.id,
                    },
                    None,
                ))
            })
            .await?;
        if let Some(locks) = failed {
            metrics::counter!(crate::metrics::LOGIN_FAILURES).increment(1);
            if locks {
                metrics::counter!(crate::metrics::LOCKOUTS).increment(1);
            }
        }
        Ok(outcome)
    }

    /// A new session for a successful login (password or passkey); failures are forgotten.
    /// (See [`barred`] first.)
    pub(crate) async fn open_session(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        client: Client<'_>,
        session: SessionClient,
        method: &str,
    ) -> Result<String> {
        let now = self.now();
        let token = random_token()?;
        let lifetime = match session {
            SessionClient::Web => SESSION_LIFETIME,
            SessionClient::App => APP_TOKEN_LIFETIME,
        };
        sessions::create(
            tx,
            &NewSession {
                client: session,
                token_hash: &token_hash(&token),
                kind: PrincipalKind::Agent,
                principal_id: agent_id,
                expires_at: now + lifetime,
                ip: client.ip,
                user_agent: client.user_agent,
            },
            now,
        )
        .await?;
        accounts::clear_failures(tx, agent_id).await?;
        if let Some(lang) = client.lang {
            agents::set_ui_lang(tx, agent_id, lang.code()).await?;
        }
        self.audit(
            tx,
            agent_id,
            "agent.login",
            client,
            serde_json::json!({ "method": method, "client": session.as_str() }),
        )
        .await?;
        Ok(token)
    }

    /// The agent behind a session cookie, if the session is live (and marks it used now).
    pub async fn agent_session(&self, token: &str) -> Result<Option<AgentSession>> {
        self.live_session(token, SessionClient::Web, SESSION_IDLE)
            .await
    }

    /// The agent behind an app bearer token, if it is live.
    pub async fn agent_app_session(&self, token: &str) -> Result<Option<AgentSession>> {
        self.live_session(token, SessionClient::App, APP_TOKEN_IDLE)
            .await
    }

    async fn live_session(
        &self,
        token: &str,
        client: SessionClient,
        idle: SignedDuration,
    ) -> Result<Option<AgentSession>> {
        let (hash, now) = (token_hash(token), self.now());
        let row = self
            .write(async |tx| {
                sessions::touch(tx, &hash, PrincipalKind::Agent, client, now, idle).await
            })
            .await?;
        Ok(row.map(|r| AgentSession {
            agent_id: r.principal_id,
        }))
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        self.write(async |tx| -> Result<_> {
            sessions::delete(tx, &token_hash(token)).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// "Forgot Username?": emails the username(s) registered with `email`. Says nothing of
    /// whether there are any.
    pub async fn forgot_username(&self, email: &str) -> Result<()> {
        let found = agents::registered_with_email(&self.db, email).await?;
        if found.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let login = format!("{}/agent/login", self.settings.public_url);
        self.write(async |tx| -> Result<_> {
            for a in &found {
                let letter = Letter::new("username")
                    .with("username", a.username.as_deref().unwrap_or_default())
                    .link(login.clone());
                let dedup = format!("forgot-username:{}:{}", a.id, now.as_millisecond());
                self.write_to_agent(tx, a.id, letter, Reach::Email, &dedup)
                    .await?;
                self.audit(
                    tx,
                    a.id,
                    "agent.username_reminder",
                    Client::default(),
                    serde_json::json!({}),
                )
                .await?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// "Forgot Password?": emails a single-use link valid 60 minutes. Says nothing of whether
    /// the account exists.
    pub async fn forgot_password(&self, username: &str, client: Client<'_>) -> Result<()> {
        let Some(account) = (match Username::parse(username) {
            Ok(u) => agents::find_for_login(&self.db, &u.key()).await?,
            Err(_) => None,
        }) else {
            return Ok(());
        };
        let now = self.now();
        let token = random_token()?;
        self.write(async |tx| -> Result<_, AppError> {
            accounts::create_reset(
                tx,
                &token_hash(&token),
                account.id,
                now,
                now + RESET_LIFETIME,
            )
            .await?;
            let letter = Letter::new("reset")
                .with("minutes", RESET_LIFETIME.as_mins().to_string())
                .link(format!("{}/agent/reset/{token}", self.settings.public_url));
            let dedup = format!("reset:{}", token_hash(&token));
            self.write_to_agent(tx, account.id, letter, Reach::Email, &dedup)
                .await?;
            self.audit(
                tx,
                account.id,
                "agent.reset_requested",
                client,
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Whether a reset link still works.
    /// The agent an open reset link is for (`None`: used, expired or unknown).
    pub async fn reset_link_owner(&self, token: &str) -> Result<Option<agents::AgentRow>> {
        match accounts::open_reset(&self.db, &token_hash(token), self.now()).await? {
            Some(agent_id) => Ok(agents::find_by_id(&self.db, agent_id).await?),
            None => Ok(None),
        }
    }

    /// Sets a new password from a reset link; every session of the agent ends and the agent is
    /// told by email. A lock is lifted.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        client: Client<'_>,
    ) -> Result<(), ResetError> {
        let now = self.now();
        let Some(agent_id) = accounts::open_reset(&self.db, &token_hash(token), now).await? else {
            return Err(ResetError::Link);
        };
        let agent = agents::find_by_id(&self.db, agent_id)
            .await?
            .ok_or_else(|| {
                AppError::Other(anyhow::anyhow!("reset for a missing agent {agent_id}"))
            })?;
        let mut problems = FieldProblems::new();
        if password.is_empty() {
            problems.insert("password", FieldProblem::Required);
        } else {
            let failed = password::check(
                password,
                &Personal {
                    username: agent.username.as_deref().unwrap_or_default(),
                    email: &agent.email,
                    first_name: &agent.first_name,
                    last_name: &agent.last_name,
                },
            );
            if !failed.is_empty() {
                problems.insert("password", FieldProblem::Password(failed));
            }
        }
        if confirm != password {
            problems.insert("confirm_password", FieldProblem::PasswordMismatch);
        }
        if !problems.is_empty() {
            return Err(ResetError::Fields(problems));
        }
        let hash = passwords::hash(password).await.map_err(AppError::Other)?;
        self.write(async |tx| -> Result<_, ResetError> {
            if accounts::redeem_reset(tx, &token_hash(token), now)
                .await?
                .is_none()
            {
                return Err(ResetError::Link);
            }
            agents::set_password(tx, agent_id, &hash, now).await?;
            accounts::clear_failures(tx, agent_id).await?;
            let ended = sessions::delete_all_for(tx, PrincipalKind::Agent, agent_id).await?;
            let dedup = format!("password-changed:{agent_id}:{}", now.as_millisecond());
            let letter = Letter::new("password-changed");
            self.write_to_agent(tx, agent_id, letter, Reach::Email, &dedup)
                .await?;
            self.audit(
                tx,
                agent_id,
                "agent.password_reset",
                client,
                serde_json::json!({ "sessions_ended": ended }),
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Checks the code of the test text; a right code confirms the phone.
    pub async fn confirm_phone(&self, agent_id: i64, code: &str) -> Result<PhoneCheck> {
        let now = self.now();
        let Some((phone, hash, expires_at, tries)) =
            accounts::phone_code(&self.db, agent_id).await?
        else {
            return Ok(PhoneCheck::NoCode);
        };
        if from_millis(expires_at)? <= now || tries >= PHONE_CODE_TRIES {
            return Ok(PhoneCheck::NoCode);
        }
        let agent = agents::find_by_id(&self.db, agent_id).await?;
        let right = hash == code_hash(agent_id, code.trim())
            && agent.and_then(|a| a.phone).as_deref() == Some(phone.as_str());
        self.write(async |tx| -> Result<_> {
            if right {
                agents::confirm_phone(tx, agent_id, now).await?;
                accounts::delete_phone_code(tx, agent_id).await?;
                self.audit(
                    tx,
                    agent_id,
                    "agent.phone_confirmed",
                    Client::default(),
                    serde_json::json!({}),
                )
                .await?;
                return Ok(PhoneCheck::Confirmed);
            }
            let tries = accounts::phone_code_tried(tx, agent_id).await?;
            Ok(if tries >= PHONE_CODE_TRIES {
                PhoneCheck::NoCode
            } else {
                PhoneCheck::Wrong {
                    tries_left: PHONE_CODE_TRIES - tries,
                }
            })
        })
        .await
    }

    /// Texts a new code to the agent's phone (the old one stops working).
    pub async fn resend_phone_code(&self, agent_id: i64) -> Result<()> {
        let agent = agents::find_by_id(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent {agent_id}")))?;
        let phone = agent
            .phone
            .ok_or_else(|| AppError::Invalid("no phone number on file".into()))?;
        self.write(async |tx| -> Result<_> {
            self.text_phone_code(tx, agent_id, &phone).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// Why an account may not log in now, whatever it presents (the audit log's action): locked
/// after failed passwords, or suspended by an administrator. Either gets the same answer as a
/// wrong password.
pub(crate) fn barred(
    account: &agents::LoginRow,
    now: jiff::Timestamp,
) -> Result<Option<&'static str>> {
    let locked = account
        .locked_until
        .map(from_millis)
        .transpose()?
        .is_some_and(|until| until > now);
    Ok(if account.suspended {
        Some("agent.login_refused_suspended")
    } else if locked {
        Some("agent.login_refused_locked")
    } else {
        None
    })
}
