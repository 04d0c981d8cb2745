//! The terms gate (SPEC.md §3): the agent reads and accepts the current Agent/Broker and Help
//! On Demand Terms of Use, or declines them and stays incomplete (no referrals).
use hod_db::terms;
pub use hod_db::terms::TermsDoc;
use hod_db::{agents, eligibility as stored};
use hod_domain::Npn;

use crate::auth::Client;
use crate::eligibility::stored_verdict;
use crate::{App, AppError, Result};

/// The current documents, each with whether the agent accepted it.
#[derive(Debug, Clone)]
pub struct TermsState {
    pub documents: Vec<(TermsDoc, bool)>,
    /// The agent declined (and has not accepted since).
    pub declined: bool,
}

impl TermsState {
    pub fn complete(&self) -> bool {
        self.documents.iter().all(|(_, accepted)| *accepted)
    }
}

impl App {
    /// The terms of use in force, as anyone may read them.
    pub async fn current_terms(&self) -> Result<Vec<TermsDoc>> {
        Ok(self.config().await?.terms.clone())
    }

    pub async fn terms_for(&self, agent_id: i64) -> Result<TermsState> {
        let current = terms::current(&self.db).await?;
        let accepted = terms::accepted(&self.db, agent_id).await?;
        let declined = terms::declined_at(&self.db, agent_id).await?.is_some();
        Ok(TermsState {
            documents: current
                .into_iter()
                .map(|d| {
                    let ok = accepted.contains(&d.id);
                    (d, ok)
                })
                .collect(),
            declined,
        })
    }

    /// Accepts the current versions, named as `agent_broker:1`; if the agent read other
    /// versions (a new one was published meanwhile) nothing is accepted.
    pub async fn accept_terms(&self, agent_id: i64, versions: &[String]) -> Result<()> {
        let current = terms::current(&self.db).await?;
        let mut wanted: Vec<String> = current.iter().map(TermsDoc::label).collect();
        let mut given: Vec<String> = versions.iter().map(|v| v.trim().to_owned()).collect();
        wanted.sort();
        given.sort();
        given.dedup();
        if wanted != given {
            return Err(AppError::Conflict(format!(
                "the current terms are {}; read and accept those",
                wanted.join(", ")
            )));
        }
        let now = self.now();
        let ids: Vec<i64> = current.iter().map(|d| d.id).collect();
        self.write(async |tx| -> Result<_> {
            terms::accept(tx, agent_id, &ids, now).await?;
            self.audit(
                tx,
                agent_id,
                "agent.terms_accepted",
                Client::default(),
                serde_json::json!({ "versions": wanted }),
            )
            .await?;
            Ok(())
        })
        .await?;
        self.refresh_eligibility_of_agent(agent_id).await
    }

    pub async fn decline_terms(&self, agent_id: i64) -> Result<()> {
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            terms::decline(tx, agent_id, now).await?;
            self.audit(
                tx,
                agent_id,
                "agent.terms_declined",
                Client::default(),
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Stores today's verdict for one agent at once (after registration or the terms), so
    /// that routing and the help desk see the change without waiting for the daily run.
    pub async fn refresh_eligibility_of_agent(&self, agent_id: i64) -> Result<()> {
        let Some(agent) = agents::find_by_id(&self.db, agent_id).await? else {
            return Ok(());
        };
        let npn = Npn::parse(&agent.npn).map_err(|e| AppError::Other(e.into()))?;
        let day = self.today();
        let Some(py) = self.plan_year_on(day).await? else {
            return Ok(());
        };
        let (verdict, _) = self
            .judge(&py, day, std::slice::from_ref(&npn))
            .await?
            .pop()
            .expect("one verdict");
        self.write(async |tx| -> Result<_> {
            stored::put(
                tx,
                py.year,
                &[(npn.clone(), stored_verdict(&npn, py.year, day, &verdict))],
                self.now(),
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}
