/// Generates one `#[tokio::test]` per backend for each listed `async fn name(app: TestApp)`:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! app_tests {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(@gen $crate::TestApp::spawn; $($name),*);
    };
}

/// Like [`app_tests!`] for `async fn name(db: TestDb)`: storage contract tests.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(@gen $crate::TestDb::fresh; $($name),*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! backend_tests {
    (@gen $spawn:path; $($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = $spawn(hod_db::Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(fixture).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(fixture) = $spawn(hod_db::Backend::Postgres).await {
                        super::$name(fixture).await;
                    }
                }
            )*
        }
    };
}
