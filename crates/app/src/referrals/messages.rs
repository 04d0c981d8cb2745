//! What consumers and agents are sent about a referral, written to the outbox in the
//! transaction that decides it.
use hod_db::Tx;
use hod_db::outbox::Channel;
use hod_db::referrals::{self as db, CandidateRow, ReferralRow};
use hod_domain::actor::Actor;
use hod_domain::referral::{ContactBy, HelpReason};
use hod_domain::{ContactMethod, Lang};
use jiff::Timestamp;

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
}

impl App {
    /// "You have a New Referral", by the agent's Preferred Contact Method: where, what and
    /// until when — never who.
    pub(super) async fn notify_offer(
        &self,
        tx: &mut Tx,
        agent: &CandidateRow,
        r: &ReferralRow,
        offer_id: i64,
        expires: Timestamp,
    ) -> Result<()> {
        let local = expires.to_zoned(self.settings.program_time_zone.clone());
        let until = local.strftime("%-I:%M %p %Z");
        let link = format!("{}/agent/referrals", self.settings.public_url);
        let language =
            Lang::parse(&r.language).map_or(r.language.clone(), |l| l.info().name.to_owned());
        let reason = reason_en(&r.reason);
        let body = format!(
            "Hello {},\n\nYou have a new Help On Demand referral: a consumer in {}, {} {} who speaks {language} \
             needs help with {reason}.\n\nAccept or decline it before {until}: {link}\n\n---\n\n\
             Tiene un nuevo referido de Help On Demand en {}, {} {}. Acéptelo o rechácelo antes de las {}: {link}\n",
            agent.first_name,
            r.city,
            r.state,
            r.zip,
            r.city,
            r.state,
            r.zip,
            local.strftime("%H:%M %Z")
        );
        self.message(
            tx,
            Channel::Email,
            &agent.email,
            "You have a New Referral",
            &body,
            &format!("offer:{offer_id}:email"),
        )
        .await?;
        let method = agent
            .contact_method
            .as_deref()
            .and_then(ContactMethod::parse);
        let short = format!(
            "Help On Demand: new referral in {}, {} ({language}). Accept by {until}: {link}",
            r.city, r.state
        );
        if method.is_some_and(ContactMethod::texts)
            && let Some(phone) = &agent.phone
        {
            self.message(
                tx,
                Channel::Sms,
                phone,
                "",
                &short,
                &format!("offer:{offer_id}:sms"),
            )
            .await?;
        }
        if method.is_some_and(ContactMethod::pushes) {
            let to = Actor::Agent(agent.agent_id).to_string();
            self.message(
                tx,
                Channel::Push,
                &to,
                "You have a New Referral",
                &short,
                &format!("offer:{offer_id}:push"),
            )
            .await?;
        }
        Ok(())
    }

    /// A message to the consumer in their language, by text (when they asked for texts or gave
    /// no email) and by email (when they gave one).
    pub(super) async fn tell_consumer(
        &self,
        tx: &mut Tx,
        id: i64,
        what: ConsumerMessage<'_>,
        token: &str,
    ) -> Result<()> {
        let c = db::consumer_address(tx, id).await?;
        let r = db::contact_by_and_lang(tx, id).await?;
        let es = r.1 == "es";
        let link = format!("{}/requests/{token}", self.settings.public_url);
        let (subject, text) = match (what, es) {
            (ConsumerMessage::Confirmation, false) => (
                "We received your request for help",
                format!(
                    "Help On Demand: we received your request and are finding a licensed agent near you. Follow it here: {link}"
                ),
            ),
            (ConsumerMessage::Confirmation, true) => (
                "Recibimos su solicitud de ayuda",
                format!(
                    "Help On Demand: recibimos su solicitud y estamos buscando un agente con licencia cerca de usted. Sígala aquí: {link}"
                ),
            ),
            (ConsumerMessage::LinkAgain, false) => (
                "The link to your request for help",
                format!(
                    "Help On Demand: you already asked for help a few minutes ago. Follow that request here: {link}"
                ),
            ),
            (ConsumerMessage::LinkAgain, true) => (
                "El enlace a su solicitud de ayuda",
                format!(
                    "Help On Demand: usted ya pidió ayuda hace unos minutos. Siga esa solicitud aquí: {link}"
                ),
            ),
            (ConsumerMessage::Accepted { agent }, false) => (
                "A licensed agent will contact you",
                format!(
                    "Help On Demand: {agent}, a licensed agent, accepted your request and will contact you within 60 minutes. {link}"
                ),
            ),
            (ConsumerMessage::Accepted { agent }, true) => (
                "Un agente con licencia se comunicará con usted",
                format!(
                    "Help On Demand: {agent}, agente con licencia, aceptó su solicitud y se comunicará con usted dentro de 60 minutos. {link}"
                ),
            ),
            (ConsumerMessage::NoAgent, false) => (
                "We could not find an agent right now",
                format!(
                    "Help On Demand: we could not find an available agent right now. Please call the Marketplace Call Center at {CALL_CENTER} (24/7). {link}"
                ),
            ),
            (ConsumerMessage::NoAgent, true) => (
                "No encontramos un agente en este momento",
                format!(
                    "Help On Demand: no encontramos un agente disponible en este momento. Llame al Centro de Llamadas del Mercado al {CALL_CENTER} (24/7). {link}"
                ),
            ),
        };
        if r.0 == ContactBy::Text.id() || c.email.is_none() {
            self.message(
                tx,
                Channel::Sms,
                &c.phone,
                "",
                &text,
                &format!("consumer:{id}:{}:sms", what.key()),
            )
            .await?;
        }
        if let Some(email) = &c.email {
            let greeting = if es {
                format!("Hola {}:", c.first_name)
            } else {
                format!("Hello {},", c.first_name)
            };
            let body = format!("{greeting}\n\n{text}\n");
            self.message(
                tx,
                Channel::Email,
                email,
                subject,
                &body,
                &format!("consumer:{id}:{}:email", what.key()),
            )
            .await?;
        }
        Ok(())
    }
}

pub(super) fn reason_en(id: &str) -> &'static str {
    match HelpReason::parse(id) {
        Some(HelpReason::NewCoverage) => "new coverage",
        Some(HelpReason::Change) => "a change to a plan",
        Some(HelpReason::SpecialEnrollment) => "a Special Enrollment Period",
        None => "Marketplace coverage",
    }
}
