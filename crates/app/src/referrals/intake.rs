//! A consumer's request: its checks, a partner's Idempotency-Key, the same person again within
//! the window, and the first routing round right after.
use hod_db::referrals::{self as db, NewEvent, NewReferral};
use hod_db::vault::{Vault, lookups};
use hod_domain::account::plausible_email;
use hod_domain::actor::Actor;
use hod_domain::referral::EventKind;
use hod_domain::referral::{ContactBy, HelpReason, Status};
use hod_domain::{Lang, PhoneE164, Zip};

use crate::fields::{FieldProblem, FieldProblems};
use crate::{App, AppError, Result};

use super::RoundOutcome;
use super::messages::ConsumerMessage;
use super::rounds::Routed;
use super::*;

impl RequestForm {
    /// A keyed hash of the request as given: what an `Idempotency-Key` is bound to.
    fn fingerprint(&self, vault: &Vault) -> Result<String> {
        let mut text = String::new();
        for field in [
            &self.zip,
            &self.language,
            &self.first_name,
            &self.last_name,
            &self.phone,
            &self.email,
            &self.contact_by,
            &self.best_time,
            &self.reason,
            &self.consent_version,
        ] {
            text.push_str(field);
            text.push('\u{1f}');
        }
        text.push(if self.consent { '1' } else { '0' });
        Ok(vault.lookup(lookups::REQUEST, &text)?)
    }
}

/// A request's fields once they passed every check.
pub(super) struct Checked {
    first_name: String,
    last_name: String,
    best_time: String,
    zip: Zip,
    phone: PhoneE164,
    language: Lang,
    contact_by: ContactBy,
    reason: HelpReason,
    email: Option<String>,
}

/// A keyed hash of the person (names, phone, ZIP): the same-person check compares these.
pub(super) fn person_key(
    vault: &Vault,
    first: &str,
    last: &str,
    phone: &PhoneE164,
    zip: Zip,
) -> Result<String> {
    let norm = |s: &str| s.trim().to_lowercase();
    let person = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        norm(first),
        norm(last),
        phone.as_str(),
        zip
    );
    Ok(vault.lookup(lookups::PERSON, &person)?)
}

impl App {
    /// Checks a request and stores it, then routes it at once (a crash in between leaves it
    /// due, and the sweeper routes it).
    #[tracing::instrument(skip_all)]
    pub async fn submit_request(
        &self,
        form: &RequestForm,
        origin: Origin<'_>,
    ) -> Result<Submitted, SubmitError> {
        // One look at the configuration for the whole request.
        let config = self.config().await?;
        let program = config.program()?;
        let today = config.on(self.today());
        let Checked {
            first_name,
            last_name,
            best_time,
            zip,
            phone,
            language,
            contact_by,
            reason,
            email,
        } = self.check_request(form)?;
        let place = self.zips.get(zip).expect("checked: the ZIP exists");
        if !today.states.iter().any(|(s, _)| *s == place.state) {
            return Err(SubmitError::OtherMarketplace {
                state: place.state,
                marketplace: hod_domain::program::own_marketplace(place.state),
            });
        }
        let Some(plan_year) = today.plan_year else {
            return Err(SubmitError::IntakeClosed);
        };
        if program.intake_paused || program.closed_dates.contains(&today.day) {
            return Err(SubmitError::IntakeClosed);
        }
        let current_terms = config.terms_ids();
        let now = self.now();
        let vault = self.db.vault();
        let person = person_key(vault, &first_name, &last_name, &phone, zip)?;
        let fingerprint = form.fingerprint(vault)?;
        let submitter = origin.partner.map(|(key_id, _)| key_id);
        let written = self
            .write(async |tx| -> Result<Intake, Abort> {
                if let Some((key_id, Some(key))) = origin.partner
                    && let Some(known) = db::idempotency_key(tx, key_id, key, now).await?
                {
                    return Ok(Intake::Replay(known));
                }
                hod_db::referrals::lock_person(tx, &person).await?;
                if !program.duplicate_window.is_zero()
                    && let Some((id, submitted_by)) =
                        db::same_person_since(tx, &person, now - program.duplicate_window).await?
                {
                    if submitted_by.is_some() && submitted_by == submitter {
                        // The partner that made it asks again: it has had the link all along.
                        return Ok(Intake::Existing(id));
                    }
                    // Someone else (another partner, or anyone at the public form) must not get the
                    // consumer's link: it goes to the consumer again, once per request.
                    let token = self.status_token(id);
                    self.tell_consumer(tx, id, ConsumerMessage::LinkAgain, &token)
                        .await?;
                    return Ok(Intake::LinkSentAgain);
                }
                let stored = db::insert(
                    tx,
                    &NewReferral {
                        plan_year: plan_year.year,
                        zip: &zip.to_string(),
                        city: place.city,
                        state: place.state.code(),
                        language: language.code(),
                        reason: reason.id(),
                        first_name: &first_name,
                        last_name: &last_name,
                        phone: phone.as_str(),
                        email: email.as_deref(),
                        contact_by: contact_by.id(),
                        best_time: &best_time,
                        ui_lang: if origin.ui_lang == "es" { "es" } else { "en" },
                        consent_version: CONSENT_VERSION,
                        consent_ip: origin.ip,
                        consent_user_agent: origin.user_agent,
                        source: if origin.partner.is_some() {
                            "api"
                        } else {
                            "web"
                        },
                        api_key_id: submitter,
                        person_key: &person,
                    },
                    now,
                )
                .await?;
                let id = stored.id;
                if let Some((key_id, Some(key))) = origin.partner {
                    let expires = now + IDEMPOTENCY_KEY_LIFETIME;
                    match db::remember_idempotency_key(
                        tx,
                        key_id,
                        key,
                        &fingerprint,
                        id,
                        now,
                        expires,
                    )
                    .await
                    {
                        Ok(()) => {}
                        // The same Idempotency-Key raced in on another connection: that one stands,
                        // and this request is rolled back.
                        Err(hod_db::DbError::Conflict(_)) => return Err(Abort::KeyRaced),
                        Err(e) => return Err(e.into()),
                    }
                }
                let actor = match origin.partner {
                    Some((k, _)) => Actor::Partner(k),
                    None => Actor::Consumer,
                };
                db::add_event(
            tx,
            &NewEvent {
                referral_id: id,
                actor,
                kind: EventKind::Submitted,
                status: Some(Status::Searching),
                note: "",
                account_number: "",
                detail: serde_json::json!({ "consent_version": CONSENT_VERSION, "ip": origin.ip }),
            },
            now,
        )
        .await?;
                let token = self.status_token(id);
                let reach = db::ConsumerReach {
                    contact: db::Contact {
                        first_name: first_name.clone(),
                        last_name: last_name.clone(),
                        phone: phone.as_str().to_owned(),
                        email: email.clone(),
                        best_time: best_time.clone(),
                    },
                    contact_by: contact_by.id().to_owned(),
                    ui_lang: stored.ui_lang.clone(),
                };
                self.tell_consumer_at(tx, id, &reach, ConsumerMessage::Confirmation, &token)
                    .await?;
                // The first routing round in the same transaction: one turn at the database.
                let round = self
                    .round_in(
                        tx,
                        Routed::New(Box::new(stored)),
                        &program,
                        &current_terms,
                        now,
                    )
                    .await?;
                Ok(Intake::New(id, round))
            })
            .await;
        let (id, status) = match written {
            Ok(Intake::New(id, round)) => {
                let status = match &round {
                    // Not due yet after all: the sweeper routes it.
                    None => Status::Searching,
                    Some(out) if out.unserved => Status::Unserved,
                    Some(_) => Status::Offered,
                };
                super::rounds::count_round(&round.unwrap_or_default());
                (id, status)
            }
            Ok(Intake::Replay(known)) => return self.replayed(&known, &fingerprint).await,
            Ok(Intake::Existing(id)) => return self.existing(id).await,
            Ok(Intake::LinkSentAgain) => return Err(SubmitError::AlreadyRequested),
            Err(Abort::KeyRaced) => {
                let (key_id, key) = match origin.partner {
                    Some((key_id, Some(key))) => (key_id, key),
                    _ => unreachable!("only keyed requests race on their key"),
                };
                let known = self
                    .write(async |tx| db::idempotency_key(tx, key_id, key, now).await)
                    .await?;
                return match known {
                    Some(known) => self.replayed(&known, &fingerprint).await,
                    None => Err(AppError::Conflict("this Idempotency-Key".into()).into()),
                };
            }
            Err(Abort::Failed(e)) => return Err(e),
        };
        self.changed();
        metrics::counter!(crate::metrics::REFERRALS_SUBMITTED, "source" => if origin.partner.is_some() { "api" } else { "web" })
            .increment(1);
        // As the transaction left it: no need to read it back.
        Ok(Submitted {
            id,
            status,
            status_token: self.status_token(id),
            created: true,
        })
    }

    /// A retry with a remembered `Idempotency-Key`: the same request gets the same answer;
    /// another request with the same key is refused.
    pub(super) async fn replayed(
        &self,
        known: &db::IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Submitted, SubmitError> {
        // Keys remembered before fingerprints were kept have none.
        if !known.fingerprint.is_empty() && known.fingerprint != fingerprint {
            return Err(SubmitError::IdempotencyKeyReused);
        }
        self.existing(known.referral_id).await
    }

    pub(super) async fn existing(&self, id: i64) -> Result<Submitted, SubmitError> {
        let status = self
            .public_status(id)
            .await?
            .map_or(Status::Searching, |s| s.status);
        Ok(Submitted {
            id,
            status,
            status_token: self.status_token(id),
            created: false,
        })
    }

    pub(super) fn check_request(&self, form: &RequestForm) -> Result<Checked, SubmitError> {
        let mut problems = FieldProblems::new();
        let mut required = |field: &'static str, v: &str| {
            let empty = v.trim().is_empty();
            if empty {
                problems.insert(field, FieldProblem::Required);
            }
            !empty
        };
        let checks = (
            required("zip", &form.zip),
            required("language", &form.language),
            required("first_name", &form.first_name),
            required("last_name", &form.last_name),
            required("phone", &form.phone),
            required("contact_by", &form.contact_by),
            required("reason", &form.reason),
        );
        let zip = match self.known_zip(&form.zip) {
            Ok(z) => Some(z),
            Err(p) => {
                if checks.0 {
                    problems.insert("zip", p);
                }
                None
            }
        };
        let language = Lang::parse(&form.language).ok();
        if language.is_none() && checks.1 {
            problems.insert("language", FieldProblem::LanguageUnknown);
        }
        let mut text = |field: &'static str, value: &str, max: usize, name: bool| {
            let checked = if name {
                hod_domain::text::name(value)
            } else {
                hod_domain::text::single_line(value)
            };
            match checked {
                Ok(v) if v.chars().count() > max => {
                    problems.insert(field, FieldProblem::TooLong);
                }
                Ok(v) => return Some(v),
                // An empty field is already `Required`.
                Err(_) if value.trim().is_empty() => {}
                Err(e) => {
                    problems.insert(field, e.into());
                }
            }
            None
        };
        let first_name = text("first_name", &form.first_name, 100, true);
        let last_name = text("last_name", &form.last_name, 100, true);
        let best_time = text("best_time", &form.best_time, 200, false);
        let phone = match PhoneE164::parse(&form.phone) {
            Ok(p) => Some(p),
            Err(e) => {
                if checks.4 {
                    problems.insert("phone", e.into());
                }
                None
            }
        };
        let email = form.email.trim();
        let email = if email.is_empty() {
            None
        } else if plausible_email(email) && email.len() <= 254 {
            Some(email.to_owned())
        } else {
            problems.insert("email", FieldProblem::EmailInvalid);
            None
        };
        let contact_by = ContactBy::parse(&form.contact_by);
        if contact_by.is_none() && checks.5 {
            problems.insert("contact_by", FieldProblem::ChoiceUnknown);
        }
        // Texts cannot reach a toll-free or premium number; calls can.
        if contact_by == Some(ContactBy::Text)
            && phone.is_some()
            && let Err(e) = PhoneE164::parse_textable(&form.phone)
        {
            problems.insert("phone", e.into());
        }
        let reason = HelpReason::parse(&form.reason);
        if reason.is_none() && checks.6 {
            problems.insert("reason", FieldProblem::ChoiceUnknown);
        }
        if !form.consent {
            problems.insert("consent", FieldProblem::ConsentRequired);
        } else if form.consent_version.trim() != CONSENT_VERSION {
            problems.insert("consent", FieldProblem::ConsentVersion);
        }
        match (
            (first_name, last_name, best_time),
            (zip, phone, language, contact_by, reason),
        ) {
            (
                (Some(first_name), Some(last_name), best_time),
                (Some(zip), Some(phone), Some(language), Some(contact_by), Some(reason)),
            ) if problems.is_empty() => Ok(Checked {
                first_name,
                last_name,
                best_time: best_time.unwrap_or_default(),
                zip,
                phone,
                language,
                contact_by,
                reason,
                email,
            }),
            _ => Err(SubmitError::Fields(problems)),
        }
    }

    /// Whether the request page takes requests today (a plan year, not paused, not a
    /// closed day).
    pub async fn intake_open(&self) -> Result<bool> {
        // One look at the configuration for the whole request.
        let config = self.config().await?;
        let program = config.program()?;
        let today = config.on(self.today());
        Ok(today.plan_year.is_some()
            && !program.intake_paused
            && !program.closed_dates.contains(&today.day))
    }
}

/// How the intake transaction ended (committed).
enum Intake {
    /// A new request, and its first routing round.
    New(i64, Option<RoundOutcome>),
    /// A retry with a remembered `Idempotency-Key`.
    Replay(db::IdempotencyKey),
    /// The same partner asked again for a request it made.
    Existing(i64),
    /// Someone else asked for a request that exists: its link went to the consumer again.
    LinkSentAgain,
}

/// Why the intake transaction was rolled back.
enum Abort {
    /// Another connection stored the same `Idempotency-Key` first.
    KeyRaced,
    Failed(SubmitError),
}

impl<E: Into<SubmitError>> From<E> for Abort {
    fn from(e: E) -> Self {
        Self::Failed(e.into())
    }
}
