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
        let mut child = hod()
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
