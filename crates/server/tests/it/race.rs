//! First accept wins, with real processes: `hod serve` nodes on one database, referrals each
//! offered to several agents who race to accept through different nodes. Exactly one winner
//! per referral, every loser gets 409, and the database agrees with the responses.
use hod_domain::actor::Actor;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hod_app::{App, Settings, SystemClock};
use hod_db::Backend;
use hod_test_support::TestDb;
use serde_json::{Value, json};

use crate::nodes::Node;
use crate::world::{Site, api_at, request, spec, world_on};

const REFERRALS: usize = 1000;
const AGENTS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_postgres_nodes_one_winner_per_referral() {
    if hod_test_support::postgres_admin_url().is_none() {
        return;
    }
    race(Backend::Postgres, 3, 32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sqlite_node_64_clients_one_winner_per_referral() {
    race(Backend::Sqlite, 1, 64).await;
}

/// `nodes` servers on a fresh database; `clients` requests in flight at a time.
async fn race(backend: Backend, nodes: usize, clients: usize) {
    let t = TestDb::fresh(backend).await.expect("database");
    let dir = tempfile::tempdir().unwrap();
    let url = t.url.expose().to_owned();
    let servers: Vec<Node> = (0..nodes).map(|_| Node::start(&url, dir.path())).collect();
    let app = App::new(
        t.db.clone(),
        Arc::new(SystemClock),
        Settings {
            public_url: servers[0].url.clone(),
            noreply_address: "noreply@hod.test".into(),
            program_time_zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
            push_endpoints: hod_app::push::default_endpoints(),
        },
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let site = Site {
        app: Some(&app),
        base: servers[0].url.clone(),
        client: client.clone(),
    };
    let specs = [
        spec("3100001", "Ana", "77002"),
        spec("3100002", "Bo", "77002"),
        spec("3100003", "Cy", "77401"),
        spec("3100004", "Di", "78701"),
    ];
    let agents = world_on(&site, &specs).await;
    for a in &agents {
        // Whatever the hour the test runs at.
        let (code, _) = api_at(
            &site,
            "PUT",
            "/api/v1/agent/availability",
            Some(&a.token),
            Some(json!({"mode": "available"})),
        )
        .await;
        assert_eq!(code, 200);
    }
    for (key, value) in [
        ("routing.strategy", "broadcast"),
        ("routing.broadcast_size", "4"),
        ("routing.capacity", "1000000"),
        ("routing.max_wait_minutes", "600"),
        ("routing.offer_minutes", "600"),
    ] {
        app.set_program_setting(key, value, Actor::Cli)
            .await
            .unwrap();
    }
    let key = app.create_api_key("Race", Actor::Cli).await.unwrap();

    // Submissions, spread over the nodes.
    let urls: Vec<String> = servers.iter().map(|n| n.url.clone()).collect();
    let ids: Vec<i64> = run_all(
        clients,
        (0..REFERRALS).map(|i| {
            let (client, base, key) = (client.clone(), urls[i % urls.len()].clone(), key.clone());
            async move {
                let phone = format!("713-555-{i:04}");
                let mut body = request("77002", "en", &phone);
                body["last_name"] = json!(format!("Doe{i}"));
                let r = client
                    .post(format!("{base}/api/v1/referrals"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
            }
        }),
    )
    .await;
    assert_eq!(ids.len(), REFERRALS);

    // Every agent holds an offer on every referral.
    let mut offer_of: HashMap<(usize, i64), i64> = HashMap::new();
    for (i, a) in agents.iter().enumerate() {
        let (code, offers) =
            api_at(&site, "GET", "/api/v1/agent/offers", Some(&a.token), None).await;
        assert_eq!(code, 200);
        for o in offers.as_array().unwrap() {
            offer_of.insert(
                (i, o["referral_id"].as_i64().unwrap()),
                o["id"].as_i64().unwrap(),
            );
        }
    }
    assert_eq!(offer_of.len(), REFERRALS * AGENTS, "broadcast to all four");

    // The race: for each referral, the four agents accept at once, each through another node.
    let attempts = ids
        .iter()
        .flat_map(|rid| (0..AGENTS).map(move |i| (*rid, i)));
    let results: Vec<(i64, usize, u16)> = run_all(
        clients,
        attempts.map(|(rid, i)| {
            let (client, token) = (client.clone(), agents[i].token.clone());
            let base = urls[(i + usize::try_from(rid).unwrap()) % urls.len()].clone();
            let offer = offer_of[&(i, rid)];
            async move {
                let r = client
                    .post(format!("{base}/api/v1/agent/offers/{offer}/accept"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                (rid, i, r.status().as_u16())
            }
        }),
    )
    .await;

    let mut winners: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (rid, i, code) in &results {
        match code {
            200 => winners.entry(*rid).or_default().push(*i),
            409 => {}
            other => panic!("referral {rid}, agent {i}: unexpected {other}"),
        }
    }
    assert_eq!(winners.len(), REFERRALS, "every referral has a winner");
    assert!(
        winners.values().all(|w| w.len() == 1),
        "exactly one winner each"
    );
    assert_eq!(
        results.iter().filter(|r| r.2 == 409).count(),
        REFERRALS * (AGENTS - 1)
    );
    // The database agrees: the winner holds it, one accepted offer, the others withdrawn.
    let holders = holders(&t.db).await;
    for (rid, w) in &winners {
        assert_eq!(holders.get(rid), Some(&agents[w[0]].id), "referral {rid}");
    }
    let accepted =
        t.db.count_for_tests("SELECT COUNT(*) FROM referral_offers WHERE status = 'accepted'")
            .await
            .unwrap();
    let withdrawn =
        t.db.count_for_tests("SELECT COUNT(*) FROM referral_offers WHERE status = 'withdrawn'")
            .await
            .unwrap();
    assert_eq!(
        (accepted, withdrawn),
        (REFERRALS as i64, (REFERRALS * (AGENTS - 1)) as i64)
    );
    drop(servers);
}

async fn holders(db: &hod_db::Db) -> HashMap<i64, i64> {
    let mut out = HashMap::new();
    let n = db
        .count_for_tests("SELECT COUNT(*) FROM referrals")
        .await
        .unwrap();
    for id in 1..=n {
        if let Some(agent) = db
            .text_for_tests(&format!("SELECT CAST(agent_id AS TEXT) FROM referrals WHERE id = {id} AND status = 'accepted'"))
            .await
            .unwrap()
        {
            out.insert(id, agent.parse().unwrap());
        }
    }
    out
}

/// Runs the futures with at most `limit` in flight; results in completion order.
async fn run_all<T: Send + 'static, F>(limit: usize, futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    for f in futures {
        if set.len() >= limit {
            out.push(set.join_next().await.unwrap().unwrap());
        }
        set.spawn(f);
    }
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}
