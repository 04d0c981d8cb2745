//! Consumer requests and routing (SPEC.md §6) over the JSON API, on both databases: each
//! matching rule, the ranking, the three strategies, accept/decline, timeouts, the missed-offer
//! pause, unserved requests, idempotent submission, statuses. Time moves with the fake clock;
//! the sweeper is run by hand where a node would run it every second.
use hod_domain::actor::Actor;
use hod_domain::referral::EventKind;
use hod_test_support::{TestApp, app_tests};
use jiff::SignedDuration;
use serde_json::{Value, json};

use hod_app::import::ImportKind;

use crate::support::PASSWORD;
use crate::world::{
    Spec, TestAgent, TestPartner, api, decision, filtered_ids, import_text, request, set, spec,
    world,
};

/// Who holds an open offer on referral `rid`, as agent ids.
async fn offered(agents: &[TestAgent], rid: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for a in agents {
        if a.offers().await.iter().any(|o| o.referral_id == rid) {
            out.push(a.id);
        }
    }
    out
}

async fn sweep_after(t: &TestApp, minutes: i64) -> hod_app::referrals::Sweep {
    t.clock.advance(SignedDuration::from_mins(minutes));
    t.app.sweep().await.unwrap()
}

app_tests!(
    one_at_a_time_offer_expires_moves_on_then_unserved,
    each_matching_rule_filters_with_its_reason,
    ranking_by_distance_then_fairness,
    broadcast_first_accept_wins_and_only_the_winner_sees_the_consumer,
    cascade_adds_one_agent_per_step,
    adaptive_adds_agents_up_to_its_width_and_fits_windows_to_quick_agents,
    decline_with_reason_goes_to_the_next_agent,
    three_missed_offers_switch_an_agent_to_red,
    maximum_wait_makes_a_request_unserved,
    resubmissions_and_idempotency_keys_give_the_same_request,
    statuses_need_their_fields_and_follow_up_is_reminded,
    closed_intake_and_other_marketplaces_are_explained,
    consumer_page_to_agent_pages_and_back,
    request_page_explains_problems_in_the_readers_language,
    many_people_behind_one_address_can_ask_for_help,
    openapi_describes_every_api_route,
    the_agent_app_reads_and_changes_its_profile,
);

async fn one_at_a_time_offer_expires_moves_on_then_unserved(t: TestApp) {
    let agents = world(
        &t,
        &[
            spec("3000001", "Ana", "77002"),
            spec("3000002", "Bo", "77401"),
        ],
    )
    .await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0199")).await;
    // The confirmation text and email to the consumer; the offer email to Ana.
    let mail = t.take_outbox().await;
    assert!(
        mail.iter()
            .any(|m| m.recipient == "+17135550199" && m.body.contains("/requests/")),
        "{mail:?}"
    );
    let offer_mail = mail
        .iter()
        .find(|m| m.recipient == "ana@agency.test")
        .expect("Ana is told");
    assert_eq!(offer_mail.subject, "You have a New Referral");
    assert!(
        !offer_mail.body.contains("Jane") && !offer_mail.body.contains("555-0199"),
        "no consumer details in an offer"
    );
    // Its deadline in Ana's own time (Houston: Central), as her pages show it, and a link
    // to this very offer.
    let deadline = offer_mail
        .body
        .split("before ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        deadline.ends_with(" CST") || deadline.ends_with(" CDT"),
        "{deadline}"
    );
    assert!(
        offer_mail.body.contains("/agent/referrals?offer="),
        "{}",
        offer_mail.body
    );
    assert_eq!(
        offered(&agents, rid).await,
        [agents[0].id],
        "the same-ZIP agent first, alone"
    );
    let o = agents[0].offers().await[0].clone();
    assert_eq!(
        (
            o.city.as_str(),
            o.zip.as_str(),
            o.language.as_str(),
            o.reason.as_str()
        ),
        ("Houston", "77002", "en", "new_coverage")
    );
    // Where and what, never who: the API's Offer has no consumer fields (openapi.json says
    // so, and every answer is checked against it).
    assert_eq!(partner.status(rid).await["status"], "offered");
    // 14 minutes: nothing changes. 15: Ana's offer lapses and Bo gets it.
    assert_eq!(sweep_after(&t, 14).await.rounds, 0);
    let s = sweep_after(&t, 1).await;
    assert_eq!((s.expired, s.offered), (1, 1));
    assert_eq!(offered(&agents, rid).await, [agents[1].id]);
    assert!(agents[0].offers().await.is_empty());
    assert_eq!(
        agents[0].accept(o.id).await.refused(409),
        "gone",
        "a lapsed offer cannot be accepted"
    );
    assert_eq!(
        filtered_ids(&decision(&t, rid).await, "offered_before"),
        [agents[0].id]
    );
    // Ana was reminded half-way through her window and told when it lapsed; Bo has it now.
    let mail = t
        .expect_outbox(&[
            ("email", "ana@agency.test"),
            ("email", "ana@agency.test"),
            ("email", "bo@agency.test"),
        ])
        .await;
    assert!(
        mail[0]
            .subject
            .starts_with("Reminder: your referral offer ends at")
            && mail[0]
                .body
                .contains("Half the time to answer the referral offer in Houston, TX 77002"),
        "{:?}",
        mail[0]
    );
    assert_eq!(mail[1].subject, "A referral offer expired");
    // Bo lets it lapse too: nobody is left, the consumer gets the call center.
    let s = sweep_after(&t, 15).await;
    assert_eq!((s.expired, s.unserved), (1, 1));
    let v = partner.status(rid).await;
    assert_eq!(
        (v["status"].as_str(), v["call_center"].as_str()),
        (Some("unserved"), Some("1-800-318-2596"))
    );
    let mail = t.take_outbox().await;
    assert!(
        mail.iter()
            .any(|m| m.recipient == "+17135550199" && m.body.contains("1-800-318-2596")),
        "{mail:?}"
    );
    let queue = hod_db::referrals::unserved(t.app.storage(), 10)
        .await
        .unwrap();
    assert_eq!(queue.iter().map(|r| r.id).collect::<Vec<_>>(), [rid]);
}

async fn each_matching_rule_filters_with_its_reason(t: TestApp) {
    let specs = [
        spec("3000011", "Fit", "77002"),
        spec("3000012", "Lingo", "77002"), // speaks only English: request is in Spanish for the others
        Spec {
            npn: "3000013",
            first: "Ohio",
            zip: "43004",
            states: &["OH"],
        },
        spec("3000014", "Noterms", "77002"),
        spec("3000015", "Nopref", "77002"),
        spec("3000016", "Red", "77002"),
        spec("3000017", "Away", "77002"),
        spec("3000018", "Night", "77002"),
        spec("3000019", "Busy", "77002"),
        spec("3000020", "Lifeonly", "77002"),
        spec("3000021", "Invalid", "77002"),
        Spec {
            npn: "3000022",
            first: "Moved",
            zip: "77002",
            states: &["TX", "OH"],
        },
    ];
    let a = world(&t, &specs).await;
    // After they chose Texas, new files: Lifeonly's Texas licence now has only a Life line of
    // authority, Invalid's NPN is no longer valid, Moved is licensed only in Ohio.
    let nipr = "NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date\n\
        3000020,TX,TX-3000020,Insurance Producer,Resident,Yes,,Life,16,Active,\n\
        3000022,OH,OH-3000022,Insurance Producer,Resident,Yes,,Health,14,Active,\n";
    import_text(&t.app, ImportKind::Nipr, "nipr-update.csv", nipr.into()).await;
    let rcl = "NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,SHOP Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)\n\
        3000021,2027,09/02/2026,10/31/2027,,,N\n";
    import_text(&t.app, ImportKind::Rcl, "rcl-update.csv", rcl.into()).await;
    for x in a.iter().filter(|x| x.id != a[1].id) {
        t.app
            .update_languages(x.id, &["en".into(), "es".into()])
            .await
            .unwrap();
    }
    // Terms of a new version the agent has not accepted: registration incomplete.
    t.app
        .storage()
        .execute_raw_for_tests(
            "INSERT INTO terms_documents (kind, version, title_en, title_es, body_en, body_es, published_at)
             VALUES ('hod', '2', 'Help On Demand Terms of Use', 'Condiciones de uso de Help On Demand', 'New text.', 'Texto nuevo.', 1800000000000)",
        )
        .await
        .unwrap();
    for x in a.iter().filter(|x| x.id != a[3].id) {
        let v = api(
            &t,
            "POST",
            "/api/v1/agent/terms/accept",
            Some(&x.token),
            Some(json!({"versions": ["agent_broker:1", "hod:2"]})),
        )
        .await;
        assert_eq!(v.0, 200, "{:?}", v.1);
    }
    t.app.update_states(a[4].id, &[]).await.unwrap();
    assert_eq!(
        api(
            &t,
            "PUT",
            "/api/v1/agent/availability",
            Some(&a[5].token),
            Some(json!({"mode": "unavailable"}))
        )
        .await
        .0,
        200
    );
    t.app.set_absence(a[6].id, "2026-11-20", "").await.unwrap();
    // 11:00 in New York is 10:00 in Houston; Night works 18:00–23:00 in Houston's time zone.
    t.app
        .update_hours(
            a[7].id,
            &[(
                jiff::civil::Weekday::Thursday,
                "18:00".into(),
                "23:00".into(),
            )],
            None,
        )
        .await
        .unwrap();
    // Busy holds an accepted referral, and capacity is 1.
    let partner = TestPartner::new(&t).await;
    set(&t, "routing.strategy", "broadcast").await;
    set(&t, "routing.broadcast_size", "10").await;
    for x in &a[..8] {
        t.app
            .set_availability_mode(x.id, hod_domain::availability::Mode::Unavailable)
            .await
            .unwrap();
    }
    let first = partner.submit(request("77002", "en", "713-555-0101")).await;
    let o = a[8].offers().await[0].id;
    a[8].accept(o).await.expect(200);
    for x in [&a[0], &a[1], &a[2], &a[3], &a[4], &a[6], &a[7]] {
        t.app
            .set_availability_mode(x.id, hod_domain::availability::Mode::Schedule)
            .await
            .unwrap();
    }
    set(&t, "routing.capacity", "1").await;
    t.expect_outbox(&[
        ("email", "busy@agency.test"),
        ("sms", "+17135550101"),
        ("sms", "+17135550101"),
    ])
    .await;

    let rid = partner.submit(request("77002", "es", "713-555-0102")).await;
    assert_ne!(rid, first);
    assert_eq!(offered(&a, rid).await, [a[0].id], "only Fit qualifies");
    let log = decision(&t, rid).await;
    assert_eq!(filtered_ids(&log, "language"), [a[1].id]);
    assert_eq!(filtered_ids(&log, "registration_incomplete"), [a[3].id]);
    assert_eq!(
        filtered_ids(&log, "unavailable"),
        [a[5].id, a[6].id, a[7].id]
    );
    assert_eq!(filtered_ids(&log, "at_capacity"), [a[8].id]);
    assert_eq!(
        filtered_ids(&log, "not_eligible"),
        [a[9].id, a[10].id],
        "no health line of authority; NPN not valid"
    );
    assert_eq!(filtered_ids(&log, "not_eligible_in_state"), [a[11].id]);
    // Not considered at all: Ohio is not eligible in Texas and has no Texas preference;
    // Nopref removed Texas from the State Preferences.
    assert_eq!(log["considered"], 10);
    assert_eq!(log["offered"], json!([a[0].id]));
    // Night's evening: 19:00 in Houston (20:00 in New York), everyone else is off schedule.
    t.expect_outbox(&[("email", "fit@agency.test"), ("sms", "+17135550102")])
        .await;
    let o = a[0].offers().await[0].id;
    a[0].decline(o, "test").await.expect(200);
    t.expect_outbox(&[("sms", "+17135550102")]).await;
    t.clock.advance(SignedDuration::from_hours(9));
    let evening = partner.submit(request("77002", "es", "713-555-0103")).await;
    assert_eq!(
        offered(&a, evening).await,
        [a[7].id],
        "Night, in her hours in her time zone"
    );
    t.expect_outbox(&[("email", "night@agency.test"), ("sms", "+17135550103")])
        .await;
}

async fn ranking_by_distance_then_fairness(t: TestApp) {
    // Same ZIP, Bellaire (~8 miles), Austin (~150 miles), and a second same-ZIP agent.
    let a = world(
        &t,
        &[
            spec("3000021", "Far", "78701"),
            spec("3000022", "Near", "77401"),
            spec("3000023", "Same", "77002"),
            spec("3000024", "Twin", "77002"),
        ],
    )
    .await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0111")).await;
    let log = decision(&t, rid).await;
    let order: Vec<i64> = log["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        order,
        [a[2].id, a[3].id, a[1].id, a[0].id],
        "band, then never offered by id"
    );
    let bands: Vec<&str> = log["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["band"].as_str().unwrap())
        .collect();
    assert_eq!(
        bands,
        ["same_zip", "same_zip", "within_25_miles", "in_state"]
    );
    // Fairness: the next request goes to the same-ZIP agent who waited longer (Twin).
    t.clock.advance(SignedDuration::from_mins(1));
    let next = partner.submit(request("77002", "en", "713-555-0112")).await;
    assert_eq!(offered(&a, next).await, [a[3].id]);
    t.expect_outbox(&[
        ("email", "same@agency.test"),
        ("email", "twin@agency.test"),
        ("sms", "+17135550111"),
        ("sms", "+17135550112"),
    ])
    .await;
}

async fn broadcast_first_accept_wins_and_only_the_winner_sees_the_consumer(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000031", "Ana", "77002"),
            spec("3000032", "Bo", "77002"),
            spec("3000033", "Cy", "77401"),
        ],
    )
    .await;
    set(&t, "routing.strategy", "broadcast").await;
    set(&t, "routing.broadcast_size", "3").await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0121")).await;
    assert_eq!(offered(&a, rid).await, [a[0].id, a[1].id, a[2].id]);
    let offer_of = |i: usize| {
        let a = &a;
        async move { a[i].offers().await[0].id }
    };
    let (o0, o1) = (offer_of(0).await, offer_of(1).await);
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "bo@agency.test"),
        ("email", "cy@agency.test"),
        ("sms", "+17135550121"),
    ])
    .await;
    let (code, v) = api(
        &t,
        "POST",
        &format!("/api/v1/agent/offers/{o1}/accept"),
        Some(&a[1].token),
        None,
    )
    .await;
    assert_eq!((code, v["referral_id"].as_i64()), (200, Some(rid)));
    let (code, v) = api(
        &t,
        "POST",
        &format!("/api/v1/agent/offers/{o0}/accept"),
        Some(&a[0].token),
        None,
    )
    .await;
    assert_eq!((code, v["error"]["code"].as_str()), (409, Some("gone")));
    // Someone else's offer id: not found.
    let (code, _) = api(
        &t,
        "POST",
        &format!("/api/v1/agent/offers/{o1}/accept"),
        Some(&a[2].token),
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert!(
        a[0].offers().await.is_empty() && a[2].offers().await.is_empty(),
        "withdrawn"
    );
    // Contact details: Bo only, through every route.
    let v = a[1].referral(rid).await.expect(200);
    assert_eq!(
        (
            v["first_name"].as_str(),
            v["phone"].as_str(),
            v["best_time"].as_str()
        ),
        (Some("Jane"), Some("+17135550121"), Some("after 5 pm"))
    );
    for loser in [&a[0], &a[2]] {
        assert_eq!(loser.referral(rid).await.refused(404), "not_found");
        assert_eq!(
            api(
                &t,
                "GET",
                "/api/v1/agent/referrals",
                Some(&loser.token),
                None
            )
            .await
            .1,
            json!([])
        );
        let answer = loser.record(rid, "follow_up_completed", "", "").await;
        assert_eq!(answer.refused(404), "not_found");
    }
    let partner = partner.status(rid).await;
    assert_eq!(
        (partner["status"].as_str(), partner["agent"].as_str()),
        (Some("accepted"), Some("Bo T."))
    );
    assert!(partner.get("phone").is_none() && partner.get("first_name").is_none());
    // Another partner's key does not see it.
    let other = t.app.create_api_key("Other", Actor::Cli).await.unwrap();
    assert_eq!(
        api(
            &t,
            "GET",
            &format!("/api/v1/referrals/{rid}"),
            Some(&other),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api(&t, "GET", &format!("/api/v1/referrals/{rid}"), None, None)
            .await
            .0,
        401
    );
    let mail = t.take_outbox().await;
    let accepted = mail
        .iter()
        .find(|m| m.recipient == "+17135550121")
        .expect("the consumer is told");
    assert!(
        accepted.body.contains(
            "Bo T., a licensed agent, accepted your request and will contact you within 60 minutes"
        ),
        "{}",
        accepted.body
    );
}

async fn cascade_adds_one_agent_per_step(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000041", "Ana", "77002"),
            spec("3000042", "Bo", "77401"),
            spec("3000043", "Cy", "78701"),
        ],
    )
    .await;
    set(&t, "routing.strategy", "cascade").await;
    set(&t, "routing.cascade_minutes", "5").await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0131")).await;
    assert_eq!(offered(&a, rid).await, [a[0].id]);
    sweep_after(&t, 4).await;
    assert_eq!(offered(&a, rid).await, [a[0].id]);
    sweep_after(&t, 1).await;
    assert_eq!(
        offered(&a, rid).await,
        [a[0].id, a[1].id],
        "earlier offers stay open"
    );
    sweep_after(&t, 5).await;
    assert_eq!(offered(&a, rid).await, [a[0].id, a[1].id, a[2].id]);
    // Minute 15: Ana's offer lapses; nobody is left to add, so the router waits for the
    // next offer to lapse instead of looking again every step.
    assert_eq!(sweep_after(&t, 5).await.expired, 1);
    assert_eq!(sweep_after(&t, 1).await.rounds, 0);
    assert_eq!(offered(&a, rid).await, [a[1].id, a[2].id]);
    let o = a[2].offers().await[0].id;
    assert_eq!(
        api(
            &t,
            "POST",
            &format!("/api/v1/agent/offers/{o}/accept"),
            Some(&a[2].token),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(offered(&a, rid).await, Vec::<i64>::new());
    // Offers; reminders half-way through Ana's and Bo's windows; Ana's lapse.
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("email", "bo@agency.test"),
        ("email", "bo@agency.test"),
        ("email", "cy@agency.test"),
        ("sms", "+17135550131"),
        ("sms", "+17135550131"),
    ])
    .await;
}

async fn adaptive_adds_agents_up_to_its_width_and_fits_windows_to_quick_agents(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000061", "Ana", "77002"),
            spec("3000062", "Bo", "77401"),
            spec("3000063", "Cy", "78701"),
        ],
    )
    .await;
    set(&t, "routing.strategy", "adaptive").await;
    set(&t, "routing.adaptive_step_minutes", "2").await;
    set(&t, "routing.adaptive_width", "2").await;
    set(&t, "routing.capacity", "20").await;
    let partner = TestPartner::new(&t).await;
    let window = |o: &crate::world::Offer| {
        let at: jiff::Timestamp = o.expires_at.parse().unwrap();
        at.duration_since(hod_app::Clock::now(&*t.clock))
    };
    let rid = partner.submit(request("77002", "en", "713-555-0151")).await;
    assert_eq!(offered(&a, rid).await, [a[0].id]);
    let first = &a[0].offers().await[0];
    assert_eq!(
        window(first),
        SignedDuration::from_mins(15),
        "a newcomer's window"
    );
    sweep_after(&t, 2).await;
    assert_eq!(
        offered(&a, rid).await,
        [a[0].id, a[1].id],
        "one more after the step"
    );
    sweep_after(&t, 2).await;
    assert_eq!(
        offered(&a, rid).await,
        [a[0].id, a[1].id],
        "never more than two"
    );
    a[1].accept(a[1].offers().await[0].id).await.expect(200);
    // Bo answers each of his next offers within ten seconds; Ana and Cy are away.
    for n in 0..8 {
        sweep_after(&t, 1).await;
        let rid = partner
            .submit(request("77401", "en", &format!("713-555-02{n:02}")))
            .await;
        let mine = a[1].offers().await;
        let Some(o) = mine.iter().find(|o| o.referral_id == rid) else {
            panic!("Bo, nearest, is offered referral {rid} first")
        };
        t.clock.advance(SignedDuration::from_secs(10));
        a[1].accept(o.id).await.expect(200);
    }
    sweep_after(&t, 1).await;
    let rid = partner.submit(request("77401", "en", "713-555-0299")).await;
    let o = a[1]
        .offers()
        .await
        .into_iter()
        .find(|o| o.referral_id == rid)
        .expect("Bo is offered it");
    let quick = window(&o);
    assert!(
        quick >= SignedDuration::from_mins(2) && quick < SignedDuration::from_mins(5),
        "four times Bo's usual minute or so, not the program's 15 minutes: {quick:?}"
    );
    let sent = t.take_outbox().await;
    let offers_to_bo = sent
        .iter()
        .filter(|m| m.recipient == "bo@agency.test" && m.subject == "You have a New Referral")
        .count();
    assert_eq!(offers_to_bo, 10, "each offer told once");
}

async fn decline_with_reason_goes_to_the_next_agent(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000051", "Ana", "77002"),
            spec("3000052", "Bo", "77401"),
        ],
    )
    .await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0141")).await;
    let o = a[0].offers().await[0].id;
    let blank = a[0].decline(o, " ").await;
    assert_eq!(blank.refused(422), "invalid");
    assert!(
        blank.body["error"]["fields"]["reason"].is_string(),
        "{}",
        blank.body
    );
    a[0].decline(o, "In a meeting until 3").await.expect(200);
    assert_eq!(
        offered(&a, rid).await,
        [a[1].id],
        "at once, without waiting for the sweeper"
    );
    assert_eq!(a[0].decline(o, "again").await.refused(409), "gone");
    let events = t.app.referral_timeline(rid).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::OfferDeclined && e.note == "In a meeting until 3")
    );
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "bo@agency.test"),
        ("sms", "+17135550141"),
    ])
    .await;
}

async fn three_missed_offers_switch_an_agent_to_red(t: TestApp) {
    let a = world(&t, &[spec("3000061", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    for n in 0..3 {
        partner
            .submit(request("77002", "en", &format!("713-555-015{n}")))
            .await;
        assert_eq!(a[0].offers().await.len(), 1);
        sweep_after(&t, 15).await;
    }
    let (_, me) = api(&t, "GET", "/api/v1/agent/profile", Some(&a[0].token), None).await;
    assert_eq!(me["availability"]["mode"], "unavailable");
    let mail = t.take_outbox().await;
    assert!(mail.iter().any(|m| m.recipient == "ana@agency.test"
        && m.body.contains("missed 3 referral offers in a row")));
    partner.submit(request("77002", "en", "713-555-0159")).await;
    assert!(a[0].offers().await.is_empty(), "no offers while red");
    assert_eq!(
        api(
            &t,
            "PUT",
            "/api/v1/agent/availability",
            Some(&a[0].token),
            Some(json!({"mode": "available"}))
        )
        .await
        .0,
        200
    );
    let rid = partner.submit(request("77002", "en", "713-555-0160")).await;
    assert_eq!(
        offered(&a, rid).await,
        [a[0].id],
        "back to green, offers come again"
    );
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("sms", "+17135550159"),
        ("sms", "+17135550159"),
        ("sms", "+17135550160"),
    ])
    .await;
}

async fn maximum_wait_makes_a_request_unserved(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000071", "Ana", "77002"),
            spec("3000072", "Bo", "77002"),
            spec("3000073", "Cy", "77002"),
        ],
    )
    .await;
    set(&t, "routing.max_wait_minutes", "20").await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0161")).await;
    sweep_after(&t, 15).await;
    assert_eq!(offered(&a, rid).await.len(), 1, "the second agent has it");
    let s = sweep_after(&t, 5).await;
    assert_eq!(s.unserved, 1, "20 minutes: the program's maximum wait");
    assert_eq!(
        offered(&a, rid).await,
        Vec::<i64>::new(),
        "the open offer is withdrawn"
    );
    assert_eq!(partner.status(rid).await["status"], "unserved");
    // Ana's offer and its lapse, Bo's offer (withdrawn before it was half over).
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("email", "bo@agency.test"),
        ("sms", "+17135550161"),
        ("sms", "+17135550161"),
    ])
    .await;
}

async fn resubmissions_and_idempotency_keys_give_the_same_request(t: TestApp) {
    world(&t, &[spec("3000081", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let send = |idem: Option<&'static str>, phone: &'static str| {
        let t = &t;
        let key = partner.key.clone();
        async move {
            let mut req = t
                .client
                .post(t.url("/api/v1/referrals"))
                .bearer_auth(key)
                .json(&request("77002", "en", phone));
            if let Some(k) = idem {
                req = req.header("Idempotency-Key", k);
            }
            let r = req.send().await.unwrap();
            let replay = r.headers().contains_key("idempotent-replayed");
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            (v, replay)
        }
    };
    let (first, replay) = send(Some("k-1"), "713-555-0171").await;
    assert!(!replay);
    let (again, replay) = send(Some("k-1"), "713-555-0171").await;
    assert!(replay);
    assert_eq!(first, again, "same id, status and status link");
    // The same person within ten minutes, without a key: the same request.
    t.clock.advance(SignedDuration::from_mins(9));
    let (dup, _) = send(None, "(713) 555-0171").await;
    assert_eq!(dup["id"], first["id"]);
    t.clock.advance(SignedDuration::from_mins(2));
    let (later, _) = send(None, "713-555-0171").await;
    assert_ne!(
        later["id"], first["id"],
        "after the window it is a new request"
    );
    // Concurrent retries of one key make one request.
    let many = futures_join(&t, &partner.key).await;
    assert_eq!(many.len(), 1, "{many:?}");
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("email", "ana@agency.test"),
        ("sms", "+17135550171"),
        ("sms", "+17135550171"),
        ("sms", "+17135550179"),
    ])
    .await;
}

async fn futures_join(t: &TestApp, key: &str) -> std::collections::BTreeSet<i64> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, url, key) = (t.client.clone(), t.url("/api/v1/referrals"), key.to_owned());
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", "k-race")
                .json(&request("77002", "en", "713-555-0179"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
        });
    }
    tasks.join_all().await.into_iter().collect()
}

async fn statuses_need_their_fields_and_follow_up_is_reminded(t: TestApp) {
    let a = world(&t, &[spec("3000091", "Ana", "77002")]).await;
    let partner = TestPartner::new(&t).await;
    let rid = partner.submit(request("77002", "en", "713-555-0181")).await;
    let o = a[0].offers().await[0].id;
    assert_eq!(
        api(
            &t,
            "POST",
            &format!("/api/v1/agent/offers/{o}/accept"),
            Some(&a[0].token),
            None
        )
        .await
        .0,
        200
    );
    t.expect_outbox(&[
        ("email", "ana@agency.test"),
        ("sms", "+17135550181"),
        ("sms", "+17135550181"),
    ])
    .await;
    let post = |status: &'static str, note: &'static str, account: &'static str| {
        a[0].record(rid, status, note, account)
    };
    // An hour without follow-up: one reminder.
    assert_eq!(sweep_after(&t, 59).await.reminders, 0);
    assert_eq!(sweep_after(&t, 1).await.reminders, 1);
    assert_eq!(sweep_after(&t, 60).await.reminders, 0, "once");
    let mail = t.take_outbox().await;
    assert!(
        mail.iter()
            .any(|m| m.recipient == "ana@agency.test" && m.subject.starts_with("Reminder"))
    );
    // Each refusal names the field to correct.
    let field_of = |answer: crate::world::Answer| {
        assert_eq!(answer.refused(422), "invalid");
        let fields = answer.body["error"]["fields"].as_object().unwrap().clone();
        fields.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        field_of(post("deferred", "", "").await),
        ["note"],
        "a justification is required"
    );
    assert_eq!(field_of(post("unserved", "", "").await), ["status"]);
    assert_eq!(
        post("follow_up_completed", "", "").await.expect(200),
        json!({"id": rid, "status": "follow_up_completed"})
    );
    assert_eq!(
        field_of(post("sold", "", "").await),
        ["account_number"],
        "an account number is required"
    );
    post("quote_completed", "", "").await.expect(200);
    post("sold", "", "FFM-123456").await.expect(200);
    let closed = post("delayed", "x", "").await;
    assert_eq!(closed.refused(409), "status_conflict", "sold is final");
    let v = a[0].referral(rid).await.expect(200);
    let history: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["accepted", "follow_up_completed", "quote_completed", "sold"]
    );
    assert_eq!(v["history"][3]["account_number"], "FFM-123456");
    assert_eq!(partner.status(rid).await["status"], "sold");
}

async fn closed_intake_and_other_marketplaces_are_explained(t: TestApp) {
    let partner = TestPartner::new(&t).await;
    let (code, v) = api(
        &t,
        "POST",
        "/api/v1/referrals",
        Some(&partner.key),
        Some(request("90210", "en", "310-555-0100")),
    )
    .await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (422, Some("outside_healthcare_gov"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Covered California (https://www.coveredca.com)"),
        "{v}"
    );
    let mut bad = request("7700", "xx", "12");
    bad["consent"] = json!({"accepted": true, "text_version": "2019-01"});
    bad["contact_by"] = json!("pigeon");
    let (code, v) = api(
        &t,
        "POST",
        "/api/v1/referrals",
        Some(&partner.key),
        Some(bad),
    )
    .await;
    assert_eq!(code, 422);
    let fields: Vec<&str> = v["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["consent", "contact_by", "language", "phone", "zip"]
    );
    set(&t, "intake.closed_dates", "2026-11-26").await;
    let (code, v) = api(
        &t,
        "POST",
        "/api/v1/referrals",
        Some(&partner.key),
        Some(request("77002", "en", "713-555-0100")),
    )
    .await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (503, Some("intake_closed"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1-800-318-2596")
    );
    assert!(
        t.app
            .set_program_setting("intake.closed_dates", "tomorrow", Actor::Cli)
            .await
            .is_err()
    );
}

/// A page for an agent's browser session.
async fn page(t: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = t.client.get(t.url(path)).header("accept-language", "es");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn web_login(t: &TestApp, first: &str) -> String {
    crate::support::login(t, &format!("{}.agent", first.to_lowercase()), PASSWORD)
        .await
        .expect("logged in")
}

async fn consumer_page_to_agent_pages_and_back(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000101", "Ana", "77002"),
            spec("3000102", "Bo", "77002"),
        ],
    )
    .await;
    t.app
        .update_languages(a[0].id, &["en".into(), "es".into()])
        .await
        .unwrap();
    let (code, form) = page(&t, "/get-help", None).await;
    assert_eq!(code, 200);
    assert!(
        form.contains("Reciba ayuda de un agente con licencia")
            && form.contains(hod_app::referrals::CONSENT_VERSION)
    );
    let r = t
        .client
        .post(t.url("/get-help"))
        .header("origin", t.url(""))
        .header("accept-language", "es")
        .header("user-agent", "Phone/1.0")
        .form(&[
            ("zip", "77002"),
            ("language", "es"),
            ("first_name", "María"),
            ("last_name", "García"),
            ("phone", "(713) 555-0190"),
            ("email", ""),
            ("contact_by", "text"),
            ("best_time", "por la tarde"),
            ("reason", "special_enrollment"),
            ("consent", "true"),
            ("consent_version", hod_app::referrals::CONSENT_VERSION),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let status_path = location(&r);
    assert!(status_path.starts_with("/requests/"));
    let (_, status) = page(&t, &status_path, None).await;
    assert!(
        status.contains("Estamos buscando un agente con licencia"),
        "{status}"
    );
    let mail = t.take_outbox().await;
    let text = mail
        .iter()
        .find(|m| m.recipient == "+17135550190")
        .expect("a text to the consumer");
    assert!(
        text.body.contains("recibimos su solicitud") && text.body.contains(&status_path),
        "{}",
        text.body
    );
    // The consent is recorded with its version, IP and user agent.
    let consent = t
        .app
        .storage()
        .text_for_tests("SELECT consent_version || ' ' || consent_ip || ' ' || consent_user_agent FROM referrals")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        consent,
        format!(
            "{} 127.0.0.1 Phone/1.0",
            hod_app::referrals::CONSENT_VERSION
        )
    );

    // Ana (same ZIP, speaks Spanish) has the offer on Manage Referrals: where and what, not who.
    let ana = web_login(&t, "Ana").await;
    let bo = web_login(&t, "Bo").await;
    let (code, list) = page(&t, "/agent/referrals", Some(&ana)).await;
    assert_eq!(code, 200);
    assert!(
        list.contains("Houston, TX 77002") && list.contains("Período de Inscripción Especial"),
        "{list}"
    );
    assert!(!list.contains("María") && !list.contains("555-0190"));
    let offer_id = a[0].offers().await[0].id;
    let (_, bo_list) = page(&t, "/agent/referrals", Some(&bo)).await;
    assert!(!bo_list.contains("77002"), "Bo has no offer");
    // The live stream says which offers are open.
    let mut events = t
        .client
        .get(t.url("/agent/referrals/events"))
        .header("cookie", &ana)
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let chunk = String::from_utf8(events.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert_eq!(chunk.trim(), format!("event: change\ndata: {offer_id}"));

    let r = crate::support::post(
        &t,
        &format!("/agent/offers/{offer_id}/accept"),
        &[],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 303);
    let detail_path = location(&r);
    let (code, detail) = page(&t, &detail_path, Some(&ana)).await;
    assert_eq!(code, 200);
    assert!(
        detail.contains("María García")
            && detail.contains("(713) 555-0190")
            && detail.contains("por la tarde"),
        "{detail}"
    );
    // Bo never sees it, by any route.
    assert_eq!(page(&t, &detail_path, Some(&bo)).await.0, 404);
    assert_eq!(
        crate::support::post(
            &t,
            &format!("{detail_path}/status"),
            &[("status", "follow_up_completed")],
            Some(&bo)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        crate::support::post(
            &t,
            &format!("/agent/offers/{offer_id}/accept"),
            &[],
            Some(&bo)
        )
        .await
        .status(),
        404
    );
    // Progress: a justification is asked for, then Follow-Up Completed; the consent is recorded.
    let r = crate::support::post(
        &t,
        &format!("{detail_path}/status"),
        &[("status", "delayed"), ("note", "")],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This status needs a written justification.")
    );
    let r = crate::support::post(
        &t,
        &format!("{detail_path}/status"),
        &[("status", "follow_up_completed")],
        Some(&ana),
    )
    .await;
    assert_eq!(r.status(), 303);
    let consent = [
        ("scope", "Inscripción en el Mercado"),
        ("duration", "Hasta el 31/10/2027"),
        ("consented_on", "2026-11-26"),
        ("withdraw_how", "Llamar a Ana"),
        ("method", "verbal"),
    ];
    let r = crate::support::post(&t, &format!("{detail_path}/consent"), &consent, Some(&ana)).await;
    assert_eq!(r.status(), 303);
    let (_, detail) = page(&t, &detail_path, Some(&ana)).await;
    assert!(
        detail.contains("Seguimiento completado") && detail.contains("Llamar a Ana"),
        "{detail}"
    );
    let keep: i64 = t
        .app
        .storage()
        .count_for_tests("SELECT keep_until - recorded_at FROM referral_consents")
        .await
        .unwrap();
    assert!(keep >= 10 * 365 * 24 * 3600 * 1000, "kept ten years");
    // The consumer's page shows the acceptance.
    let (_, status) = page(&t, &status_path, None).await;
    assert!(
        status.contains(
            "Ana T., agente con licencia, aceptó su solicitud y se comunicará con usted en un plazo de 60 minutos"
        ),
        "{status}"
    );
    assert!(!status.contains("555-0190"));
    // Looking at the contact details is in the audit log.
    let seen = t
        .app
        .storage()
        .count_for_tests("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.contact_viewed'")
        .await
        .unwrap();
    assert!(seen >= 2);
    let (code, _) = page(&t, "/requests/1-00000000000000000000000000000000", None).await;
    assert_eq!(code, 404, "a made-up status link");
    t.expect_outbox(&[("sms", "+17135550190")]).await;
}

/// The request form posted from a Spanish-speaking browser.
async fn ask_for_help_in_spanish<V: serde::Serialize>(
    t: &TestApp,
    form: &[(&'static str, V)],
) -> reqwest::Response {
    t.client
        .post(t.url("/get-help"))
        .header("origin", t.url(""))
        .header("accept-language", "es")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn request_page_explains_problems_in_the_readers_language(t: TestApp) {
    let post = |form: Vec<(&'static str, &'static str)>| {
        let t = &t;
        async move {
            let r = ask_for_help_in_spanish(t, &form).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (code, body) = post(vec![
        ("zip", "7700"),
        ("language", "es"),
        ("first_name", "María"),
        ("phone", "555"),
    ])
    .await;
    assert_eq!(code, 422);
    for expected in [
        "Escriba un código postal de 5 dígitos",
        "Este campo es obligatorio",
        "Marque la casilla",
    ] {
        assert!(body.contains(expected), "{expected}: {body}");
    }
    assert!(body.contains("value=\"María\""), "input is kept");
    // A state with its own Marketplace is sent there; the territories have none, and nobody
    // is sent looking for one.
    for (zip, phone, says, not) in [
        (
            "90210",
            "310-555-0100",
            &[
                "California tiene su propio Mercado",
                "https://www.coveredca.com",
            ][..],
            "no se ofrecen",
        ),
        (
            "00901",
            "787-555-0100",
            &["Los planes del Mercado no se ofrecen en Puerto Rico"][..],
            "tiene su propio Mercado",
        ),
    ] {
        let (code, body) = post(vec![
            ("zip", zip),
            ("language", "es"),
            ("first_name", "Ana"),
            ("last_name", "Ruiz"),
            ("phone", phone),
            ("contact_by", "call"),
            ("reason", "change"),
            ("consent", "true"),
            ("consent_version", hod_app::referrals::CONSENT_VERSION),
        ])
        .await;
        assert_eq!(code, 422);
        assert!(
            says.iter().all(|s| body.contains(s)) && !body.contains(not),
            "{body}"
        );
    }
    t.app
        .set_program_setting("intake.paused", "true", Actor::Cli)
        .await
        .unwrap();
    let (code, body) = page(&t, "/get-help", None).await;
    assert_eq!(code, 200);
    assert!(body.contains("No estamos recibiendo solicitudes") && body.contains("1-800-318-2596"));
    assert!(!body.contains("<form class=\"form\" method=\"post\" action=\"/get-help\""));
}

/// A help center, an agency's office or a mobile carrier puts many people behind one address:
/// they can all ask for help, and the form's own budget, when it runs out, keeps what was
/// typed and gives the call center.
async fn many_people_behind_one_address_can_ask_for_help(t: TestApp) {
    world(&t, &[spec("3000201", "Ana", "77002")]).await;
    let post = |form: Vec<(&'static str, String)>| {
        let t = &t;
        async move {
            let r = ask_for_help_in_spanish(t, &form).await;
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry, r.text().await.unwrap())
        }
    };
    let person = |i: usize| {
        vec![
            ("zip", "77002".to_owned()),
            ("language", "es".to_owned()),
            ("first_name", format!("Persona{i}")),
            ("last_name", "García".to_owned()),
            ("phone", format!("(713) 555-{:04}", 1000 + i)),
            ("contact_by", "call".to_owned()),
            ("reason", "new_coverage".to_owned()),
            ("consent", "true".to_owned()),
            (
                "consent_version",
                hod_app::referrals::CONSENT_VERSION.to_owned(),
            ),
        ]
    };
    for i in 0..100 {
        let (code, _, body) = post(person(i)).await;
        assert_eq!(code, 303, "person {i}: {body}");
    }
    let texted: std::collections::BTreeSet<String> = t
        .take_outbox()
        .await
        .into_iter()
        .map(|m| m.recipient)
        .collect();
    assert_eq!(
        texted.len(),
        100,
        "each person is told their request was taken"
    );
    let (allowed, _) = hod_web::throttle::Purpose::HelpRequest.budget();
    for _ in 100..allowed {
        assert_eq!(post(vec![("zip", "7700".to_owned())]).await.0, 422);
    }
    let (code, retry, body) = post(person(1000)).await;
    assert_eq!(code, 429);
    assert_eq!(retry.as_deref(), Some("600"));
    assert!(
        body.contains("Demasiados intentos") && body.contains("Espere 10 minutos"),
        "{body}"
    );
    assert!(
        body.contains("value=\"Persona1000\"") && body.contains("(713) 555-2000"),
        "input kept"
    );
    assert!(
        body.contains("<a href=\"tel:+18003182596\">1-800-318-2596</a>"),
        "{body}"
    );
    // Logging in from the same address is counted apart.
    assert_ne!(
        crate::support::post(
            &t,
            "/agent/login",
            &[("username", "x"), ("password", "Wrong-Pass-99")],
            None
        )
        .await
        .status(),
        429
    );
}

async fn openapi_describes_every_api_route(t: TestApp) {
    let (code, doc) = api(&t, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(code, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} /api/v1{path}", m.to_uppercase()))
        })
        .collect();
    // The routes as the router declares them: `.route("path", method(handler)…)`.
    let source = include_str!("../../../web/src/lib.rs").replace('\n', " ");
    let mut routed = std::collections::BTreeSet::new();
    for call in source.split(".route(").skip(1) {
        let call = call.split("))").next().unwrap();
        let path = call.split('"').nth(1).unwrap();
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        for (needle, method) in [
            ("get(", "GET"),
            ("post(", "POST"),
            ("put(", "PUT"),
            ("delete(", "DELETE"),
        ] {
            if call.contains(needle) {
                routed.insert(format!("{method} {path}"));
            }
        }
    }
    assert_eq!(documented, routed, "openapi.json and the router disagree");
    // Every documented operation answers as an endpoint (not the unknown-endpoint 404).
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path.replace("{id}", "1");
        let (code, body) = api(&t, method, &path, None, Some(json!({}))).await;
        assert!(
            code != 405 && !body.to_string().contains("no such endpoint"),
            "{op}: {code} {body}"
        );
    }
}

async fn the_agent_app_reads_and_changes_its_profile(t: TestApp) {
    let a = world(
        &t,
        &[
            spec("3000111", "Ana", "77002"),
            Spec {
                npn: "3000112",
                first: "Bo",
                zip: "77002",
                states: &["TX", "FL"],
            },
        ],
    )
    .await;
    let (code, me) = api(&t, "GET", "/api/v1/agent/profile", Some(&a[1].token), None).await;
    assert_eq!(code, 200);
    assert_eq!(
        (me["npn"].as_str(), me["registration_complete"].as_bool()),
        (Some("3000112"), Some(true))
    );
    assert_eq!(
        me["states"],
        json!(["FL", "TX"]),
        "every eligible state by default"
    );
    assert_eq!(me["languages"], json!(["en"]));
    let change = json!({"languages": ["en", "es"], "states": ["TX"], "contact_method": "email_text", "phone": "(832) 555-0142"});
    let (code, me) = api(
        &t,
        "PUT",
        "/api/v1/agent/profile",
        Some(&a[1].token),
        Some(change),
    )
    .await;
    assert_eq!(code, 200, "{me}");
    assert_eq!(
        (me["languages"].clone(), me["states"].clone()),
        (json!(["en", "es"]), json!(["TX"]))
    );
    assert_eq!(
        (
            me["phone"].as_str(),
            me["contact_method"].as_str(),
            me["zip"].as_str()
        ),
        (Some("+18325550142"), Some("email_text"), Some("77002"))
    );
    // The new phone is confirmed by a text.
    t.expect_outbox(&[("sms", "+18325550142")]).await;
    let (code, v) = api(
        &t,
        "PUT",
        "/api/v1/agent/profile",
        Some(&a[1].token),
        Some(json!({"states": ["CA"]})),
    )
    .await;
    assert_eq!(
        (code, v["error"]["fields"]["states"].is_string()),
        (422, true),
        "{v}"
    );
    let (code, v) = api(
        &t,
        "PUT",
        "/api/v1/agent/profile",
        Some(&a[1].token),
        Some(json!({"zip": "00000"})),
    )
    .await;
    assert_eq!(
        (code, v["error"]["fields"]["zip"].is_string()),
        (422, true),
        "{v}"
    );
    // Ana's token sees Ana; no token, no profile.
    assert_eq!(
        api(&t, "GET", "/api/v1/agent/profile", Some(&a[0].token), None)
            .await
            .1["npn"],
        "3000111"
    );
    assert_eq!(
        api(&t, "GET", "/api/v1/agent/profile", None, None).await.0,
        401
    );
    assert_eq!(
        api(
            &t,
            "GET",
            "/api/v1/agent/profile",
            Some("not-a-token"),
            None
        )
        .await
        .0,
        401
    );
}
