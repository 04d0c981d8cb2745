//! Storage contract: every test runs on SQLite and on PostgreSQL (`sqlite::…`, `postgres::…`).
use hod_db::agents::{self, NewAgent, Registration};
use hod_db::operators::{self, NewOperator, Role};
use hod_db::outbox::{self, Channel, NewMessage, Outcome};
use hod_db::sessions::{self, NewSession, PrincipalKind, SessionClient};
use hod_db::{DbError, audit, cms, invitations, jobs, licences, reference};
use hod_domain::eligibility::{MlmsEntry, NpnValid, RclEntry};
use hod_domain::{
    Lang, License, LineOfAuthority, Npn, PlanYear, StateTable, UsState, Zip, ZipDirectory,
};
use hod_test_support::{TestDb, db_tests};

mod referrals;
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    hod_test_support::START.parse().unwrap()
}

/// `sessions::touch` in a write transaction of its own, as the application runs it.
async fn touch(
    db: &hod_db::Db,
    hash: &str,
    client: SessionClient,
    at: Timestamp,
    idle: SignedDuration,
) -> hod_db::Result<Option<sessions::SessionRow>> {
    db.write(async |tx| {
        sessions::touch(tx, hash, sessions::PrincipalKind::Agent, client, at, idle).await
    })
    .await
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

db_tests!(
    migrations_are_idempotent_and_load_reference_data,
    zip_directory_is_stored_whole,
    seeded_state_table_and_plan_years,
    plan_years_can_be_added_and_changed,
    outbox_deduplicates_and_lists,
    outbox_claims_lease_and_retry,
    outbox_claims_never_overlap,
    audit_log_is_append_only,
    audit_chain_holds_under_concurrent_appends,
    audit_entries_appended_together_extend_the_chain,
    sessions_expire_when_idle_or_old,
    job_lease_is_exclusive_until_it_runs_out,
    operator_usernames_are_unique_ignoring_case,
    agents_register_with_unique_usernames,
    licences_replace_and_yield_health_states,
    licences_added_together_merge_as_added_one_by_one,
    cms_batches_keep_the_last_row_of_a_repeated_key,
    automatic_invitation_is_stored_once_per_plan_year,
    daily_lease_is_taken_once_per_day,
    concurrent_writes_land_or_fail_alone,
    an_abandoned_write_leaves_nothing_behind,
);

async fn migrations_are_idempotent_and_load_reference_data(t: TestDb) {
    let before = reference::zip_count(&t.db).await.unwrap();
    t.db.migrate(t0()).await.unwrap();
    t.db.migrate(t0()).await.unwrap();
    assert_eq!(reference::zip_count(&t.db).await.unwrap(), before);
    assert_eq!(reference::plan_years(&t.db).await.unwrap().len(), 3);
    t.db.ping().await.unwrap();
}

async fn zip_directory_is_stored_whole(t: TestDb) {
    let dir = ZipDirectory::bundled();
    assert_eq!(
        reference::zip_count(&t.db).await.unwrap(),
        i64::try_from(dir.len()).unwrap()
    );
    let zip = Zip::parse("99634").unwrap();
    let stored = reference::zip(&t.db, zip).await.unwrap().unwrap();
    let bundled = dir.get(zip).unwrap();
    assert_eq!(
        (stored.city.as_str(), stored.state.as_str()),
        (bundled.city, bundled.state.code())
    );
    assert_eq!(stored.time_zone, "America/Nome");
    assert!((stored.latitude - bundled.latitude).abs() < 1e-9);
    assert!(
        reference::zip(&t.db, Zip::parse("00000").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn seeded_state_table_and_plan_years(t: TestDb) {
    let table = reference::state_table(&t.db).await.unwrap();
    let mut stored = table.periods().to_vec();
    let mut seed = StateTable::seed().periods().to_vec();
    let key = |p: &hod_domain::StatePeriod| (p.state.code(), p.effective_from);
    stored.sort_by_key(key);
    seed.sort_by_key(key);
    assert_eq!(stored, seed);
    let years = reference::plan_years(&t.db).await.unwrap();
    assert_eq!(
        years,
        vec![
            PlanYear::standard(2025),
            PlanYear::standard(2026),
            PlanYear::standard(2027)
        ]
    );
}

async fn plan_years_can_be_added_and_changed(t: TestDb) {
    let mut py = PlanYear::standard(2028);
    let put = async |py: &PlanYear| {
        t.db.write(async |tx| reference::put_plan_year(tx, py).await)
            .await
            .unwrap();
    };
    put(&py).await;
    py.ends_on = jiff::civil::date(2028, 12, 15);
    put(&py).await;
    let years = reference::plan_years(&t.db).await.unwrap();
    assert_eq!(years.last(), Some(&py));
    assert_eq!(years.len(), 4);
}

fn email<'a>(to: &'a str, dedup: Option<&'a str>) -> NewMessage<'a> {
    NewMessage {
        channel: Channel::Email,
        sender: "",
        recipient: to,
        subject: "You have a New Referral",
        body: "body",
        html: None,
        lang: "en",
        fallback_to: None,
        urgent: false,
        subscription_id: None,
        dedup_key: dedup,
    }
}

async fn outbox_deduplicates_and_lists(t: TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    let a = outbox::enqueue(&mut tx, &email("a@x.test", Some("invite:1")), t0())
        .await
        .unwrap();
    let again = outbox::enqueue(&mut tx, &email("a@x.test", Some("invite:1")), t0())
        .await
        .unwrap();
    let b = outbox::enqueue(&mut tx, &email("b@x.test", None), t0())
        .await
        .unwrap();
    let c = outbox::enqueue(&mut tx, &email("b@x.test", None), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(a.is_some() && b.is_some() && c.is_some());
    assert_eq!(
        again, None,
        "a second message with the same key is not queued"
    );
    assert_eq!(outbox::list(&t.db, None, None).await.unwrap().len(), 3);
    let to_b = outbox::list(&t.db, Some("b@x.test"), None).await.unwrap();
    assert_eq!(
        to_b.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![b.unwrap(), c.unwrap()]
    );
    assert_eq!(to_b[0].channel, outbox::Channel::Email);
    assert_eq!(to_b[0].status, outbox::DeliveryStatus::Pending);
    assert_eq!(outbox::pending_count(&t.db).await.unwrap(), 3);

    // A rolled-back transaction leaves nothing behind.
    let mut tx = t.db.begin().await.unwrap();
    outbox::enqueue(&mut tx, &email("c@x.test", None), t0())
        .await
        .unwrap();
    drop(tx);
    assert!(
        outbox::list(&t.db, Some("c@x.test"), None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn outbox_claims_lease_and_retry(t: TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, &email("a@x.test", None), t0())
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = t.db.begin().await.unwrap();
    let claimed = outbox::claim_due(&mut tx, "node-a", t0(), t0() + mins(1), 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(claimed[0].attempts, 1);

    // Leased: nobody else gets it until the lease runs out.
    let mut tx = t.db.begin().await.unwrap();
    assert!(
        outbox::claim_due(&mut tx, "node-b", t0() + mins(0), t0() + mins(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // node-a died; after the lease, node-b takes over and node-a can no longer finish it.
    let retaken = outbox::claim_due(&mut tx, "node-b", t0() + mins(2), t0() + mins(3), 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].attempts, 2);
    assert!(
        !outbox::finish(
            &mut tx,
            id,
            "node-a",
            Outcome::Sent { provider_id: None },
            t0() + mins(2)
        )
        .await
        .unwrap()
    );
    // A failed attempt with a retry time makes it due again then, not before.
    assert!(
        outbox::attempt_failed(
            &mut tx,
            id,
            "node-b",
            "smtp 451",
            Some(t0() + mins(10)),
            t0() + mins(2)
        )
        .await
        .unwrap()
    );
    assert!(
        outbox::claim_due(&mut tx, "node-b", t0() + mins(9), t0() + mins(11), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let third = outbox::claim_due(&mut tx, "node-b", t0() + mins(10), t0() + mins(11), 10)
        .await
        .unwrap();
    assert_eq!(third[0].last_error.as_deref(), Some("smtp 451"));
    assert!(
        outbox::finish(&mut tx, id, "node-b", Outcome::Stored, t0() + mins(10))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let listed = outbox::list(&t.db, None, None).await.unwrap();
    assert_eq!(listed[0].status, outbox::DeliveryStatus::Stored);
    assert_eq!(outbox::pending_count(&t.db).await.unwrap(), 0);

    // Giving up for good.
    let mut tx = t.db.begin().await.unwrap();
    let id2 = outbox::enqueue(&mut tx, &email("z@x.test", None), t0())
        .await
        .unwrap()
        .unwrap();
    outbox::claim_due(&mut tx, "n", t0(), t0() + mins(1), 10)
        .await
        .unwrap();
    assert!(
        outbox::attempt_failed(&mut tx, id2, "n", "bad address", None, t0())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let failed = outbox::list(&t.db, Some("z@x.test"), None).await.unwrap();
    assert_eq!(failed[0].status, outbox::DeliveryStatus::Failed);
}

/// Claimers racing on the same rows never both get one (the lease pattern every worker uses).
async fn outbox_claims_never_overlap(t: TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    for i in 0..200 {
        outbox::enqueue(&mut tx, &email(&format!("r{i}@x.test"), None), t0())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let mut tx = db.begin().await.unwrap();
                let got = outbox::claim_due(&mut tx, &owner, t0(), t0() + mins(5), 7)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                if got.is_empty() {
                    break mine;
                }
                mine.extend(got.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((n, all.len()), (200, 200), "every row claimed exactly once");
}

/// Appends from many transactions at once still form one chain (PostgreSQL serialises them
/// with an advisory lock; SQLite has one writer).
async fn audit_chain_holds_under_concurrent_appends(t: TestDb) {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            db.write(async |tx| {
                let subject = format!("agent:{i}");
                let entry = audit::Entry {
                    actor: hod_domain::actor::Actor::System,
                    action: "agent.test",
                    subject: &subject,
                    ip: None,
                    detail: serde_json::json!({ "i": i }),
                };
                audit::append(tx, &entry, t0()).await
            })
            .await
            .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let v = audit::verify(&t.db).await.unwrap();
    assert_eq!((v.checked, v.first_broken), (24, None));
}

/// Many entries in one call (several statements) chain as if appended one by one, before
/// and after single appends.
async fn audit_entries_appended_together_extend_the_chain(t: TestDb) {
    let subjects: Vec<String> = (0..100).map(|i| format!("npn:{i}")).collect();
    let entry = |subject| audit::Entry {
        actor: hod_domain::actor::Actor::System,
        action: "eligibility.gained",
        subject,
        ip: None,
        detail: serde_json::json!({ "plan_year": 2027 }),
    };
    t.db.write(async |tx| {
        audit::append(tx, &entry("npn:first"), t0()).await?;
        let many: Vec<audit::Entry<'_>> = subjects.iter().map(|s| entry(s)).collect();
        audit::append_all(tx, &many, t0()).await?;
        audit::append(tx, &entry("npn:last"), t0()).await
    })
    .await
    .unwrap();
    let v = audit::verify(&t.db).await.unwrap();
    assert_eq!((v.checked, v.first_broken), (102, None));
    let recent = audit::recent(&t.db, 3).await.unwrap();
    let order: Vec<&str> = recent.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(order, ["npn:last", "npn:99", "npn:98"]);
}

async fn audit_log_is_append_only(t: TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    let entry = audit::Entry {
        actor: hod_domain::actor::Actor::Cli,
        action: "operator.created",
        subject: "operator:1",
        ip: None,
        detail: serde_json::json!({"k": 1}),
    };
    let id = audit::append(&mut tx, &entry, t0()).await.unwrap();
    tx.commit().await.unwrap();
    let recent = audit::recent(&t.db, 10).await.unwrap();
    assert_eq!(recent[0].id, id);
    assert_eq!(recent[0].detail, r#"{"k":1}"#);
    for sql in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"] {
        let err = t.db.execute_raw_for_tests(sql).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(audit::recent(&t.db, 10).await.unwrap().len(), 1);
}

async fn sessions_expire_when_idle_or_old(t: TestDb) {
    let idle = mins(15);
    let mut tx = t.db.begin().await.unwrap();
    for (hash, id) in [("h1", 1), ("h2", 1), ("h3", 2)] {
        let s = NewSession {
            client: SessionClient::Web,
            token_hash: hash,
            kind: PrincipalKind::Agent,
            principal_id: id,
            expires_at: t0() + SignedDuration::from_hours(12),
            ip: Some("127.0.0.1"),
            user_agent: None,
        };
        sessions::create(&mut tx, &s, t0()).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Used every 14 minutes, h1 stays alive until its absolute end.
    let mut now = t0();
    while now + mins(14) < t0() + SignedDuration::from_hours(12) {
        now += mins(14);
        assert!(
            touch(&t.db, "h1", SessionClient::Web, now, idle)
                .await
                .unwrap()
                .is_some(),
            "alive at {now}"
        );
    }
    assert!(
        touch(
            &t.db,
            "h1",
            SessionClient::Web,
            t0() + SignedDuration::from_hours(12),
            idle
        )
        .await
        .unwrap()
        .is_none()
    );
    // h2 was never used again: dead after 15 idle minutes, and touching does not revive it.
    assert!(
        touch(&t.db, "h2", SessionClient::Web, t0() + mins(15), idle)
            .await
            .unwrap()
            .is_none()
    );
    // A browser session is not an app token (and the other way round).
    assert!(
        touch(&t.db, "h3", SessionClient::App, t0() + mins(1), idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        touch(&t.db, "h3", SessionClient::Web, t0() + mins(14), idle)
            .await
            .unwrap()
            .is_some()
    );
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(
        sessions::delete_all_for(&mut tx, PrincipalKind::Agent, 1)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        sessions::purge_expired(&mut tx, t0() + SignedDuration::from_hours(1), idle)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert!(
        touch(&t.db, "h3", SessionClient::Web, t0() + mins(20), idle)
            .await
            .unwrap()
            .is_none()
    );
}

/// Asks for the lease on `job` for `owner` at minute `at` until minute `until`.
async fn lease(tx: &mut hod_db::Tx, job: &str, owner: &str, at: i64, until: i64) -> bool {
    jobs::try_lease(tx, job, owner, t0() + mins(at), t0() + mins(until))
        .await
        .unwrap()
}

async fn job_lease_is_exclusive_until_it_runs_out(t: TestDb) {
    let daily = "eligibility.daily";
    let mut tx = t.db.begin().await.unwrap();
    assert!(lease(&mut tx, daily, "node-a", 0, 10).await);
    assert!(
        !lease(&mut tx, daily, "node-b", 5, 15).await,
        "held by node-a"
    );
    assert!(lease(&mut tx, daily, "node-a", 5, 15).await, "renewal");
    assert!(
        lease(&mut tx, "other", "node-b", 0, 10).await,
        "leases are per job"
    );
    assert!(
        lease(&mut tx, daily, "node-b", 15, 25).await,
        "after expiry"
    );
    jobs::finish(&mut tx, daily, "node-b", t0() + mins(16))
        .await
        .unwrap();
    assert!(
        lease(&mut tx, daily, "node-a", 16, 26).await,
        "after finish"
    );
    tx.commit().await.unwrap();
}

async fn operator_usernames_are_unique_ignoring_case(t: TestDb) {
    let new = |u| NewOperator {
        username: u,
        email: "ops@x.test",
        password_hash: "$argon2id$x",
        role: Role::Admin,
    };
    let mut tx = t.db.begin().await.unwrap();
    let id = operators::create(&mut tx, &new("Alice"), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let err = operators::create(&mut tx, &new("alice"), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err}");
    drop(tx);
    let found = operators::find_by_username(&t.db, &hod_domain::Username::parse("ALICE").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.username.as_str(), found.role.as_str()),
        (id, "Alice", "admin")
    );
    assert!(
        !format!("{found:?}").contains("argon2"),
        "Debug hides the hash"
    );
}

async fn agents_register_with_unique_usernames(t: TestDb) {
    let npn1 = Npn::parse("1234567").unwrap();
    let npn2 = Npn::parse("7654321").unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let a1 = agents::upsert(
        &mut tx,
        &NewAgent {
            npn: &npn1,
            first_name: "Jane",
            last_name: "Doe",
            email: "jane@x.test",
        },
        t0(),
    )
    .await
    .unwrap();
    let a1_again = agents::upsert(
        &mut tx,
        &NewAgent {
            npn: &npn1,
            first_name: "Janet",
            last_name: "Doe",
            email: "janet@x.test",
        },
        t0(),
    )
    .await
    .unwrap();
    let a2 = agents::upsert(
        &mut tx,
        &NewAgent {
            npn: &npn2,
            first_name: "Juan",
            last_name: "Pérez",
            email: "juan@x.test",
        },
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(a1, a1_again);
    let reg = Registration {
        username: "JaneDoe",
        password_hash: "h",
        phone: "+12225550100",
        contact_method: "email_text_app",
        zip: "48371",
    };
    agents::register(&mut tx, a1, &reg, t0()).await.unwrap();
    agents::set_languages(
        &mut tx,
        a1,
        &[Lang::parse("es").unwrap(), Lang::parse("en").unwrap()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = t.db.begin().await.unwrap();
    let taken = Registration {
        username: "janedoe",
        ..reg.clone()
    };
    assert!(matches!(
        agents::register(&mut tx, a2, &taken, t0()).await,
        Err(DbError::Conflict(_))
    ));
    drop(tx);

    let row = agents::find_by_npn(&t.db, &npn1).await.unwrap().unwrap();
    assert_eq!(
        (row.first_name.as_str(), row.email.as_str()),
        ("Janet", "janet@x.test")
    );
    assert_eq!(row.username.as_deref(), Some("JaneDoe"));
    assert!(row.registered_at.is_some());
    assert_eq!(
        agents::languages(&t.db, a1).await.unwrap(),
        vec!["en", "es"]
    );
    assert_eq!(agents::count(&t.db).await.unwrap(), 2);
}

async fn licences_replace_and_yield_health_states(t: TestDb) {
    let npn = Npn::parse("555").unwrap();
    let loa = |name: &str, active| LineOfAuthority {
        loa: name.into(),
        loa_code: String::new(),
        active,
        status_date: None,
    };
    let lic = |state, active, loas| License {
        state: UsState::parse(state).unwrap(),
        license_number: format!("L-{state}"),
        license_class: "Producer".into(),
        resident: state == "TX",
        active,
        expires_on: Some(jiff::civil::date(2028, 12, 31)),
        loas,
    };
    let first = vec![
        lic(
            "TX",
            true,
            vec![
                loa(" accident & health or sickness ", true),
                loa("Life", true),
            ],
        ),
        lic("FL", true, vec![loa("Life", true)]),
        lic("OK", false, vec![loa("Health", true)]),
        lic("AZ", true, vec![loa("Health", false)]),
    ];
    let mut tx = t.db.begin().await.unwrap();
    licences::replace(&mut tx, &npn, &first).await.unwrap();
    tx.commit().await.unwrap();
    let stored = licences::for_npns(&t.db, std::slice::from_ref(&npn))
        .await
        .unwrap();
    assert_eq!(stored[&npn].len(), 4);
    let tx_licence = stored[&npn]
        .iter()
        .find(|l| l.state.code() == "TX")
        .unwrap();
    assert_eq!(
        tx_licence, &first[0],
        "a licence reads back as it was written"
    );
    let seeded = cms::valid_loas(&t.db).await.unwrap();
    let day = jiff::civil::date(2026, 11, 26);
    let codes = |ls: &[License]| -> Vec<&'static str> {
        seeded
            .health_states(ls, day)
            .into_iter()
            .map(UsState::code)
            .collect()
    };
    assert_eq!(codes(&stored[&npn]), vec!["TX"]);

    let mut tx = t.db.begin().await.unwrap();
    licences::replace(&mut tx, &npn, &[lic("FL", true, vec![loa("Health", true)])])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stored = licences::for_npns(&t.db, std::slice::from_ref(&npn))
        .await
        .unwrap();
    assert_eq!(codes(&stored[&npn]), vec!["FL"]);
}

/// A NIPR batch lists a licence twice, far apart (statements of a few dozen rows each): it
/// is stored once, with the later values and both lists of lines of authority (the later
/// winning on the same name).
async fn licences_added_together_merge_as_added_one_by_one(t: TestDb) {
    let loa = |name: &str, active| LineOfAuthority {
        loa: name.into(),
        loa_code: String::new(),
        active,
        status_date: None,
    };
    let lic = |state: &str, class: &str, loas| License {
        state: UsState::parse(state).unwrap(),
        license_number: format!("L-{state}"),
        license_class: class.into(),
        resident: true,
        active: true,
        expires_on: None,
        loas,
    };
    let npn = |i: usize| Npn::parse(&format!("88{i:04}")).unwrap();
    let mut groups: Vec<(Npn, Vec<License>)> = (0..120)
        .map(|i| {
            let loas = vec![loa("Dental", true), loa("Health", true)];
            (npn(i), vec![lic("TX", "Producer", loas)])
        })
        .collect();
    groups.push((
        npn(3),
        vec![lic(
            "TX",
            "Consultant",
            vec![loa("Health", false), loa("Life", true)],
        )],
    ));
    let mut tx = t.db.begin().await.unwrap();
    licences::add(&mut tx, &groups).await.unwrap();
    tx.commit().await.unwrap();
    let npns: Vec<Npn> = (0..120).map(npn).collect();
    let stored = licences::for_npns(&t.db, &npns).await.unwrap();
    assert_eq!(stored.len(), 120);
    assert_eq!(
        stored[&npn(3)],
        vec![lic(
            "TX",
            "Consultant",
            vec![loa("Dental", true), loa("Health", false), loa("Life", true)]
        )]
    );
    assert_eq!(stored[&npn(119)], groups[119].1);
}

async fn cms_batches_keep_the_last_row_of_a_repeated_key(t: TestDb) {
    let npn = Npn::parse("777").unwrap();
    let row = |valid| RclEntry {
        npn: npn.clone(),
        plan_year: 2027,
        individual_completed_on: Some(jiff::civil::date(2026, 9, 1)),
        individual_end_on: None,
        shop_completed_on: None,
        shop_end_on: None,
        npn_valid: valid,
    };
    // PostgreSQL refuses an upsert that touches one row twice; the batch must not try.
    let mut tx = t.db.begin().await.unwrap();
    cms::upsert_rcl(&mut tx, &[row(NpnValid::No), row(NpnValid::Yes)])
        .await
        .unwrap();
    let mlms = |year, last: &str| MlmsEntry {
        npn: npn.clone(),
        plan_year: year,
        first_name: "Ann".into(),
        last_name: last.into(),
        email: "ann@x.test".into(),
        course_completed_on: None,
    };
    cms::upsert_mlms(
        &mut tx,
        &[mlms(2027, "New"), mlms(2026, "Old"), mlms(2027, "Newer")],
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let facts = cms::year_facts(&t.db, 2027, std::slice::from_ref(&npn))
        .await
        .unwrap();
    assert_eq!(facts.rcl[&npn].npn_valid, NpnValid::Yes);
    assert_eq!(facts.mlms[&npn].last_name, "Newer");
    let agent = agents::find_by_npn(&t.db, &npn).await.unwrap().unwrap();
    assert_eq!(
        agent.last_name, "Newer",
        "the latest plan year names the agent"
    );

    // An older plan year imported later does not rename the agent.
    let mut tx = t.db.begin().await.unwrap();
    cms::upsert_mlms(&mut tx, &[mlms(2025, "Oldest")], t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let agent = agents::find_by_npn(&t.db, &npn).await.unwrap().unwrap();
    assert_eq!(agent.last_name, "Newer");
    assert_eq!(
        cms::candidates(&t.db, 2027).await.unwrap(),
        vec![npn.clone()]
    );
}

async fn automatic_invitation_is_stored_once_per_plan_year(t: TestDb) {
    let inv = |hash: &'static str, sent_by| invitations::NewInvitation {
        npn: "42",
        plan_year: 2027,
        email: "a@x.test",
        token_hash: hash,
        expires_at: t0() + mins(48 * 60),
        sent_by,
    };
    let mut tx = t.db.begin().await.unwrap();
    assert!(
        invitations::create(&mut tx, &inv("h1", None), t0())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        invitations::create(&mut tx, &inv("h2", None), t0())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        invitations::create(&mut tx, &inv("h3", Some("operator:1")), t0())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        invitations::revoke_open(&mut tx, "42", t0()).await.unwrap(),
        2
    );
    tx.commit().await.unwrap();
    assert!(
        invitations::find_by_token_hash(&t.db, "h2")
            .await
            .unwrap()
            .is_none()
    );
    let h1 = invitations::find_by_token_hash(&t.db, "h1")
        .await
        .unwrap()
        .unwrap();
    assert!(h1.revoked_at.is_some() && h1.used_at.is_none());
    assert_eq!(
        invitations::invited_npns(&t.db, 2027).await.unwrap().len(),
        1
    );
    assert_eq!(invitations::for_npn(&t.db, "42").await.unwrap().len(), 2);
}

async fn daily_lease_is_taken_once_per_day(t: TestDb) {
    let midnight = t0();
    let take = |owner: &'static str, now: Timestamp| {
        let db = t.db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let mine = jobs::try_lease_if_not_run_since(
                &mut tx,
                "daily",
                owner,
                now,
                now + mins(30),
                midnight,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            mine
        }
    };
    assert!(take("a", t0()).await);
    assert!(!take("b", t0()).await, "leased by a");
    let mut tx = t.db.begin().await.unwrap();
    jobs::finish(&mut tx, "daily", "a", t0() + mins(1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!take("b", t0() + mins(2)).await, "already ran today");
    assert!(
        !take("a", t0() + mins(2)).await,
        "not even by the same node"
    );
}

/// The two migration folders must describe one schema: the same tables, columns and named
/// indexes on SQLite and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let sqlite = TestDb::fresh(hod_db::Backend::Sqlite).await.unwrap();
    let Some(postgres) = TestDb::fresh(hod_db::Backend::Postgres).await else {
        return;
    };
    let (lite, pg) = (
        sqlite.db.schema_outline().await.unwrap(),
        postgres.db.schema_outline().await.unwrap(),
    );
    assert!(lite.contains_key("referrals") && lite.contains_key("idempotency_keys"));
    let names = |m: &std::collections::BTreeMap<String, _>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&lite), names(&pg), "tables");
    for (table, outline) in &lite {
        assert_eq!(outline.columns, pg[table].columns, "columns of {table}");
        assert_eq!(outline.indexes, pg[table].indexes, "indexes of {table}");
    }
}

/// A session row, as a write's visible mark.
async fn mark(tx: &mut hod_db::Tx, name: &str) -> hod_db::Result<()> {
    let s = NewSession {
        client: SessionClient::Web,
        token_hash: name,
        kind: PrincipalKind::Agent,
        principal_id: 1,
        expires_at: t0() + SignedDuration::from_hours(12),
        ip: None,
        user_agent: None,
    };
    sessions::create(tx, &s, t0()).await
}

async fn marked(db: &hod_db::Db, name: &str) -> bool {
    db.count_for_tests(&format!(
        "SELECT COUNT(*) FROM sessions WHERE token_hash = '{name}'"
    ))
    .await
    .unwrap()
        == 1
}

/// Writes racing for the database: each that succeeds is visible to every reader as soon as
/// it is answered; each that fails (by its own decision, or on a statement SQLite refuses)
/// leaves none of its changes, and takes none of the others' with it. (SQLite commits
/// queued writes together, each in a savepoint.)
async fn concurrent_writes_land_or_fail_alone(t: TestDb) {
    let mut tasks = Vec::new();
    for i in 0..60 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("write-{i}");
            let written = db
                .write(async |tx| {
                    mark(tx, &name).await?;
                    match i % 4 {
                        // Changes its mind after writing.
                        1 => Err(DbError::Corrupt("given up".into())),
                        // A statement the database refuses (the same token twice).
                        2 => mark(tx, &name).await,
                        _ => mark(tx, &format!("{name}-second")).await,
                    }
                })
                .await;
            assert_eq!(
                written.is_ok(),
                i % 4 == 0 || i % 4 == 3,
                "{i}: {written:?}"
            );
            // Answered: a reader sees all of it or none of it.
            let seen = (
                marked(&db, &name).await,
                marked(&db, &format!("{name}-second")).await,
            );
            let expected = written.is_ok();
            assert_eq!(seen, (expected, expected), "{i}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows =
        t.db.count_for_tests("SELECT COUNT(*) FROM sessions WHERE token_hash LIKE 'write-%'")
            .await
            .unwrap();
    assert_eq!(rows, 60);
}

/// A write whose task is cancelled while it holds the database keeps none of its changes
/// and does not hold up the next one, on this node or another.
async fn an_abandoned_write_leaves_nothing_behind(t: TestDb) {
    let (inserted, wait_for_insert) = tokio::sync::oneshot::channel();
    let db = t.db.clone();
    let abandoned = tokio::spawn(async move {
        db.write(async |tx| {
            mark(tx, "abandoned").await?;
            inserted.send(()).unwrap();
            std::future::pending::<()>().await;
            Ok::<_, DbError>(())
        })
        .await
    });
    wait_for_insert.await.unwrap();
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    t.db.write(async |tx| mark(tx, "next").await).await.unwrap();
    assert!(marked(&t.db, "next").await);
    assert!(!marked(&t.db, "abandoned").await);
    // Another node (its own connections) writes too: nothing was left holding the database.
    let other = hod_db::Db::connect(&t.url, &hod_db::ConnectOptions::default())
        .await
        .unwrap();
    other
        .write(async |tx| mark(tx, "elsewhere").await)
        .await
        .unwrap();
    assert!(marked(&t.db, "elsewhere").await);
    other.close().await;
}
