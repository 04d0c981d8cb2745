//! State licences from NIPR, keyed by NPN (the data arrives before an agent has an account).
use std::collections::HashMap;

use hod_domain::{License, LineOfAuthority, Npn, UsState};
use sqlx::AssertSqlSafe;

use crate::query::query;
use crate::sql::{batch_rows, date_text, insert_values_sql, parse_opt_date, placeholder_list};
use crate::{Db, DbError, Result, Tx, on_pool};

/// Forgets every licence of `npns` (a NIPR import replaces what was known for its NPNs).
#[tracing::instrument(skip_all, fields(npns = npns.len()))]
pub async fn delete_for(tx: &mut Tx, npns: &[&Npn]) -> Result<()> {
    for chunk in npns.chunks(batch_rows(tx.backend(), 1)) {
        let sql = format!(
            "DELETE FROM agent_licenses WHERE npn IN ({})",
            placeholder_list(1, chunk.len())
        );
        {
            let mut q = query(sql);
            for npn in chunk {
                q = q.bind(npn.as_str());
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// Adds the licences of each NPN, in a few statements, as adding them one by one in order
/// would: a licence already stored or listed before (same NPN, state and number) gets the
/// later values and lines of authority added to its own (same LOA name: the later wins).
#[tracing::instrument(skip_all, fields(npns = groups.len()))]
pub async fn add(tx: &mut Tx, groups: &[(Npn, Vec<License>)]) -> Result<()> {
    // Listed twice, merged first: one statement may not change the same row twice.
    let mut merged: Vec<(&Npn, License)> = Vec::new();
    let mut at: HashMap<(&str, UsState, &str), usize> = HashMap::new();
    for (npn, list) in groups {
        for l in list {
            match at.get(&(npn.as_str(), l.state, l.license_number.as_str())) {
                Some(&i) => {
                    let kept = &mut merged[i].1;
                    let mut loas = std::mem::take(&mut kept.loas);
                    for loa in &l.loas {
                        loas.retain(|k| k.loa != loa.loa);
                        loas.push(loa.clone());
                    }
                    *kept = License { loas, ..l.clone() };
                }
                None => {
                    at.insert(
                        (npn.as_str(), l.state, l.license_number.as_str()),
                        merged.len(),
                    );
                    merged.push((npn, l.clone()));
                }
            }
        }
    }
    let mut loas: Vec<(i64, &LineOfAuthority)> = Vec::new();
    for chunk in merged.chunks(batch_rows(tx.backend(), 7)) {
        let sql = insert_values_sql(
            "INSERT INTO agent_licenses (npn, state, license_number, license_class, residency, active, expires_on) VALUES ",
            7,
            chunk.len(),
        ) + " ON CONFLICT (npn, state, license_number) DO UPDATE SET license_class = excluded.license_class,
              residency = excluded.residency, active = excluded.active, expires_on = excluded.expires_on
              RETURNING id, npn, state, license_number";
        let ids: Vec<(i64, String, String, String)> = {
            let mut q = query(sql);
            for (npn, l) in chunk {
                q = q
                    .bind(npn.as_str())
                    .bind(l.state.code())
                    .bind(&l.license_number)
                    .bind(&l.license_class)
                    .bind(if l.resident {
                        "resident"
                    } else {
                        "non_resident"
                    })
                    .bind(l.active)
                    .bind(date_text(l.expires_on));
            }
            q.fetch_all(tx).await?
        };
        // RETURNING's order is not promised: each row is matched by its key.
        let id_of: HashMap<(&str, &str, &str), i64> = ids
            .iter()
            .map(|(id, npn, state, number)| ((npn.as_str(), state.as_str(), number.as_str()), *id))
            .collect();
        for (npn, l) in chunk {
            let id = id_of
                .get(&(npn.as_str(), l.state.code(), l.license_number.as_str()))
                .ok_or_else(|| {
                    DbError::Corrupt(format!(
                        "licence {} in {} for NPN {npn} not returned by its insert",
                        l.license_number, l.state
                    ))
                })?;
            loas.extend(l.loas.iter().map(|loa| (*id, loa)));
        }
    }
    for chunk in loas.chunks(batch_rows(tx.backend(), 5)) {
        let sql = insert_values_sql(
            "INSERT INTO agent_license_loas (license_id, loa, loa_code, active, status_date) VALUES ",
            5,
            chunk.len(),
        ) + " ON CONFLICT (license_id, loa) DO UPDATE SET loa_code = excluded.loa_code, active = excluded.active,
              status_date = excluded.status_date";
        {
            let mut q = query(sql);
            for (id, loa) in chunk {
                q = q
                    .bind(*id)
                    .bind(&loa.loa)
                    .bind(&loa.loa_code)
                    .bind(loa.active)
                    .bind(date_text(loa.status_date));
            }
            q.execute(tx).await?;
        };
    }
    Ok(())
}

/// Replaces everything known of one NPN's licences.
pub async fn replace(tx: &mut Tx, npn: &Npn, licenses: &[License]) -> Result<()> {
    delete_for(tx, &[npn]).await?;
    add(tx, &[(npn.clone(), licenses.to_vec())]).await
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
