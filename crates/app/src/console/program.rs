//! Program set-up from the console (administrators): plan years and their dates, and new
//! versions of the Terms of Use (agents are asked to accept them at their next visit, and get
//! no offers until they do).
use hod_db::{DbError, reference, terms};
use hod_domain::PlanYear;
pub use hod_domain::StatePeriod;
use jiff::civil::Date;

use crate::auth::Client;
use crate::operators::{OperatorSession, require_admin};
use crate::{App, AppError, Result};

fn refused(id: &'static str, message: impl Into<String>) -> AppError {
    AppError::Refused {
        id,
        message: message.into(),
    }
}

impl App {
    pub async fn plan_years(&self) -> Result<Vec<PlanYear>> {
        Ok(reference::plan_years(&self.db).await?)
    }

    /// Every period of the HealthCare.gov state table, by state.
    pub async fn state_periods(&self) -> Result<Vec<StatePeriod>> {
        Ok(reference::state_table(&self.db).await?.periods().to_vec())
    }

    /// Adds a plan year or changes its dates.
    pub async fn put_plan_year(
        &self,
        by: &OperatorSession,
        year: &str,
        starts_on: &str,
        ends_on: &str,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let year: i16 = year
            .trim()
            .parse()
            .ok()
            .filter(|y| (2014..=2100).contains(y))
            .ok_or_else(|| {
                refused(
                    "plan-year",
                    format!("{year:?} is not a plan year from 2014 to 2100"),
                )
            })?;
        let day = |s: &str| {
            s.trim()
                .parse::<Date>()
                .map_err(|_| refused("plan-year-dates", format!("{s:?} is not a date")))
        };
        let (starts_on, ends_on) = (day(starts_on)?, day(ends_on)?);
        if starts_on > ends_on || ends_on.year() - starts_on.year() > 1 {
            return Err(refused(
                "plan-year-dates",
                "the plan year must start before it ends, within about a year",
            ));
        }
        let py = PlanYear {
            year,
            starts_on,
            ends_on,
        };
        self.write(async |tx| -> Result<_> {
            reference::put_plan_year(tx, &py).await?;
            self.audit_by(
                tx,
                by.actor(),
                "program.plan_year_set",
                &format!("plan_year:{year}"),
                client,
                serde_json::json!({ "starts_on": starts_on.to_string(), "ends_on": ends_on.to_string() }),
            )
            .await
        })
        .await?;
        self.changed();
        Ok(())
    }

    /// Publishes a new version of one kind of terms (`agent_broker` or `hod`), in both languages.
    pub async fn publish_terms(
        &self,
        by: &OperatorSession,
        kind: &str,
        version: &str,
        title: (&str, &str),
        body: (&str, &str),
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        if !matches!(kind, "agent_broker" | "hod") {
            return Err(refused(
                "terms-kind",
                format!("{kind:?} is not a kind of terms"),
            ));
        }
        let version = version.trim();
        if version.is_empty()
            || version.len() > 20
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        {
            return Err(refused(
                "terms-version",
                format!("{version:?} is not a version (letters, digits, . and -)"),
            ));
        }
        let texts = [title.0.trim(), title.1.trim(), body.0.trim(), body.1.trim()];
        if texts.iter().any(|t| t.is_empty()) {
            return Err(refused(
                "terms-text",
                "the terms need a title and a text in English and in Spanish",
            ));
        }
        self.write(async |tx| -> Result<_> {
            let id = terms::publish(
                tx,
                &terms::NewTerms {
                    kind,
                    version,
                    title_en: texts[0],
                    title_es: texts[1],
                    body_en: texts[2],
                    body_es: texts[3],
                },
                self.now(),
            )
            .await
            .map_err(|e| match e {
                DbError::Conflict(what) => refused(
                    "terms-version-taken",
                    format!("{what} is already published"),
                ),
                e => e.into(),
            })?;
            self.audit_by(
                tx,
                by.actor(),
                "terms.published",
                &format!("terms:{kind}:{version}"),
                client,
                serde_json::json!({ "document": id }),
            )
            .await
        })
        .await?;
        self.changed();
        Ok(())
    }
}

impl App {
    /// From `from`, `state` is on the HealthCare.gov platform as `platform` (`None`: it
    /// leaves it, for a Marketplace of its own). Its current period ends the day before; a
    /// change must come after the current period began. Eligibility is worked out again.
    pub async fn set_state_platform(
        &self,
        by: &OperatorSession,
        state: &str,
        platform: &str,
        from: &str,
        client: Client<'_>,
    ) -> Result<()> {
        require_admin(by)?;
        let state = hod_domain::UsState::parse(state.trim())
            .map_err(|_| refused("state", format!("{state:?} is not a state")))?;
        let platform = match platform.trim() {
            "none" => None,
            p => Some(
                hod_domain::MarketplaceType::parse(p)
                    .ok_or_else(|| refused("state-platform", format!("{p:?} is not a platform")))?,
            ),
        };
        let from: Date = from
            .trim()
            .parse()
            .map_err(|_| refused("state-from", format!("{from:?} is not a date")))?;
        let periods = self.state_periods().await?;
        let current = periods
            .iter()
            .filter(|p| p.state == state)
            .max_by_key(|p| p.effective_from);
        if current
            .is_some_and(|p| p.effective_from >= from || p.effective_to.is_some_and(|to| to > from))
        {
            return Err(refused(
                "state-from",
                "the change must come after the state's last period began",
            ));
        }
        if platform.is_none() && current.is_none_or(|p| p.effective_to.is_some()) {
            return Err(refused(
                "state-platform",
                format!("{} is not on the platform", state.code()),
            ));
        }
        self.write(async |tx| -> Result<_> {
            reference::end_state_period(tx, state, from).await?;
            if let Some(m) = platform {
                reference::start_state_period(tx, state, m, from).await?;
            }
            self.audit_by(
                tx,
                by.actor(),
                "program.state_changed",
                &format!("state:{}", state.code()),
                client,
                serde_json::json!({ "platform": platform.map(|m| m.as_str()), "from": from.to_string() }),
            )
            .await
        })
        .await?;
        self.evaluate_eligibility(self.today()).await?;
        self.changed();
        Ok(())
    }
}
