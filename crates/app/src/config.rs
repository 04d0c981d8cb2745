//! What every request reads of the program's configuration — settings, plan years, the state
//! table, the published terms — kept in memory. Triggers move a version in the database on
//! any change to them, from any node or process; each use reads that version (one small read
//! instead of four) and reloads when it moved.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hod_db::terms::TermsDoc;
use hod_db::{reference, settings, terms};
use hod_domain::PlanYear;
use hod_domain::program::StateTable;
use jiff::civil::Date;

use crate::program::ProgramToday;
use crate::settings::ProgramSettings;
use crate::{App, Result};

/// The configuration as of one version.
#[derive(Debug)]
pub(crate) struct Config {
    pub settings: HashMap<String, String>,
    pub plan_years: Vec<PlanYear>,
    pub states: StateTable,
    pub terms: Vec<TermsDoc>,
}

impl Config {
    pub fn program(&self) -> Result<ProgramSettings> {
        crate::settings::parse(&self.settings)
    }

    /// The program calendar on `day`.
    pub fn on(&self, day: Date) -> ProgramToday {
        ProgramToday {
            day,
            plan_year: PlanYear::find(&self.plan_years, day).copied(),
            states: self.states.states_on(day),
        }
    }

    /// The ids of the terms agents must have accepted.
    pub fn terms_ids(&self) -> Vec<i64> {
        self.terms.iter().map(|d| d.id).collect()
    }
}

/// This node's copy, with the version it was read at.
#[derive(Debug, Default)]
pub(crate) struct ConfigCache(Mutex<Option<(i64, Arc<Config>)>>);

impl App {
    /// The configuration now: the copy kept, unless the database's version moved.
    pub(crate) async fn config(&self) -> Result<Arc<Config>> {
        // The version first: what is read after it is at least as new, so a copy is never
        // labelled newer than it is.
        let version = reference::config_version(&self.db).await?;
        if let Some((kept, config)) = &*self.config.lock()
            && *kept == version
        {
            return Ok(config.clone());
        }
        let config = Arc::new(Config {
            settings: settings::all(&self.db).await?,
            plan_years: reference::plan_years(&self.db).await?,
            states: reference::state_table(&self.db).await?,
            terms: terms::current(&self.db).await?,
        });
        *self.config.lock() = Some((version, config.clone()));
        Ok(config)
    }
}

impl ConfigCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<Config>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
