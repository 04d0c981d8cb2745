//! The test harness: fresh migrated databases on both backends, a fake clock, and
//! `TestApp`, the real server on a loopback port spoken to over HTTP.
//!
//! PostgreSQL tests run when `HOD_TEST_PG_URL` names a server we may create databases on
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it they are skipped, except
//! under `CI=true`, where a missing PostgreSQL is a failure.
#![forbid(unsafe_code)]

pub mod smtp;
pub mod twilio;
pub mod webpush;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hod_app::{App, FakeClock, Settings};
use hod_db::scratch::PgAdmin;
use hod_db::{Backend, ConnectOptions, DatabaseUrl, Db};

mod macros;

/// Where the fake clock starts: Thanksgiving 2026, 11:00 in New York, plan year 2027.
/// The master key of personal data in tests (`HOD_DATA_KEY` for the processes they start):
/// base64 of `hod-test-data-key-not-a-secret!!`.
pub const TEST_DATA_KEY: &str = "aG9kLXRlc3QtZGF0YS1rZXktbm90LWEtc2VjcmV0ISE=";

/// Loads (or, on a new database, makes) `db`'s data keys with [`TEST_DATA_KEY`].
pub async fn unlock(db: &Db) {
    let key = hod_db::vault::MasterKey::parse(TEST_DATA_KEY).expect("the test key");
    hod_db::keys::unlock(db, key, start_time())
        .await
        .expect("load the test database's data keys");
}

pub const START: &str = "2026-11-26T16:00:00Z";

/// A fresh, migrated database that is removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The PostgreSQL server for tests, or `None` to skip; panics under `CI=true` without one.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("HOD_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but HOD_TEST_PG_URL is not set: PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipped: set HOD_TEST_PG_URL to run the PostgreSQL tests");
            None
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("OS randomness");
    hex::encode(b)
}

/// Runs `f` to completion on a runtime of its own, in a thread of its own: for cleanup in
/// `Drop`, where the test's runtime may be shutting down.
fn on_own_runtime<T: Send + 'static>(
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("cleanup thread")
}

fn start_time() -> jiff::Timestamp {
    START.parse().expect("START is RFC 3339")
}

impl TestDb {
    /// A fresh database on `backend`, or `None` when PostgreSQL is not configured.
    pub async fn fresh(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::fresh_sqlite().await),
            Backend::Postgres => Self::fresh_postgres(&postgres_admin_url()?).await.into(),
        }
    }

    async fn fresh_sqlite() -> Self {
        let template = sqlite_template().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hod.sqlite");
        std::fs::copy(&template, &path).expect("copy the template database");
        Self::open(DatabaseUrl::sqlite_file(&path), Cleanup::Dir(dir)).await
    }

    async fn open(url: DatabaseUrl, cleanup: Cleanup) -> Self {
        let db = Db::connect(&url, &ConnectOptions::default())
            .await
            .expect("open the test database");
        unlock(&db).await;
        Self { db, url, cleanup }
    }

    async fn fresh_postgres(admin_url: &str) -> Self {
        let template = format!("hod_tpl_{}", &hod_db::schema_fingerprint()[..16]);
        let name = format!("hod_test_{}", random_hex(8));
        let mut admin = PgAdmin::connect(admin_url)
            .await
            .expect("connect to HOD_TEST_PG_URL");
        admin.lock_creators().await.expect("lock");
        if !admin
            .exists(&template)
            .await
            .expect("look for the template")
        {
            let building = format!("{template}_build_{}", random_hex(4));
            admin
                .create(&building, None)
                .await
                .expect("create the template");
            let url = DatabaseUrl::new(database_url(admin_url, &building));
            let db = Db::connect(&url, &ConnectOptions::default())
                .await
                .expect("open the template");
            db.migrate(start_time())
                .await
                .expect("migrate the template");
            db.close().await;
            admin
                .rename(&building, &template)
                .await
                .expect("publish the template");
        }
        admin
            .create(&name, Some(&template))
            .await
            .expect("copy the template");
        admin.unlock_creators().await.expect("unlock");
        admin.close().await;
        let url = DatabaseUrl::new(database_url(admin_url, &name));
        let cleanup = Cleanup::Postgres {
            admin_url: admin_url.to_owned(),
            name,
        };
        Self::open(url, cleanup).await
    }
}

/// `admin_url` with its database name replaced.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let root = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A migrated SQLite file shared by the tests of one schema version (built once, atomically).
async fn sqlite_template() -> PathBuf {
    let dir = std::env::temp_dir().join("hod-test-templates");
    std::fs::create_dir_all(&dir).expect("template dir");
    let path = dir.join(format!("{}.sqlite", &hod_db::schema_fingerprint()[..16]));
    if !path.exists() {
        let work = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(
            &DatabaseUrl::sqlite_file(&work.path().join("t.sqlite")),
            &ConnectOptions::default(),
        )
        .await
        .expect("template");
        db.migrate(start_time())
            .await
            .expect("migrate the template");
        let building = dir.join(format!("building-{}.sqlite", random_hex(8)));
        db.snapshot_sqlite(&building)
            .await
            .expect("snapshot the template");
        db.close().await;
        std::fs::rename(&building, &path).expect("publish the template");
    }
    path
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            on_own_runtime(async move {
                if let Ok(mut admin) = PgAdmin::connect(&admin_url).await {
                    let _ = admin.drop_database(&name).await;
                    admin.close().await;
                }
            });
        }
    }
}

/// The real server on a loopback port, with a fake clock.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub clock: Arc<FakeClock>,
    pub client: reqwest::Client,
    pub test_db: TestDb,
    server: tokio::task::JoinHandle<()>,
    /// Servers started by [`TestApp::serve_with`].
    more_servers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Highest outbox id the test has taken.
    outbox_seen: std::sync::atomic::AtomicI64,
}

impl TestApp {
    /// Starts the server on a fresh database, or `None` when the backend is not available.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let test_db = TestDb::fresh(backend).await?;
        let clock = Arc::new(FakeClock::new(start_time()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let settings = Settings {
            // Passkeys need a host name: browsers and WebAuthn refuse IP addresses.
            public_url: format!("http://localhost:{}", addr.port()),
            noreply_address: "noreply@hod.test".into(),
            program_time_zone: jiff::tz::TimeZone::get("America/New_York").expect("tz"),
            // The push service stand-in listens on loopback.
            push_endpoints: vec!["127.0.0.1".into()],
        };
        let app = App::new(test_db.db.clone(), clock.clone(), settings)
            .await
            .expect("start the application");
        let web = hod_web::WebSettings::default();
        let limits = web.limits;
        let router = hod_web::router(hod_web::AppState::new(app.clone(), web));
        let server = tokio::spawn(hod_web::serve::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Some(Self {
            addr,
            app,
            clock,
            client,
            test_db,
            server,
            more_servers: std::sync::Mutex::default(),
            outbox_seen: 0.into(),
        })
    }

    /// Another server for the same application, with other HTTP settings (short timeouts, few
    /// connections), on a loopback port of its own; stopped with the test.
    pub async fn serve_with(&self, web: hod_web::WebSettings) -> SocketAddr {
        self.serve_app(self.app.clone(), web).await
    }

    /// Another server for `app` (this test's application with other providers, say), on a
    /// loopback port of its own; stopped with the test.
    pub async fn serve_app(&self, app: App, web: hod_web::WebSettings) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let limits = web.limits;
        let router = hod_web::router(hod_web::AppState::new(app, web));
        let server = tokio::spawn(hod_web::serve::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        self.more_servers.lock().expect("not poisoned").push(server);
        addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET with the browser's language preference.
    pub async fn get_in(&self, path: &str, accept_language: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("accept-language", accept_language)
            .send()
            .await
            .expect("GET")
    }
}

impl TestApp {
    /// A second node on the same database and clock, with the same settings (no server of
    /// its own): what it changes must hold on this node's next request.
    pub async fn other_node(&self) -> App {
        App::new(
            self.app.storage().clone(),
            self.clock.clone(),
            (*self.app.settings).clone(),
        )
        .await
        .expect("a second node starts")
    }

    /// The messages queued since the last call, oldest first. A test that makes the system
    /// send something takes it here; whatever is left unread fails the test when it ends.
    #[must_use = "check what was sent, or use expect_outbox"]
    pub async fn take_outbox(&self) -> Vec<hod_db::outbox::MessageRow> {
        // Messages written by work done after an answer (forgotten passwords) count too.
        self.app.settle().await;
        let seen = self.outbox_seen.load(std::sync::atomic::Ordering::SeqCst);
        let fresh: Vec<_> = hod_db::outbox::list(self.app.storage(), None, None)
            .await
            .expect("list the outbox")
            .into_iter()
            .filter(|m| m.id > seen)
            .collect();
        if let Some(last) = fresh.last() {
            self.outbox_seen
                .store(last.id, std::sync::atomic::Ordering::SeqCst);
        }
        fresh
    }
}

impl TestApp {
    /// Takes the messages queued since the last look and checks they are exactly these
    /// (channel, recipient) pairs, in any order.
    pub async fn expect_outbox(
        &self,
        expected: &[(&str, &str)],
    ) -> Vec<hod_db::outbox::MessageRow> {
        let taken = self.take_outbox().await;
        let mut got: Vec<(&str, &str)> = taken
            .iter()
            .map(|m| (m.channel.as_str(), m.recipient.as_str()))
            .collect();
        let mut want = expected.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "messages sent (channel, recipient)");
        taken
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        for server in self.more_servers.get_mut().expect("not poisoned").drain(..) {
            server.abort();
        }
        if std::thread::panicking() {
            return;
        }
        // Forgotten messages: queued by the test but never looked at.
        let url = self.test_db.url.clone();
        let seen = self.outbox_seen.load(std::sync::atomic::Ordering::SeqCst);
        let unread = on_own_runtime(async move {
            let db = Db::connect(&url, &ConnectOptions::default())
                .await
                .expect("reopen the test database");
            unlock(&db).await;
            let unread: Vec<String> = hod_db::outbox::list(&db, None, None)
                .await
                .expect("list the outbox")
                .into_iter()
                .filter(|m| m.id > seen)
                .map(|m| {
                    format!(
                        "#{} {} to {}: {}",
                        m.id,
                        m.channel.as_str(),
                        m.recipient,
                        m.subject
                    )
                })
                .collect();
            db.close().await;
            unread
        });
        assert!(
            unread.is_empty(),
            "the test left messages it never took with take_outbox(): {unread:?}"
        );
    }
}
