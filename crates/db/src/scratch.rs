//! Throw-away PostgreSQL databases for tests: a migrated template per schema version, copied
//! for each test and dropped after it (the SQLite side copies a file; see `hod-test-support`).
use sqlx::Connection;

use crate::Result;

/// A connection to the server's maintenance database, for creating and dropping databases.
#[derive(Debug)]
pub struct PgAdmin(sqlx::PgConnection);

/// Names are made by the caller from hex digits and fixed prefixes; refuse anything else
/// rather than quote it, since `CREATE DATABASE` takes no parameters.
fn checked(name: &str) -> &str {
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "database name {name:?}: lowercase letters, digits and _ only"
    );
    name
}

impl PgAdmin {
    pub async fn connect(admin_url: &str) -> Result<Self> {
        Ok(Self(sqlx::PgConnection::connect(admin_url).await?))
    }

    async fn exec(&mut self, sql: String) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut self.0)
            .await?;
        Ok(())
    }

    /// One creator at a time across test processes: copying a template needs it idle.
    pub async fn lock_creators(&mut self) -> Result<()> {
        sqlx::query("SELECT pg_advisory_lock(7270002)")
            .execute(&mut self.0)
            .await?;
        Ok(())
    }

    pub async fn unlock_creators(&mut self) -> Result<()> {
        sqlx::query("SELECT pg_advisory_unlock(7270002)")
            .execute(&mut self.0)
            .await?;
        Ok(())
    }

    pub async fn exists(&mut self, name: &str) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut self.0)
            .await?;
        Ok(found.is_some())
    }

    /// Creates `name`, empty or as a copy of `template`.
    pub async fn create(&mut self, name: &str, template: Option<&str>) -> Result<()> {
        let name = checked(name);
        match template {
            Some(t) => {
                self.exec(format!("CREATE DATABASE {name} TEMPLATE {}", checked(t)))
                    .await
            }
            None => self.exec(format!("CREATE DATABASE {name}")).await,
        }
    }

    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.exec(format!(
            "ALTER DATABASE {} RENAME TO {}",
            checked(from),
            checked(to)
        ))
        .await
    }

    /// Drops `name`, closing its connections.
    pub async fn drop_database(&mut self, name: &str) -> Result<()> {
        self.exec(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            checked(name)
        ))
        .await
    }

    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}
