//! After acceptance: what the agent reads (contact details, audited) and records (statuses,
//! consent), and what partners and operators read of a referral.
use hod_db::audit;
use hod_db::referrals::{self as db, Contact, NewEvent, ReferralRow};
use hod_domain::actor::Actor;
use hod_domain::referral::EventKind;
use hod_domain::referral::{Status, StepError, check_step, short_name};

use crate::fields::{FieldProblem, FieldProblems};
use crate::{App, AppError, Result};

use super::*;

impl App {
    /// The referrals an agent accepted, newest first, with contact details.
    pub async fn my_referrals(&self, agent_id: i64) -> Result<Vec<(ReferralRow, Contact)>> {
        Ok(db::accepted_by(&self.db, agent_id).await?)
    }

    /// One referral with contact details and history, only for the agent who accepted it.
    /// Each look is in the audit log (who saw which consumer's details).
    pub async fn agent_referral(
        &self,
        agent_id: i64,
        id: i64,
        ip: Option<&str>,
    ) -> Result<AgentReferral> {
        let Some((referral, contact)) = db::contact_for_agent(&self.db, id, agent_id).await? else {
            return Err(AppError::NotFound("referral".into()));
        };
        self.write(async |tx| -> Result<_> {
            let who = Actor::Agent(agent_id);
            let subject = format!("referral:{id}");
            audit::append(
                tx,
                &audit::Entry {
                    actor: who,
                    action: "referral.contact_viewed",
                    subject: &subject,
                    ip,
                    detail: serde_json::json!({}),
                },
                self.now(),
            )
            .await?;
            Ok(())
        })
        .await?;
        let status = referral.status;
        Ok(AgentReferral {
            referral,
            contact,
            status,
            events: db::events(&self.db, id).await?,
        })
    }

    /// Records the agent's progress on their referral (SPEC.md §6.4).
    pub async fn record_status(
        &self,
        agent_id: i64,
        id: i64,
        to: &str,
        note: &str,
        account_number: &str,
    ) -> Result<Status, OfferError> {
        let Some((referral, _)) = db::contact_for_agent(&self.db, id, agent_id).await? else {
            return Err(OfferError::NotFound);
        };
        let from = referral.status;
        let note =
            hod_domain::text::multi_line(note).map_err(|e| OfferError::invalid("note", e))?;
        let account_number = hod_domain::text::single_line(account_number)
            .map_err(|e| OfferError::invalid("account_number", e))?;
        let (note, account_number) = (note.as_str(), account_number.as_str());
        let to = Status::parse(to).ok_or(StepError::NotAnAgentStep)?;
        check_step(from, to, note, account_number)?;
        if note.chars().count() > 2000 {
            return Err(OfferError::invalid("note", FieldProblem::TooLong));
        }
        if account_number.chars().count() > 100 {
            return Err(OfferError::invalid("account_number", FieldProblem::TooLong));
        }
        let now = self.now();
        self.write(async |tx| -> Result<_, OfferError> {
            if !db::set_status(tx, id, agent_id, from, to, now).await? {
                return Err(OfferError::Gone);
            }
            let actor = Actor::Agent(agent_id);
            db::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor,
                    kind: EventKind::Status,
                    status: Some(to),
                    note,
                    account_number,
                    detail: serde_json::json!({}),
                },
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        self.changed();
        Ok(to)
    }

    /// Records the consumer's consent on the agent's referral; every field is required.
    pub async fn record_consent(
        &self,
        agent_id: i64,
        id: i64,
        form: &ConsentForm,
    ) -> Result<(), RecordError> {
        let Some((_, contact)) = db::contact_for_agent(&self.db, id, agent_id).await? else {
            return Err(RecordError::NotFound);
        };
        let mut problems = FieldProblems::new();
        for (field, value) in [
            ("scope", &form.scope),
            ("duration", &form.duration),
            ("consented_on", &form.consented_on),
            ("withdraw_how", &form.withdraw_how),
            ("method", &form.method),
        ] {
            if value.trim().is_empty() {
                problems.insert(field, FieldProblem::Required);
            } else if value.trim().chars().count() > 1000 {
                problems.insert(field, FieldProblem::TooLong);
            } else if let Err(e) = hod_domain::text::multi_line(value) {
                problems.insert(field, e.into());
            }
        }
        let today = self.today();
        match form.consented_on.trim().parse::<jiff::civil::Date>() {
            Ok(d) if d <= today && d > today - jiff::Span::new().days(400) => {}
            _ if problems.contains_key("consented_on") => {}
            _ => {
                problems.insert("consented_on", FieldProblem::DateInvalid);
            }
        }
        if !["verbal", "written", "electronic"].contains(&form.method.trim())
            && !problems.contains_key("method")
        {
            problems.insert("method", FieldProblem::ChoiceUnknown);
        }
        if !problems.is_empty() {
            return Err(RecordError::Fields(problems));
        }
        let now = self.now();
        self.write(async |tx| -> Result<_, RecordError> {
            let (first, last, _, _) = db::agent_brief(tx, agent_id).await?;
            let keep_until = now
                .to_zoned(jiff::tz::TimeZone::UTC)
                .checked_add(jiff::Span::new().years(CONSENT_KEPT_YEARS))
                .map_err(|e| AppError::Other(e.into()))?
                .timestamp();
            db::add_consent(
                tx,
                &db::NewConsent {
                    referral_id: id,
                    agent_id,
                    consumer_name: &format!("{} {}", contact.first_name, contact.last_name),
                    agent_name: &format!("{first} {last}"),
                    scope: form.scope.trim(),
                    duration: form.duration.trim(),
                    consented_on: form.consented_on.trim(),
                    withdraw_how: form.withdraw_how.trim(),
                    method: form.method.trim(),
                    keep_until,
                },
                now,
            )
            .await?;
            let actor = Actor::Agent(agent_id);
            db::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor,
                    kind: EventKind::Consent,
                    status: None,
                    note: "",
                    account_number: "",
                    detail: serde_json::json!({ "method": form.method.trim() }),
                },
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The consents recorded on the agent's referral.
    pub async fn consents(&self, agent_id: i64, id: i64) -> Result<Vec<db::ConsentRow>> {
        Ok(db::consents(&self.db, id, agent_id).await?)
    }

    /// A partner's own referral (another partner's is not found).
    pub async fn partner_referral(&self, key_id: i64, id: i64) -> Result<Option<PublicStatus>> {
        match db::get(&self.db, id).await? {
            Some(r) if r.api_key_id == Some(key_id) => self.public_status(id).await,
            _ => Ok(None),
        }
    }

    pub(super) async fn public_status(&self, id: i64) -> Result<Option<PublicStatus>> {
        let Some(r) = db::get(&self.db, id).await? else {
            return Ok(None);
        };
        let agent = match r.agent_id {
            Some(a) => hod_db::agents::find_by_id(&self.db, a)
                .await?
                .map(|a| short_name(&a.first_name, &a.last_name)),
            None => None,
        };
        Ok(Some(PublicStatus {
            id,
            status: r.status,
            created_at: r.created_at,
            ui_lang: r.ui_lang,
            agent,
            accepted_at: r.accepted_at,
            city: r.city,
            state: r.state,
        }))
    }

    /// A referral without the consumer's contact details (operators).
    pub async fn referral(&self, id: i64) -> Result<Option<ReferralRow>> {
        Ok(db::get(&self.db, id).await?)
    }

    /// Requests nobody could take, oldest first (operators' queue).
    pub async fn unserved_queue(&self, limit: i64) -> Result<Vec<ReferralRow>> {
        Ok(db::unserved(&self.db, limit.clamp(1, 10_000)).await?)
    }

    /// The referral's timeline with decision logs (operators; tests).
    pub async fn referral_timeline(&self, id: i64) -> Result<Vec<EventRow>> {
        Ok(db::events(&self.db, id).await?)
    }
}
