//! Messages owed to someone, queued in the outbox by the transaction that decided them (the
//! dispatcher delivers them after the commit). Their words are letters from the locales
//! (`hod_i18n::letter`), in the reader's language.
use hod_db::Tx;
use hod_db::outbox::{self, Channel, NewMessage};
use hod_db::{agents, push};
use hod_domain::ContactMethod;
use hod_i18n::letter::{Email, Letter};
use hod_i18n::{Tr, UiLang};

use crate::{App, Result};

/// How a letter to an agent travels.
#[derive(Debug, Clone)]
pub(crate) enum Reach {
    /// By email only.
    Email,
    /// By email, and by text and push as the agent's Preferred Contact Method says; a push
    /// carries `push` (what the service worker receives).
    AsChosen { push: serde_json::Value },
}

impl App {
    /// Writes `letter` to agent `agent_id` in their language, filling in `first_name` and
    /// `name`. `dedup` names the letter (each channel's copy is sent once).
    pub(crate) async fn write_to_agent(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        letter: Letter,
        reach: Reach,
        dedup: &str,
    ) -> Result<()> {
        let to = agents::addressee(tx, agent_id).await?;
        self.write_to(tx, agent_id, &to, letter, reach, dedup).await
    }

    /// [`Self::write_to_agent`] with whom it goes to known already.
    pub(crate) async fn write_to(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        to: &agents::Addressee,
        letter: Letter,
        reach: Reach,
        dedup: &str,
    ) -> Result<()> {
        let lang = UiLang::parse(&to.ui_lang).unwrap_or(UiLang::En);
        // Times in the agent's own time zone, as their pages show them.
        let zone = self.zone_name(to.time_zone.as_deref(), to.zip.as_deref());
        let letter = letter
            .in_zone(
                &jiff::tz::TimeZone::get(&zone)
                    .unwrap_or_else(|_| self.settings.program_time_zone.clone()),
            )
            .with("first_name", to.first_name.clone())
            .with("name", format!("{} {}", to.first_name, to.last_name));
        let Reach::AsChosen { push } = reach else {
            return self
                .send_email(tx, &to.email, lang, &letter.email(lang), dedup)
                .await;
        };
        self.send_email(
            tx,
            &to.email,
            lang,
            &letter.email(lang),
            &format!("{dedup}:email"),
        )
        .await?;
        let method = to.contact_method.as_deref().and_then(ContactMethod::parse);
        if method.is_some_and(ContactMethod::texts)
            && let Some(phone) = &to.phone
        {
            let text = letter.short(lang);
            let dedup = format!("{dedup}:sms");
            // No fallback: the email went already.
            self.send_text(tx, phone, lang, &text, None, &dedup).await?;
        }
        if method.is_some_and(ContactMethod::pushes) {
            let mut payload = push;
            if let Some(fields) = payload.as_object_mut() {
                fields.insert("title".into(), letter.subject(lang).into());
                fields.insert("body".into(), letter.push(lang).into());
                // The notification's buttons, labelled in the agent's language.
                if let Some(actions) = fields.get_mut("actions").and_then(|a| a.as_array_mut()) {
                    for action in actions {
                        let id = action.as_str().unwrap_or_default().to_owned();
                        let title = Tr(lang).get(&format!("push-action-{id}"));
                        *action = serde_json::json!({ "action": id, "title": title });
                    }
                }
            }
            let title = letter.subject(lang);
            self.send_push(
                tx,
                agent_id,
                lang,
                &title,
                &payload,
                &format!("{dedup}:push"),
            )
            .await?;
        }
        Ok(())
    }

    /// Queues an email; `dedup` makes a second queueing of the same message a no-op.
    pub(crate) async fn send_email(
        &self,
        tx: &mut Tx,
        to: &str,
        lang: UiLang,
        email: &Email,
        dedup: &str,
    ) -> Result<()> {
        self.queue_email(tx, to, lang, email, false, dedup).await
    }

    /// An email, marked high importance when `urgent`.
    pub(crate) async fn queue_email(
        &self,
        tx: &mut Tx,
        to: &str,
        lang: UiLang,
        email: &Email,
        urgent: bool,
        dedup: &str,
    ) -> Result<()> {
        self.enqueue(
            tx,
            NewMessage {
                channel: Channel::Email,
                sender: &self.settings.noreply_address,
                recipient: to,
                subject: &email.subject,
                body: &email.text,
                html: Some(&email.html),
                lang: lang.code(),
                fallback_to: None,
                urgent,
                subscription_id: None,
                dedup_key: Some(dedup),
            },
        )
        .await
    }

    /// Queues a text to `phone`; when it cannot be texted (the number said STOP, or refuses
    /// texts) it goes to `fallback_to` by email instead (set where no email copy goes).
    pub(crate) async fn send_text(
        &self,
        tx: &mut Tx,
        phone: &str,
        lang: UiLang,
        text: &str,
        fallback_to: Option<&str>,
        dedup: &str,
    ) -> Result<()> {
        self.enqueue(
            tx,
            NewMessage {
                channel: Channel::Sms,
                sender: "",
                recipient: phone,
                subject: "",
                body: text,
                html: None,
                lang: lang.code(),
                fallback_to,
                urgent: false,
                subscription_id: None,
                dedup_key: Some(dedup),
            },
        )
        .await
    }

    /// Queues a push notification to each browser and app `agent_id` subscribed (one
    /// message each, so a device that took it is never sent it again); kept in the local
    /// outbox when they subscribed none. `payload` is what the service worker receives.
    pub(crate) async fn send_push(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        lang: UiLang,
        title: &str,
        payload: &serde_json::Value,
        dedup: &str,
    ) -> Result<()> {
        let to = hod_domain::actor::Actor::Agent(agent_id).to_string();
        let body = payload.to_string();
        let subscriptions = push::of_agent(tx, agent_id).await?;
        let targets: Vec<(Option<i64>, String)> = if subscriptions.is_empty() {
            vec![(None, dedup.to_owned())]
        } else {
            subscriptions
                .iter()
                .map(|s| (Some(s.id), format!("{dedup}:{}", s.id)))
                .collect()
        };
        for (subscription_id, dedup) in targets {
            self.enqueue(
                tx,
                NewMessage {
                    channel: Channel::Push,
                    sender: "",
                    recipient: &to,
                    subject: title,
                    body: &body,
                    html: None,
                    lang: lang.code(),
                    fallback_to: None,
                    urgent: false,
                    subscription_id,
                    dedup_key: Some(&dedup),
                },
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn enqueue(&self, tx: &mut Tx, message: NewMessage<'_>) -> Result<()> {
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        outbox::enqueue(tx, &message, self.now()).await?;
        Ok(())
    }
}
