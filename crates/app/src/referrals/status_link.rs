//! The consumer's status link, `/requests/{id}-{mac}`: signed with a key made once and shared
//! by every node, so that nothing per request needs storing.
use hmac::{Hmac, Mac};
use hod_db::{Db, settings};
use sha2::Sha256;

use crate::{App, AppError, Result};

use super::*;

/// The secret status links are signed with: made on the first start, shared by every node,
/// read when the application starts.
pub(crate) async fn load_status_key(db: &Db, now: jiff::Timestamp) -> Result<Vec<u8>> {
    let fresh = crate::tokens::random_token()?;
    let key = db
        .write(async |tx| settings::get_or_put(tx, "secret.status_links", &fresh, now).await)
        .await?;
    hex::decode(key).map_err(|e| AppError::Other(anyhow::anyhow!("status link key: {e}")))
}

impl App {
    fn status_key(&self) -> &[u8] {
        &self.status_key
    }

    /// `{id}-{mac}`: the consumer's status link, the same for every submission of the request
    /// (so a resubmission or a retried API call gets the same link) and impossible to guess.
    pub fn status_token(&self, id: i64) -> String {
        format!("{id}-{}", status_mac(self.status_key(), id))
    }

    /// The referral id behind a status token, if the token is genuine.
    fn status_token_id(&self, token: &str) -> Option<i64> {
        let (id, mac) = token.split_once('-')?;
        let id = id.parse::<i64>().ok()?;
        let given = hex::decode(mac).ok().filter(|g| g.len() == 16)?;
        let mut m =
            Hmac::<Sha256>::new_from_slice(self.status_key()).expect("HMAC takes any key length");
        m.update(format!("status:{id}").as_bytes());
        m.verify_truncated_left(&given).ok().map(|()| id)
    }

    /// The consumer's status page, by its secret token.
    pub async fn status_by_token(&self, token: &str) -> Result<Option<PublicStatus>> {
        match self.status_token_id(token) {
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
