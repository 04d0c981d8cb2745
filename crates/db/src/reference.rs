//! Reference data: plan years, the HealthCare.gov state table, the ZIP directory.
//!
//! The ZIP directory is refreshed whenever the bundled file changes (tracked by checksum).
//! Plan years and states are seeded once and then belong to the administrators.
use hod_domain::geo::ZIP_DIRECTORY_CSV;
use hod_domain::{MarketplaceType, PlanYear, StatePeriod, StateTable, UsState, Zip, ZipDirectory};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::query::query;
use crate::sql::{batch_rows, insert_values_sql, parse_date};
use crate::{Db, DbError, Result, Tx, on_pool, to_millis};

/// First plan year and last plan year of the shipped seed.
const SEED_PLAN_YEARS: std::ops::RangeInclusive<i16> = 2025..=2027;

/// Loads the bundled reference data: the ZIP directory whenever it changed; plan years, the
/// state table and the first Terms of Use once (administrators own them afterwards).
pub(crate) async fn seed(db: &Db, now: jiff::Timestamp) -> Result<()> {
    let checksum = hex::encode(Sha256::digest(ZIP_DIRECTORY_CSV.as_bytes()));
    let dir = ZipDirectory::bundled();
    let now_ms = to_millis(now);
    let mut tx = db.begin().await?;
    {
        if let Some(c) = tx.postgres() {
            // Nodes starting together: one seeds, the others wait and then find it done.
            sqlx::query("SELECT pg_advisory_xact_lock(7270001)")
                .execute(c)
                .await?;
        }
        let loaded: Option<String> =
            query("SELECT checksum FROM reference_data WHERE name = 'zip_codes'")
                .scalar_optional(&mut tx)
                .await?;
        if loaded.as_deref() != Some(checksum.as_str()) {
            tracing::info!(zips = dir.len(), "loading the bundled ZIP directory");
            query("DELETE FROM zip_codes").execute(&mut tx).await?;
            let entries: Vec<_> = dir.iter().collect();
            for chunk in entries.chunks(batch_rows(db.backend(), 7)) {
                let sql = insert_values_sql(
                    "INSERT INTO zip_codes (zip, city, state, county, latitude, longitude, time_zone) VALUES ",
                    7,
                    chunk.len(),
                );
                let mut q = query(sql);
                for z in chunk {
                    q = q
                        .bind(z.zip.to_string())
                        .bind(z.city)
                        .bind(z.state.code())
                        .bind(z.county)
                        .bind(z.latitude)
                        .bind(z.longitude)
                        .bind(z.time_zone);
                }
                q.execute(&mut tx).await?;
            }
            query(
                "INSERT INTO reference_data (name, checksum, row_count, loaded_at) VALUES ('zip_codes', $1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, row_count = excluded.row_count, loaded_at = excluded.loaded_at",
            )
            .bind(&checksum)
            .bind(i64::try_from(entries.len()).expect("row count fits"))
            .bind(now_ms)
            .execute(&mut tx)
            .await?;
        }

        let has_years: i64 = query("SELECT COUNT(*) FROM plan_years")
            .scalar(&mut tx)
            .await?;
        if has_years == 0 {
            for year in SEED_PLAN_YEARS {
                let py = PlanYear::standard(year);
                query("INSERT INTO plan_years (year, starts_on, ends_on) VALUES ($1, $2, $3)")
                    .bind(i64::from(py.year))
                    .bind(py.starts_on.to_string())
                    .bind(py.ends_on.to_string())
                    .execute(&mut tx)
                    .await?;
            }
        }
        let has_states: i64 = query("SELECT COUNT(*) FROM marketplace_states")
            .scalar(&mut tx)
            .await?;
        if has_states == 0 {
            for p in StateTable::seed().periods() {
                query(
                    "INSERT INTO marketplace_states (state, marketplace, effective_from, effective_to) VALUES ($1, $2, $3, $4)",
                )
                .bind(p.state.code())
                .bind(p.marketplace.as_str())
                .bind(p.effective_from.to_string())
                .bind(p.effective_to.map(|d| d.to_string()))
                .execute(&mut tx)
                .await?;
            }
        }
        let has_terms: i64 = query("SELECT COUNT(*) FROM terms_documents")
            .scalar(&mut tx)
            .await?;
        if has_terms == 0 {
            for (kind, en, es) in crate::terms::SEED {
                let (title_en, body_en) = en.split_once('\n').expect("a title line, then the text");
                let (title_es, body_es) = es.split_once('\n').expect("a title line, then the text");
                query(
                    "INSERT INTO terms_documents (kind, version, title_en, title_es, body_en, body_es, published_at)
                     VALUES ($1, '1', $2, $3, $4, $5, $6)",
                )
                .bind(kind)
                .bind(title_en.trim())
                .bind(title_es.trim())
                .bind(body_en.trim())
                .bind(body_es.trim())
                .bind(now_ms)
                .execute(&mut tx)
                .await?;
            }
        }
    }
    tx.commit().await
}

/// The version of the program's configuration (settings, plan years, state table, terms):
/// triggers move it on any change to them.
#[tracing::instrument(skip_all)]
pub async fn config_version(db: &Db) -> Result<i64> {
    Ok(
        on_pool!(db, p => sqlx::query_scalar("SELECT version FROM config_version WHERE id = 1")
        .fetch_one(p)
        .await)?,
    )
}

/// All configured plan years, oldest first.
#[tracing::instrument(skip_all)]
pub async fn plan_years(db: &Db) -> Result<Vec<PlanYear>> {
    let rows: Vec<(i64, String, String)> = on_pool!(db, p =>
        sqlx::query_as("SELECT year, starts_on, ends_on FROM plan_years ORDER BY year").fetch_all(p).await)?;
    rows.into_iter()
        .map(|(year, starts_on, ends_on)| {
            Ok(PlanYear {
                year: i16::try_from(year)
                    .map_err(|_| DbError::Corrupt(format!("plan year {year}")))?,
                starts_on: parse_date(&starts_on)?,
                ends_on: parse_date(&ends_on)?,
            })
        })
        .collect()
}

/// Adds a plan year, or changes its dates.
#[tracing::instrument(skip_all, fields(year = py.year))]
pub async fn put_plan_year(tx: &mut Tx, py: &PlanYear) -> Result<()> {
    query("INSERT INTO plan_years (year, starts_on, ends_on) VALUES ($1, $2, $3)
         ON CONFLICT (year) DO UPDATE SET starts_on = excluded.starts_on, ends_on = excluded.ends_on")
        .bind(i64::from(py.year))
        .bind(py.starts_on.to_string())
        .bind(py.ends_on.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

/// The time-versioned HealthCare.gov state table.
#[tracing::instrument(skip_all)]
pub async fn state_table(db: &Db) -> Result<StateTable> {
    let rows: Vec<(String, String, String, Option<String>)> = on_pool!(db, p => sqlx::query_as(
        "SELECT state, marketplace, effective_from, effective_to FROM marketplace_states ORDER BY state, effective_from",
    )
    .fetch_all(p)
    .await)?;
    let periods = rows
        .into_iter()
        .map(|(state, marketplace, from, to)| {
            Ok(StatePeriod {
                state: UsState::parse(&state).map_err(|e| DbError::Corrupt(e.to_string()))?,
                marketplace: MarketplaceType::parse(&marketplace)
                    .ok_or_else(|| DbError::Corrupt(format!("marketplace type {marketplace:?}")))?,
                effective_from: parse_date(&from)?,
                effective_to: to.as_deref().map(parse_date).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StateTable::new(periods))
}

/// A row of the stored ZIP directory (the same data the in-memory directory serves).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredZip {
    pub zip: String,
    pub city: String,
    pub state: String,
    pub county: String,
    pub latitude: f64,
    pub longitude: f64,
    pub time_zone: String,
}

#[tracing::instrument(skip_all)]
pub async fn zip(db: &Db, zip: Zip) -> Result<Option<StoredZip>> {
    let row = on_pool!(db, p => sqlx::query(
        "SELECT zip, city, state, county, latitude, longitude, time_zone FROM zip_codes WHERE zip = $1",
    )
    .bind(zip.to_string())
    .fetch_optional(p)
    .await
    .and_then(|r| r.map(|r| Ok(StoredZip {
        zip: r.try_get(0)?,
        city: r.try_get(1)?,
        state: r.try_get(2)?,
        county: r.try_get(3)?,
        latitude: r.try_get(4)?,
        longitude: r.try_get(5)?,
        time_zone: r.try_get(6)?,
    })).transpose()))?;
    Ok(row)
}

#[tracing::instrument(skip_all)]
pub async fn zip_count(db: &Db) -> Result<i64> {
    Ok(on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM zip_codes").fetch_one(p).await)?)
}

/// Ends `state`'s open period on the platform at `on` (exclusive). Returns whether one was open.
#[tracing::instrument(skip_all)]
pub async fn end_state_period(tx: &mut Tx, state: UsState, on: jiff::civil::Date) -> Result<bool> {
    Ok(query(
        "UPDATE marketplace_states SET effective_to = $2 WHERE state = $1 AND effective_to IS NULL",
    )
    .bind(state.code())
    .bind(on.to_string())
    .execute(tx)
    .await?
        > 0)
}

/// Starts a period of `state` on the platform from `from`, open-ended.
#[tracing::instrument(skip_all)]
pub async fn start_state_period(
    tx: &mut Tx,
    state: UsState,
    marketplace: MarketplaceType,
    from: jiff::civil::Date,
) -> Result<()> {
    query("INSERT INTO marketplace_states (state, marketplace, effective_from, effective_to) VALUES ($1, $2, $3, NULL)")
        .bind(state.code())
        .bind(marketplace.as_str())
        .bind(from.to_string())
        .execute(tx)
        .await?;
    Ok(())
}
