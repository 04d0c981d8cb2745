//! The storage's ceiling for referral-shaped writes, measured on the program's own database
//! so that the load tool can state intake as a share of what the storage can do (DESIGN.md
//! §8). Each transaction writes what a new request writes: a request row with two indexes,
//! a timeline row and two message rows, then commits. The work goes to tables of its own,
//! made for the measurement and dropped after it, so the program's data is not touched.
use std::time::{Duration, Instant};

use crate::query::query;
use crate::{Backend, Db, Result};

const TABLES: [&str; 3] = ["ceiling_messages", "ceiling_events", "ceiling_requests"];

/// How many referral-shaped transactions committed in `for_how_long`, by `writers`
/// concurrent writers (SQLite has one writer at a time whatever this says).
#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    pub transactions: u64,
    pub elapsed: Duration,
}

impl Ceiling {
    pub fn per_second(&self) -> f64 {
        self.transactions as f64 / self.elapsed.as_secs_f64()
    }
}

/// Measures the ceiling; the tables it uses are gone afterwards, also when it fails.
#[tracing::instrument(skip_all)]
pub async fn measure(db: &Db, writers: usize, for_how_long: Duration) -> Result<Ceiling> {
    drop_tables(db).await?;
    create_tables(db).await?;
    let started = Instant::now();
    let deadline = started + for_how_long;
    let writers = if db.backend() == Backend::Sqlite {
        1
    } else {
        writers.max(1)
    };
    let runs = (0..writers).map(|w| async move {
        let mut done = 0u64;
        while Instant::now() < deadline {
            write_one(db, (w as u64) << 40 | done).await?;
            done += 1;
        }
        Ok::<u64, crate::DbError>(done)
    });
    let counted = futures_util::future::join_all(runs).await;
    let elapsed = started.elapsed();
    let dropped = drop_tables(db).await;
    let transactions = counted.into_iter().sum::<Result<u64>>()?;
    dropped?;
    Ok(Ceiling {
        transactions,
        elapsed,
    })
}

async fn write_one(db: &Db, n: u64) -> Result<()> {
    let now = i64::try_from(n).unwrap_or(i64::MAX);
    let person = format!("{n:064x}");
    db.write(async |tx| {
        let id: i64 = query("INSERT INTO ceiling_requests (plan_year, status, zip, city, state, language, reason,
                first_name, last_name, phone, email, contact_by, best_time, ui_lang,
                consent_version, consent_at, consent_ip, source, person_key, created_at,
                updated_at, due_at)
             VALUES (2027, 'searching', '77002', 'Houston', 'TX', 'en', 'new_coverage', 'Load',
                'Ceiling', '+17135550100', NULL, 'call', '', 'en', '2026-11', $1, '127.0.0.1',
                'api', $2, $1, $1, $1)
             RETURNING id")
            .bind(now)
            .bind(&person)
            .scalar(tx)
            .await?;
        query("INSERT INTO ceiling_events (referral_id, at, actor, kind, status, detail)
                 VALUES ($1, $2, 'partner', 'submitted', 'searching', '{\"consent_version\":\"2026-11\"}')")
            .bind(id)
            .bind(now)
            .execute(tx)
            .await?;
        for channel in ["email", "sms"] {
            query("INSERT INTO ceiling_messages (channel, recipient, subject, body, created_at, due_at)
                     VALUES ($1, '+17135550100', 'Your request', 'We received your request and are finding an agent near you. Follow it here: https://hod.example/requests/0123456789abcdef', $2, $2)")
                .bind(channel)
                .bind(now)
                .execute(tx)
                .await?;
        }
        Ok(())
    })
    .await
}

async fn create_tables(db: &Db) -> Result<()> {
    let id = match db.backend() {
        Backend::Sqlite => "INTEGER PRIMARY KEY",
        Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    };
    let statements = [
        format!(
            "CREATE TABLE ceiling_requests (id {id}, plan_year INTEGER NOT NULL,
                status TEXT NOT NULL, zip TEXT NOT NULL, city TEXT NOT NULL, state TEXT NOT NULL,
                language TEXT NOT NULL, reason TEXT NOT NULL, first_name TEXT NOT NULL,
                last_name TEXT NOT NULL, phone TEXT NOT NULL, email TEXT, contact_by TEXT NOT NULL,
                best_time TEXT NOT NULL, ui_lang TEXT NOT NULL, consent_version TEXT NOT NULL,
                consent_at BIGINT NOT NULL, consent_ip TEXT, source TEXT NOT NULL,
                person_key TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                due_at BIGINT)"
        ),
        "CREATE INDEX ceiling_requests_by_person ON ceiling_requests (person_key, created_at)"
            .into(),
        "CREATE INDEX ceiling_requests_by_status ON ceiling_requests (status, created_at)".into(),
        format!(
            "CREATE TABLE ceiling_events (id {id}, referral_id BIGINT NOT NULL
                REFERENCES ceiling_requests (id), at BIGINT NOT NULL, actor TEXT NOT NULL,
                kind TEXT NOT NULL, status TEXT, note TEXT NOT NULL DEFAULT '',
                detail TEXT NOT NULL DEFAULT '{{}}')"
        ),
        "CREATE INDEX ceiling_events_by_referral ON ceiling_events (referral_id, id)".into(),
        format!(
            "CREATE TABLE ceiling_messages (id {id}, channel TEXT NOT NULL,
                recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending', created_at BIGINT NOT NULL,
                due_at BIGINT NOT NULL)"
        ),
        "CREATE INDEX ceiling_messages_pending ON ceiling_messages (due_at)".into(),
    ];
    db.write(async |tx| {
        for sql in &statements {
            query(sql.clone()).execute(tx).await?;
        }
        Ok(())
    })
    .await
}

async fn drop_tables(db: &Db) -> Result<()> {
    db.write(async |tx| {
        for table in TABLES {
            query(format!("DROP TABLE IF EXISTS {table}"))
                .execute(tx)
                .await?;
        }
        Ok(())
    })
    .await
}
