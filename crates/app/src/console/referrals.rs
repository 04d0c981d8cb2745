//! Referrals as operators see them: search, one referral's whole file (decision logs, offers,
//! messages, status changes) without the consumer's contact details — an administrator may
//! see those after stating why, and that is audited — manual reassignment, and a re-route
//! for a request nobody could take.
use hod_db::console;
pub use hod_db::console::ReferralQuery;
use hod_db::referrals::{self as db, Contact, EventRow, NewEvent, OfferRow, ReferralRow};
use hod_domain::Npn;
use hod_domain::referral::{EventKind, OfferStatus, Status};
use hod_i18n::letter::Letter;

use crate::auth::Client;
use crate::operators::{OperatorSession, require_admin};
use crate::outbox::Reach;
use crate::referrals::FOLLOW_UP_WITHIN;
use crate::system::MessageRow;
use crate::{App, AppError, Result};

/// Everything about one referral an operator may read.
#[derive(Debug, Clone)]
pub struct ReferralFile {
    pub referral: ReferralRow,
    pub events: Vec<EventRow>,
    /// Each offer with its agent's name and NPN.
    pub offers: Vec<(OfferRow, String, String)>,
    /// Messages to the consumer and about the offers.
    pub messages: Vec<MessageRow>,
    /// The accepting agent: (name, NPN).
    pub agent: Option<(String, String)>,
}

impl App {
    pub async fn find_referrals(&self, q: &ReferralQuery, limit: i64) -> Result<Vec<ReferralRow>> {
        Ok(console::search_referrals(&self.db, q, limit).await?)
    }

    pub async fn referral_file(&self, id: i64) -> Result<ReferralFile> {
        let referral = db::get(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("referral {id}")))?;
        let offers = console::offers_with_agents(&self.db, id).await?;
        let offer_ids: Vec<i64> = offers.iter().map(|(o, ..)| o.id).collect();
        let agent = match referral.agent_id {
            Some(a) => hod_db::agents::find_by_id(&self.db, a)
                .await?
                .map(|a| (format!("{} {}", a.first_name, a.last_name), a.npn)),
            None => None,
        };
        Ok(ReferralFile {
            events: self.referral_timeline(id).await?,
            messages: console::messages_of_referral(&self.db, id, &offer_ids).await?,
            offers,
            agent,
            referral,
        })
    }

    /// The consumer's contact details, for an administrator who says why (audited).
    pub async fn operator_sees_contact(
        &self,
        by: &OperatorSession,
        id: i64,
        reason: &str,
        client: Client<'_>,
    ) -> Result<Contact> {
        require_admin(by)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Refused {
                id: "contact-reason-missing",
                message: "say why you need the consumer's contact details".into(),
            });
        }
        if db::get(&self.db, id).await?.is_none() {
            return Err(AppError::NotFound(format!("referral {id}")));
        }
        self.write(async |tx| -> Result<_> {
            let contact = db::consumer_address(tx, id).await?;
            self.audit_by(
                tx,
                by.actor(),
                "referral.contact_viewed",
                &format!("referral:{id}"),
                client,
                serde_json::json!({ "reason": reason }),
            )
            .await?;
            Ok(contact)
        })
        .await
    }

    /// Routes an unserved request again, its wait starting now (administrators).
    pub async fn reroute_referral(
        &self,
        by: &OperatorSession,
        id: i64,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            if !db::reopen(tx, id, now).await? {
                return Err(AppError::Refused {
                    id: "not-unserved",
                    message: format!("referral {id} is not unserved"),
                });
            }
            db::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor: by.actor(),
                    kind: EventKind::Status,
                    status: Some(Status::Searching),
                    note: "",
                    account_number: "",
                    detail: serde_json::json!({ "rerouted": true }),
                },
                now,
            )
            .await?;
            self.audit_by(
                tx,
                by.actor(),
                "referral.rerouted",
                &format!("referral:{id}"),
                client,
                serde_json::json!({}),
            )
            .await
        })
        .await?;
        self.route_referral(id).await?;
        Ok(())
    }

    /// Gives a referral to the agent with `npn` (administrators, with a reason): open offers
    /// are withdrawn, the agent is told and the consumer learns who will call.
    pub async fn reassign_referral(
        &self,
        by: &OperatorSession,
        id: i64,
        npn: &Npn,
        reason: &str,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Refused {
                id: "reassign-reason-missing",
                message: "say why the referral is reassigned".into(),
            });
        }
        let referral = db::get(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("referral {id}")))?;
        let agent = hod_db::agents::find_by_npn(&self.db, npn)
            .await?
            .ok_or_else(|| AppError::Refused {
                id: "reassign-unknown-agent",
                message: format!("no agent has NPN {npn}"),
            })?;
        let year = i16::try_from(referral.plan_year).unwrap_or_default();
        let current: Vec<i64> = hod_db::terms::current(&self.db)
            .await?
            .iter()
            .map(|d| d.id)
            .collect();
        let facts = console::agent_facts(&self.db, year, &current, Some(agent.id))
            .await?
            .pop()
            .ok_or_else(|| AppError::NotFound(format!("agent {npn}")))?;
        let may = facts.registered
            && facts.suspended_at.is_none()
            && facts.eligible == Some(true)
            && facts.eligible_states.contains(&referral.state);
        if !may {
            return Err(AppError::Refused {
                id: "reassign-not-eligible",
                message: format!(
                    "NPN {npn} cannot take referrals in {}: not registered, suspended, or not eligible there",
                    referral.state
                ),
            });
        }
        let now = self.now();
        let from = referral.agent_id;
        self.write(async |tx| -> Result<_> {
            if !db::reassign(tx, id, agent.id, now, now + FOLLOW_UP_WITHIN).await? {
                return Err(AppError::Refused {
                    id: "reassign-closed",
                    message: format!("referral {id} is closed and cannot be reassigned"),
                });
            }
            db::close_open_offers(tx, id, OfferStatus::Withdrawn, None, now).await?;
            db::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor: by.actor(),
                    kind: EventKind::Status,
                    status: Some(Status::Accepted),
                    note: reason,
                    account_number: "",
                    detail: serde_json::json!({ "reassigned_to": agent.id, "from": from }),
                },
                now,
            )
            .await?;
            let letter = Letter::new("assigned")
                .with("place", format!("{}, {} {}", referral.city, referral.state, referral.zip))
                .with("minutes", FOLLOW_UP_WITHIN.as_mins().to_string())
                .link(format!("{}/agent/referrals/{id}", self.settings.public_url));
            let dedup = format!("assigned:{id}:{}", now.as_millisecond());
            self.write_to_agent(tx, agent.id, letter, Reach::Email, &dedup).await?;
            self.tell_consumer_accepted(tx, id, agent.id).await?;
            self.audit_by(
                tx,
                by.actor(),
                "referral.reassigned",
                &format!("referral:{id}"),
                client,
                serde_json::json!({ "to": format!("npn:{npn}"), "from_agent": from, "reason": reason }),
            )
            .await
        })
        .await?;
        self.changed();
        Ok(())
    }
}
