//! Operator accounts (SPEC.md §8): help desk and administrators. They log in like agents —
//! the same lockout and session rules — at `/admin/login`, with sessions of their own kind
//! (an agent's session never opens a console page). Administrators invite, change and disable
//! other operators; every change is audited.
pub use hod_db::operators::Role;
use hod_db::operators::{self, NewOperator, OperatorRow};
use hod_db::sessions::{self, NewSession, PrincipalKind, SessionClient};
use hod_db::{DbError, from_millis};
use hod_domain::Username;
use hod_domain::actor::Actor;
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use jiff::SignedDuration;

use crate::auth::{
    Client, FAILURE_WINDOW, LOCK_AFTER, LOCK_FOR, Principal, SESSION_IDLE, SESSION_LIFETIME,
};
use crate::fields::{FieldProblem, FieldProblems};
use crate::profile::ProfileError;
use crate::tokens::{random_token, token_hash};
use crate::{App, AppError, Result, passwords};
use hod_domain::password::Rule;
use webauthn_rs::prelude::PublicKeyCredential;

/// How long the link in an operator's invitation works.
pub const OPERATOR_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(72);

/// A live operator session: who, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl OperatorSession {
    pub fn actor(&self) -> Actor {
        Actor::Operator(self.id)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// An operator as the operators' page lists them.
#[derive(Debug, Clone)]
pub struct OperatorInfo {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub created_at: jiff::Timestamp,
    pub disabled: bool,
    pub locked: bool,
    /// Invited, and has not chosen a password yet.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorLogin {
    LoggedIn {
        token: String,
    },
    /// Wrong username or password, a locked or a disabled account: one answer for all.
    Refused,
}

/// A change an administrator makes to another operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorChange {
    Role(Role),
    Disable,
    Enable,
    Unlock,
    /// Emails a single-use link to choose a new password (a forgotten one).
    PasswordLink,
}

/// Operators' usernames follow the agents' rule ([`Username`]).
fn check_username(username: &str) -> Result<Username> {
    Username::parse(username).map_err(|e| AppError::Invalid(format!("{username:?}: {e}")))
}

fn check_email(email: &str) -> Result<&str> {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(email),
        _ => Err(AppError::Invalid(format!(
            "{email:?} is not an email address"
        ))),
    }
}

/// Operators see consumers' requests and agents' accounts: a long password at least, not a
/// common one, not made of their username or email.
fn password_problem(password: &str, username: &str, email: &str) -> Option<FieldProblem> {
    let personal = hod_domain::password::Personal {
        username,
        email,
        first_name: "",
        last_name: "",
    };
    if password.chars().count() < 12 {
        Some(FieldProblem::OperatorPasswordLength)
    } else if hod_domain::password::is_common(password, &personal) {
        Some(FieldProblem::Password(vec![Rule::NotCommon]))
    } else {
        None
    }
}

/// A new password and its confirmation: the problems, by field.
fn check_new_password(
    password: &str,
    confirm: &str,
    username: &str,
    email: &str,
) -> Result<(), ProfileError> {
    let mut problems = FieldProblems::new();
    if let Some(p) = password_problem(password, username, email) {
        problems.insert("password", p);
    }
    if password != confirm {
        problems.insert("confirm_password", FieldProblem::PasswordMismatch);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProfileError::Fields(problems))
    }
}

impl App {
    /// Creates an operator account (CLI `hod admin create`, and the demo).
    pub async fn create_operator(
        &self,
        username: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<i64> {
        let username = check_username(username)?;
        let username = username.as_str();
        let email = check_email(email)?;
        if let Some(p) = password_problem(password, username, email) {
            return Err(AppError::Invalid(format!("password: {}", p.message())));
        }
        let hash = passwords::hash(password).await?;
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let id = insert(tx, username, email, &hash, role, now).await?;
            let detail = serde_json::json!({ "username": username, "role": role.as_str() });
            self.audit_by(
                tx,
                Actor::Cli,
                "operator.created",
                &format!("operator:{id}"),
                Client::default(),
                detail,
            )
            .await?;
            Ok(id)
        })
        .await
    }

    /// An administrator invites an operator: the account is made without a password and a
    /// single-use link to choose one is emailed.
    pub async fn invite_operator(
        &self,
        by: &OperatorSession,
        username: &str,
        email: &str,
        role: Role,
        lang: UiLang,
        client: Client<'_>,
    ) -> Result<i64> {
        require_admin(by)?;
        let username = check_username(username)?;
        let username = username.as_str();
        let email = check_email(email)?;
        let now = self.now();
        let token = random_token()?;
        self.write(async |tx| -> Result<_> {
            let id = insert(tx, username, email, "", role, now).await?;
            operators::create_token(
                tx,
                &token_hash(&token),
                id,
                now,
                now + OPERATOR_LINK_LIFETIME,
            )
            .await?;
            let letter = Letter::new("operator-invite")
                .with("username", username)
                .with("role", role.as_str())
                .with("hours", OPERATOR_LINK_LIFETIME.as_hours().to_string())
                .link(format!(
                    "{}/admin/welcome/{token}",
                    self.settings.public_url
                ));
            self.send_email(
                tx,
                email,
                lang,
                &letter.email(lang),
                &format!("operator-invite:{id}"),
            )
            .await?;
            let detail = serde_json::json!({ "username": username, "role": role.as_str() });
            self.audit_by(
                tx,
                by.actor(),
                "operator.invited",
                &format!("operator:{id}"),
                client,
                detail,
            )
            .await?;
            Ok(id)
        })
        .await
    }

    /// The username an open invitation link is for.
    pub async fn operator_link(&self, token: &str) -> Result<Option<String>> {
        let Some(id) = operators::open_token(&self.db, &token_hash(token), self.now()).await?
        else {
            return Ok(None);
        };
        Ok(operators::find_by_id(&self.db, id)
            .await?
            .map(|o| o.username))
    }

    /// Sets an invited operator's password from their link (once).
    pub async fn operator_set_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        client: Client<'_>,
    ) -> Result<(), ProfileError> {
        let Some(id) = operators::open_token(&self.db, &token_hash(token), self.now()).await?
        else {
            return Err(AppError::NotFound("invitation link".into()).into());
        };
        let op = operators::find_by_id(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound("invitation link".into()))?;
        check_new_password(password, confirm, &op.username, &op.email)?;
        let hash = passwords::hash(password).await.map_err(AppError::Other)?;
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let Some(id) = operators::redeem_token(tx, &token_hash(token), now).await? else {
                return Err(AppError::NotFound("invitation link".into()));
            };
            operators::set_password(tx, id, &hash).await?;
            operators::clear_failures(tx, id).await?;
            // A new password ends every session opened with the old one.
            sessions::delete_all_for(tx, PrincipalKind::Operator, id).await?;
            let who = Actor::Operator(id);
            self.audit_by(
                tx,
                who,
                "operator.password_set",
                &who.to_string(),
                client,
                serde_json::json!({}),
            )
            .await
        })
        .await?;
        Ok(())
    }

    /// Username and password → a console session, with the agents' lockout rules.
    pub async fn operator_login(
        &self,
        username: &str,
        password: &str,
        client: Client<'_>,
    ) -> Result<OperatorLogin> {
        let now = self.now();
        let found = match Username::parse(username) {
            Ok(u) => operators::find_by_username(&self.db, &u).await?,
            Err(_) => None,
        };
        let Some(op) = found else {
            passwords::verify(password, crate::auth::decoy_hash()).await;
            return Ok(OperatorLogin::Refused);
        };
        let locked = op
            .locked_until
            .map(from_millis)
            .transpose()?
            .is_some_and(|u| u > now);
        let matches =
            !op.password_hash.is_empty() && passwords::verify(password, &op.password_hash).await;
        let who = Actor::Operator(op.id);
        let subject = who.to_string();
        self.write(async |tx| -> Result<_> {
            if locked || op.disabled_at.is_some() {
                let why = if locked { "locked" } else { "disabled" };
                self.audit_by(
                    tx,
                    who,
                    "operator.login_refused",
                    &subject,
                    client,
                    serde_json::json!({ "why": why }),
                )
                .await?;
                return Ok(OperatorLogin::Refused);
            }
            if !matches {
                let failures = operators::record_failure(
                    tx,
                    op.id,
                    now,
                    now - FAILURE_WINDOW,
                    LOCK_AFTER,
                    now + LOCK_FOR,
                )
                .await?;
                self.audit_by(
                    tx,
                    who,
                    "operator.login_failed",
                    &subject,
                    client,
                    serde_json::json!({ "failures": failures }),
                )
                .await?;
                if failures >= LOCK_AFTER {
                    self.audit_by(
                        tx,
                        who,
                        "operator.locked",
                        &subject,
                        client,
                        serde_json::json!({ "minutes": LOCK_FOR.as_mins() }),
                    )
                    .await?;
                }
                return Ok(OperatorLogin::Refused);
            }
            let token = self
                .open_operator_session(tx, op.id, client, "password")
                .await?;
            Ok(OperatorLogin::LoggedIn { token })
        })
        .await
    }

    /// Opens a console session for an operator who proved who they are (`method`: password
    /// or passkey); their failed attempts are forgotten.
    async fn open_operator_session(
        &self,
        tx: &mut hod_db::Tx,
        id: i64,
        client: Client<'_>,
        method: &str,
    ) -> Result<String> {
        let now = self.now();
        let token = random_token()?;
        sessions::create(
            tx,
            &NewSession {
                client: SessionClient::Web,
                token_hash: &token_hash(&token),
                kind: PrincipalKind::Operator,
                principal_id: id,
                expires_at: now + SESSION_LIFETIME,
                ip: client.ip,
                user_agent: client.user_agent,
            },
            now,
        )
        .await?;
        operators::clear_failures(tx, id).await?;
        if let Some(lang) = client.lang {
            operators::set_ui_lang(tx, id, lang.code()).await?;
        }
        let who = Actor::Operator(id);
        let detail = serde_json::json!({ "method": method });
        self.audit_by(tx, who, "operator.login", &who.to_string(), client, detail)
            .await?;
        Ok(token)
    }

    /// Finishes an operator's login with a passkey: a console session, or `Refused` (the
    /// same answer as a wrong password; a locked or disabled account is refused too).
    pub async fn operator_passkey_login_finish(
        &self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        client: Client<'_>,
    ) -> Result<OperatorLogin> {
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let Some(id) = self
                .verify_passkey_login(tx, PrincipalKind::Operator, ceremony, credential, client)
                .await?
            else {
                return Ok(OperatorLogin::Refused);
            };
            let op = operators::find_by_id(&self.db, id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("operator {id}")))?;
            let locked = op
                .locked_until
                .map(from_millis)
                .transpose()?
                .is_some_and(|u| u > now);
            if locked || op.disabled_at.is_some() {
                let who = Actor::Operator(id);
                let why = if locked { "locked" } else { "disabled" };
                let detail = serde_json::json!({ "why": why, "method": "passkey" });
                self.audit_by(
                    tx,
                    who,
                    "operator.login_refused",
                    &who.to_string(),
                    client,
                    detail,
                )
                .await?;
                return Ok(OperatorLogin::Refused);
            }
            let token = self
                .open_operator_session(tx, id, client, "passkey")
                .await?;
            Ok(OperatorLogin::LoggedIn { token })
        })
        .await
    }

    /// A logged-in operator changes their own password (the current one is asked for); their
    /// other sessions end.
    pub async fn operator_change_password(
        &self,
        by: &OperatorSession,
        current: &str,
        new: &str,
        confirm: &str,
        keep_token: &str,
        client: Client<'_>,
    ) -> Result<(), ProfileError> {
        let op = operators::find_by_id(&self.db, by.id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("operator {}", by.id)))?;
        if op.password_hash.is_empty() || !passwords::verify(current, &op.password_hash).await {
            let mut problems = FieldProblems::new();
            problems.insert("current_password", FieldProblem::CurrentPasswordWrong);
            return Err(ProfileError::Fields(problems));
        }
        check_new_password(new, confirm, &op.username, &op.email)?;
        let hash = passwords::hash(new).await.map_err(AppError::Other)?;
        let who = Principal::Operator(by.id);
        self.write(async |tx| -> Result<_> {
            operators::set_password(tx, by.id, &hash).await?;
            let ended = crate::profile::end_others(tx, who, keep_token).await?;
            let detail = serde_json::json!({ "other_sessions_ended": ended });
            self.audit_own(tx, who, "password_changed", client, detail)
                .await
        })
        .await?;
        Ok(())
    }

    /// The operator behind a console cookie, if the session is live and the account enabled.
    pub async fn operator_session(&self, token: &str) -> Result<Option<OperatorSession>> {
        let (hash, now) = (token_hash(token), self.now());
        let row = self
            .write(async |tx| {
                sessions::touch(
                    tx,
                    &hash,
                    PrincipalKind::Operator,
                    SessionClient::Web,
                    now,
                    SESSION_IDLE,
                )
                .await
            })
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(operators::find_by_id(&self.db, row.principal_id)
            .await?
            .filter(|o| o.disabled_at.is_none())
            .map(|o| OperatorSession {
                id: o.id,
                role: o.role(),
                username: o.username,
            }))
    }

    pub async fn operator_logout(&self, by: &OperatorSession, token: &str) -> Result<()> {
        self.write(async |tx| -> Result<_> {
            sessions::delete(tx, &token_hash(token)).await?;
            let who = by.actor();
            self.audit_by(
                tx,
                who,
                "operator.logout",
                &who.to_string(),
                Client::default(),
                serde_json::json!({}),
            )
            .await
        })
        .await
    }

    /// Every operator (administrators only).
    pub async fn operators(&self, by: &OperatorSession) -> Result<Vec<OperatorInfo>> {
        require_admin(by)?;
        let now = self.now();
        operators::all(&self.db)
            .await?
            .into_iter()
            .map(|o| info(o, now))
            .collect()
    }

    /// An administrator changes another operator's role, disables or enables the account, or
    /// lifts a lock. Disabling ends the operator's sessions at once; the last enabled
    /// administrator cannot be disabled or made help desk.
    pub async fn change_operator(
        &self,
        by: &OperatorSession,
        id: i64,
        change: OperatorChange,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let now = self.now();
        let target = operators::find_by_id(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("operator {id}")))?;
        self.write(async |tx| -> Result<_> {
            let removes_admin = target.role() == Role::Admin
                && target.disabled_at.is_none()
                && matches!(
                    change,
                    OperatorChange::Disable | OperatorChange::Role(Role::HelpDesk)
                );
            if removes_admin && operators::enabled_admins(tx).await? <= 1 {
                return Err(AppError::Refused {
                    id: "last-admin",
                    message: "the last administrator cannot be disabled or made help desk".into(),
                });
            }
            let action = match change {
                OperatorChange::Role(role) => {
                    operators::set_role(tx, id, role).await?;
                    "operator.role_changed"
                }
                OperatorChange::Disable => {
                    operators::set_disabled(tx, id, Some(now)).await?;
                    sessions::delete_all_for(tx, PrincipalKind::Operator, id).await?;
                    "operator.disabled"
                }
                OperatorChange::Enable => {
                    operators::set_disabled(tx, id, None).await?;
                    "operator.enabled"
                }
                OperatorChange::Unlock => {
                    operators::clear_failures(tx, id).await?;
                    "operator.unlocked"
                }
                OperatorChange::PasswordLink => {
                    let token = random_token()?;
                    operators::create_token(
                        tx,
                        &token_hash(&token),
                        id,
                        now,
                        now + OPERATOR_LINK_LIFETIME,
                    )
                    .await?;
                    let lang = UiLang::parse(&target.ui_lang).unwrap_or(UiLang::En);
                    let letter = Letter::new("operator-password")
                        .with("username", target.username.clone())
                        .with("hours", OPERATOR_LINK_LIFETIME.as_hours().to_string())
                        .link(format!(
                            "{}/admin/welcome/{token}",
                            self.settings.public_url
                        ));
                    let dedup = format!("operator-password:{id}:{}", now.as_millisecond());
                    self.send_email(tx, &target.email, lang, &letter.email(lang), &dedup)
                        .await?;
                    "operator.password_link_sent"
                }
            };
            let detail = match change {
                OperatorChange::Role(role) => {
                    serde_json::json!({ "from": target.role, "to": role.as_str() })
                }
                _ => serde_json::json!({}),
            };
            self.audit_by(
                tx,
                by.actor(),
                action,
                &format!("operator:{id}"),
                client,
                detail,
            )
            .await
        })
        .await
    }
}

fn info(o: OperatorRow, now: jiff::Timestamp) -> Result<OperatorInfo> {
    Ok(OperatorInfo {
        id: o.id,
        role: o.role(),
        created_at: from_millis(o.created_at)?,
        disabled: o.disabled_at.is_some(),
        locked: o
            .locked_until
            .map(from_millis)
            .transpose()?
            .is_some_and(|u| u > now),
        pending: o.password_hash.is_empty(),
        username: o.username,
        email: o.email,
    })
}

pub(crate) fn require_admin(by: &OperatorSession) -> Result<()> {
    if by.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn insert(
    tx: &mut hod_db::Tx,
    username: &str,
    email: &str,
    hash: &str,
    role: Role,
    now: jiff::Timestamp,
) -> Result<i64> {
    operators::create(
        tx,
        &NewOperator {
            username,
            email,
            password_hash: hash,
            role,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        DbError::Conflict(what) => AppError::Conflict(format!("{what} is already taken")),
        e => e.into(),
    })
}
