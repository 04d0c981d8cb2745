//! Real `hod serve` processes: several nodes on one database, and graceful shutdown.
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use hod_test_support::TestDb;

use crate::hod;

/// A running `hod serve`, stopped with SIGTERM when dropped.
pub(crate) struct Node {
    child: Child,
    pub url: String,
}

impl Node {
    pub fn start(database_url: &str, dir: &std::path::Path) -> Node {
        Self::start_with(database_url, dir, &[])
    }

    /// A node with configuration from the environment (`HOD_<KEY>`).
    pub fn start_with(database_url: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> Node {
        let mut child = hod()
            .envs(env.iter().copied())
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("hod listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_owned();
        Node { child, url }
    }

    /// SIGTERM, then the exit status (the node must stop by itself).
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..200 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hod serve did not stop within 10 s of SIGTERM");
    }
}

impl Node {
    /// SIGKILL: the process dies at once, in the middle of whatever it was doing.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready(url: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(format!("{url}/readyz")).await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_are_both_ready() {
    let Some(admin) = hod_test_support::postgres_admin_url() else {
        return;
    };
    // An empty database: both nodes race to migrate it at start.
    let t = TestDb::fresh(hod_db::Backend::Postgres).await.unwrap();
    let name = format!("hod_nodes_{}", std::process::id());
    t.db.execute_raw_for_tests(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .ok();
    let admin_db = hod_db::Db::connect(
        &hod_db::DatabaseUrl::new(admin.clone()),
        &Default::default(),
    )
    .await
    .unwrap();
    admin_db
        .execute_raw_for_tests(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin_db
        .execute_raw_for_tests(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = hod_test_support::database_url(&admin, &name);

    let dir = tempfile::tempdir().unwrap();
    let (url_a, url_b) = (url.clone(), url.clone());
    let (pa, pb) = (dir.path().to_owned(), dir.path().to_owned());
    let a = std::thread::spawn(move || Node::start(&url_a, &pa));
    let b = std::thread::spawn(move || Node::start(&url_b, &pb));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    for node in [&a, &b] {
        let (status, body) = ready(&node.url).await;
        assert_eq!(status, 200, "{}", node.url);
        assert_eq!(body["database"], "postgres");
        let page = reqwest::get(format!("{}/", node.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Help On Demand"));
    }
    assert!(a.terminate().success(), "graceful exit on SIGTERM");
    assert!(b.terminate().success());
    admin_db
        .execute_raw_for_tests(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_node_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.sqlite").display());
    let node = Node::start(&url, dir.path());
    assert_eq!(ready(&node.url).await.0, 200);
    assert!(node.terminate().success());
}

/// A node killed with SIGKILL in the middle of handing messages to the mail server loses
/// none: another node takes over the dead node's claims once their lease runs out (the test
/// moves that node's clock past it), and only messages in flight at the kill (at most the
/// dispatcher's `AT_ONCE`) may reach the server twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_dispatching_loses_no_message() {
    use hod_app::dispatch::Transports;
    use hod_app::system::DeliveryStatus;
    use hod_db::outbox::{Channel, NewMessage};
    use hod_test_support::smtp::SmtpServer;

    const MESSAGES: usize = 200;
    let server = SmtpServer::start().await;
    server.pace(Duration::from_millis(30));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hod.sqlite").display());
    let db = hod_db::Db::connect(&hod_db::DatabaseUrl::new(url.clone()), &Default::default())
        .await
        .unwrap();
    db.migrate(jiff::Timestamp::now()).await.unwrap();
    hod_test_support::unlock(&db).await;
    let now = jiff::Timestamp::now();
    db.write(async |tx| -> hod_db::Result<()> {
        for i in 0..MESSAGES {
            let (to, dedup) = (format!("agent{i}@agency.test"), format!("kill-test:{i}"));
            let message = NewMessage {
                channel: Channel::Email,
                sender: "noreply@hod.test",
                recipient: &to,
                subject: "A message",
                body: "Hello.",
                html: None,
                lang: "en",
                fallback_to: None,
                urgent: false,
                subscription_id: None,
                dedup_key: Some(&dedup),
            };
            hod_db::outbox::enqueue(tx, &message, now).await?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let smtp_url = server.url();
    let node = Node::start_with(&url, dir.path(), &[("HOD_SMTP_URL", &smtp_url)]);
    // Bounded: the node sends about 8 every 30 ms.
    for _ in 0..400 {
        if server.received().len() >= MESSAGES / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        server.received().len() >= MESSAGES / 4,
        "the node is sending"
    );
    node.kill();
    let at_kill = server.received().len();
    assert!(at_kill < MESSAGES, "killed before it finished ({at_kill})");

    let clock = std::sync::Arc::new(hod_app::FakeClock::new(
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(61),
    ));
    let settings = hod_app::Settings {
        public_url: "http://localhost:8080".into(),
        noreply_address: "noreply@hod.test".into(),
        program_time_zone: jiff::tz::TimeZone::get("America/New_York").unwrap(),
        push_endpoints: hod_app::push::default_endpoints(),
    };
    let smtp = hod_notify::Smtp::new(hod_notify::SmtpUrl::parse(&smtp_url).unwrap()).unwrap();
    let other = hod_app::App::new(db.clone(), clock, settings)
        .await
        .unwrap()
        .with_transports(Transports {
            email: Some(smtp),
            sms: None,
        });
    while other.dispatch("node-b").await.unwrap().total() > 0 {}

    let rows = other.outbox(None, None).await.unwrap();
    assert_eq!(rows.len(), MESSAGES);
    assert!(
        rows.iter().all(|m| m.status == DeliveryStatus::Sent),
        "every message sent"
    );
    let mut times = std::collections::BTreeMap::<i64, usize>::new();
    for m in server.received() {
        let text = String::from_utf8_lossy(&m.data).to_string();
        let id = text
            .split("Message-ID: <outbox-")
            .nth(1)
            .and_then(|rest| rest.split('@').next())
            .and_then(|id| id.parse().ok())
            .expect("a Message-ID");
        *times.entry(id).or_default() += 1;
    }
    assert_eq!(times.len(), MESSAGES, "every message reached the server");
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= hod_app::dispatch::AT_ONCE && twice.iter().all(|(_, n)| **n == 2),
        "only the messages in flight at the kill went twice: {twice:?}"
    );
}
