//! Working out eligibility (SPEC.md §2) for one NPN or for everyone, storing the verdicts
//! routing reads, and inviting the newly eligible.
use hod_db::eligibility::{self as stored, StoredVerdict};
use hod_db::{agents, audit, cms, invitations, licences, terms};
use hod_domain::actor::Actor;
use hod_domain::eligibility::{Facts, ProgramOn, Verdict, evaluate};
use hod_domain::{Npn, PlanYear};
use jiff::civil::Date;
use serde::Serialize;

use crate::{App, AppError, Result};

/// What `hod eligibility show` prints (SPEC.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EligibilityReport {
    pub npn: String,
    pub plan_year: i16,
    pub eligible: bool,
    pub states: Vec<String>,
    pub reasons: Vec<String>,
    pub registration_complete: bool,
    /// The same reasons for pages: (locale id, values), worded in the reader's language.
    #[serde(skip)]
    pub explained: Vec<(&'static str, Vec<(&'static str, String)>)>,
}

/// What one run over everyone did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationSummary {
    pub plan_year: i16,
    pub day: Date,
    pub evaluated: usize,
    pub eligible: usize,
    pub became_eligible: usize,
    pub lost_eligibility: usize,
    pub invitations_sent: usize,
}

pub(crate) fn stored_verdict(npn: &Npn, py: i16, day: Date, v: &Verdict) -> StoredVerdict {
    StoredVerdict {
        eligible: v.eligible,
        states: v.states.clone(),
        reasons: v.reasons.iter().map(|r| r.sentence(npn, py, day)).collect(),
        evaluated_on: day,
    }
}

impl App {
    /// The configured plan year containing `day`.
    pub async fn plan_year_on(&self, day: Date) -> Result<Option<PlanYear>> {
        Ok(PlanYear::find(&self.config().await?.plan_years, day).copied())
    }

    async fn require_plan_year(&self, day: Date) -> Result<PlanYear> {
        self.plan_year_on(day).await?.ok_or_else(|| {
            AppError::Invalid(format!(
                "no plan year is set up for {day}; an administrator adds plan years in the program settings"
            ))
        })
    }

    /// The verdict of each of `npns` on `day` (in plan year `py`), worked out from what the
    /// files say now, with the agent record when MLMS introduced the NPN.
    pub(crate) async fn judge(
        &self,
        py: &PlanYear,
        day: Date,
        npns: &[Npn],
    ) -> Result<Vec<(Verdict, Option<agents::AgentRow>)>> {
        let facts = cms::year_facts(&self.db, py.year, npns).await?;
        let lic = licences::for_npns(&self.db, npns).await?;
        let mut known = agents::for_npns(&self.db, npns).await?;
        let config = self.config().await?;
        let states = &config.states;
        let loas = cms::valid_loas(&self.db).await?;
        let current_terms = config.terms_ids();
        let registered: Vec<i64> = known
            .values()
            .filter(|a| a.registered_at.is_some())
            .map(|a| a.id)
            .collect();
        let accepted = terms::accepted_all(&self.db, &registered, &current_terms).await?;
        let program = ProgramOn {
            day,
            plan_year: py,
            states,
            valid_loas: &loas,
        };
        Ok(npns
            .iter()
            .map(|npn| {
                let agent = known.remove(npn);
                let verdict = evaluate(
                    &Facts {
                        npn,
                        rcl: facts.rcl.get(npn),
                        mlms: facts.mlms.get(npn),
                        events: facts.events.get(npn).map_or(&[][..], Vec::as_slice),
                        licenses: lic.get(npn).map_or(&[][..], Vec::as_slice),
                        registered: agent.as_ref().is_some_and(|a| a.registered_at.is_some()),
                        terms_accepted: agent.as_ref().is_some_and(|a| accepted.contains(&a.id)),
                    },
                    &program,
                );
                (verdict, agent)
            })
            .collect())
    }

    /// Eligibility of one NPN on `day`, worked out now from what the files say.
    pub async fn eligibility_of(&self, npn: &Npn, day: Date) -> Result<EligibilityReport> {
        let py = self.require_plan_year(day).await?;
        let (verdict, _) = self
            .judge(&py, day, std::slice::from_ref(npn))
            .await?
            .pop()
            .expect("one verdict per NPN");
        Ok(EligibilityReport {
            npn: npn.to_string(),
            plan_year: py.year,
            eligible: verdict.eligible,
            states: verdict.states.iter().map(|s| s.code().to_owned()).collect(),
            reasons: verdict
                .reasons
                .iter()
                .map(|r| r.sentence(npn, py.year, day))
                .collect(),
            explained: verdict
                .reasons
                .iter()
                .map(|r| (r.id(), r.args(npn, py.year, day)))
                .collect(),
            registration_complete: verdict.registration_complete,
        })
    }

    /// Re-evaluates everyone for the plan year of `day`, stores what changed and sends the
    /// invitations that are due, in one transaction. `None` when no plan year contains `day`.
    #[tracing::instrument(skip_all, fields(%day))]
    pub async fn evaluate_eligibility(&self, day: Date) -> Result<Option<EvaluationSummary>> {
        let Some(py) = self.plan_year_on(day).await? else {
            tracing::warn!(%day, "no plan year contains this day; eligibility not evaluated");
            return Ok(None);
        };
        let before = stored::for_year(&self.db, py.year).await?;
        let mut npns = cms::candidates(&self.db, py.year).await?;
        npns.extend(before.keys().cloned());
        npns.sort();
        npns.dedup();
        let invited = invitations::invited_npns(&self.db, py.year).await?;

        let mut summary = EvaluationSummary {
            plan_year: py.year,
            day,
            evaluated: npns.len(),
            eligible: 0,
            became_eligible: 0,
            lost_eligibility: 0,
            invitations_sent: 0,
        };
        let mut changed = Vec::new();
        let mut gained_or_lost = Vec::new();
        let mut due = Vec::new();
        // A few thousand at a time: what the files say of everyone at once would take
        // hundreds of megabytes in a national program, and only the verdicts are kept.
        for chunk in npns.chunks(JUDGED_AT_ONCE) {
            let judged = self.judge(&py, day, chunk).await?;
            for (npn, (verdict, agent)) in chunk.iter().zip(judged) {
                let fresh = stored_verdict(npn, py.year, day, &verdict);
                let was_eligible = before.get(npn).is_some_and(|b| b.eligible);
                if fresh.eligible {
                    summary.eligible += 1;
                }
                if fresh.eligible != was_eligible {
                    gained_or_lost.push((npn, fresh.eligible));
                    if fresh.eligible {
                        summary.became_eligible += 1;
                    } else {
                        summary.lost_eligibility += 1;
                    }
                }
                if verdict.eligible
                    && !verdict.registration_complete
                    && !invited.contains(npn.as_str())
                {
                    match agent {
                        Some(a) => due.push(a),
                        None => tracing::warn!(%npn, "eligible but no MLMS profile to invite"),
                    }
                }
                if before.get(npn).is_none_or(|b| !b.same_outcome(&fresh)) {
                    changed.push((npn.clone(), fresh));
                }
            }
        }

        let now = self.now();
        self.write(async |tx| -> Result<_> {
            stored::put(tx, py.year, &changed, now).await?;
            let subjects: Vec<String> = gained_or_lost
                .iter()
                .map(|(npn, _)| format!("npn:{npn}"))
                .collect();
            let detail = serde_json::json!({ "plan_year": py.year, "day": day.to_string() });
            let entries: Vec<audit::Entry<'_>> = gained_or_lost
                .iter()
                .zip(&subjects)
                .map(|((_, eligible), subject)| audit::Entry {
                    actor: Actor::System,
                    action: if *eligible {
                        "eligibility.gained"
                    } else {
                        "eligibility.lost"
                    },
                    subject,
                    ip: None,
                    detail: detail.clone(),
                })
                .collect();
            audit::append_all(tx, &entries, now).await?;
            for agent in &due {
                if self.send_invitation(tx, agent, py.year, None).await? {
                    summary.invitations_sent += 1;
                }
            }
            Ok(())
        })
        .await?;
        tracing::info!(?summary, "eligibility evaluated");
        Ok(Some(summary))
    }
}

/// How many NPNs an evaluation judges at a time.
const JUDGED_AT_ONCE: usize = 5_000;

/// The scheduled job that re-evaluates everyone once a day, on one node.
pub const DAILY_JOB: &str = "eligibility.daily";

/// What a node's look at the daily job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DailyRun {
    /// Another node has it, or it already ran today.
    NotDue,
    /// It ran, but no plan year contains today.
    NoPlanYear,
    Ran(EvaluationSummary),
}

impl App {
    /// Runs the daily evaluation if no node has run it yet today (program time zone).
    pub async fn run_daily_eligibility(&self, node: &str) -> Result<DailyRun> {
        let now = self.now();
        let today = self.today();
        let start_of_day = today
            .to_zoned(self.settings.program_time_zone.clone())
            .map_err(|e| AppError::Other(e.into()))?
            .timestamp();
        let mine = self
            .write(async |tx| -> Result<_> {
                let mine = hod_db::jobs::try_lease_if_not_run_since(
                    tx,
                    DAILY_JOB,
                    node,
                    now,
                    now + jiff::SignedDuration::from_mins(30),
                    start_of_day,
                )
                .await?;
                Ok(mine)
            })
            .await?;
        if !mine {
            return Ok(DailyRun::NotDue);
        }
        let summary = self.evaluate_eligibility(today).await?;
        self.write(async |tx| -> Result<_> {
            // Housekeeping that needs no more than once a day: partners' expired Idempotency-Keys.
            hod_db::referrals::purge_idempotency_keys(tx, self.now()).await?;
            hod_db::jobs::finish(tx, DAILY_JOB, node, self.now()).await?;
            Ok(())
        })
        .await?;
        Ok(summary.map_or(DailyRun::NoPlanYear, DailyRun::Ran))
    }
}
