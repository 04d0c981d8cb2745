//! `hod import`, `hod eligibility` and `hod outbox list` as an administrator runs them, on
//! SQLite and PostgreSQL. The files are written for the plan year of the real today, since
//! the command line runs on the real clock.
use std::path::Path;
use std::process::Output;

use hod_test_support::{TestDb, db_tests};
use serde_json::{Value, json};

use crate::hod;

db_tests!(
    imports_report_as_json_and_invite_once,
    eligibility_show_explains_in_json_and_text,
    wrong_files_are_one_line_errors,
);

fn hod_on(t: &TestDb, dir: &Path, args: &[&str]) -> Output {
    hod()
        .args(["--database-url", t.url.expose()])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok_json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// This plan year and the one before, by the real calendar.
fn years() -> (i16, i16) {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("America/New_York").unwrap())
        .date();
    let py = hod_domain::PlanYear::standard_for(today).year;
    (py, py - 1)
}

/// One eligible agent (5000001, licensed in Texas), one who never took the course.
fn write_files(dir: &Path) {
    let (py, prev) = years();
    std::fs::write(
        dir.join("mlms.csv"),
        format!(
            "NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date\n\
             5000001,Rosa,Reyes,rosa.reyes@agency.test,{py},10/01/{prev}\n\
             5000002,Sam,Stone,sam.stone@agency.test,{py},\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("rcl.csv"),
        format!(
            "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,\
             Shop Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\r\n\
             5000001,{py},09/02/{prev},10/31/{py},,,Y\r\n\
             n/a,{py},09/02/{prev},10/31/{py},,,Y\r\n\
             5000002,{py},09/02/{prev},10/31/{py},,,Y\r\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("nipr.csv"),
        "NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date\n\
         5000001,TX,TX-5,Insurance Producer,Resident,Yes,,Accident & Health or Sickness,14,Active,\n\
         5000002,TX,TX-6,Insurance Producer,Resident,Yes,,Accident & Health or Sickness,14,Active,\n",
    )
    .unwrap();
}

fn import_all(t: &TestDb, dir: &Path) -> Vec<Value> {
    ["mlms", "rcl", "nipr"]
        .iter()
        .map(|kind| {
            ok_json(&hod_on(
                t,
                dir,
                &["import", kind, &format!("{kind}.csv"), "--json"],
            ))
        })
        .collect()
}

async fn imports_report_as_json_and_invite_once(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let reports = import_all(&t, dir.path());
    assert_eq!(
        reports[0],
        json!({"file": "mlms.csv", "rows": 2, "applied": 2, "rejected": []})
    );
    assert_eq!(
        reports[1],
        json!({"file": "rcl.csv", "rows": 3, "applied": 2, "rejected": [{"line": 3, "reason": "NPN \"n/a\" must contain digits only"}]})
    );
    assert_eq!(reports[2]["applied"], 2);

    let outbox = |to: &str| {
        ok_json(&hod_on(
            &t,
            dir.path(),
            &["outbox", "list", "--to", to, "--json"],
        ))
    };
    let mail = outbox("rosa.reyes@agency.test");
    let list = mail.as_array().unwrap();
    assert_eq!(list.len(), 1, "{mail}");
    assert_eq!(list[0]["channel"], "email");
    assert_eq!(list[0]["from"], "noreply@localhost");
    assert!(list[0]["body"].as_str().unwrap().contains("/register/"));
    assert_eq!(outbox("sam.stone@agency.test"), json!([]));

    // The same files again: nothing new is sent.
    import_all(&t, dir.path());
    assert_eq!(
        outbox("rosa.reyes@agency.test").as_array().unwrap().len(),
        1
    );
    let run = hod_on(&t, dir.path(), &["eligibility", "run"]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success()
            && text.contains("2 evaluated, 1 eligible (0 newly, 0 lost), 0 invitations sent"),
        "{text}"
    );

    // A dry run reads and reports, and says it wrote nothing.
    let dry = hod_on(&t, dir.path(), &["import", "rcl", "rcl.csv", "--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.starts_with("rcl.csv: 3 rows, 2 applied, 1 rejected (dry run: nothing was written)\n  line 3: NPN \"n/a\""), "{text}");
}

async fn eligibility_show_explains_in_json_and_text(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    import_all(&t, dir.path());
    let (py, _) = years();
    let rosa = ok_json(&hod_on(
        &t,
        dir.path(),
        &["eligibility", "show", "5000001", "--json"],
    ));
    assert_eq!(
        rosa,
        json!({
            "npn": "5000001",
            "plan_year": py,
            "eligible": true,
            "states": ["TX"],
            "reasons": ["NPN 5000001 has not created a Help On Demand account yet"],
            "registration_complete": false,
        })
    );
    let sam = hod_on(&t, dir.path(), &["eligibility", "show", "5000002"]);
    let text = String::from_utf8_lossy(&sam.stdout);
    assert!(text.contains("eligible:              no"), "{text}");
    assert!(
        text.contains(&format!(
            "- NPN 5000002 has not completed the Help On Demand course in MLMS for plan year {py}"
        )),
        "{text}"
    );
    // A date in another plan year: the facts of this plan year do not count there.
    let earlier = ok_json(&hod_on(
        &t,
        dir.path(),
        &[
            "eligibility",
            "show",
            "5000001",
            "--date",
            "2025-06-01",
            "--json",
        ],
    ));
    assert_eq!(
        (earlier["plan_year"].as_i64(), earlier["eligible"].as_bool()),
        (Some(2025), Some(false))
    );
}

async fn wrong_files_are_one_line_errors(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    for (args, expected) in [
        (
            &["import", "rcl", "mlms.csv"][..],
            "error: mlms.csv: line 1: this is an MLMS Help On Demand course file, not a Registration Completion List; import it with `hod import mlms`",
        ),
        (
            &["import", "termination", "nothere.csv"][..],
            "error: cannot open nothere.csv: No such file or directory",
        ),
        (
            &["eligibility", "show", "12x"][..],
            "error: NPN \"12x\" must contain digits only",
        ),
        (
            &["eligibility", "show", "1", "--date", "2040-01-01"][..],
            "error: no plan year is set up for 2040-01-01",
        ),
    ] {
        let o = hod_on(&t, dir.path(), args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(lines[0].starts_with(expected), "{args:?}: {err}");
    }
    assert_eq!(
        t.db.count_for_tests("SELECT COUNT(*) FROM rcl_entries")
            .await
            .unwrap(),
        0
    );
}
