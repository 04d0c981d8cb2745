//! Partner systems (SPEC.md §1): API keys for `POST /api/v1/referrals`. A key is shown once
//! (`hod api-key create`); the database keeps its SHA-256.
use hod_db::{api_keys, audit};
use hod_domain::actor::Actor;

use crate::tokens::{random_token, token_hash};
use crate::{App, AppError, Result};

/// A partner key, as it authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partner {
    pub key_id: i64,
}

impl App {
    /// Creates a key named `name`; returns the key (`hod_` and 64 hex characters).
    pub async fn create_api_key(&self, name: &str, actor: Actor) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::Invalid(
                "--name: give the partner's name (1 to 100 characters)".into(),
            ));
        }
        let key = format!("hod_{}", random_token()?);
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let id = api_keys::create(tx, name, &token_hash(&key), now).await?;
            let subject = format!("api_key:{id}");
            audit::append(
                tx,
                &audit::Entry {
                    actor,
                    action: "api_key.created",
                    subject: &subject,
                    ip: None,
                    detail: serde_json::json!({ "name": name }),
                },
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(key)
    }

    /// The partner a bearer key belongs to, if it is a live key.
    pub async fn partner(&self, key: &str) -> Result<Option<Partner>> {
        Ok(api_keys::find(&self.db, &token_hash(key))
            .await?
            .map(|(key_id, _)| Partner { key_id }))
    }
}
