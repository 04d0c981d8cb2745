//! What the CMS files say: Registration Completion List rows, MLMS course rows, Suspension
//! and Termination List events, and the valid-LOA table. Writes come in batches from the
//! importers; a batch may repeat a key (the later row wins).
use std::collections::{HashMap, HashSet};

use hod_domain::eligibility::{
    ListStatus, Marketplaces, MlmsEntry, NpnValid, RclEntry, StatusEvent,
};
use hod_domain::licence::loa_key;
use hod_domain::{Npn, UsState, ValidLoas};
use sqlx::AssertSqlSafe;

use crate::query::query;
use crate::sql::{
    batch_rows, date_text, insert_values_sql, parse_date, parse_opt_date, placeholder_list,
};
use crate::{Db, DbError, Result, Tx, on_pool, to_millis};

/// Keeps the last of the items sharing a key, in their original order.
fn last_per_key<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut seen = HashSet::new();
    let mut kept: Vec<&T> = items.iter().rev().filter(|i| seen.insert(key(i))).collect();
    kept.reverse();
    kept
}

fn npn_of(s: &str) -> Result<Npn> {
    Npn::parse(s).map_err(|e| DbError::Corrupt(e.to_string()))
}

#[tracing::instrument(skip_all, fields(rows = rows.len()))]
pub async fn upsert_rcl(tx: &mut Tx, rows: &[RclEntry]) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 7)) {
        let chunk = last_per_key(chunk, |r| (r.plan_year, r.npn.clone()));
        let sql = insert_values_sql(
            "INSERT INTO rcl_entries (plan_year, npn, individual_completed_on, individual_end_on, shop_completed_on, shop_end_on, npn_valid) VALUES ",
            7,
            chunk.len(),
        ) + " ON CONFLICT (plan_year, npn) DO UPDATE SET individual_completed_on = excluded.individual_completed_on,
              individual_end_on = excluded.individual_end_on, shop_completed_on = excluded.shop_completed_on,
              shop_end_on = excluded.shop_end_on, npn_valid = excluded.npn_valid";
        {
            let mut q = query(sql);
            for r in &chunk {
                q = q
                    .bind(i64::from(r.plan_year))
                    .bind(r.npn.as_str())
                    .bind(date_text(r.individual_completed_on))
                    .bind(date_text(r.individual_end_on))
                    .bind(date_text(r.shop_completed_on))
                    .bind(date_text(r.shop_end_on))
                    .bind(r.npn_valid.as_str());
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// Stores course rows and refreshes the agents' names and emails from them: the row of the
/// latest plan year wins.
#[tracing::instrument(skip_all, fields(rows = rows.len()))]
pub async fn upsert_mlms(tx: &mut Tx, rows: &[MlmsEntry], now: jiff::Timestamp) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 7)) {
        let entries = last_per_key(chunk, |r| (r.plan_year, r.npn.clone()));
        let sql = insert_values_sql(
            "INSERT INTO mlms_entries (plan_year, npn, first_name, last_name, email, course_completed_on) VALUES ",
            6,
            entries.len(),
        ) + " ON CONFLICT (plan_year, npn) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
              email = excluded.email, course_completed_on = excluded.course_completed_on";
        {
            let mut q = query(sql);
            for r in &entries {
                q = q
                    .bind(i64::from(r.plan_year))
                    .bind(r.npn.as_str())
                    .bind(&r.first_name)
                    .bind(&r.last_name)
                    .bind(&r.email)
                    .bind(date_text(r.course_completed_on));
            }
            q.execute(tx).await?;
        };

        let mut latest: HashMap<&Npn, &MlmsEntry> = HashMap::new();
        for r in &entries {
            let e = latest.entry(&r.npn).or_insert(r);
            if r.plan_year >= e.plan_year {
                *e = r;
            }
        }
        let profiles: Vec<&MlmsEntry> = entries
            .iter()
            .copied()
            .filter(|r| std::ptr::eq(*r, latest[&r.npn]))
            .collect();
        let sql = insert_values_sql(
            "INSERT INTO agents (npn, first_name, last_name, email, profile_plan_year, created_at, updated_at) VALUES ",
            7,
            profiles.len(),
        ) + " ON CONFLICT (npn) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
              email = excluded.email, profile_plan_year = excluded.profile_plan_year, updated_at = excluded.updated_at
              WHERE agents.profile_plan_year IS NULL OR agents.profile_plan_year <= excluded.profile_plan_year";
        let now_ms = to_millis(now);
        {
            let mut q = query(sql);
            for r in &profiles {
                q = q
                    .bind(r.npn.as_str())
                    .bind(&r.first_name)
                    .bind(&r.last_name)
                    .bind(&r.email)
                    .bind(i64::from(r.plan_year))
                    .bind(now_ms)
                    .bind(now_ms);
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// Adds list events; an event already stored (same NPN, plan year, status, marketplaces and
/// date) is kept as it is.
#[tracing::instrument(skip_all, fields(rows = rows.len()))]
pub async fn insert_status_events(tx: &mut Tx, rows: &[StatusEvent]) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 6)) {
        let sql = insert_values_sql(
            "INSERT INTO status_events (npn, status, marketplaces, plan_year, registration_completed_on, effective_on) VALUES ",
            6,
            chunk.len(),
        ) + " ON CONFLICT DO NOTHING";
        {
            let mut q = query(sql);
            for r in chunk {
                q = q
                    .bind(r.npn.as_str())
                    .bind(r.status.to_string())
                    .bind(r.marketplaces.as_str())
                    .bind(i64::from(r.plan_year))
                    .bind(date_text(r.registration_completed_on))
                    .bind(r.effective_on.to_string());
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// One row of the valid-LOA table; `state` `None` is `*` (every state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLoaRow {
    pub state: Option<UsState>,
    pub loa: String,
}

/// Empties the valid-LOA table (an imported table replaces the whole of it).
#[tracing::instrument(skip_all)]
pub async fn clear_valid_loas(tx: &mut Tx) -> Result<()> {
    query("DELETE FROM valid_loas").execute(tx).await?;
    Ok(())
}

/// Adds rows to the valid-LOA table; a name already there for the state is kept once.
#[tracing::instrument(skip_all, fields(rows = rows.len()))]
pub async fn add_valid_loas(tx: &mut Tx, rows: &[ValidLoaRow]) -> Result<()> {
    for chunk in rows.chunks(batch_rows(tx.backend(), 3)) {
        let chunk = last_per_key(chunk, |r| (r.state, loa_key(&r.loa)));
        let sql = insert_values_sql(
            "INSERT INTO valid_loas (state, loa, loa_key) VALUES ",
            3,
            chunk.len(),
        ) + " ON CONFLICT (state, loa_key) DO UPDATE SET loa = excluded.loa";
        {
            let mut q = query(sql);
            for r in &chunk {
                q = q
                    .bind(r.state.map_or("*", |s| s.code()))
                    .bind(r.loa.trim())
                    .bind(loa_key(&r.loa));
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn valid_loa_rows(db: &Db) -> Result<Vec<ValidLoaRow>> {
    let rows: Vec<(String, String)> = on_pool!(db, p => sqlx::query_as(
        "SELECT state, loa FROM valid_loas ORDER BY state, loa_key"
    ).fetch_all(p).await)?;
    rows.into_iter()
        .map(|(state, loa)| {
            let state = match state.as_str() {
                "*" => None,
                s => Some(UsState::parse(s).map_err(|e| DbError::Corrupt(e.to_string()))?),
            };
            Ok(ValidLoaRow { state, loa })
        })
        .collect()
}

pub async fn valid_loas(db: &Db) -> Result<ValidLoas> {
    let mut table = ValidLoas::default();
    for r in valid_loa_rows(db).await? {
        table.insert(r.state, &r.loa);
    }
    Ok(table)
}

type RclRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);
type MlmsRow = (i64, String, String, String, String, Option<String>);
type EventRow = (String, String, String, i64, Option<String>, String);

fn year(y: i64) -> Result<i16> {
    i16::try_from(y).map_err(|_| DbError::Corrupt(format!("plan year {y}")))
}

fn rcl_entry(r: &RclRow) -> Result<RclEntry> {
    Ok(RclEntry {
        plan_year: year(r.0)?,
        npn: npn_of(&r.1)?,
        individual_completed_on: parse_opt_date(r.2.as_deref())?,
        individual_end_on: parse_opt_date(r.3.as_deref())?,
        shop_completed_on: parse_opt_date(r.4.as_deref())?,
        shop_end_on: parse_opt_date(r.5.as_deref())?,
        npn_valid: NpnValid::parse(&r.6)
            .ok_or_else(|| DbError::Corrupt(format!("NPN valid {:?}", r.6)))?,
    })
}

fn mlms_entry(r: MlmsRow) -> Result<MlmsEntry> {
    Ok(MlmsEntry {
        plan_year: year(r.0)?,
        npn: npn_of(&r.1)?,
        first_name: r.2,
        last_name: r.3,
        email: r.4,
        course_completed_on: parse_opt_date(r.5.as_deref())?,
    })
}

fn status_event(r: &EventRow) -> Result<StatusEvent> {
    Ok(StatusEvent {
        npn: npn_of(&r.0)?,
        status: ListStatus::parse(&r.1)
            .ok_or_else(|| DbError::Corrupt(format!("status {:?}", r.1)))?,
        marketplaces: Marketplaces::parse(&r.2)
            .ok_or_else(|| DbError::Corrupt(format!("marketplaces {:?}", r.2)))?,
        plan_year: year(r.3)?,
        registration_completed_on: parse_opt_date(r.4.as_deref())?,
        effective_on: parse_date(&r.5)?,
    })
}

/// What the files say of some NPNs for one plan year.
#[derive(Debug, Default)]
pub struct YearFacts {
    pub rcl: HashMap<Npn, RclEntry>,
    pub mlms: HashMap<Npn, MlmsEntry>,
    pub events: HashMap<Npn, Vec<StatusEvent>>,
}

/// Loads the RCL row, MLMS row and list events of `npns` for `plan_year`.
#[tracing::instrument(skip_all, fields(npns = npns.len()))]
pub async fn year_facts(db: &Db, plan_year: i16, npns: &[Npn]) -> Result<YearFacts> {
    let mut facts = YearFacts::default();
    for chunk in npns.chunks(batch_rows(db.backend(), 1)) {
        let list = placeholder_list(2, chunk.len());
        let rcl_sql = format!(
            "SELECT plan_year, npn, individual_completed_on, individual_end_on, shop_completed_on, shop_end_on, npn_valid
             FROM rcl_entries WHERE plan_year = $1 AND npn IN ({list})"
        );
        let mlms_sql = format!(
            "SELECT plan_year, npn, first_name, last_name, email, course_completed_on
             FROM mlms_entries WHERE plan_year = $1 AND npn IN ({list})"
        );
        let events_sql = format!(
            "SELECT npn, status, marketplaces, plan_year, registration_completed_on, effective_on
             FROM status_events WHERE plan_year = $1 AND npn IN ({list}) ORDER BY id"
        );
        let (rcl, mlms, events): (Vec<RclRow>, Vec<MlmsRow>, Vec<EventRow>) = on_pool!(db, p => {
            let mut a = sqlx::query_as(AssertSqlSafe(rcl_sql)).bind(i64::from(plan_year));
            let mut b = sqlx::query_as(AssertSqlSafe(mlms_sql)).bind(i64::from(plan_year));
            let mut e = sqlx::query_as(AssertSqlSafe(events_sql)).bind(i64::from(plan_year));
            for n in chunk {
                a = a.bind(n.as_str());
                b = b.bind(n.as_str());
                e = e.bind(n.as_str());
            }
            (a.fetch_all(p).await?, b.fetch_all(p).await?, e.fetch_all(p).await?)
        });
        for r in rcl {
            let e = rcl_entry(&r)?;
            facts.rcl.insert(e.npn.clone(), e);
        }
        for r in mlms {
            let e = mlms_entry(r)?;
            facts.mlms.insert(e.npn.clone(), e);
        }
        for r in events {
            let e = status_event(&r)?;
            facts.events.entry(e.npn.clone()).or_default().push(e);
        }
    }
    Ok(facts)
}

/// NPNs that may be eligible for `plan_year`: on both the RCL and the MLMS file for it.
#[tracing::instrument(skip_all)]
pub async fn candidates(db: &Db, plan_year: i16) -> Result<Vec<Npn>> {
    let rows: Vec<String> = on_pool!(db, p => sqlx::query_scalar(
        "SELECT r.npn FROM rcl_entries r JOIN mlms_entries m ON m.plan_year = r.plan_year AND m.npn = r.npn
         WHERE r.plan_year = $1 ORDER BY r.npn"
    ).bind(i64::from(plan_year)).fetch_all(p).await)?;
    rows.iter().map(|s| npn_of(s)).collect()
}
