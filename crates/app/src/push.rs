//! Web Push for agents (SPEC.md §7.1): the program's VAPID key (made once, kept in the
//! database so every node signs alike), the browsers and apps agents subscribe, delivery of
//! the pushes queued in the outbox, and the one-tap answers an offer's notification carries.
use hmac::{Hmac, Mac};
use hod_db::outbox::MessageRow;
use hod_db::{Db, push, settings};
use hod_i18n::{Tr, UiLang};
pub use hod_notify::push::SubscriptionError;
use hod_notify::push::{Notification, Subscription, Urgency};
use hod_notify::{Push, PushError, VapidKey};
use sha2::Sha256;

use crate::auth::Client;
use crate::dispatch::Delivery;
use crate::referrals::OfferError;
use crate::{App, AppError, Result, Settings};

/// `push_endpoints` by default: the push services of Chrome and Android, Apple, Firefox and
/// Windows.
pub const DEFAULT_ENDPOINTS: &str =
    "fcm.googleapis.com,*.push.apple.com,updates.push.services.mozilla.com,*.notify.windows.com";

pub fn default_endpoints() -> Vec<String> {
    DEFAULT_ENDPOINTS.split(',').map(str::to_owned).collect()
}

/// How long a push service keeps a notification that is not about an offer for a device that
/// is offline.
const DEFAULT_TTL_SECS: u64 = 24 * 60 * 60;

/// The Web Push transport, with the VAPID key made on the first start.
pub(crate) async fn transport(db: &Db, now: jiff::Timestamp, s: &Settings) -> Result<Push> {
    let fresh = loop {
        if let Some(key) = VapidKey::from_random(crate::tokens::random_bytes::<32>()?) {
            break hex::encode(key.to_bytes());
        }
    };
    let kept = db
        .write(async |tx| settings::get_or_put(tx, "secret.vapid", &fresh, now).await)
        .await?;
    let key = hex::decode(kept)
        .ok()
        .and_then(|bytes| VapidKey::from_bytes(&bytes))
        .ok_or_else(|| {
            AppError::Other(anyhow::anyhow!("the stored VAPID key is not a P-256 key"))
        })?;
    Push::new(key, &format!("mailto:{}", s.noreply_address))
        .map_err(|e| AppError::Other(anyhow::anyhow!("{e}")))
}

/// A browser's `PushSubscription` as the agent's app sends it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PushSubscriptionForm {
    pub endpoint: String,
    pub keys: PushKeys,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

impl App {
    /// What browsers subscribe with (`applicationServerKey`).
    pub fn vapid_public_key(&self) -> String {
        self.push.public_key()
    }

    /// Keeps a subscription of the agent's browser or app; its endpoint must be one of the
    /// push services in `push_endpoints`.
    pub async fn subscribe_push(
        &self,
        agent_id: i64,
        form: &PushSubscriptionForm,
        client: Client<'_>,
    ) -> std::result::Result<(), SubscriptionError> {
        let sub = Subscription {
            endpoint: form.endpoint.trim().to_owned(),
            p256dh: form.keys.p256dh.trim().to_owned(),
            auth: form.keys.auth.trim().to_owned(),
        };
        sub.check(&self.settings.push_endpoints)?;
        let sub = Subscription {
            endpoint: hod_notify::push::canonical_endpoint(&sub.endpoint)
                .expect("a checked endpoint is a URL"),
            ..sub
        };
        let now = self.now();
        let kept = self
            .write(async |tx| -> Result<()> {
                push::subscribe(
                    tx,
                    agent_id,
                    &sub.endpoint,
                    &sub.p256dh,
                    &sub.auth,
                    client.user_agent,
                    now,
                )
                .await?;
                self.audit(
                    tx,
                    agent_id,
                    "agent.push_subscribed",
                    client,
                    serde_json::json!({}),
                )
                .await
            })
            .await;
        kept.map_err(|e| {
            tracing::error!(error = format!("{e:#}"), "push subscription not kept");
            SubscriptionError::Endpoint("could not be kept; try again".into())
        })
    }

    /// Forgets the agent's subscription at `endpoint`; false when there was none.
    pub async fn unsubscribe_push(&self, agent_id: i64, endpoint: &str) -> Result<bool> {
        // What is not a URL was never subscribed.
        let Some(endpoint) = hod_notify::push::canonical_endpoint(endpoint) else {
            return Ok(false);
        };
        Ok(self
            .write(async |tx| push::unsubscribe(tx, agent_id, &endpoint).await)
            .await?)
    }

    /// The token an offer's push carries so the notification's Accept and Decline work
    /// without a session: `{agent}-{mac}`, bound to the offer and its agent. It is good once
    /// by construction (an offer is answered once) and ends with the offer.
    pub(crate) fn offer_answer_token(&self, offer_id: i64, agent_id: i64) -> String {
        let mac = self.answer_mac(offer_id, agent_id).finalize().into_bytes();
        format!("{agent_id}-{}", hex::encode(&mac[..16]))
    }

    /// The HMAC an answer token carries, before it is finished (to make it or to check one).
    fn answer_mac(&self, offer_id: i64, agent_id: i64) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.status_key).expect("any key length");
        m.update(format!("offer-answer:{offer_id}:{agent_id}").as_bytes());
        m
    }

    /// The agent an answer token speaks for, if it is genuine for this offer.
    fn answer_token_agent(&self, offer_id: i64, token: &str) -> Option<i64> {
        let (agent, mac) = token.trim().split_once('-')?;
        let agent_id = agent.parse::<i64>().ok()?;
        let given = hex::decode(mac).ok()?;
        self.answer_mac(offer_id, agent_id)
            .verify_truncated_left(&given)
            .ok()
            .filter(|()| given.len() == 16)
            .map(|()| agent_id)
    }

    /// An answer from an offer's notification (the service worker posts the token the push
    /// carried): accepts, or declines with the reason "declined from the notification" in
    /// the agent's language. A token that is not genuine is `NotFound`.
    pub async fn answer_offer_by_token(
        &self,
        offer_id: i64,
        token: &str,
        accept: bool,
        lang: UiLang,
    ) -> std::result::Result<Option<i64>, OfferError> {
        let agent_id = self
            .answer_token_agent(offer_id, token)
            .ok_or(OfferError::NotFound)?;
        if accept {
            self.accept_offer(agent_id, offer_id).await.map(Some)
        } else {
            let reason = Tr(lang).get("offer-declined-from-notification");
            self.decline_offer(agent_id, offer_id, &reason)
                .await
                .map(|()| None)
        }
    }

    /// Delivers a queued push to its subscription. An offer's push lives as long as the
    /// offer (`TTL`) and is urgent; a subscription its service says is gone is forgotten.
    pub(crate) async fn deliver_push(&self, m: &MessageRow) -> Delivery {
        let Some(subscription_id) = m.subscription_id else {
            // The agent had subscribed no browser or app: kept in the local outbox.
            return Delivery::Stored;
        };
        let sub = match push::get(&self.db, subscription_id).await {
            Ok(Some(sub)) => sub,
            Ok(None) => {
                return Delivery::Failed(hod_notify::SendError::Permanent(
                    "the subscription was removed".into(),
                ));
            }
            Err(e) => return Delivery::Failed(hod_notify::SendError::Transient(e.to_string())),
        };
        let now = self.now();
        let payload: serde_json::Value = serde_json::from_str(&m.body).unwrap_or_default();
        let expires = payload["expires_at"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        let (ttl, urgency) = match expires {
            Some(at) => {
                let left = at.duration_since(now).as_secs();
                if left <= 0 {
                    return Delivery::Failed(hod_notify::SendError::Permanent(
                        "the offer ended before its push could go".into(),
                    ));
                }
                (left.unsigned_abs(), Urgency::High)
            }
            None => (DEFAULT_TTL_SECS, Urgency::Normal),
        };
        let to = Subscription {
            endpoint: sub.endpoint,
            p256dh: sub.p256dh,
            auth: sub.auth,
        };
        // A reminder replaces the offer's own notification on a device that has not shown it.
        let topic = payload["offer_id"].as_i64().map(|id| format!("offer{id}"));
        let note = Notification {
            payload: m.body.as_bytes(),
            ttl,
            urgency,
            topic: topic.as_deref(),
        };
        match self.push.send(&to, &note, now.as_second()).await {
            Ok(location) => Delivery::Sent(location),
            Err(PushError::Gone(code)) => {
                if let Err(e) = self
                    .db
                    .write(async |tx| push::forget(tx, sub.id).await)
                    .await
                {
                    tracing::warn!(error = %e, "gone subscription not forgotten");
                }
                Delivery::Failed(hod_notify::SendError::Permanent(format!(
                    "the push service answered {code}: the subscription is gone (removed)"
                )))
            }
            Err(PushError::Send(e)) => Delivery::Failed(e),
        }
    }
}
