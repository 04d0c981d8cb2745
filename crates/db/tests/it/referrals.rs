//! Storage contract for referrals, their offers and their timeline: what the router and the
//! accept path rely on, on SQLite and on PostgreSQL alike.
use hod_db::agents::{self, NewAgent};
use hod_db::referrals::{self, NewEvent, NewReferral, ReferralRow};
use hod_db::{Db, DbError, Tx};
use hod_domain::Npn;
use hod_domain::actor::Actor;
use hod_domain::referral::{EventKind, OfferStatus, Status};
use hod_test_support::{TestDb, db_tests};
use jiff::{SignedDuration, Timestamp};
use sqlx::Connection;

db_tests!(
    a_referral_reads_back_typed_and_keeps_its_contact_for_the_accepting_agent,
    only_due_routing_referrals_are_locked,
    an_offer_is_decided_once_and_the_rest_are_withdrawn,
    open_offers_leave_the_list_at_their_deadline,
    the_timeline_keeps_actors_kinds_and_details,
    a_status_moves_only_from_where_it_stands,
    a_stored_value_the_code_does_not_know_is_an_error_not_a_guess,
);

fn t0() -> Timestamp {
    hod_test_support::START.parse().unwrap()
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

async fn write<T>(db: &Db, work: impl AsyncFnOnce(&mut Tx) -> hod_db::Result<T>) -> T {
    db.write(work).await.expect("write")
}

async fn agent(db: &Db, npn: &str, first: &str) -> i64 {
    let npn = Npn::parse(npn).unwrap();
    let email = format!("{}@agency.test", first.to_lowercase());
    write(db, async |tx| {
        agents::upsert(
            tx,
            &NewAgent {
                npn: &npn,
                first_name: first,
                last_name: "Tester",
                email: &email,
            },
            t0(),
        )
        .await
    })
    .await
}

async fn request(db: &Db, person: &str) -> i64 {
    write(db, async |tx| {
        referrals::insert(
            tx,
            &NewReferral {
                plan_year: 2027,
                zip: "77002",
                city: "Houston",
                state: "TX",
                language: "es",
                reason: "new_coverage",
                first_name: "Rosa",
                last_name: "Morales",
                phone: "+17135550142",
                email: Some("rosa@example.com"),
                contact_by: "text",
                best_time: "after 5 pm",
                ui_lang: "es",
                consent_version: "2026-11",
                consent_ip: Some("203.0.113.9"),
                consent_user_agent: None,
                source: "web",
                api_key_id: None,
                person_key: person,
            },
            t0(),
        )
        .await
        .map(|r| r.id)
    })
    .await
}

async fn get(db: &Db, id: i64) -> ReferralRow {
    referrals::get(db, id).await.unwrap().expect("stored")
}

async fn a_referral_reads_back_typed_and_keeps_its_contact_for_the_accepting_agent(t: TestDb) {
    let ana = agent(&t.db, "1000001", "Ana").await;
    let bo = agent(&t.db, "1000002", "Bo").await;
    let id = request(&t.db, "p1").await;
    let r = get(&t.db, id).await;
    assert_eq!(
        (r.status, r.created_at, r.due_at, r.agent_id, r.plan_year),
        (Status::Searching, t0(), Some(t0()), None, 2027)
    );
    assert_eq!((r.city.as_str(), r.state.as_str()), ("Houston", "TX"));
    // Nobody sees the consumer before accepting.
    assert!(
        referrals::contact_for_agent(&t.db, id, ana)
            .await
            .unwrap()
            .is_none()
    );
    let offer = write(&t.db, async |tx| {
        referrals::set_routing(tx, id, Status::Offered, t0() + mins(5), Some(t0()), t0()).await?;
        referrals::insert_offer(tx, id, ana, t0(), t0() + mins(5)).await
    })
    .await;
    let taken = write(&t.db, async |tx| {
        referrals::decide_offer(tx, offer, ana, OfferStatus::Accepted, None, t0() + mins(1))
            .await?;
        referrals::assign(tx, id, ana, t0() + mins(1), t0() + mins(61)).await
    })
    .await;
    assert!(taken);
    let (r, contact) = referrals::contact_for_agent(&t.db, id, ana)
        .await
        .unwrap()
        .expect("the accepting agent sees the consumer");
    assert_eq!(
        (r.status, r.agent_id, r.accepted_at),
        (Status::Accepted, Some(ana), Some(t0() + mins(1)))
    );
    assert_eq!(
        (contact.first_name.as_str(), contact.phone.as_str()),
        ("Rosa", "+17135550142")
    );
    assert!(
        referrals::contact_for_agent(&t.db, id, bo)
            .await
            .unwrap()
            .is_none()
    );
    let mine = referrals::accepted_by(&t.db, ana).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1.email.as_deref(), Some("rosa@example.com"));
}

async fn only_due_routing_referrals_are_locked(t: TestDb) {
    let id = request(&t.db, "p1").await;
    write(&t.db, async |tx| {
        referrals::set_routing(tx, id, Status::Offered, t0() + mins(5), None, t0()).await
    })
    .await;
    let early = write(&t.db, async |tx| {
        referrals::lock_due(tx, id, t0() + mins(4)).await
    })
    .await;
    assert!(early.is_none(), "not due before its time");
    assert_eq!(
        referrals::due(&t.db, t0() + mins(5), 10).await.unwrap(),
        [id]
    );
    let due = write(&t.db, async |tx| {
        referrals::lock_due(tx, id, t0() + mins(5)).await
    })
    .await
    .expect("due at its time");
    assert_eq!(due.status, Status::Offered);
    write(&t.db, async |tx| {
        referrals::mark_unserved(tx, id, "no_agent", t0() + mins(5)).await
    })
    .await;
    let after = write(&t.db, async |tx| {
        referrals::lock_due(tx, id, t0() + mins(60)).await
    })
    .await;
    assert!(after.is_none(), "an unserved request is not routed again");
    let r = get(&t.db, id).await;
    assert_eq!(
        (r.status, r.unserved_reason.as_deref(), r.due_at),
        (Status::Unserved, Some("no_agent"), None)
    );
    assert_eq!(referrals::unserved(&t.db, 10).await.unwrap(), [r]);
}

async fn an_offer_is_decided_once_and_the_rest_are_withdrawn(t: TestDb) {
    let ana = agent(&t.db, "1000001", "Ana").await;
    let bo = agent(&t.db, "1000002", "Bo").await;
    let id = request(&t.db, "p1").await;
    let (to_ana, to_bo) = write(&t.db, async |tx| {
        referrals::set_routing(tx, id, Status::Offered, t0() + mins(5), Some(t0()), t0()).await?;
        let a = referrals::insert_offer(tx, id, ana, t0(), t0() + mins(5)).await?;
        let b = referrals::insert_offer(tx, id, bo, t0(), t0() + mins(5)).await?;
        Ok((a, b))
    })
    .await;
    // Someone else's offer cannot be answered.
    let stolen = write(&t.db, async |tx| {
        referrals::decide_offer(tx, to_ana, bo, OfferStatus::Accepted, None, t0()).await
    })
    .await;
    assert!(stolen.is_none());
    let decided = write(&t.db, async |tx| {
        referrals::decide_offer(
            tx,
            to_bo,
            bo,
            OfferStatus::Declined,
            Some("In a meeting"),
            t0() + mins(1),
        )
        .await
    })
    .await
    .expect("an open offer is decided");
    assert_eq!(
        (
            decided.status,
            decided.decided_at,
            decided.decline_reason.as_deref()
        ),
        (
            OfferStatus::Declined,
            Some(t0() + mins(1)),
            Some("In a meeting")
        )
    );
    let again = write(&t.db, async |tx| {
        referrals::decide_offer(tx, to_bo, bo, OfferStatus::Accepted, None, t0() + mins(2)).await
    })
    .await;
    assert!(again.is_none(), "a decided offer stays decided");
    let withdrawn = write(&t.db, async |tx| {
        referrals::close_open_offers(tx, id, OfferStatus::Withdrawn, None, t0() + mins(2)).await
    })
    .await;
    assert_eq!(
        withdrawn
            .iter()
            .map(|o| (o.id, o.status))
            .collect::<Vec<_>>(),
        [(to_ana, OfferStatus::Withdrawn)]
    );
    let all = write(&t.db, async |tx| referrals::offers_of(tx, id).await).await;
    assert_eq!(
        all.iter()
            .map(|o| (o.agent_id, o.status))
            .collect::<Vec<_>>(),
        [(ana, OfferStatus::Withdrawn), (bo, OfferStatus::Declined)]
    );
}

async fn open_offers_leave_the_list_at_their_deadline(t: TestDb) {
    let ana = agent(&t.db, "1000001", "Ana").await;
    let id = request(&t.db, "p1").await;
    let offer = write(&t.db, async |tx| {
        referrals::set_routing(tx, id, Status::Offered, t0() + mins(5), Some(t0()), t0()).await?;
        referrals::insert_offer(tx, id, ana, t0(), t0() + mins(5)).await
    })
    .await;
    let open = referrals::open_offers_for(&t.db, ana, t0() + mins(4))
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].id, open[0].offered_at, open[0].expires_at),
        (offer, t0(), t0() + mins(5))
    );
    // Where and what, never who.
    assert_eq!(
        (open[0].city.as_str(), open[0].language.as_str()),
        ("Houston", "es")
    );
    assert!(
        referrals::open_offers_for(&t.db, ana, t0() + mins(5))
            .await
            .unwrap()
            .is_empty()
    );
    let late = write(&t.db, async |tx| {
        referrals::decide_offer(tx, offer, ana, OfferStatus::Accepted, None, t0() + mins(5)).await
    })
    .await;
    assert!(
        late.is_none(),
        "an offer cannot be accepted at its deadline"
    );
    let lapsed = write(&t.db, async |tx| {
        referrals::close_open_offers(
            tx,
            id,
            OfferStatus::Expired,
            Some(t0() + mins(5)),
            t0() + mins(5),
        )
        .await
    })
    .await;
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].status, OfferStatus::Expired);
}

async fn the_timeline_keeps_actors_kinds_and_details(t: TestDb) {
    let id = request(&t.db, "p1").await;
    let entries = [
        (
            Actor::Partner(3),
            EventKind::Submitted,
            Some(Status::Searching),
        ),
        (Actor::System, EventKind::Decision, None),
        (Actor::Agent(12), EventKind::Status, Some(Status::Sold)),
    ];
    for (i, (actor, kind, status)) in entries.into_iter().enumerate() {
        write(&t.db, async |tx| {
            referrals::add_event(
                tx,
                &NewEvent {
                    referral_id: id,
                    actor,
                    kind,
                    status,
                    note: "",
                    account_number: if status == Some(Status::Sold) {
                        "FFM-1"
                    } else {
                        ""
                    },
                    detail: serde_json::json!({ "step": i }),
                },
                t0() + mins(i64::try_from(i).unwrap()),
            )
            .await
        })
        .await;
    }
    let timeline = referrals::events(&t.db, id).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|e| (e.actor, e.kind, e.status))
            .collect::<Vec<_>>(),
        entries
    );
    assert_eq!(timeline[2].at, t0() + mins(2));
    assert_eq!(timeline[2].account_number, "FFM-1");
    assert_eq!(timeline[1].detail, serde_json::json!({ "step": 1 }));
}

async fn a_status_moves_only_from_where_it_stands(t: TestDb) {
    let ana = agent(&t.db, "1000001", "Ana").await;
    let id = request(&t.db, "p1").await;
    write(&t.db, async |tx| {
        referrals::set_routing(tx, id, Status::Offered, t0() + mins(5), Some(t0()), t0()).await?;
        referrals::assign(tx, id, ana, t0(), t0() + mins(60)).await
    })
    .await;
    let step = |from, to| {
        let db = t.db.clone();
        async move {
            write(&db, async |tx| {
                referrals::set_status(tx, id, ana, from, to, t0() + mins(10)).await
            })
            .await
        }
    };
    assert!(step(Status::Accepted, Status::FollowUpCompleted).await);
    // A second tab that still shows "accepted" does not record over the first.
    assert!(!step(Status::Accepted, Status::Deferred).await);
    assert_eq!(get(&t.db, id).await.status, Status::FollowUpCompleted);
    // Once someone else's it cannot be moved by the wrong agent.
    let other = write(&t.db, async |tx| {
        referrals::set_status(
            tx,
            id,
            ana + 1,
            Status::FollowUpCompleted,
            Status::Sold,
            t0(),
        )
        .await
    })
    .await;
    assert!(!other);
}

async fn a_stored_value_the_code_does_not_know_is_an_error_not_a_guess(t: TestDb) {
    let id = request(&t.db, "p1").await;
    write(&t.db, async |tx| {
        referrals::add_event(
            tx,
            &NewEvent {
                referral_id: id,
                actor: Actor::System,
                kind: EventKind::Decision,
                status: None,
                note: "",
                account_number: "",
                detail: serde_json::json!({}),
            },
            t0(),
        )
        .await
    })
    .await;
    // Written behind the code's back, as a bad migration or a hand edit would.
    let sql = format!("UPDATE referral_events SET actor = 'robot:1' WHERE referral_id = {id}");
    let sql = sqlx::AssertSqlSafe(sql);
    match t.db.backend() {
        hod_db::Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(t.url.expose())
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        hod_db::Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(t.url.expose()).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
    match referrals::events(&t.db, id).await {
        Err(DbError::Sql(e)) => assert!(e.to_string().contains("actor"), "{e}"),
        other => panic!("a corrupt actor must not read back: {other:?}"),
    }
}
