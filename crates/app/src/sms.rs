//! What texts' providers tell us: delivery reports, and what people text back (STOP, START,
//! HELP in English and Spanish; SPEC.md §7.1). A number that said STOP gets no more texts
//! until it says START.
use hod_db::sms;
use hod_domain::sms_keywords::{self, Keyword};

use crate::{App, Result};

/// A text to send back, by its message name in the locales and its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// `sms-stopped`, `sms-started` or `sms-help`.
    pub message: &'static str,
    pub spanish: bool,
}

impl App {
    /// Whether a webhook posted to `path` (with its query) with these form fields carries
    /// the provider's signature `given`. Always `false` when texts do not go through a
    /// provider.
    pub fn sms_webhook_signed(&self, path: &str, fields: &[(String, String)], given: &str) -> bool {
        let Some(sms) = &self.transports.sms else {
            return false;
        };
        let url = format!("{}{path}", self.settings.public_url);
        hod_notify::sms::verify(sms.url().auth_token(), &url, fields, given)
    }

    /// A delivery report for the text the provider named `sid`. `false` when no such text.
    pub async fn sms_status(&self, sid: &str, status: &str) -> Result<bool> {
        let status = status.trim().to_ascii_lowercase();
        Ok(self
            .write(async |tx| sms::record_status(tx, sid.trim(), &status).await)
            .await?)
    }

    /// A text from `from`: a keyword is acted on, and answered where an answer is due (a
    /// second STOP is not confirmed again). Other texts get no answer.
    pub async fn sms_inbound(&self, from: &str, text: &str) -> Result<Option<Reply>> {
        let Some((keyword, spanish)) = sms_keywords::parse(text) else {
            return Ok(None);
        };
        let phone = from.trim();
        let now = self.now();
        let message = match keyword {
            Keyword::Stop => {
                let newly = self
                    .write(async |tx| sms::opt_out(tx, phone, now).await)
                    .await?;
                newly.then_some("sms-stopped")
            }
            Keyword::Start => {
                self.write(async |tx| sms::opt_in(tx, phone).await).await?;
                Some("sms-started")
            }
            Keyword::Help => Some("sms-help"),
        };
        if let Some(m) = message {
            tracing::info!(keyword = ?keyword, reply = m, "text keyword");
        }
        Ok(message.map(|message| Reply { message, spanish }))
    }

    /// Whether `phone` said STOP (texts to it are not sent).
    pub(crate) async fn sms_opted_out(&self, phone: &str) -> Result<bool> {
        Ok(sms::opted_out(&self.db, phone).await?)
    }
}
