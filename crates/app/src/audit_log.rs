//! Reading the audit log: the console's viewer and `hod audit verify`.
use hod_db::audit;
pub use hod_db::audit::{EntryRow as AuditEntry, Filter as AuditFilter, Verified};

use crate::{App, Result};

impl App {
    /// Entries matching `filter`, newest first, at most `limit`.
    pub async fn audit_entries(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(audit::search(&self.db, filter, limit).await?)
    }

    /// Recomputes the audit log's hash chain and names the first entry that does not match.
    pub async fn verify_audit_log(&self) -> Result<Verified> {
        Ok(audit::verify(&self.db).await?)
    }
}
