//! The last eligibility verdict of each NPN for a plan year: what routing reads, refreshed
//! after every import and by the daily run.
use std::collections::HashMap;

use hod_domain::{Npn, UsState};
use jiff::civil::Date;

use crate::query::query;
use crate::sql::{batch_rows, insert_values_sql, parse_date};
use crate::{Db, DbError, Result, Tx, on_pool, to_millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVerdict {
    pub eligible: bool,
    pub states: Vec<UsState>,
    /// Sentences, as `hod eligibility show` prints them.
    pub reasons: Vec<String>,
    pub evaluated_on: Date,
}

impl StoredVerdict {
    /// Same outcome, whatever day it was worked out on.
    pub fn same_outcome(&self, other: &Self) -> bool {
        self.eligible == other.eligible
            && self.states == other.states
            && self.reasons == other.reasons
    }
}

type Row = (String, bool, String, String, String);

fn verdict(r: &Row) -> Result<(Npn, StoredVerdict)> {
    let corrupt = |e: String| DbError::Corrupt(e);
    let npn = Npn::parse(&r.0).map_err(|e| corrupt(e.to_string()))?;
    let states =
        r.2.split_whitespace()
            .map(|s| UsState::parse(s).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<_>>()?;
    let reasons = serde_json::from_str(&r.3).map_err(|e| corrupt(format!("reasons: {e}")))?;
    Ok((
        npn,
        StoredVerdict {
            eligible: r.1,
            states,
            reasons,
            evaluated_on: parse_date(&r.4)?,
        },
    ))
}

#[tracing::instrument(skip_all)]
pub async fn for_year(db: &Db, plan_year: i16) -> Result<HashMap<Npn, StoredVerdict>> {
    let rows: Vec<Row> = on_pool!(db, p => sqlx::query_as(
        "SELECT npn, eligible, states, reasons, evaluated_on FROM eligibility WHERE plan_year = $1"
    ).bind(i64::from(plan_year)).fetch_all(p).await)?;
    rows.iter().map(verdict).collect()
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, plan_year: i16, npn: &Npn) -> Result<Option<StoredVerdict>> {
    let row: Option<Row> = on_pool!(db, p => sqlx::query_as(
        "SELECT npn, eligible, states, reasons, evaluated_on FROM eligibility WHERE plan_year = $1 AND npn = $2"
    ).bind(i64::from(plan_year)).bind(npn.as_str()).fetch_optional(p).await)?;
    row.map(|r| verdict(&r).map(|(_, v)| v)).transpose()
}

/// Stores verdicts (insert or replace).
#[tracing::instrument(skip_all, fields(rows = rows.len()))]
pub async fn put(
    tx: &mut Tx,
    plan_year: i16,
    rows: &[(Npn, StoredVerdict)],
    now: jiff::Timestamp,
) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 7)) {
        let sql = insert_values_sql(
            "INSERT INTO eligibility (plan_year, npn, eligible, states, reasons, evaluated_on, changed_at) VALUES ",
            7,
            chunk.len(),
        ) + " ON CONFLICT (plan_year, npn) DO UPDATE SET eligible = excluded.eligible, states = excluded.states,
              reasons = excluded.reasons, evaluated_on = excluded.evaluated_on, changed_at = excluded.changed_at";
        {
            let mut q = query(sql);
            for (npn, v) in chunk {
                let states: Vec<&str> = v.states.iter().map(|s| s.code()).collect();
                q = q
                    .bind(i64::from(plan_year))
                    .bind(npn.as_str())
                    .bind(v.eligible)
                    .bind(states.join(" "))
                    .bind(serde_json::to_string(&v.reasons).expect("strings serialise"))
                    .bind(v.evaluated_on.to_string())
                    .bind(to_millis(now));
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}
