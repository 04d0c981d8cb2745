//! The agent's profile (SPEC.md §5): contact details, languages, state preferences (only
//! where eligible), availability, password and sessions.
use hod_db::DbError;
use hod_db::agents;
pub use hod_db::agents::AgentRow;
use hod_db::availability::{self as avail, Availability};
use hod_db::sessions;
use hod_domain::availability::{Absence, Mode, Period, WeeklyHours, is_available, parse_time};
use hod_domain::password::{self, Personal};
use hod_domain::{ContactMethod, Lang, Npn, PhoneE164, UsState, Zip};
use jiff::civil::Weekday;

use crate::auth::{Client, Principal};
use crate::fields::{FieldProblem, FieldProblems};
use crate::{App, AppError, Result, passwords};

/// Hours a new account starts with: weekdays, 9:00 to 17:00 in the agent's time zone.
pub fn default_hours() -> WeeklyHours {
    let nine_to_five = Period {
        start: jiff::civil::time(9, 0, 0, 0),
        end: jiff::civil::time(17, 0, 0, 0),
    };
    WeeklyHours::new(
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ]
        .into_iter()
        .map(|d| (d, nine_to_five)),
    )
    .expect("fixed hours are valid")
}

/// The time zones agents choose from (US states and territories).
pub const TIME_ZONES: [&str; 9] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("some fields need correcting")]
    Fields(FieldProblems),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for ProfileError {
    fn from(e: DbError) -> Self {
        Self::App(e.into())
    }
}

fn one(field: &'static str, p: FieldProblem) -> ProfileError {
    ProfileError::Fields(FieldProblems::from([(field, p)]))
}

/// Everything the profile tabs show.
#[derive(Debug, Clone)]
pub struct ProfileView {
    pub agent: AgentRow,
    pub languages: Vec<String>,
    pub states: Vec<String>,
    /// Where the agent may take referrals today (state preferences are limited to these).
    pub eligible_states: Vec<String>,
    pub availability: Availability,
    /// The time zone the hours are read in.
    pub time_zone: String,
    pub available_now: bool,
}

/// What the header of a logged-in agent's pages shows.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub name: String,
    /// Whether offers can reach the agent now (switch, hours, absence).
    pub available_now: bool,
}

impl App {
    /// The header's facts for the agent's pages.
    pub async fn signed_in(&self, agent_id: i64) -> Result<SignedIn> {
        let agent = self.agent(agent_id).await?;
        let availability = avail::get(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent {agent_id}")))?;
        let available_now = self.available_now(&agent, &availability);
        Ok(SignedIn {
            name: format!("{} {}", agent.first_name, agent.last_name),
            available_now,
        })
    }

    fn available_now(&self, agent: &AgentRow, availability: &Availability) -> bool {
        let time_zone = self.time_zone_of(agent, availability);
        let local = self
            .now()
            .to_zoned(jiff::tz::TimeZone::get(&time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
            .datetime();
        is_available(
            availability.mode,
            &availability.hours,
            availability.absence.as_ref(),
            local,
        )
    }

    /// The agent's account.
    pub async fn agent(&self, agent_id: i64) -> Result<AgentRow> {
        agents::find_by_id(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent {agent_id}")))
    }

    /// Writes one change of the agent's profile (`what`: contact, languages, hours…) with
    /// its audit record, in one transaction.
    async fn change_profile(
        &self,
        agent_id: i64,
        what: &str,
        work: impl AsyncFnOnce(&mut hod_db::Tx) -> Result<()>,
    ) -> Result<()> {
        self.write(async |tx| {
            work(tx).await?;
            self.audit(
                tx,
                agent_id,
                "agent.profile_changed",
                Client::default(),
                serde_json::json!({ "changed": what }),
            )
            .await
        })
        .await
    }

    /// The languages the agent speaks and the states they take referrals in (codes).
    pub async fn preferences(&self, agent_id: i64) -> Result<(Vec<String>, Vec<String>)> {
        Ok((
            agents::languages(&self.db, agent_id).await?,
            agents::state_preferences(&self.db, agent_id).await?,
        ))
    }

    pub async fn profile(&self, agent_id: i64) -> Result<ProfileView> {
        let agent = self.agent(agent_id).await?;
        let (languages, states) = self.preferences(agent_id).await?;
        let npn = Npn::parse(&agent.npn).map_err(|e| AppError::Other(e.into()))?;
        let eligible_states = match self.eligibility_of(&npn, self.today()).await {
            Ok(r) => r.states,
            Err(AppError::Invalid(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let availability = avail::get(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent {agent_id}")))?;
        let time_zone = self.time_zone_of(&agent, &availability);
        let available_now = self.available_now(&agent, &availability);
        Ok(ProfileView {
            agent,
            languages,
            states,
            eligible_states,
            availability,
            time_zone,
            available_now,
        })
    }

    /// The agent's own time zone, else their ZIP code's, else the program's.
    fn time_zone_of(&self, agent: &AgentRow, a: &Availability) -> String {
        self.zone_name(a.time_zone.as_deref(), agent.zip.as_deref())
    }

    /// The time zone an agent's hours are read in: `chosen`, else the ZIP code's, else the
    /// program's (an IANA name).
    pub(crate) fn zone_name(&self, chosen: Option<&str>, zip: Option<&str>) -> String {
        chosen
            .map(str::to_owned)
            .or_else(|| {
                let zip = Zip::parse(zip?).ok()?;
                Some(self.zips.get(zip)?.time_zone.to_owned())
            })
            .unwrap_or_else(|| {
                self.settings
                    .program_time_zone
                    .iana_name()
                    .unwrap_or("America/New_York")
                    .to_owned()
            })
    }

    /// The time zone to show an agent times in.
    pub async fn agent_time_zone(&self, agent_id: i64) -> Result<jiff::tz::TimeZone> {
        let agent = self.agent(agent_id).await?;
        let a = avail::get(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("agent {agent_id}")))?;
        let name = self.time_zone_of(&agent, &a);
        Ok(jiff::tz::TimeZone::get(&name)
            .unwrap_or_else(|_| self.settings.program_time_zone.clone()))
    }

    /// Phone, contact method, ZIP. A new phone number must be confirmed again (a code is
    /// texted when the method includes texts).
    pub async fn update_contact(
        &self,
        agent_id: i64,
        phone: &str,
        method: &str,
        zip: &str,
    ) -> Result<(), ProfileError> {
        let agent = self.agent(agent_id).await?;
        let mut problems = FieldProblems::new();
        let phone = match PhoneE164::parse_textable(phone) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.insert("phone", e.into());
                None
            }
        };
        let method = ContactMethod::parse(method);
        if method.is_none() {
            problems.insert("contact_method", FieldProblem::ContactMethodUnknown);
        }
        let zip = match self.known_zip(zip) {
            Ok(z) => Some(z),
            Err(p) => {
                problems.insert("zip", p);
                None
            }
        };
        let (Some(phone), Some(method), Some(zip)) = (phone, method, zip) else {
            return Err(ProfileError::Fields(problems));
        };
        let changed_phone = agent.phone.as_deref() != Some(phone.as_str());
        self.change_profile(agent_id, "contact", async |tx| {
            agents::update_contact(
                tx,
                agent_id,
                phone.as_str(),
                method.id(),
                &zip.to_string(),
                changed_phone,
                self.now(),
            )
            .await?;
            if changed_phone && method.texts() {
                self.text_phone_code(tx, agent_id, phone.as_str()).await?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn update_languages(
        &self,
        agent_id: i64,
        codes: &[String],
    ) -> Result<(), ProfileError> {
        if codes.is_empty() {
            return Err(one("languages", FieldProblem::LanguagesRequired));
        }
        let langs: Vec<Lang> = codes
            .iter()
            .map(|c| Lang::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|_| one("languages", FieldProblem::LanguageUnknown))?;
        self.change_profile(agent_id, "languages", async |tx| {
            agents::set_languages(tx, agent_id, &langs).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// State preferences, limited to the states where the agent is eligible today.
    pub async fn update_states(&self, agent_id: i64, codes: &[String]) -> Result<(), ProfileError> {
        let view = self.profile(agent_id).await?;
        let mut states = Vec::with_capacity(codes.len());
        for c in codes {
            match UsState::parse(c) {
                Ok(s) if view.eligible_states.iter().any(|e| e == s.code()) => states.push(s),
                _ => return Err(one("states", FieldProblem::StateNotEligible)),
            }
        }
        self.change_profile(agent_id, "states", async |tx| {
            agents::set_state_preferences(tx, agent_id, &states).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Standard hours: (weekday, "HH:MM", "HH:MM") periods, empty pairs ignored; the time
    /// zone they are in (`None` = the ZIP code's).
    pub async fn update_hours(
        &self,
        agent_id: i64,
        periods: &[(Weekday, String, String)],
        time_zone: Option<&str>,
    ) -> Result<(), ProfileError> {
        if let Some(tz) = time_zone
            && !TIME_ZONES.contains(&tz)
        {
            return Err(one("time_zone", FieldProblem::TimeZoneUnknown));
        }
        let mut list = Vec::new();
        for (day, start, end) in periods {
            if start.trim().is_empty() && end.trim().is_empty() {
                continue;
            }
            let (Ok(start), Ok(end)) = (parse_time(start), parse_time(end)) else {
                return Err(one("hours", FieldProblem::HoursInvalid));
            };
            list.push((*day, Period { start, end }));
        }
        let hours = WeeklyHours::new(list).map_err(|_| one("hours", FieldProblem::HoursInvalid))?;
        self.change_profile(agent_id, "hours", async |tx| {
            avail::set_hours(tx, agent_id, &hours, time_zone).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The override switch (also `PUT /api/v1/agent/availability`).
    pub async fn set_availability_mode(&self, agent_id: i64, mode: Mode) -> Result<()> {
        self.change_profile(agent_id, "availability_mode", async |tx| {
            avail::set_mode(tx, agent_id, mode).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Extended Absence from `from` until `until` (empty = no end); `from` empty ends it.
    pub async fn set_absence(
        &self,
        agent_id: i64,
        from: &str,
        until: &str,
    ) -> Result<(), ProfileError> {
        let absence = if from.trim().is_empty() {
            None
        } else {
            let from: jiff::civil::Date = from
                .trim()
                .parse()
                .map_err(|_| one("absence", FieldProblem::AbsenceDates))?;
            let until = if until.trim().is_empty() {
                None
            } else {
                let u: jiff::civil::Date = until
                    .trim()
                    .parse()
                    .map_err(|_| one("absence", FieldProblem::AbsenceDates))?;
                if u < from {
                    return Err(one("absence", FieldProblem::AbsenceDates));
                }
                Some(u)
            };
            Some(Absence { from, until })
        };
        self.change_profile(agent_id, "absence", async |tx| {
            avail::set_absence(tx, agent_id, absence.as_ref()).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Changes the password (the current one is asked for); every other session ends.
    pub async fn change_password(
        &self,
        agent_id: i64,
        current: &str,
        new: &str,
        confirm: &str,
        keep_token: &str,
        client: Client<'_>,
    ) -> Result<(), ProfileError> {
        let agent = self.agent(agent_id).await?;
        let username = agent.username.clone().unwrap_or_default();
        let login = agents::find_for_login(&self.db, &username.to_lowercase()).await?;
        let matches = match &login {
            Some(l) => passwords::verify(current, &l.password_hash).await,
            None => false,
        };
        if !matches {
            return Err(one("current_password", FieldProblem::CurrentPasswordWrong));
        }
        let mut problems = FieldProblems::new();
        let failed = password::check(
            new,
            &Personal {
                username: &username,
                email: &agent.email,
                first_name: &agent.first_name,
                last_name: &agent.last_name,
            },
        );
        if !failed.is_empty() {
            problems.insert("password", FieldProblem::Password(failed));
        }
        if new != confirm {
            problems.insert("confirm_password", FieldProblem::PasswordMismatch);
        }
        if !problems.is_empty() {
            return Err(ProfileError::Fields(problems));
        }
        let hash = passwords::hash(new).await.map_err(AppError::Other)?;
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            agents::set_password(tx, agent_id, &hash, now).await?;
            let ended = end_others(tx, Principal::Agent(agent_id), keep_token).await?;
            self.audit(
                tx,
                agent_id,
                "agent.password_changed",
                client,
                serde_json::json!({ "other_sessions_ended": ended }),
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

impl App {
    /// An agent's or an operator's live sessions, newest first: ("since … · address ·
    /// browser", whether it is the session of `current_token`).
    pub async fn sessions_of(
        &self,
        who: Principal,
        current_token: &str,
    ) -> Result<Vec<(String, bool)>> {
        let current = crate::tokens::token_hash(current_token);
        let tz = self.settings.program_time_zone.clone();
        let list = sessions::list_for(
            &self.db,
            who.kind(),
            who.id(),
            self.now(),
            crate::auth::SESSION_IDLE,
        )
        .await?;
        Ok(list
            .into_iter()
            .map(|s| {
                let since = hod_db::from_millis(s.created_at)
                    .map(|t| {
                        t.to_zoned(tz.clone())
                            .strftime("%Y-%m-%d %H:%M %Z")
                            .to_string()
                    })
                    .unwrap_or_default();
                let text = format!(
                    "{since} · {} · {}",
                    s.ip.unwrap_or_else(|| "-".into()),
                    s.user_agent
                        .map(|u| u.chars().take(80).collect::<String>())
                        .unwrap_or_else(|| "-".into())
                );
                (text, s.token_hash == current)
            })
            .collect())
    }

    /// Logs out every other device of an agent or an operator; returns how many sessions
    /// ended.
    pub async fn end_other_sessions(&self, who: Principal, keep_token: &str) -> Result<u64> {
        let n = self
            .write(async |tx| -> Result<_> {
                let n = end_others(tx, who, keep_token).await?;
                let detail = serde_json::json!({ "ended": n });
                self.audit_own(tx, who, "sessions_ended", Client::default(), detail)
                    .await?;
                Ok(n)
            })
            .await?;
        Ok(n)
    }
}

/// Ends the sessions of `who` but the one whose token is `keep_token`; how many ended.
pub(crate) async fn end_others(
    tx: &mut hod_db::Tx,
    who: Principal,
    keep_token: &str,
) -> Result<u64> {
    Ok(sessions::delete_others(
        tx,
        who.kind(),
        who.id(),
        &crate::tokens::token_hash(keep_token),
    )
    .await?)
}
