//! Consumer requests and routing (SPEC.md §6): submitting a request, routing it to the best
//! available agents (one transaction per round), accepting (first accept wins), declining,
//! the sweeper that expires offers and re-routes, and the agent's statuses afterwards.
use hmac::{Hmac, Mac};
use hod_db::outbox::{self, Channel, NewMessage};
use hod_db::referrals::{self as db, CandidateRow, Contact, NewEvent, NewReferral, ReferralRow};
use hod_db::{Tx, audit, availability, from_millis, settings, terms};
use hod_domain::account::plausible_email;
use hod_domain::availability::{Mode, is_available};
use hod_domain::referral::{ContactBy, HelpReason, Status, StepError, check_step, short_name};
use hod_domain::routing::{
    self, Candidate, Decision, Filter, MISSED_OFFERS_PAUSE, Policy, Responsiveness,
};
use hod_domain::{ContactMethod, Lang, PhoneE164, UsState, Zip};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::fields::{FieldProblem, FieldProblems};
use crate::{App, AppError, Result};

/// The version of the consent text the request page shows (SPEC.md §6.1). A new wording
/// gets a new version; the text of each version is in the locales (`consent-text`).
pub const CONSENT_VERSION: &str = "2026-11";
/// The Marketplace Call Center, the fallback when nobody can help.
pub const CALL_CENTER: &str = "1-800-318-2596";
/// An accepting agent is expected to contact the consumer within this time.
pub const FOLLOW_UP_WITHIN: SignedDuration = SignedDuration::from_mins(60);
/// How many ranked agents the decision log keeps.
const LOG_TOP: usize = 20;

/// A request as typed (web form or JSON). Field names are SPEC.md §9.1's.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub zip: String,
    pub language: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub contact_by: String,
    pub best_time: String,
    pub reason: String,
    pub consent: bool,
    pub consent_version: String,
}

impl RequestForm {
    /// SHA-256 of the request as given (hex): what an `Idempotency-Key` is bound to.
    fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
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
            h.update(field.as_bytes());
            h.update([0x1f]);
        }
        h.update([u8::from(self.consent)]);
        hex::encode(h.finalize())
    }
}

/// How long a partner's `Idempotency-Key` is remembered; afterwards it may be used again.
pub const IDEMPOTENCY_KEY_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Where a request comes from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Language of the messages to the consumer: `en` or `es`.
    pub ui_lang: &'a str,
    /// The partner key and its `Idempotency-Key`, for API submissions.
    pub partner: Option<(i64, Option<&'a str>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("some fields need attention")]
    Fields(FieldProblems),
    /// The ZIP is in a state whose Marketplace is not HealthCare.gov.
    #[error("{state} is not served through HealthCare.gov")]
    OtherMarketplace {
        state: UsState,
        /// (name, website) of the state's own Marketplace, when it has one.
        marketplace: Option<(&'static str, &'static str)>,
    },
    #[error("requests are not taken now; call the Marketplace Call Center at {CALL_CENTER}")]
    IntakeClosed,
    /// The same person asked a few minutes ago through someone else (another partner, or the
    /// public form): the link to that request went to the consumer's own phone or email again.
    #[error(
        "this person already asked for help a few minutes ago; the link to that request was sent to their phone or email again"
    )]
    AlreadyRequested,
    /// An `Idempotency-Key` the partner already used for a different request.
    #[error(
        "this Idempotency-Key was already used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused,
    #[error(transparent)]
    App(#[from] AppError),
}

/// A submitted request: new, or the one the same person (or the same `Idempotency-Key`)
/// submitted a moment ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: i64,
    pub status: Status,
    /// The secret of the consumer's status page, `/requests/{token}`.
    pub status_token: String,
    pub created: bool,
}

/// Why an agent could not act on an offer.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("no such offer")]
    NotFound,
    /// Someone else accepted first, or the offer lapsed or was withdrawn.
    #[error("this referral is no longer available")]
    Gone,
    /// The agent already has as many open referrals as the program allows.
    #[error(
        "you already have {capacity} open referrals, the most the program allows at once: record Follow-Up Completed on one before accepting another"
    )]
    AtCapacity { capacity: u32 },
    /// The step is not possible from the referral's current status.
    #[error(transparent)]
    StepConflict(StepError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<hod_db::DbError> for SubmitError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

impl From<hod_db::DbError> for OfferError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

/// Why a record on a referral was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no such referral")]
    NotFound,
    #[error("some fields need attention")]
    Fields(FieldProblems),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<hod_db::DbError> for RecordError {
    fn from(e: hod_db::DbError) -> Self {
        Self::App(e.into())
    }
}

/// What the consumer's status page and the partner API show: no agent-private data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicStatus {
    pub id: i64,
    pub status: Status,
    pub created_at: Timestamp,
    pub ui_lang: String,
    /// "Jane D.", once an agent accepted.
    pub agent: Option<String>,
    pub accepted_at: Option<Timestamp>,
    pub city: String,
    pub state: String,
}

/// A referral as its agent sees it, with the consumer's contact details.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReferral {
    pub referral: ReferralRow,
    pub contact: Contact,
    pub status: Status,
    pub events: Vec<hod_db::referrals::EventRow>,
}

/// The consumer's consent in the terms of the CMS model consent form, as the agent records it.
#[derive(Debug, Clone, Default)]
pub struct ConsentForm {
    pub scope: String,
    pub duration: String,
    /// YYYY-MM-DD.
    pub consented_on: String,
    pub withdraw_how: String,
    /// `verbal`, `written` or `electronic`.
    pub method: String,
}

/// How long consent records are kept.
pub const CONSENT_KEPT_YEARS: i16 = 10;

/// What one routing round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    pub offered: Vec<i64>,
    pub expired: Vec<i64>,
    pub unserved: bool,
}

/// What a sweep did across all due referrals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    pub rounds: usize,
    pub offered: usize,
    pub expired: usize,
    pub unserved: usize,
    pub reminders: usize,
}

/// A request's fields once they passed every check.
struct Checked {
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

fn person_key(first: &str, last: &str, phone: &PhoneE164, zip: Zip) -> String {
    let norm = |s: &str| s.trim().to_lowercase();
    hex::encode(Sha256::digest(
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            norm(first),
            norm(last),
            phone.as_str(),
            zip
        )
        .as_bytes(),
    ))
}

fn actor_agent(agent_id: i64) -> String {
    format!("agent:{agent_id}")
}

impl App {
    /// The secret status links are signed with: made once, shared by every node, read once
    /// per process (before any transaction that needs it, so that SQLite's writer lock is not
    /// wanted twice).
    async fn status_key(&self) -> Result<&[u8]> {
        self.status_key
            .get_or_try_init(|| async {
                let key = settings::get_or_put(
                    &self.db,
                    "secret.status_links",
                    &crate::tokens::random_token()?,
                    self.now(),
                )
                .await?;
                hex::decode(key)
                    .map_err(|e| AppError::Other(anyhow::anyhow!("status link key: {e}")))
            })
            .await
            .map(Vec::as_slice)
    }

    /// `{id}-{mac}`: the consumer's status link, the same for every submission of the request
    /// (so a resubmission or a retried API call gets the same link) and impossible to guess.
    pub async fn status_token(&self, id: i64) -> Result<String> {
        let key = self.status_key().await?;
        Ok(format!("{id}-{}", status_mac(key, id)))
    }

    /// The referral id behind a status token, if the token is genuine.
    async fn status_token_id(&self, token: &str) -> Result<Option<i64>> {
        let Some((id, mac)) = token.split_once('-') else {
            return Ok(None);
        };
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let key = self.status_key().await?;
        let mut m = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| AppError::Other(anyhow::anyhow!("{e}")))?;
        m.update(format!("status:{id}").as_bytes());
        let Ok(given) = hex::decode(mac) else {
            return Ok(None);
        };
        Ok(m.verify_truncated_left(&given)
            .ok()
            .filter(|()| given.len() == 16)
            .map(|()| id))
    }

    /// Checks a request and stores it, then routes it at once (a crash in between leaves it
    /// due, and the sweeper routes it).
    #[tracing::instrument(skip_all)]
    pub async fn submit_request(
        &self,
        form: &RequestForm,
        origin: Origin<'_>,
    ) -> Result<Submitted, SubmitError> {
        let program = self.program_settings().await?;
        let today = self.program_today().await?;
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
        self.status_key().await?;
        let now = self.now();
        let person = person_key(&first_name, &last_name, &phone, zip);
        let fingerprint = form.fingerprint();
        let submitter = origin.partner.map(|(key_id, _)| key_id);
        let mut tx = self.db.begin().await?;
        if let Some((key_id, Some(key))) = origin.partner
            && let Some(known) = db::idempotency_key(&mut tx, key_id, key, now).await?
        {
            tx.rollback().await?;
            return self.replayed(&known, &fingerprint).await;
        }
        hod_db::referrals::lock_person(&mut tx, &person).await?;
        if !program.duplicate_window.is_zero()
            && let Some((id, submitted_by)) =
                db::same_person_since(&mut tx, &person, now - program.duplicate_window).await?
        {
            if submitted_by.is_some() && submitted_by == submitter {
                // The partner that made it asks again: it has had the link all along.
                tx.rollback().await?;
                return self.existing(id).await;
            }
            // Someone else (another partner, or anyone at the public form) must not get the
            // consumer's link: it goes to the consumer again, once per request.
            let token = self.status_token(id).await?;
            self.tell_consumer(&mut tx, id, "link_again", &token, None)
                .await?;
            tx.commit().await?;
            return Err(SubmitError::AlreadyRequested);
        }
        let id = db::insert(
            &mut tx,
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
        if let Some((key_id, Some(key))) = origin.partner {
            let expires = now + IDEMPOTENCY_KEY_LIFETIME;
            match db::remember_idempotency_key(&mut tx, key_id, key, &fingerprint, id, now, expires)
                .await
            {
                Ok(()) => {}
                // The same Idempotency-Key raced in on another connection: that one stands.
                Err(hod_db::DbError::Conflict(_)) => {
                    tx.rollback().await?;
                    let mut tx = self.db.begin().await?;
                    let known = db::idempotency_key(&mut tx, key_id, key, now).await?;
                    tx.rollback().await?;
                    return match known {
                        Some(known) => self.replayed(&known, &fingerprint).await,
                        None => Err(AppError::Conflict("this Idempotency-Key".into()).into()),
                    };
                }
                Err(e) => return Err(AppError::Db(e).into()),
            }
        }
        let actor = match origin.partner {
            Some((k, _)) => format!("partner:{k}"),
            None => "consumer".to_owned(),
        };
        db::add_event(
            &mut tx,
            &NewEvent {
                referral_id: id,
                actor: &actor,
                kind: "submitted",
                status: Some(Status::Searching.id()),
                note: "",
                account_number: "",
                detail: serde_json::json!({ "consent_version": CONSENT_VERSION, "ip": origin.ip }),
            },
            now,
        )
        .await?;
        let token = self.status_token(id).await?;
        self.tell_consumer(&mut tx, id, "confirmation", &token, None)
            .await?;
        tx.commit().await?;
        self.changed();
        metrics::counter!(crate::metrics::REFERRALS_SUBMITTED, "source" => if origin.partner.is_some() { "api" } else { "web" })
            .increment(1);
        self.route_referral(id).await?;
        let status = self
            .public_status(id)
            .await?
            .map_or(Status::Searching, |s| s.status);
        Ok(Submitted {
            id,
            status,
            status_token: token,
            created: true,
        })
    }

    /// A retry with a remembered `Idempotency-Key`: the same request gets the same answer;
    /// another request with the same key is refused.
    async fn replayed(
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

    async fn existing(&self, id: i64) -> Result<Submitted, SubmitError> {
        let status = self
            .public_status(id)
            .await?
            .map_or(Status::Searching, |s| s.status);
        Ok(Submitted {
            id,
            status,
            status_token: self.status_token(id).await?,
            created: false,
        })
    }

    fn check_request(&self, form: &RequestForm) -> Result<Checked, SubmitError> {
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

    /// One routing round for a referral that is due: lapsed offers expire (three in a row
    /// switch their agent to red), the request gives up after the maximum wait, and the
    /// offers the strategy calls for go to the best candidates. All in one transaction.
    #[tracing::instrument(skip_all, fields(referral = id))]
    pub async fn route_referral(&self, id: i64) -> Result<RoundOutcome> {
        let out = self.route_round(id).await?;
        metrics::counter!(crate::metrics::OFFERS).increment(out.offered.len() as u64);
        metrics::counter!(crate::metrics::OFFERS_EXPIRED).increment(out.expired.len() as u64);
        if out.unserved {
            metrics::counter!(crate::metrics::REFERRALS_UNSERVED).increment(1);
        }
        Ok(out)
    }

    async fn route_round(&self, id: i64) -> Result<RoundOutcome> {
        let program = self.program_settings().await?;
        let current_terms: Vec<i64> = terms::current(&self.db)
            .await?
            .iter()
            .map(|d| d.id)
            .collect();
        self.status_key().await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(r) = db::lock_due(&mut tx, id, now).await? else {
            tx.rollback().await?;
            return Ok(RoundOutcome::default());
        };
        let mut out = RoundOutcome::default();
        for offer in db::close_open_offers(&mut tx, id, "expired", Some(now), now).await? {
            out.expired.push(offer.agent_id);
            self.offer_lapsed(&mut tx, &offer).await?;
        }
        let created = from_millis(r.created_at)?;
        let open: Vec<_> = db::offers_of(&mut tx, id)
            .await?
            .into_iter()
            .filter(|o| o.status == "open")
            .collect();
        if now >= created + program.policy.max_wait {
            self.give_up(&mut tx, &r, "max_wait").await?;
            out.unserved = true;
            tx.commit().await?;
            self.changed();
            return Ok(out);
        }
        let last_offer = r.last_offer_at.map(from_millis).transpose()?;
        let due = program.policy.offers_due(open.len(), last_offer, now);
        let mut expiries: Vec<Timestamp> = open
            .iter()
            .map(|o| from_millis(o.expires_at))
            .collect::<hod_db::Result<_>>()?;
        let mut last_offer_at = None;
        // Nobody left to add: wait for the open offers, not for the next cascade step.
        let mut exhausted = false;
        if due > 0 {
            let rows = db::candidates(
                &mut tx,
                id,
                i16::try_from(r.plan_year).unwrap_or_default(),
                &r.state,
                &r.language,
                &current_terms,
            )
            .await?;
            let decision = self.decide(
                &r,
                &rows,
                &current_terms,
                &program.policy,
                now,
                due.max(LOG_TOP),
            );
            let chosen: Vec<&CandidateRow> = decision
                .ranked
                .iter()
                .take(due)
                .filter_map(|x| rows.iter().find(|c| c.agent_id == x.agent_id))
                .collect();
            let expires = now + program.policy.offer_window;
            for agent in &chosen {
                let offer_id = db::insert_offer(&mut tx, id, agent.agent_id, now, expires).await?;
                db::note_offered(&mut tx, agent.agent_id, now).await?;
                self.notify_offer(&mut tx, agent, &r, offer_id, expires)
                    .await?;
                out.offered.push(agent.agent_id);
                expiries.push(expires);
            }
            db::add_event(
                &mut tx,
                &NewEvent {
                    referral_id: id,
                    actor: "system",
                    kind: "decision",
                    status: None,
                    note: "",
                    account_number: "",
                    detail: decision_log(&decision, &rows, &out.offered, &program.policy),
                },
                now,
            )
            .await?;
            exhausted = chosen.is_empty();
            if !chosen.is_empty() {
                last_offer_at = Some(now);
            } else if open.is_empty() {
                self.give_up(&mut tx, &r, "no_agent").await?;
                out.unserved = true;
                tx.commit().await?;
                self.changed();
                return Ok(out);
            }
        }
        let step_from = if exhausted {
            None
        } else {
            last_offer_at.or(last_offer)
        };
        let next = program.policy.next_check(created, expiries, step_from);
        db::set_routing(&mut tx, id, Status::Offered.id(), next, last_offer_at, now).await?;
        tx.commit().await?;
        self.changed();
        Ok(out)
    }

    fn decide(
        &self,
        r: &ReferralRow,
        rows: &[CandidateRow],
        current_terms: &[i64],
        policy: &Policy,
        now: Timestamp,
        top: usize,
    ) -> Decision {
        let zip = Zip::parse(&r.zip).ok();
        let state = UsState::parse(&r.state).ok();
        let (Some(zip), Some(state)) = (zip, state) else {
            return Decision::default();
        };
        let request = routing::Request {
            zip,
            state,
            location: self.zips.get(zip),
        };
        let states: Vec<Vec<UsState>> = rows
            .iter()
            .map(|c| {
                c.eligible_states
                    .split_whitespace()
                    .filter_map(|s| UsState::parse(s).ok())
                    .collect()
            })
            .collect();
        let candidates = rows.iter().zip(&states).map(|(c, eligible)| {
            let location = c
                .zip
                .as_deref()
                .and_then(|z| Zip::parse(z).ok())
                .and_then(|z| self.zips.get(z));
            let tz = jiff::tz::TimeZone::get(
                &self.zone_name(c.availability.time_zone.as_deref(), c.zip.as_deref()),
            )
            .unwrap_or_else(|_| self.settings.program_time_zone.clone());
            let local = now.to_zoned(tz).datetime();
            Candidate {
                agent_id: c.agent_id,
                eligible_states: (c.eligible == Some(true)).then_some(eligible.as_slice()),
                registration_complete: c.registered
                    && usize::try_from(c.terms_accepted).unwrap_or(0) == current_terms.len(),
                prefers_state: true,
                speaks_language: c.speaks,
                available: is_available(
                    c.availability.mode,
                    &c.availability.hours,
                    c.availability.absence.as_ref(),
                    local,
                ),
                // Offers held count too: an agent at capacity must not collect more offers
                // than they could accept.
                open_referrals: u32::try_from(c.open_referrals + c.open_offers).unwrap_or(u32::MAX),
                offered_before: c.offered_before,
                location,
                last_offered_at: c
                    .last_offered_at
                    .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
                responsiveness: Responsiveness {
                    accept_rate: c.accept_rate,
                    accept_secs: c.accept_secs,
                },
            }
        });
        routing::decide(&request, candidates, policy, top)
    }

    /// An offer ran out: the agent's streak grows; the third miss in a row switches them to
    /// unavailable and tells them.
    async fn offer_lapsed(&self, tx: &mut Tx, offer: &hod_db::referrals::OfferRow) -> Result<()> {
        let now = self.now();
        let (rate, secs) = db::responsiveness(tx, offer.agent_id).await?;
        let after = Responsiveness {
            accept_rate: rate,
            accept_secs: secs,
        }
        .after_refusal();
        let streak = db::note_answer(
            tx,
            offer.agent_id,
            true,
            after.accept_rate,
            after.accept_secs,
        )
        .await?;
        db::add_event(
            tx,
            &NewEvent {
                referral_id: offer.referral_id,
                actor: "system",
                kind: "offer_expired",
                status: None,
                note: "",
                account_number: "",
                detail: serde_json::json!({ "offer": offer.id, "agent": offer.agent_id }),
            },
            now,
        )
        .await?;
        if streak >= i64::from(MISSED_OFFERS_PAUSE) {
            let (first_name, _, email, mode) = db::agent_brief(tx, offer.agent_id).await?;
            if mode == Mode::Unavailable.id() {
                return Ok(());
            }
            availability::set_mode(tx, offer.agent_id, Mode::Unavailable).await?;
            hod_db::referrals::reset_missed(tx, offer.agent_id).await?;
            let who = actor_agent(offer.agent_id);
            audit::append(
                tx,
                &audit::Entry {
                    actor: "system",
                    action: "agent.auto_paused",
                    subject: &who,
                    ip: None,
                    detail: serde_json::json!({ "missed_offers": streak }),
                },
                now,
            )
            .await?;
            let link = format!("{}/agent/availability", self.settings.public_url);
            let body = format!(
                "Hello {first_name},\n\nYou missed {streak} referral offers in a row, so Help On Demand switched you to unavailable (red): \
                 you will not get offers until you switch back to available or to your schedule: {link}\n\n---\n\n\
                 No respondió a {streak} ofertas de referidos seguidas, por lo que Help On Demand le cambió a no disponible (rojo). \
                 No recibirá ofertas hasta que vuelva a cambiar su disponibilidad: {link}\n"
            );
            let dedup = format!("paused:{}:{}", offer.agent_id, offer.id);
            self.message(
                tx,
                Channel::Email,
                &email,
                "You were switched to unavailable / Se le cambió a no disponible",
                &body,
                &dedup,
            )
            .await?;
        }
        Ok(())
    }

    /// The request could not be served: open offers are withdrawn, the consumer gets the
    /// call-center fallback, operators see it in the unserved queue.
    async fn give_up(&self, tx: &mut Tx, r: &ReferralRow, why: &str) -> Result<()> {
        let now = self.now();
        db::close_open_offers(tx, r.id, "withdrawn", None, now).await?;
        db::mark_unserved(tx, r.id, why, now).await?;
        db::add_event(
            tx,
            &NewEvent {
                referral_id: r.id,
                actor: "system",
                kind: "status",
                status: Some(Status::Unserved.id()),
                note: why,
                account_number: "",
                detail: serde_json::json!({}),
            },
            now,
        )
        .await?;
        let token = self.status_token(r.id).await?;
        self.tell_consumer(tx, r.id, "fallback", &token, None).await
    }

    async fn message(
        &self,
        tx: &mut Tx,
        channel: Channel,
        to: &str,
        subject: &str,
        body: &str,
        dedup: &str,
    ) -> Result<()> {
        outbox::enqueue(
            tx,
            &NewMessage {
                channel,
                sender: if channel == Channel::Email {
                    &self.settings.noreply_address
                } else {
                    ""
                },
                recipient: to,
                subject,
                body,
                dedup_key: Some(dedup),
            },
            self.now(),
        )
        .await?;
        Ok(())
    }

    /// "You have a New Referral", by the agent's Preferred Contact Method: where, what and
    /// until when — never who.
    async fn notify_offer(
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
            let to = actor_agent(agent.agent_id);
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
    async fn tell_consumer(
        &self,
        tx: &mut Tx,
        id: i64,
        what: &str,
        token: &str,
        agent: Option<&str>,
    ) -> Result<()> {
        let c = db::consumer_address(tx, id).await?;
        let r = db::contact_by_and_lang(tx, id).await?;
        let es = r.1 == "es";
        let link = format!("{}/requests/{token}", self.settings.public_url);
        let agent = agent.unwrap_or_default();
        let (subject, text) = match (what, es) {
            ("confirmation", false) => (
                "We received your request for help",
                format!(
                    "Help On Demand: we received your request and are finding a licensed agent near you. Follow it here: {link}"
                ),
            ),
            ("confirmation", true) => (
                "Recibimos su solicitud de ayuda",
                format!(
                    "Help On Demand: recibimos su solicitud y estamos buscando un agente con licencia cerca de usted. Sígala aquí: {link}"
                ),
            ),
            ("link_again", false) => (
                "The link to your request for help",
                format!(
                    "Help On Demand: you already asked for help a few minutes ago. Follow that request here: {link}"
                ),
            ),
            ("link_again", true) => (
                "El enlace a su solicitud de ayuda",
                format!(
                    "Help On Demand: usted ya pidió ayuda hace unos minutos. Siga esa solicitud aquí: {link}"
                ),
            ),
            ("accepted", false) => (
                "A licensed agent will contact you",
                format!(
                    "Help On Demand: {agent}, a licensed agent, accepted your request and will contact you within 60 minutes. {link}"
                ),
            ),
            ("accepted", true) => (
                "Un agente con licencia se comunicará con usted",
                format!(
                    "Help On Demand: {agent}, agente con licencia, aceptó su solicitud y se comunicará con usted dentro de 60 minutos. {link}"
                ),
            ),
            (_, false) => (
                "We could not find an agent right now",
                format!(
                    "Help On Demand: we could not find an available agent right now. Please call the Marketplace Call Center at {CALL_CENTER} (24/7). {link}"
                ),
            ),
            (_, true) => (
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
                &format!("consumer:{id}:{what}:sms"),
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
                &format!("consumer:{id}:{what}:email"),
            )
            .await?;
        }
        Ok(())
    }

    /// First accept wins: the agent gets the referral (and its contact details) if it is still
    /// on offer to them; everyone else's offer is withdrawn. `Gone` (409) otherwise.
    #[tracing::instrument(skip_all, fields(offer = offer_id))]
    pub async fn accept_offer(&self, agent_id: i64, offer_id: i64) -> Result<i64, OfferError> {
        let capacity = self.program_settings().await?.policy.capacity;
        self.status_key().await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        match self
            .accept_in(&mut tx, agent_id, offer_id, capacity, now)
            .await
        {
            Ok(rid) => {
                tx.commit().await?;
                self.changed();
                metrics::counter!(crate::metrics::REFERRALS_ACCEPTED).increment(1);
                if let Some(r) = db::get(&self.db, rid).await? {
                    let waited = now.duration_since(from_millis(r.created_at)?);
                    metrics::histogram!(crate::metrics::TIME_TO_ACCEPT)
                        .record(waited.as_secs_f64().max(0.0));
                }
                Ok(rid)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    async fn accept_in(
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
        let Some(offer) = db::decide_offer(tx, offer_id, agent_id, "accepted", None, now).await?
        else {
            return Err(OfferError::Gone);
        };
        if !db::assign(tx, rid, agent_id, now, now + FOLLOW_UP_WITHIN).await? {
            return Err(OfferError::Gone);
        }
        db::close_open_offers(tx, rid, "withdrawn", None, now).await?;
        let (rate, secs) = db::responsiveness(tx, agent_id).await?;
        let after = Responsiveness {
            accept_rate: rate,
            accept_secs: secs,
        }
        .after_accept(now.duration_since(from_millis(offer.offered_at)?));
        db::note_answer(tx, agent_id, false, after.accept_rate, after.accept_secs).await?;
        let actor = actor_agent(agent_id);
        db::add_event(
            tx,
            &NewEvent {
                referral_id: rid,
                actor: &actor,
                kind: "status",
                status: Some(Status::Accepted.id()),
                note: "",
                account_number: "",
                detail: serde_json::json!({ "offer": offer_id }),
            },
            now,
        )
        .await?;
        let (first, last, _, _) = db::agent_brief(tx, agent_id).await?;
        let token = self.status_token(rid).await?;
        let name = short_name(&first, &last);
        self.tell_consumer(tx, rid, "accepted", &token, Some(&name))
            .await?;
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
        let reason = hod_domain::text::single_line(reason)
            .map_err(|e| OfferError::Invalid(format!("the reason {e}")))?;
        let reason = reason.as_str();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(OfferError::Invalid(
                "give a reason for declining (up to 500 characters)".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let rid = match self
            .decline_in(&mut tx, agent_id, offer_id, reason, now)
            .await
        {
            Ok(rid) => rid,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        tx.commit().await?;
        self.changed();
        metrics::counter!(crate::metrics::OFFER_DECLINES).increment(1);
        self.route_referral(rid).await?;
        Ok(())
    }

    async fn decline_in(
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
        if db::decide_offer(tx, offer_id, agent_id, "declined", Some(reason), now)
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
        let actor = actor_agent(agent_id);
        db::add_event(
            tx,
            &NewEvent {
                referral_id: rid,
                actor: &actor,
                kind: "offer_declined",
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

    /// One pass of the sweeper (every node runs it): routes every due referral and hands out
    /// due follow-up reminders.
    #[tracing::instrument(skip_all)]
    pub async fn sweep(&self) -> Result<Sweep> {
        let mut s = Sweep::default();
        loop {
            let ids = db::due(&self.db, self.now(), 100).await?;
            if ids.is_empty() {
                break;
            }
            let mut progressed = false;
            for id in ids {
                let round = self.route_referral(id).await?;
                progressed |= round != RoundOutcome::default();
                s.rounds += 1;
                s.offered += round.offered.len();
                s.expired += round.expired.len();
                s.unserved += usize::from(round.unserved);
            }
            if !progressed {
                // Everything due is being routed by another node.
                break;
            }
        }
        s.reminders = self.send_reminders().await?;
        Ok(s)
    }

    async fn send_reminders(&self) -> Result<usize> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let due = db::take_due_reminders(&mut tx, now, 100).await?;
        for (rid, agent_id) in &due {
            let (first_name, _, email, _) = db::agent_brief(&mut tx, *agent_id).await?;
            let link = format!("{}/agent/referrals/{rid}", self.settings.public_url);
            let body = format!(
                "Hello {first_name},\n\nYou accepted Help On Demand referral #{rid} an hour ago. Contact the consumer now and record \
                 Follow-Up Completed: {link}\n\n---\n\nAceptó el referido #{rid} hace una hora. Comuníquese con el consumidor \
                 y registre Follow-Up Completed: {link}\n"
            );
            self.message(
                &mut tx,
                Channel::Email,
                &email,
                "Reminder: follow up on your referral / Recordatorio de seguimiento",
                &body,
                &format!("reminder:{rid}"),
            )
            .await?;
            db::add_event(
                &mut tx,
                &NewEvent {
                    referral_id: *rid,
                    actor: "system",
                    kind: "reminder",
                    status: None,
                    note: "",
                    account_number: "",
                    detail: serde_json::json!({}),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }

    /// The offers open to an agent now (no consumer details).
    pub async fn open_offers(&self, agent_id: i64) -> Result<Vec<db::OpenOffer>> {
        Ok(db::open_offers_for(&self.db, agent_id, self.now()).await?)
    }

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
    ) -> Result<Option<AgentReferral>> {
        let Some((referral, contact)) = db::contact_for_agent(&self.db, id, agent_id).await? else {
            return Ok(None);
        };
        let mut tx = self.db.begin().await?;
        let who = actor_agent(agent_id);
        let subject = format!("referral:{id}");
        audit::append(
            &mut tx,
            &audit::Entry {
                actor: &who,
                action: "referral.contact_viewed",
                subject: &subject,
                ip,
                detail: serde_json::json!({}),
            },
            self.now(),
        )
        .await?;
        tx.commit().await?;
        let status = Status::parse(&referral.status).ok_or_else(|| {
            AppError::Other(anyhow::anyhow!(
                "referral {id} has status {:?}",
                referral.status
            ))
        })?;
        Ok(Some(AgentReferral {
            referral,
            contact,
            status,
            events: db::events(&self.db, id).await?,
        }))
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
        let from = Status::parse(&referral.status).ok_or(OfferError::NotFound)?;
        let note = hod_domain::text::multi_line(note)
            .map_err(|e| OfferError::Invalid(format!("the note {e}")))?;
        let account_number = hod_domain::text::single_line(account_number)
            .map_err(|e| OfferError::Invalid(format!("the account number {e}")))?;
        let (note, account_number) = (note.as_str(), account_number.as_str());
        let to =
            Status::parse(to).ok_or(OfferError::Invalid(StepError::NotAnAgentStep.to_string()))?;
        check_step(from, to, note, account_number).map_err(|e| match e {
            // Well-formed, but not from where the referral is now.
            StepError::Closed(_) | StepError::Unchanged(_) => OfferError::StepConflict(e),
            _ => OfferError::Invalid(e.to_string()),
        })?;
        if note.chars().count() > 2000 || account_number.chars().count() > 100 {
            return Err(OfferError::Invalid(
                "the note is up to 2,000 characters, the account number up to 100".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if !db::set_status(&mut tx, id, agent_id, from.id(), to.id(), now).await? {
            return Err(OfferError::Gone);
        }
        let actor = actor_agent(agent_id);
        db::add_event(
            &mut tx,
            &NewEvent {
                referral_id: id,
                actor: &actor,
                kind: "status",
                status: Some(to.id()),
                note,
                account_number,
                detail: serde_json::json!({}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
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
        let mut tx = self.db.begin().await?;
        let (first, last, _, _) = db::agent_brief(&mut tx, agent_id).await?;
        let keep_until = now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(jiff::Span::new().years(CONSENT_KEPT_YEARS))
            .map_err(|e| AppError::Other(e.into()))?
            .timestamp();
        db::add_consent(
            &mut tx,
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
        let actor = actor_agent(agent_id);
        db::add_event(
            &mut tx,
            &NewEvent {
                referral_id: id,
                actor: &actor,
                kind: "consent",
                status: None,
                note: "",
                account_number: "",
                detail: serde_json::json!({ "method": form.method.trim() }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The consents recorded on the agent's referral.
    pub async fn consents(&self, agent_id: i64, id: i64) -> Result<Vec<db::ConsentRow>> {
        Ok(db::consents(&self.db, id, agent_id).await?)
    }

    /// Whether the request page takes requests today (a plan year, not paused, not a
    /// closed day).
    pub async fn intake_open(&self) -> Result<bool> {
        let program = self.program_settings().await?;
        let today = self.program_today().await?;
        Ok(today.plan_year.is_some()
            && !program.intake_paused
            && !program.closed_dates.contains(&today.day))
    }

    /// The consumer's status page, by its secret token.
    pub async fn status_by_token(&self, token: &str) -> Result<Option<PublicStatus>> {
        match self.status_token_id(token).await? {
            Some(id) => self.public_status(id).await,
            None => Ok(None),
        }
    }

    /// A partner's own referral (another partner's is not found).
    pub async fn partner_referral(&self, key_id: i64, id: i64) -> Result<Option<PublicStatus>> {
        match db::get(&self.db, id).await? {
            Some(r) if r.api_key_id == Some(key_id) => self.public_status(id).await,
            _ => Ok(None),
        }
    }

    async fn public_status(&self, id: i64) -> Result<Option<PublicStatus>> {
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
            status: Status::parse(&r.status).unwrap_or(Status::Searching),
            created_at: from_millis(r.created_at)?,
            ui_lang: r.ui_lang,
            agent,
            accepted_at: r.accepted_at.map(from_millis).transpose()?,
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
    pub async fn referral_timeline(&self, id: i64) -> Result<Vec<hod_db::referrals::EventRow>> {
        Ok(db::events(&self.db, id).await?)
    }

    /// Tells live pages (server-sent events) on this node that something changed; pages also
    /// look every few seconds, for changes made on other nodes.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

fn status_mac(key: &[u8], id: i64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("status:{id}").as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

fn reason_en(id: &str) -> &'static str {
    match HelpReason::parse(id) {
        Some(HelpReason::NewCoverage) => "new coverage",
        Some(HelpReason::Change) => "a change to a plan",
        Some(HelpReason::SpecialEnrollment) => "a Special Enrollment Period",
        None => "Marketplace coverage",
    }
}

/// Who was considered, who was left out and why (counts, and up to 20 names per reason), the
/// ranking (top 20) and who got an offer.
fn decision_log(
    d: &Decision,
    rows: &[CandidateRow],
    offered: &[i64],
    policy: &Policy,
) -> serde_json::Value {
    // Names of the agents the log mentions, in one pass over the candidates.
    let mentioned: std::collections::HashSet<i64> = d
        .filtered
        .iter()
        .map(|(id, _)| *id)
        .chain(d.ranked.iter().map(|r| r.agent_id))
        .collect();
    let names: std::collections::HashMap<i64, String> = rows
        .iter()
        .filter(|c| mentioned.contains(&c.agent_id))
        .map(|c| {
            (
                c.agent_id,
                format!("{} {} (NPN {})", c.first_name, c.last_name, c.npn),
            )
        })
        .collect();
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let mut filtered = serde_json::Map::new();
    for (why, count) in Filter::ALL.iter().zip(d.filtered_count) {
        if count == 0 {
            continue;
        }
        let who: Vec<_> = d
            .filtered
            .iter()
            .filter(|(_, f)| f == why)
            .map(|(id, _)| serde_json::json!({"id": id, "name": name(*id)}))
            .collect();
        filtered.insert(
            why.id().to_owned(),
            serde_json::json!({ "count": count, "agents": who }),
        );
    }
    serde_json::json!({
        "strategy": policy.strategy.id(),
        "considered": rows.len(),
        "qualified": d.qualified,
        "filtered": filtered,
        "ranked": d.ranked.iter().map(|x| serde_json::json!({
            "id": x.agent_id,
            "name": name(x.agent_id),
            "band": x.band.id(),
            "miles": x.miles.map(|m| (m * 10.0).round() / 10.0),
            "last_offered_at": x.last_offered_at.map(|t| t.to_string()),
            "responsiveness": (x.responsiveness * 1000.0).round() / 1000.0,
        })).collect::<Vec<_>>(),
        "offered": offered,
    })
}
