//! Operator accounts.
pub use hod_db::operators::Role;
use hod_db::operators::{self, NewOperator};
use hod_db::{DbError, audit};
use hod_domain::actor::Actor;

use crate::{App, AppError, Result, passwords};

impl App {
    /// Creates an operator account (CLI `hod admin create`, and the demo).
    pub async fn create_operator(
        &self,
        username: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<i64> {
        let username = username.trim();
        if username.len() < 3 || username.len() > 64 {
            return Err(AppError::Invalid(format!(
                "username {username:?} must be 3 to 64 characters"
            )));
        }
        if !email.contains('@') {
            return Err(AppError::Invalid(format!(
                "{email:?} is not an email address"
            )));
        }
        if password.chars().count() < 12 {
            return Err(AppError::Invalid(
                "operator passwords must be at least 12 characters".into(),
            ));
        }
        let hash = passwords::hash(password)?;
        let now = self.now();
        let id = self
            .write(async |tx| -> Result<_> {
                let id = operators::create(
                    tx,
                    &NewOperator {
                        username,
                        email,
                        password_hash: &hash,
                        role,
                    },
                    now,
                )
                .await
                .map_err(|e| match e {
                    DbError::Conflict(what) => {
                        AppError::Conflict(format!("{what} is already taken"))
                    }
                    e => e.into(),
                })?;
                let subject = format!("operator:{id}");
                let detail = serde_json::json!({ "username": username, "role": role.as_str() });
                audit::append(
                    tx,
                    &audit::Entry {
                        actor: Actor::Cli,
                        action: "operator.created",
                        subject: &subject,
                        ip: None,
                        detail,
                    },
                    now,
                )
                .await?;
                Ok(id)
            })
            .await?;
        Ok(id)
    }
}
