//! The program calendar as of today.
use hod_domain::{MarketplaceType, PlanYear, UsState};
use jiff::civil::Date;

use crate::{App, Result};

#[derive(Debug, Clone)]
pub struct ProgramToday {
    pub day: Date,
    /// The configured plan year containing today, if administrators have set one up.
    pub plan_year: Option<PlanYear>,
    /// States on the HealthCare.gov platform today.
    pub states: Vec<(UsState, MarketplaceType)>,
}

impl App {
    /// Today's date in the program's time zone.
    pub fn today(&self) -> Date {
        self.now()
            .to_zoned(self.settings.program_time_zone.clone())
            .date()
    }

    pub async fn program_today(&self) -> Result<ProgramToday> {
        Ok(self.config().await?.on(self.today()))
    }
}
