//! What consumers and agents are sent about a referral, written to the outbox in the
//! transaction that decides it.
use hod_db::Tx;
use hod_db::referrals::{self as db, ReferralRow};
use hod_domain::Lang;
use hod_domain::referral::ContactBy;
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use jiff::Timestamp;

use crate::outbox::Reach;
use crate::{App, Result};

use super::*;

/// What a consumer is told about their request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConsumerMessage<'a> {
    /// The request was received; here is its link.
    Confirmation,
    /// The same person asked again through someone else: the link, once more.
    LinkAgain,
    /// "Jane D., a licensed agent, accepted…".
    Accepted { agent: &'a str },
    /// Nobody could take it: the call center.
    NoAgent,
}

impl ConsumerMessage<'_> {
    /// Names the message in its outbox dedup key (each is sent once per request).
    fn key(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::LinkAgain => "link_again",
            Self::Accepted { .. } => "accepted",
            // The name messages had before this type: keeps old dedup keys meaningful.
            Self::NoAgent => "fallback",
        }
    }

    fn letter(self) -> Letter {
        match self {
            Self::Confirmation => Letter::new("confirmation"),
            Self::LinkAgain => Letter::new("link-again"),
            Self::Accepted { agent } => Letter::new("accepted").with("agent", agent),
            Self::NoAgent => Letter::new("no-agent").with("phone", CALL_CENTER),
        }
    }
}

impl App {
    /// An offer's letter to its agent by their Preferred Contact Method — `offer` ("You have
    /// a New Referral") or `offer-reminder` (half its window gone): where, what and until
    /// when, never who. `to` is whom it goes to when the round's facts tell (else it is read).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn tell_of_offer(
        &self,
        tx: &mut Tx,
        letter: &'static str,
        agent_id: i64,
        to: Option<&hod_db::agents::Addressee>,
        r: &ReferralRow,
        offer_id: i64,
        expires: Timestamp,
    ) -> Result<()> {
        let words = self.offer_letter(letter, r, offer_id, expires);
        let push = self.offer_push(r, offer_id, agent_id, expires);
        let dedup = format!("{letter}:{offer_id}");
        let reach = Reach::AsChosen { push };
        match to {
            Some(to) => self.write_to(tx, agent_id, to, words, reach, &dedup).await,
            None => {
                self.write_to_agent(tx, agent_id, words, reach, &dedup)
                    .await
            }
        }
    }

    /// The words of an offer's letters: where, in which language, for what, until when.
    fn offer_letter(
        &self,
        name: &'static str,
        r: &ReferralRow,
        offer_id: i64,
        expires: Timestamp,
    ) -> Letter {
        let (en, es) = Lang::parse(&r.language).map_or_else(
            |_| (r.language.clone(), r.language.clone()),
            |l| (l.info().label(false), l.info().label(true)),
        );
        Letter::new(name)
            .with("place", format!("{}, {} {}", r.city, r.state, r.zip))
            .words("language", en, es)
            .with("reason", r.reason.clone())
            .clock("until", expires, &self.settings.program_time_zone)
            // Straight to this offer, after logging in if need be.
            .link(format!(
                "{}/agent/referrals?offer={offer_id}",
                self.settings.public_url
            ))
    }

    /// What an offer's push notification carries (SPEC.md §7.1): never the consumer's name,
    /// phone or email.
    fn offer_push(
        &self,
        r: &ReferralRow,
        offer_id: i64,
        agent_id: i64,
        expires: Timestamp,
    ) -> serde_json::Value {
        serde_json::json!({
            "type": "offer",
            "offer_id": offer_id,
            "referral_id": r.id,
            "city": r.city,
            "zip": r.zip,
            "language": r.language,
            "expires_at": expires,
            "answer_token": self.offer_answer_token(offer_id, agent_id),
            "url": format!("/agent/referrals?offer={offer_id}"),
            "actions": ["accept", "decline"],
        })
    }

    /// Tells the consumer which agent took their request (they accepted, or an operator
    /// assigned it to them).
    pub(crate) async fn tell_consumer_accepted(
        &self,
        tx: &mut Tx,
        rid: i64,
        agent_id: i64,
    ) -> Result<()> {
        let (first, last, _, _) = db::agent_brief(tx, agent_id).await?;
        let token = self.status_token(rid);
        let name = hod_domain::referral::short_name(&first, &last);
        self.tell_consumer(tx, rid, ConsumerMessage::Accepted { agent: &name }, &token)
            .await
    }

    /// A message to the consumer in their language, by text when they asked for texts or gave
    /// no email, else by email.
    pub(super) async fn tell_consumer(
        &self,
        tx: &mut Tx,
        id: i64,
        what: ConsumerMessage<'_>,
        token: &str,
    ) -> Result<()> {
        let reach = db::consumer_reach(tx, id).await?;
        self.tell_consumer_at(tx, id, &reach, what, token).await
    }

    /// [`Self::tell_consumer`] with what reaches them known already.
    pub(super) async fn tell_consumer_at(
        &self,
        tx: &mut Tx,
        id: i64,
        reach: &db::ConsumerReach,
        what: ConsumerMessage<'_>,
        token: &str,
    ) -> Result<()> {
        let db::ConsumerReach {
            contact: c,
            contact_by,
            ui_lang,
        } = reach;
        let lang = UiLang::parse(ui_lang).unwrap_or(UiLang::En);
        let letter = what
            .letter()
            .with("first_name", c.first_name.clone())
            .link(format!("{}/requests/{token}", self.settings.public_url));
        // As they chose: a text (by email instead when it cannot be texted), or an email.
        match &c.email {
            Some(email) if contact_by != ContactBy::Text.id() => {
                let dedup = format!("consumer:{id}:{}:email", what.key());
                self.send_email(tx, email, lang, &letter.email(lang), &dedup)
                    .await?;
            }
            fallback => {
                let dedup = format!("consumer:{id}:{}:sms", what.key());
                let text = letter.short(lang);
                self.send_text(tx, &c.phone, lang, &text, fallback.as_deref(), &dedup)
                    .await?;
            }
        }
        Ok(())
    }
}
