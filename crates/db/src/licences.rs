//! State licences from NIPR, keyed by NPN (the data arrives before an agent has an account).
use std::collections::HashMap;

use hod_domain::{License, LineOfAuthority, Npn, UsState};
use sqlx::AssertSqlSafe;

use crate::sql::{batch_rows, date_text, parse_opt_date, placeholder_list};
use crate::{Db, DbError, Result, Tx, conflict_as, execute, on_pool, on_tx};

/// Forgets every licence of `npn` (a NIPR import replaces what was known for its NPNs).
#[tracing::instrument(skip_all)]
pub async fn delete_for(tx: &mut Tx, npn: &Npn) -> Result<()> {
    execute!(
        tx,
        sqlx::query("DELETE FROM agent_licenses WHERE npn = $1").bind(npn.as_str())
    )?;
    Ok(())
}

/// Adds licences of `npn`; a licence already stored (same state and number) gets the new
/// values and lines of authority added to its own (same LOA name: the new one wins).
#[tracing::instrument(skip_all)]
pub async fn add(tx: &mut Tx, npn: &Npn, licenses: &[License]) -> Result<()> {
    on_tx!(tx, c => {
        for l in licenses {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO agent_licenses (npn, state, license_number, license_class, residency, active, expires_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (npn, state, license_number) DO UPDATE SET license_class = excluded.license_class,
                     residency = excluded.residency, active = excluded.active, expires_on = excluded.expires_on
                 RETURNING id",
            )
            .bind(npn.as_str())
            .bind(l.state.code())
            .bind(&l.license_number)
            .bind(&l.license_class)
            .bind(if l.resident { "resident" } else { "non_resident" })
            .bind(l.active)
            .bind(date_text(l.expires_on))
            .fetch_one(&mut *c)
            .await
            .map_err(conflict_as(format!("licence {} in {} for NPN {npn}", l.license_number, l.state)))?;
            for loa in &l.loas {
                sqlx::query(
                    "INSERT INTO agent_license_loas (license_id, loa, loa_code, active, status_date) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (license_id, loa) DO UPDATE SET loa_code = excluded.loa_code, active = excluded.active,
                         status_date = excluded.status_date",
                )
                .bind(id)
                .bind(&loa.loa)
                .bind(&loa.loa_code)
                .bind(loa.active)
                .bind(date_text(loa.status_date))
                .execute(&mut *c)
                .await?;
            }
        }
    });
    Ok(())
}

/// Replaces everything known of one NPN's licences.
pub async fn replace(tx: &mut Tx, npn: &Npn, licenses: &[License]) -> Result<()> {
    delete_for(tx, npn).await?;
    add(tx, npn, licenses).await
}

type Row = (
    String,
    i64,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
);

/// The licences of each of `npns` (NPNs without any are absent from the map).
#[tracing::instrument(skip_all, fields(npns = npns.len()))]
pub async fn for_npns(db: &Db, npns: &[Npn]) -> Result<HashMap<Npn, Vec<License>>> {
    let mut out: HashMap<Npn, Vec<License>> = HashMap::new();
    for chunk in npns.chunks(batch_rows(db.backend(), 1)) {
        let sql = format!(
            "SELECT l.npn, l.id, l.state, l.license_number, l.license_class, l.residency, l.active, l.expires_on,
                    a.loa, a.loa_code, a.active, a.status_date
             FROM agent_licenses l LEFT JOIN agent_license_loas a ON a.license_id = l.id
             WHERE l.npn IN ({}) ORDER BY l.npn, l.state, l.license_number, l.id, a.loa",
            placeholder_list(1, chunk.len())
        );
        let rows: Vec<Row> = on_pool!(db, p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for n in chunk {
                q = q.bind(n.as_str());
            }
            q.fetch_all(p).await?
        });
        let mut last_id = None;
        for r in rows {
            let npn = Npn::parse(&r.0).map_err(|e| DbError::Corrupt(e.to_string()))?;
            let list = out.entry(npn).or_default();
            if last_id != Some(r.1) {
                last_id = Some(r.1);
                list.push(License {
                    state: UsState::parse(&r.2).map_err(|e| DbError::Corrupt(e.to_string()))?,
                    license_number: r.3,
                    license_class: r.4,
                    resident: r.5 == "resident",
                    active: r.6,
                    expires_on: parse_opt_date(r.7.as_deref())?,
                    loas: Vec::new(),
                });
            }
            if let (Some(loa), Some(loa_code), Some(active)) = (r.8, r.9, r.10) {
                let licence = list.last_mut().expect("pushed above");
                licence.loas.push(LineOfAuthority {
                    loa,
                    loa_code,
                    active,
                    status_date: parse_opt_date(r.11.as_deref())?,
                });
            }
        }
    }
    Ok(out)
}
