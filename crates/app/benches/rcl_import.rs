//! Importing a 1,000,000-row Registration Completion List (DESIGN.md §8: ≤ 30 s, ≤ 200 MB):
//! `cargo bench -p hod-app --bench rcl_import`.
//!
//! Writes the generated file to `target/rcl-1m.csv` (kept, so that peak memory of the real
//! command can be measured with `/usr/bin/time -v target/release/hod import rcl target/rcl-1m.csv`),
//! then imports it into a fresh SQLite database and, when `HOD_TEST_PG_URL` is set, into a
//! fresh PostgreSQL database.
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use hod_app::import::{ImportKind, ImportOptions, Source};
use hod_app::{App, FakeClock, Settings};
use hod_db::{ConnectOptions, DatabaseUrl, Db};

const ROWS: u64 = 1_000_000;

/// Plan years 2016–2027 like the published file, a few junk rows and repeated NPNs.
fn generate(path: &std::path::Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create the file"));
    out.write_all(
        b"NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,\
          Shop Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\r\n",
    )
    .unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..ROWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let year = 2016 + (i % 12);
        let npn = 100_000 + (x % 9_000_000);
        let valid = if year == 2027 { "Y" } else { "-" };
        if i % 100_000 == 99_999 {
            writeln!(out, "Total,{year},,,,,\r").unwrap();
        } else if x.is_multiple_of(5) {
            write!(
                out,
                "{npn},{year},\"09/{:02}/{}\",10/31/{year},,,{valid}\r\n",
                1 + x % 28,
                year - 1
            )
            .unwrap();
        } else {
            write!(
                out,
                "{npn},{year},09/{:02}/{},10/31/{year},09/02/{},10/31/{year},{valid}\r\n",
                1 + x % 28,
                year - 1,
                year - 1
            )
            .unwrap();
        }
    }
    out.flush().unwrap();
}

async fn run(url: &DatabaseUrl, path: &std::path::Path, label: &str) {
    let start = "2026-11-26T16:00:00Z".parse().unwrap();
    let db = Db::connect(url, &ConnectOptions::default())
        .await
        .expect("connect");
    db.migrate(start).await.expect("migrate");
    hod_db::keys::unlock(&db, hod_db::vault::MasterKey::generate(), start)
        .await
        .expect("data keys");
    let settings = Settings {
        public_url: "http://127.0.0.1:8080".into(),
        noreply_address: "noreply@hod.test".into(),
        program_time_zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
        push_endpoints: hod_app::push::default_endpoints(),
    };
    let app = App::new(db.clone(), Arc::new(FakeClock::new(start)), settings)
        .await
        .unwrap();
    let started = Instant::now();
    let report = app
        .import(
            ImportKind::Rcl,
            Source::open(path).unwrap(),
            ImportOptions {
                actor: hod_domain::actor::Actor::Cli,
                ..ImportOptions::default()
            },
        )
        .await
        .expect("import");
    let elapsed = started.elapsed();
    println!(
        "{label}: {} rows, {} applied, {} rejected in {:.1} s ({:.0} rows/s)",
        report.rows,
        report.applied,
        report.rejected.len(),
        elapsed.as_secs_f64(),
        report.rows as f64 / elapsed.as_secs_f64()
    );
    db.close().await;
}

fn main() {
    let target = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let path = target.join("rcl-1m.csv");
    let started = Instant::now();
    generate(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "generated {} ({} MB) in {:.1} s",
        path.display(),
        size / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(run(
        &DatabaseUrl::sqlite_file(&dir.path().join("bench.sqlite")),
        &path,
        "sqlite",
    ));
    if let Ok(admin) = std::env::var("HOD_TEST_PG_URL") {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query("DROP DATABASE IF EXISTS hod_bench_rcl")
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query("CREATE DATABASE hod_bench_rcl")
                .execute(&mut c)
                .await
                .unwrap();
        });
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path("/hod_bench_rcl");
        runtime.block_on(run(&DatabaseUrl::new(url.as_str()), &path, "postgres"));
    }
}
