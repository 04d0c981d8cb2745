//! `hod generate`: a synthetic program in the configured database, for load tests and the
//! simulator. Agents are drawn like the simulator's (the shares of
//! `data/scenarios/open-enrollment-peak.toml`) and go through the real importers, so their
//! eligibility is the rules' own verdict; their accounts are written in bulk.
use std::collections::HashMap;
use std::fmt::Write as _;

use hod_db::generated::{self, GeneratedAccount, GeneratedReferral};
use hod_domain::actor::Actor;
use hod_domain::simulation::{Scenario, SyntheticAgent, history, population};
use jiff::SignedDuration;

use crate::import::{ImportKind, ImportOptions, Source};
use crate::{App, AppError, Result};

/// Every generated agent's password (usernames are `gen1`, `gen2`, …).
pub const GENERATED_PASSWORD: &str = "Generated-Agent-Pass-1";

/// Whose shares the generated program follows.
const POPULATION: &str = include_str!("../../../data/scenarios/open-enrollment-peak.toml");

/// Accounts or referrals written per transaction.
const ROWS_PER_WRITE: usize = 2_000;

/// How far back the generated referrals go.
const HISTORY_DAYS: u32 = 90;

const FIRST_NAMES: [&str; 24] = [
    "Ana", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hector", "Irene", "James", "Karen",
    "Luis", "Maria", "Nathan", "Olivia", "Pedro", "Rosa", "Samuel", "Tina", "Victor", "Wendy",
    "Yara", "Zoe", "Minh",
];
const LAST_NAMES: [&str; 16] = [
    "Garcia",
    "Smith",
    "Nguyen",
    "Johnson",
    "Lopez",
    "Williams",
    "Brown",
    "Martinez",
    "Davis",
    "Rodriguez",
    "Kim",
    "Patel",
    "Chen",
    "Wilson",
    "Perez",
    "Lee",
];

/// What `hod generate` made.
#[derive(Debug)]
pub struct Generated {
    pub agents: usize,
    pub referrals: usize,
    pub plan_year: i16,
    /// Agents the rules found eligible (all of them, unless the program's data says otherwise).
    pub eligible: usize,
}

fn npn(i: usize) -> String {
    format!("9{:09}", i + 1)
}

impl App {
    /// Loads `agents` eligible, registered, green agents and `referrals` past referrals
    /// (the last 90 days), drawn with `seed`, into an empty program.
    pub async fn generate(&self, agents: u32, referrals: u32, seed: u64) -> Result<Generated> {
        if agents == 0 {
            return Err(AppError::Invalid("--agents: at least 1".into()));
        }
        let existing = generated::agent_ids(&self.db).await?.len();
        if existing > 0 {
            return Err(AppError::Invalid(format!(
                "the database already has {existing} agents; generate into a new one (--database-url sqlite://new.sqlite)"
            )));
        }
        let scenario: Scenario = toml::from_str(POPULATION)
            .map_err(|e| AppError::Other(anyhow::anyhow!("the bundled population: {e}")))?;
        let people = population(&scenario, agents, seed)
            .map_err(|e| AppError::Other(anyhow::anyhow!("the bundled population: {e}")))?;
        let plan_year = self.current_plan_year_or_standard().await?;
        let (py, last) = (plan_year.year, plan_year.year - 1);

        // Course completions first: they make the agents. Then their accounts, then the
        // registration list and licences that make them eligible: nobody is invited.
        let mut mlms =
            String::from("NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date\n");
        for i in 0..people.len() {
            let (first, family) = (
                FIRST_NAMES[i % FIRST_NAMES.len()],
                LAST_NAMES[(i / 7) % LAST_NAMES.len()],
            );
            let _ = writeln!(
                mlms,
                "{},{first},{family},gen{}@generated.invalid,{py},10/01/{last}",
                npn(i),
                i + 1
            );
        }
        self.import_generated(ImportKind::Mlms, mlms).await?;
        let ids: HashMap<String, i64> = generated::agent_ids(&self.db)
            .await?
            .into_iter()
            .map(|(id, npn)| (npn, id))
            .collect();
        self.register_generated(&people, &ids).await?;
        let mut rcl = String::from(
            "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,SHOP Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n",
        );
        let mut nipr = String::from(
            "NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date\n",
        );
        for (i, p) in people.iter().enumerate() {
            let n = npn(i);
            let _ = writeln!(rcl, "{n},{py},09/02/{last},10/31/{py},,,Y");
            for (k, st) in p.states.iter().enumerate() {
                let residency = if k == 0 { "Resident" } else { "Non-Resident" };
                let _ = writeln!(
                    nipr,
                    "{n},{st},{st}-{n},Insurance Producer,{residency},Yes,,Accident & Health,14,Active,",
                    st = st.code()
                );
            }
        }
        self.import_generated(ImportKind::Rcl, rcl).await?;
        self.import_generated(ImportKind::Nipr, nipr).await?;
        let eligible = hod_db::eligibility::for_year(&self.db, py)
            .await?
            .values()
            .filter(|v| v.eligible)
            .count();
        let referrals = self
            .generate_history(&people, &ids, referrals, py, seed)
            .await?;
        Ok(Generated {
            agents: people.len(),
            referrals,
            plan_year: py,
            eligible,
        })
    }

    async fn generate_history(
        &self,
        people: &[SyntheticAgent],
        ids: &HashMap<String, i64>,
        count: u32,
        plan_year: i16,
        seed: u64,
    ) -> Result<usize> {
        let now = self.now();
        let rows: Vec<GeneratedReferral> = history(people, count, HISTORY_DAYS, seed)
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let created_at = now - SignedDuration::from_secs(h.age_secs);
                GeneratedReferral {
                    plan_year,
                    status: h.status,
                    zip: h.zip.zip.to_string(),
                    city: h.zip.city,
                    state: h.zip.state.code(),
                    language: h.language,
                    first_name: FIRST_NAMES[(i / 3) % FIRST_NAMES.len()],
                    last_name: LAST_NAMES[i % LAST_NAMES.len()],
                    phone: format!("+1305555{:04}", i % 10_000),
                    consent_version: crate::referrals::CONSENT_VERSION,
                    person_key: format!("generated-{seed}-{i}"),
                    created_at,
                    accepted: h.accepted_after_secs.and_then(|after| {
                        let agent = *ids.get(&npn(h.agent))?;
                        Some((agent, created_at + SignedDuration::from_secs(after)))
                    }),
                }
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_WRITE) {
            self.write(async |tx| generated::insert_referrals(tx, chunk).await)
                .await?;
        }
        Ok(rows.len())
    }

    async fn import_generated(&self, kind: ImportKind, text: String) -> Result<()> {
        let source = Source {
            name: format!("generated {}", kind.as_str()),
            reader: Box::new(std::io::Cursor::new(text.into_bytes())),
        };
        let opts = ImportOptions {
            actor: Actor::Cli,
            ..ImportOptions::default()
        };
        let report = self.import(kind, source, opts).await?;
        if let Some(r) = report.rejected.first() {
            return Err(AppError::Other(anyhow::anyhow!(
                "generated {} line {}: {}",
                kind.as_str(),
                r.line,
                r.reason
            )));
        }
        Ok(())
    }

    /// `ids`: agent id by NPN.
    async fn register_generated(
        &self,
        people: &[SyntheticAgent],
        ids: &HashMap<String, i64>,
    ) -> Result<()> {
        let hash = crate::passwords::hash(GENERATED_PASSWORD).await?;
        let terms: Vec<i64> = hod_db::terms::current(&self.db)
            .await?
            .iter()
            .map(|d| d.id)
            .collect();
        let accounts: Vec<GeneratedAccount> = people
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let agent_id = *ids.get(&npn(i))?;
                let (from, to) = p.hours;
                Some(GeneratedAccount {
                    agent_id,
                    username: format!("gen{}", i + 1),
                    phone: format!("+1512555{:04}", i % 10_000),
                    zip: p.zip.to_string(),
                    time_zone: p.time_zone.to_owned(),
                    languages: p.languages.clone(),
                    states: p.states.iter().map(|s| s.code().to_owned()).collect(),
                    hours: (0..7)
                        .map(|day| (day, format!("{from:02}:00"), format!("{to:02}:00")))
                        .collect(),
                })
            })
            .collect();
        let now = self.now();
        for chunk in accounts.chunks(ROWS_PER_WRITE) {
            self.write(async |tx| generated::register(tx, chunk, &hash, &terms, now).await)
                .await?;
        }
        Ok(())
    }
}
