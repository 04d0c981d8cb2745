//! The consumer's status link, `/requests/{id}-{mac}`: signed with a key made once and shared
//! by every node, so that nothing per request needs storing.
use hmac::{Hmac, Mac};
use hod_db::settings;
use sha2::Sha256;

use crate::{App, AppError, Result};

use super::*;

impl App {
    /// The secret status links are signed with: made once, shared by every node, read once
    /// per process (before any transaction that needs it, so that SQLite's writer lock is not
    /// wanted twice).
    pub(super) async fn status_key(&self) -> Result<&[u8]> {
        self.status_key
            .get_or_try_init(|| async {
                let (fresh, now) = (crate::tokens::random_token()?, self.now());
                let key = self
                    .db
                    .write(async |tx| {
                        settings::get_or_put(tx, "secret.status_links", &fresh, now).await
                    })
                    .await?;
                hex::decode(key)
                    .map_err(|e| AppError::Other(anyhow::anyhow!("status link key: {e}")))
            })
            .await
            .map(Vec::as_slice)
    }

    /// `{id}-{mac}`: the consumer's status link, the same for every submission of the request
    /// (so a resubmission or a retried API call gets the same link) and impossible to guess.
    pub async fn status_token(&self, id: i64) -> Result<String> {
        let key = self.status_key().await?;
        Ok(format!("{id}-{}", status_mac(key, id)))
    }

    /// The referral id behind a status token, if the token is genuine.
    pub(super) async fn status_token_id(&self, token: &str) -> Result<Option<i64>> {
        let Some((id, mac)) = token.split_once('-') else {
            return Ok(None);
        };
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let key = self.status_key().await?;
        let mut m = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| AppError::Other(anyhow::anyhow!("{e}")))?;
        m.update(format!("status:{id}").as_bytes());
        let Ok(given) = hex::decode(mac) else {
            return Ok(None);
        };
        Ok(m.verify_truncated_left(&given)
            .ok()
            .filter(|()| given.len() == 16)
            .map(|()| id))
    }

    /// The consumer's status page, by its secret token.
    pub async fn status_by_token(&self, token: &str) -> Result<Option<PublicStatus>> {
        match self.status_token_id(token).await? {
            Some(id) => self.public_status(id).await,
            None => Ok(None),
        }
    }
}

fn status_mac(key: &[u8], id: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("status:{id}").as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}
