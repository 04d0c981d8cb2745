//! An agent answers an offer: accept (first accept wins, within the capacity) or decline.
use hod_db::Tx;
use hod_db::referrals::{self as db, NewEvent};
use hod_domain::actor::Actor;
use hod_domain::referral::EventKind;
use hod_domain::referral::Status;
use hod_domain::routing::Responsiveness;
use jiff::Timestamp;

use crate::{App, Result};

use hod_domain::referral::OfferStatus;

use super::*;

impl App {
    /// First accept wins: the agent gets the referral (and its contact details) if it is still
    /// on offer to them; everyone else's offer is withdrawn. `Gone` (409) otherwise.
    #[tracing::instrument(skip_all, fields(offer = offer_id))]
    pub async fn accept_offer(&self, agent_id: i64, offer_id: i64) -> Result<i64, OfferError> {
        let capacity = self.program_settings().await?.policy.capacity;
        let now = self.now();
        let rid = self
            .write(async |tx| self.accept_in(tx, agent_id, offer_id, capacity, now).await)
            .await?;
        self.changed();
        metrics::counter!(crate::metrics::REFERRALS_ACCEPTED).increment(1);
        if let Some(r) = db::get(&self.db, rid).await? {
            let waited = now.duration_since(r.created_at);
            metrics::histogram!(crate::metrics::TIME_TO_ACCEPT)
                .record(waited.as_secs_f64().max(0.0));
        }
        Ok(rid)
    }

    pub(super) async fn accept_in(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        offer_id: i64,
        capacity: u32,
        now: Timestamp,
    ) -> Result<i64, OfferError> {
        let Some(rid) = db::lock_for_offer(tx, offer_id, agent_id).await? else {
            return Err(OfferError::NotFound);
        };
        // Checked again here, with the agent locked: offers made while the agent had room
        // may be answered after other acceptances filled it.
        if db::lock_agent_open_referrals(tx, agent_id).await? >= i64::from(capacity) {
            return Err(OfferError::AtCapacity { capacity });
        }
        let Some(offer) =
            db::decide_offer(tx, offer_id, agent_id, OfferStatus::Accepted, None, now).await?
        else {
            return Err(OfferError::Gone);
        };
        if !db::assign(tx, rid, agent_id, now, now + FOLLOW_UP_WITHIN).await? {
            return Err(OfferError::Gone);
        }
        db::close_open_offers(tx, rid, OfferStatus::Withdrawn, None, now).await?;
        let (rate, secs) = db::responsiveness(tx, agent_id).await?;
        let after = Responsiveness {
            accept_rate: rate,
            accept_secs: secs,
        }
        .after_accept(now.duration_since(offer.offered_at));
        db::note_answer(tx, agent_id, false, after.accept_rate, after.accept_secs).await?;
        let actor = Actor::Agent(agent_id);
        db::add_event(
            tx,
            &NewEvent {
                referral_id: rid,
                actor,
                kind: EventKind::Status,
                status: Some(Status::Accepted),
                note: "",
                account_number: "",
                detail: serde_json::json!({ "offer": offer_id }),
            },
            now,
        )
        .await?;
        self.tell_consumer_accepted(tx, rid, agent_id).await?;
        Ok(rid)
    }

    /// Declines an open offer with a reason; the referral goes to the next agent at once.
    #[tracing::instrument(skip_all, fields(offer = offer_id))]
    pub async fn decline_offer(
        &self,
        agent_id: i64,
        offer_id: i64,
        reason: &str,
    ) -> Result<(), OfferError> {
        let reason =
            hod_domain::text::single_line(reason).map_err(|e| OfferError::invalid("reason", e))?;
        let reason = reason.as_str();
        if reason.is_empty() || reason.chars().count() > 500 {
            let problem = if reason.is_empty() {
                FieldProblem::Required
            } else {
                FieldProblem::TooLong
            };
            return Err(OfferError::invalid("reason", problem));
        }
        let now = self.now();
        let rid = self
            .write(async |tx| self.decline_in(tx, agent_id, offer_id, reason, now).await)
            .await?;
        self.changed();
        metrics::counter!(crate::metrics::OFFER_DECLINES).increment(1);
        self.route_referral(rid).await?;
        Ok(())
    }

    pub(super) async fn decline_in(
        &self,
        tx: &mut Tx,
        agent_id: i64,
        offer_id: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<i64, OfferError> {
        let Some(rid) = db::lock_for_offer(tx, offer_id, agent_id).await? else {
            return Err(OfferError::NotFound);
        };
        if db::decide_offer(
            tx,
            offer_id,
            agent_id,
            OfferStatus::Declined,
            Some(reason),
            now,
        )
        .await?
        .is_none()
        {
            return Err(OfferError::Gone);
        }
        let (rate, secs) = db::responsiveness(tx, agent_id).await?;
        let after = Responsiveness {
            accept_rate: rate,
            accept_secs: secs,
        }
        .after_refusal();
        db::note_answer(tx, agent_id, false, after.accept_rate, after.accept_secs).await?;
        let actor = Actor::Agent(agent_id);
        db::add_event(
            tx,
            &NewEvent {
                referral_id: rid,
                actor,
                kind: EventKind::OfferDeclined,
                status: None,
                note: reason,
                account_number: "",
                detail: serde_json::json!({ "offer": offer_id }),
            },
            now,
        )
        .await?;
        db::make_due(tx, rid, now).await?;
        Ok(rid)
    }

    /// The offers open to an agent now (no consumer details).
    pub async fn open_offers(&self, agent_id: i64) -> Result<Vec<db::OpenOffer>> {
        Ok(db::open_offers_for(&self.db, agent_id, self.now()).await?)
    }
}
