//! Eligibility from the CMS files and invitations (SPEC.md §2–§3), on SQLite and PostgreSQL:
//! the fixture files in `tests/fixtures/` go through the real import path, and what an agent,
//! a help desk or an administrator would notice is checked.
use hod_domain::actor::Actor;
use std::path::PathBuf;

use hod_app::eligibility::DailyRun;
use hod_app::import::{ImportKind, ImportOptions, ImportReport, Source};
use hod_app::{App, AppError};
use hod_domain::Npn;
use hod_test_support::{TestApp, app_tests};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn opts() -> ImportOptions {
    ImportOptions {
        actor: Actor::Cli,
        ..ImportOptions::default()
    }
}

async fn import(app: &App, kind: ImportKind, name: &str) -> ImportReport {
    let source = Source::open(&fixture(name)).unwrap();
    app.import(kind, source, opts()).await.unwrap()
}

/// Imports bytes given in the test, named `name`.
async fn import_bytes(
    app: &App,
    kind: ImportKind,
    name: &str,
    bytes: Vec<u8>,
) -> Result<ImportReport, AppError> {
    let source = Source {
        name: name.into(),
        reader: Box::new(std::io::Cursor::new(bytes)),
    };
    app.import(kind, source, opts()).await
}

/// The four files in the order an administrator loads them each month.
pub(crate) async fn import_all(app: &App) {
    import(app, ImportKind::Mlms, "mlms.csv").await;
    import(app, ImportKind::Rcl, "rcl.csv").await;
    import(app, ImportKind::Termination, "termination.csv").await;
    import(app, ImportKind::Nipr, "nipr.csv").await;
}

fn npn(s: &str) -> Npn {
    Npn::parse(s).unwrap()
}

fn rejected(report: &ImportReport) -> Vec<(u64, &str)> {
    report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.app
        .storage()
        .count_for_tests(&format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap()
}

app_tests!(
    rcl_quirks_are_read_and_bad_rows_reported,
    other_files_report_their_bad_rows,
    fixture_agents_get_the_right_verdicts,
    reimporting_the_same_files_changes_nothing,
    bad_files_write_nothing,
    a_failure_late_in_a_file_rolls_back_the_whole_file,
    dry_run_writes_nothing,
    nipr_import_replaces_what_was_known_for_its_npns,
    loa_table_import_replaces_the_table,
    losing_eligibility_takes_effect_at_once,
    invitation_link_works_once_for_48_hours,
    help_desk_resend_invalidates_the_old_link,
    daily_run_happens_once_a_day_across_nodes,
);

async fn rcl_quirks_are_read_and_bad_rows_reported(t: TestApp) {
    let report = import(&t.app, ImportKind::Rcl, "rcl.csv").await;
    assert_eq!(report.rows, 19, "{report:?}");
    assert_eq!(report.applied, 12);
    assert_eq!(
        rejected(&report),
        vec![
            (
                2,
                "duplicate NPN 2000001 for plan year 2027: replaced by line 20 (the later row wins)"
            ),
            (14, "NPN \"ABC1234\" must contain digits only"),
            (
                15,
                "Applicable Plan Year 2099 is not a plan year of the Marketplace (2014 to 2028)"
            ),
            (
                16,
                "Individual Registration Completion Date \"13/45/2026\" is not a date (expected mm/dd/yyyy)"
            ),
            (17, "NPN Valid \"maybe\" must be Y, N or -"),
            (18, "the row has 3 fields; the header has 7"),
            (21, "NPN \"Total rows: 18\" must contain digits only"),
        ]
    );
    assert_eq!(count(&t, "rcl_entries").await, 12);
    // The later of the two rows for 2000001 won.
    let completed = t
        .app
        .storage()
        .text_for_tests("SELECT individual_completed_on FROM rcl_entries WHERE npn = '2000001' AND plan_year = 2027")
        .await
        .unwrap();
    assert_eq!(completed.as_deref(), Some("2026-09-01"));
}

async fn other_files_report_their_bad_rows(t: TestApp) {
    let mlms = import(&t.app, ImportKind::Mlms, "mlms.csv").await;
    assert_eq!((mlms.rows, mlms.applied), (15, 14));
    assert_eq!(
        rejected(&mlms),
        vec![(16, "Email \"not-an-email\" is not an email address")]
    );
    // Name and email come from the latest plan year's row, wherever it is in the file.
    let ana = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ana.last_name.as_str(), ana.email.as_str()),
        ("Alvarez", "ana.alvarez@agency.test")
    );
    let gigi = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000007"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        gigi.first_name, "Gloria \"Gigi\"",
        "quoted fields with escaped quotes"
    );

    let term = import(&t.app, ImportKind::Termination, "termination.csv").await;
    assert_eq!((term.rows, term.applied), (8, 5));
    assert_eq!(
        rejected(&term),
        vec![
            (7, "Status \"X9\" must be one of T1–T4 or R1–R4"),
            (8, "Marketplaces \"NONE\" must be INDIVIDUAL, SHOP or BOTH"),
            (9, "Termination or Suspension Date is empty"),
        ]
    );

    let nipr = import(&t.app, ImportKind::Nipr, "nipr.csv").await;
    assert_eq!((nipr.rows, nipr.applied), (17, 14));
    assert_eq!(
        rejected(&nipr),
        vec![
            (
                3,
                "duplicate LOA \"Life\" of licence TX-1 in TX for NPN 2000001: replaced by line 18 (the later row wins)"
            ),
            (16, "State \"ZZ\" is not a two-letter state code"),
            (
                17,
                "Residency \"Sometimes\" must be resident or non-resident"
            ),
        ]
    );

    let xml = import(&t.app, ImportKind::Nipr, "nipr.xml").await;
    assert_eq!((xml.rows, xml.applied), (4, 2));
    assert_eq!(
        rejected(&xml),
        vec![
            (45, "the PRODUCER at line 40 has no NPN element"),
            (61, "ACTIVE \"Maybe\" must be yes or no"),
        ]
    );

    let loa = import(&t.app, ImportKind::Loa, "loa.csv").await;
    assert_eq!((loa.rows, loa.applied), (8, 4));
    assert_eq!(
        rejected(&loa),
        vec![
            (
                2,
                "duplicate LOA \"Accident & Health or Sickness\" for *: replaced by line 9 (the later row wins)"
            ),
            (
                6,
                "LOA \"Life\" never counts as health-related (Life alone, Credit, Travel and limited lines do not)"
            ),
            (7, "State \"XX\" is not a two-letter state code or *"),
            (8, "State \"\" is not a two-letter state code or *"),
        ]
    );
    t.expect_outbox(&[]).await;
}

/// Every fixture agent, with what `hod eligibility show` says of them on the test's day.
fn expected() -> Vec<(&'static str, bool, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        ("2000001", true, vec!["TX"], vec![]),
        (
            "2000002",
            false,
            vec![],
            vec!["NPN 2000002 is not on the Registration Completion List for plan year 2027"],
        ),
        (
            "2000003",
            false,
            vec![],
            vec![
                "the Registration Completion List marks NPN 2000003 as not valid for plan year 2027 (NPN Valid is N)",
            ],
        ),
        (
            "2000004",
            false,
            vec![],
            vec![
                "NPN 2000004's Individual Marketplace registration for plan year 2027 ended on 2026-10-31",
            ],
        ),
        (
            "2000005",
            false,
            vec![],
            vec![
                "NPN 2000005 has not completed the Help On Demand course in MLMS for plan year 2027",
            ],
        ),
        (
            "2000006",
            false,
            vec![],
            vec![
                "NPN 2000006 is on the Suspension and Termination List for plan year 2027: T2 (licence problem) since 2026-11-05, with no reinstatement after it",
            ],
        ),
        ("2000007", true, vec!["OH"], vec![]),
        (
            "2000008",
            false,
            vec![],
            vec![
                "NPN 2000008 holds no active state licence with an active health line of authority on 2026-11-26",
            ],
        ),
        (
            "2000009",
            false,
            vec![],
            vec![
                "NPN 2000009 is licensed for health only in CA, which is not on HealthCare.gov on 2026-11-26",
            ],
        ),
        (
            "2000010",
            false,
            vec![],
            vec!["there is no NIPR licence data for NPN 2000010"],
        ),
        (
            "2000011",
            false,
            vec![],
            vec!["NPN 2000011 is not on the Registration Completion List for plan year 2027"],
        ),
        (
            "2000012",
            false,
            vec![],
            vec![
                "NPN 2000012 holds no active state licence with an active health line of authority on 2026-11-26",
            ],
        ),
        (
            "2000013",
            false,
            vec![],
            vec![
                "NPN 2000013 has not completed Individual Marketplace registration for plan year 2027 (the Registration Completion List has no Individual Registration Completion Date)",
            ],
        ),
    ]
}

async fn fixture_agents_get_the_right_verdicts(t: TestApp) {
    import_all(&t.app).await;
    let day = t.app.today();
    for (n, eligible, states, reasons) in expected() {
        let report = t.app.eligibility_of(&npn(n), day).await.unwrap();
        let mut want: Vec<String> = reasons.iter().map(|r| (*r).to_owned()).collect();
        want.push(format!(
            "NPN {n} has not created a Help On Demand account yet"
        ));
        assert_eq!(report.plan_year, 2027);
        assert_eq!(report.eligible, eligible, "{n}: {report:?}");
        assert_eq!(report.states, states, "{n}");
        assert_eq!(report.reasons, want, "{n}");
        assert!(!report.registration_complete);
        // What routing reads agrees with what the help desk is told.
        let stored = hod_db::eligibility::get(t.app.storage(), 2027, &npn(n))
            .await
            .unwrap();
        match stored {
            Some(s) => assert_eq!(
                (s.eligible, s.reasons),
                (eligible, report.reasons.clone()),
                "{n}"
            ),
            // Only NPNs on both the RCL and the MLMS file of the plan year are evaluated.
            None => assert!(["2000002", "2000011"].contains(&n), "{n} was not evaluated"),
        }
    }

    // The two eligible agents, and only they, got one invitation each, from noreply.
    let mail = t.take_outbox().await;
    let mut to: Vec<&str> = mail.iter().map(|m| m.recipient.as_str()).collect();
    to.sort_unstable();
    assert_eq!(
        to,
        vec!["ana.alvarez@agency.test", "gigi.garza@agency.test"]
    );
    for m in &mail {
        assert_eq!(
            (m.channel.as_str(), m.sender.as_str()),
            ("email", "noreply@hod.test")
        );
        assert!(
            m.body
                .contains(&format!("{}/register/", t.app.settings.public_url)),
            "{}",
            m.body
        );
        assert!(m.body.contains("expires in 48 hours"));
        assert!(m.body.contains("expira en 48 horas"));
    }
    assert!(mail[0].body.contains("plan year 2027"));
}

async fn reimporting_the_same_files_changes_nothing(t: TestApp) {
    import_all(&t.app).await;
    assert_eq!(t.take_outbox().await.len(), 2);
    let tables = [
        "rcl_entries",
        "mlms_entries",
        "status_events",
        "agent_licenses",
        "agent_license_loas",
        "agents",
        "eligibility",
        "invitations",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&t, table).await);
    }
    let snapshot = hod_db::eligibility::for_year(t.app.storage(), 2027)
        .await
        .unwrap();
    import_all(&t.app).await;
    assert!(
        t.take_outbox().await.is_empty(),
        "a second import sends no invitation"
    );
    for (table, n) in tables.iter().zip(before) {
        assert_eq!(count(&t, table).await, n, "{table}");
    }
    assert_eq!(
        hod_db::eligibility::for_year(t.app.storage(), 2027)
            .await
            .unwrap(),
        snapshot
    );
    // The daily run does not invite again either.
    assert!(
        matches!(t.app.run_daily_eligibility("node-a").await.unwrap(), DailyRun::Ran(s) if s.invitations_sent == 0)
    );
}

async fn bad_files_write_nothing(t: TestApp) {
    let term = std::fs::read(fixture("termination.csv")).unwrap();
    let cases: Vec<(ImportKind, &str, Vec<u8>, &str)> = vec![
        (
            ImportKind::Rcl,
            "march.csv",
            term.clone(),
            "march.csv: line 1: this is a Suspension and Termination List, not a Registration Completion List; import it with `hod import termination`",
        ),
        (
            ImportKind::Rcl,
            "short.csv",
            b"NPN,Applicable Plan Year,Individual Marketplace End Date\n1,2027,\n".to_vec(),
            "short.csv: line 1: not a Registration Completion List: missing the columns Individual Registration Completion Date, Shop Registration Completion Date, Shop End Date, NPN Valid (Current Plan Year Only); expected the headers NPN, Applicable Plan Year, Individual Registration Completion Date, Individual Marketplace End Date, Shop Registration Completion Date, Shop End Date, NPN Valid (Current Plan Year Only)",
        ),
        (
            ImportKind::Mlms,
            "latin1.csv",
            b"NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date\n1,Ana,Lopez,a@b.co,2027,\n2,Jos\xe9,Pe\xf1a,j@b.co,2027,\n".to_vec(),
            "latin1.csv: line 3: the text is not UTF-8; save the file as CSV UTF-8 and import it again",
        ),
        (
            ImportKind::Rcl,
            "rcl.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00".to_vec(),
            "rcl.xlsx: this is a ZIP archive or an Excel workbook (.xlsx), not a text file; export it as CSV UTF-8",
        ),
        (
            ImportKind::Termination,
            "empty.csv",
            Vec::new(),
            "empty.csv: the file is empty; expected a Suspension and Termination List with the headers NPN, Status, Marketplaces, Effective Plan Year, Registration Completion Date, Termination or Suspension Date",
        ),
        (
            ImportKind::Nipr,
            "broken.xml",
            b"<?xml version=\"1.0\"?>\n<PDB>\n  <PRODUCER>\n    <NPN>1</NPN>\n  </PRODUCR>\n</PDB>\n".to_vec(),
            "broken.xml: line 5: the XML is not well formed",
        ),
        (
            ImportKind::Nipr,
            "other.xml",
            b"<?xml version=\"1.0\"?>\n\n<Report><Row/></Report>\n".to_vec(),
            "other.xml: line 3: the XML root element is <REPORT>; a NIPR PDB report starts with <PDB>",
        ),
        (
            ImportKind::Loa,
            "loa.csv",
            b"State,LOA\nTX,Life\n".to_vec(),
            "loa.csv: the file has no valid rows; the valid-LOA table was left as it was",
        ),
    ];
    let loas_before = count(&t, "valid_loas").await;
    for (kind, name, bytes, message) in cases {
        let err = import_bytes(&t.app, kind, name, bytes).await.unwrap_err();
        let AppError::Invalid(text) = &err else {
            panic!("{name}: {err:?}");
        };
        assert!(text.starts_with(message), "{name}: {text}");
    }
    for table in [
        "rcl_entries",
        "mlms_entries",
        "status_events",
        "agent_licenses",
        "agents",
        "imports",
        "eligibility",
    ] {
        assert_eq!(count(&t, table).await, 0, "{table}");
    }
    assert_eq!(count(&t, "valid_loas").await, loas_before);
}

async fn a_failure_late_in_a_file_rolls_back_the_whole_file(t: TestApp) {
    // Several batches of good rows reach the database before the bad line is read.
    let mut file = b"NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,Shop Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n".to_vec();
    for i in 0..10_000 {
        file.extend_from_slice(
            format!("{},2027,09/02/2026,10/31/2027,,,Y\n", 3_000_000 + i).as_bytes(),
        );
    }
    file.extend_from_slice(b"3999999,2027,09/02/2026,10/31/2027,,,\xff\n");
    let err = import_bytes(&t.app, ImportKind::Rcl, "big.csv", file)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("big.csv: line 10002: the text is not UTF-8"),
        "{err}"
    );
    assert_eq!(count(&t, "rcl_entries").await, 0);
    assert_eq!(count(&t, "imports").await, 0);
}

async fn dry_run_writes_nothing(t: TestApp) {
    let source = Source::open(&fixture("rcl.csv")).unwrap();
    let report = t
        .app
        .import(
            ImportKind::Rcl,
            source,
            ImportOptions {
                dry_run: true,
                ..opts()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (report.rows, report.applied, report.rejected.len()),
        (19, 12, 7)
    );
    assert!(report.evaluation.is_none());
    assert_eq!(count(&t, "rcl_entries").await, 0);
    assert_eq!(count(&t, "imports").await, 0);
}

async fn nipr_import_replaces_what_was_known_for_its_npns(t: TestApp) {
    import_all(&t.app).await;
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("email", "gigi.garza@agency.test"),
    ])
    .await;
    let day = t.app.today();
    assert_eq!(
        t.app
            .eligibility_of(&npn("2000001"), day)
            .await
            .unwrap()
            .states,
        vec!["TX"]
    );
    // The XML report knows 2000001 in AL (and an inactive GA licence): TX and CA are gone.
    import(&t.app, ImportKind::Nipr, "nipr.xml").await;
    assert_eq!(
        t.app
            .eligibility_of(&npn("2000001"), day)
            .await
            .unwrap()
            .states,
        vec!["AL"]
    );
    let lic = hod_db::licences::for_npns(t.app.storage(), &[npn("2000001"), npn("2000007")])
        .await
        .unwrap();
    let states: Vec<&str> = lic[&npn("2000001")]
        .iter()
        .map(|l| l.state.code())
        .collect();
    assert_eq!(states, vec!["AL", "GA"]);
    assert_eq!(
        lic[&npn("2000001")][0].loas[0].loa,
        "Accident & Health or Sickness",
        "entities decoded"
    );
    // An NPN the file does not mention keeps its licences.
    assert_eq!(lic[&npn("2000007")].len(), 1);
    assert!(t.take_outbox().await.is_empty());
}

async fn loa_table_import_replaces_the_table(t: TestApp) {
    import_all(&t.app).await;
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("email", "gigi.garza@agency.test"),
    ])
    .await;
    let day = t.app.today();
    assert!(
        t.app
            .eligibility_of(&npn("2000007"), day)
            .await
            .unwrap()
            .eligible,
        "Sickness is in the seeded table"
    );
    import(&t.app, ImportKind::Loa, "loa.csv").await;
    let rows = hod_db::cms::valid_loa_rows(t.app.storage()).await.unwrap();
    let listed: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.state.map_or("*".to_owned(), |s| s.code().to_owned()),
                r.loa.clone(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("*".into(), "Accident & Health or Sickness".into()),
            ("*".into(), "accident and health".into()),
            ("FL".into(), "Health".into()),
            ("TX".into(), "Health Maintenance Organization".into()),
        ]
    );
    let gigi = t.app.eligibility_of(&npn("2000007"), day).await.unwrap();
    assert!(!gigi.eligible);
    assert_eq!(
        gigi.reasons[0],
        "NPN 2000007 holds no active state licence with an active health line of authority on 2026-11-26"
    );
    assert!(
        !hod_db::eligibility::get(t.app.storage(), 2027, &npn("2000007"))
            .await
            .unwrap()
            .unwrap()
            .eligible
    );
}

async fn losing_eligibility_takes_effect_at_once(t: TestApp) {
    import_all(&t.app).await;
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("email", "gigi.garza@agency.test"),
    ])
    .await;
    assert!(
        hod_db::eligibility::get(t.app.storage(), 2027, &npn("2000001"))
            .await
            .unwrap()
            .unwrap()
            .eligible
    );
    let report = import_bytes(
        &t.app,
        ImportKind::Termination,
        "april.csv",
        b"NPN,Status,Marketplaces,Effective Plan Year,Registration Completion Date,Termination or Suspension Date\n2000001,T3,BOTH,2027,09/02/2026,11/20/2026\n".to_vec(),
    )
    .await
    .unwrap();
    let run = report.evaluation.expect("evaluated after the import");
    assert_eq!((run.lost_eligibility, run.became_eligible), (1, 0));
    let stored = hod_db::eligibility::get(t.app.storage(), 2027, &npn("2000001"))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.eligible);
    assert_eq!(
        stored.reasons[0],
        "NPN 2000001 is on the Suspension and Termination List for plan year 2027: T3 (fraud) since 2026-11-20, with no reinstatement after it"
    );
    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "eligibility.lost" && e.subject == "npn:2000001")
    );
}

/// The token at the end of the link in an invitation email.
pub(crate) fn link_path(body: &str) -> String {
    let start = body.find("/register/").expect("a link");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

async fn invitation_link_works_once_for_48_hours(t: TestApp) {
    import_all(&t.app).await;
    let mail = t.take_outbox().await;
    let ana = mail
        .iter()
        .find(|m| m.recipient == "ana.alvarez@agency.test")
        .unwrap();
    let path = link_path(&ana.body);
    assert_eq!(path.len(), "/register/".len() + 64, "256-bit token");
    let hash = t
        .app
        .storage()
        .text_for_tests("SELECT token_hash FROM invitations WHERE npn = '2000001'")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !hash.contains(&path["/register/".len()..]),
        "only the hash is stored"
    );

    let page = t.get(&path).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    for text in [
        "Get Started by Creating a Profile",
        "Ana",
        "Alvarez",
        "ana.alvarez@agency.test",
        "November 28, 2026 at 11:00 AM EST",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    let es = t
        .get_in(&path, "es-US,es;q=0.9")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        es.contains("Comience creando un perfil")
            && es.contains("28 de noviembre de 2026, 11:00 EST"),
        "{es}"
    );

    t.clock
        .advance(jiff::SignedDuration::from_hours(48) - jiff::SignedDuration::from_secs(1));
    assert_eq!(t.get(&path).await.status(), 200);
    t.clock.advance(jiff::SignedDuration::from_secs(1));
    let expired = t.get(&path).await;
    assert_eq!(expired.status(), 410);
    let html = expired.text().await.unwrap();
    assert!(
        html.contains("This invitation link has expired") && html.contains("48 hours"),
        "{html}"
    );
    let es = t.get_in(&path, "es").await.text().await.unwrap();
    assert!(
        es.contains("Este vínculo de invitación ha expirado"),
        "{es}"
    );

    let unknown = t.get(&format!("/register/{}", "0".repeat(64))).await;
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("This invitation link is not valid")
    );
    assert_eq!(t.get("/register/short").await.status(), 404);

    // Once the agent has an account the link counts as used.
    let mut tx = t.app.storage().begin().await.unwrap();
    let agent = hod_db::agents::find_by_npn(t.app.storage(), &npn("2000007"))
        .await
        .unwrap()
        .unwrap();
    let reg = hod_db::agents::Registration {
        username: "gigi",
        password_hash: "x",
        phone: "+15555550100",
        contact_method: "email_only",
        zip: "43004",
    };
    hod_db::agents::register(&mut tx, agent.id, &reg, t.app.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let gigi = mail
        .iter()
        .find(|m| m.recipient == "gigi.garza@agency.test")
        .unwrap();
    let used = t.get(&link_path(&gigi.body)).await;
    assert_eq!(used.status(), 410);
    assert!(used.text().await.unwrap().contains("already been used"));
}

async fn help_desk_resend_invalidates_the_old_link(t: TestApp) {
    import_all(&t.app).await;
    let first = t.take_outbox().await;
    let old = link_path(
        &first
            .iter()
            .find(|m| m.recipient == "ana.alvarez@agency.test")
            .unwrap()
            .body,
    );
    t.clock.advance(jiff::SignedDuration::from_hours(50));
    assert_eq!(t.get(&old).await.status(), 410);

    t.app
        .resend_invitation(&npn("2000001"), Actor::Operator(1))
        .await
        .unwrap();
    let resent = t.take_outbox().await;
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].recipient, "ana.alvarez@agency.test");
    let new = link_path(&resent[0].body);
    assert_ne!(new, old);
    assert_eq!(t.get(&new).await.status(), 200);

    // A second resend: the link sent a moment ago stops working and says why.
    t.app
        .resend_invitation(&npn("2000001"), Actor::Operator(1))
        .await
        .unwrap();
    let newest = link_path(&t.take_outbox().await[0].body);
    let replaced = t.get(&new).await;
    assert_eq!(replaced.status(), 410);
    assert!(
        replaced
            .text()
            .await
            .unwrap()
            .contains("A newer invitation link was sent to you")
    );
    assert_eq!(t.get(&newest).await.status(), 200);

    // Not for agents who cannot take part, nor for those with an account.
    let err = t
        .app
        .resend_invitation(&npn("2000006"), Actor::Operator(1))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("NPN 2000006 is not eligible, so no invitation was sent: NPN 2000006 is on the Suspension"), "{err}");
    let err = t
        .app
        .resend_invitation(&npn("4040404"), Actor::Operator(1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in the MLMS file"), "{err}");
    let audit = hod_db::audit::recent(t.app.storage(), 50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "invitation.resent")
            .count(),
        2
    );
}

async fn daily_run_happens_once_a_day_across_nodes(t: TestApp) {
    import_all(&t.app).await;
    t.expect_outbox(&[
        ("email", "ana.alvarez@agency.test"),
        ("email", "gigi.garza@agency.test"),
    ])
    .await;
    let other = t.other_node().await;
    assert!(matches!(
        t.app.run_daily_eligibility("node-a").await.unwrap(),
        DailyRun::Ran(_)
    ));
    assert_eq!(
        other.run_daily_eligibility("node-b").await.unwrap(),
        DailyRun::NotDue
    );
    assert_eq!(
        t.app.run_daily_eligibility("node-a").await.unwrap(),
        DailyRun::NotDue
    );

    // The next day (after midnight in the program's time zone) one node runs it again, and
    // the day moves the verdicts: 2000001's RCL registration ends on 2027-10-31.
    t.clock.advance(jiff::SignedDuration::from_hours(24));
    assert!(
        matches!(other.run_daily_eligibility("node-b").await.unwrap(), DailyRun::Ran(s) if s.day.to_string() == "2026-11-27")
    );
    assert_eq!(
        t.app.run_daily_eligibility("node-a").await.unwrap(),
        DailyRun::NotDue
    );
    // Plan year 2028 is not set up: the run says so instead of guessing.
    t.clock.set("2027-11-01T12:00:00Z".parse().unwrap());
    assert_eq!(
        t.app.run_daily_eligibility("node-a").await.unwrap(),
        DailyRun::NoPlanYear
    );
    assert!(t.take_outbox().await.is_empty());
}
