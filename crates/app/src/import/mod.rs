//! Importing the CMS source files (SPEC.md §2.1–§2.2). A file streams through a parser on a
//! blocking thread, which sends batches of parsed rows to a writer holding one transaction:
//! the file lands whole (its valid rows, with a report of the others) or not at all. After
//! a file lands, eligibility is worked out again.
use hod_domain::actor::Actor;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use hod_db::cms::{self, ValidLoaRow};
use hod_db::{Tx, audit, imports, licences};
use hod_domain::eligibility::{MlmsEntry, RclEntry, StatusEvent};
use hod_domain::{License, Npn, PlanYear};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::eligibility::EvaluationSummary;
use crate::{App, AppError, Result};

mod csvfile;
#[cfg(test)]
mod fuzz;
mod nipr;
mod rows;
mod source;

pub use hod_db::imports::ImportRow;
pub use source::Source;

/// The five source files of SPEC.md §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    Rcl,
    Termination,
    Nipr,
    Mlms,
    Loa,
}

impl ImportKind {
    pub const ALL: [Self; 5] = [
        Self::Rcl,
        Self::Termination,
        Self::Nipr,
        Self::Mlms,
        Self::Loa,
    ];

    /// The name on the command line (`hod import rcl …`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rcl => "rcl",
            Self::Termination => "termination",
            Self::Nipr => "nipr",
            Self::Mlms => "mlms",
            Self::Loa => "loa",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What such a file is called in messages, with its article.
    pub fn title(self) -> &'static str {
        match self {
            Self::Rcl => "a Registration Completion List",
            Self::Termination => "a Suspension and Termination List",
            Self::Nipr => "a NIPR licence file",
            Self::Mlms => "an MLMS Help On Demand course file",
            Self::Loa => "a valid-LOA table",
        }
    }
}

/// A row that did not land, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// What an import did. Serialises as SPEC.md §9's `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub rows: u64,
    pub applied: u64,
    pub rejected: Vec<Rejected>,
    #[serde(skip)]
    pub dry_run: bool,
    /// The file's SHA-256.
    #[serde(skip)]
    pub sha256: String,
    /// The stored record of the import (none for a dry run from the command line).
    #[serde(skip)]
    pub record: Option<i64>,
    /// The eligibility run that followed (not after a dry run, nor when no plan year is set
    /// up for today).
    #[serde(skip)]
    pub evaluation: Option<EvaluationSummary>,
}

/// A problem with the file as a whole: nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ImportError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

pub(crate) fn fail(file: &str, line: Option<u64>, message: String) -> ImportError {
    ImportError {
        file: file.to_owned(),
        line,
        message,
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Read and check the file, write nothing.
    pub dry_run: bool,
    /// Who imports (an operator, or `cli`), for the audit log.
    pub actor: Actor,
    /// Bytes read so far, for a progress display.
    pub progress: Arc<AtomicU64>,
}

/// Parsed rows on their way to the database.
#[derive(Debug)]
pub(crate) enum Batch {
    Rcl(Vec<RclEntry>),
    Mlms(Vec<MlmsEntry>),
    Events(Vec<StatusEvent>),
    Loas(Vec<ValidLoaRow>),
    Licences(Vec<(Npn, Vec<License>)>),
}

/// What a parser hands back when the file has been read.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub rows: u64,
    pub rejected: Vec<Rejected>,
    pub sha256: String,
}

/// The parser's end of the channel: rows are sent in batches.
pub(crate) struct Sender<T> {
    tx: mpsc::Sender<Batch>,
    wrap: fn(Vec<T>) -> Batch,
    pending: Vec<T>,
    file: String,
}

const BATCH: usize = 2000;

impl<T> Sender<T> {
    fn new(tx: mpsc::Sender<Batch>, wrap: fn(Vec<T>) -> Batch, file: &str) -> Self {
        Self {
            tx,
            wrap,
            pending: Vec::with_capacity(BATCH),
            file: file.to_owned(),
        }
    }

    pub(crate) fn push(&mut self, row: T) -> Result<(), ImportError> {
        self.pending.push(row);
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<(), ImportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = (self.wrap)(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(BATCH),
        ));
        self.tx
            .blocking_send(batch)
            .map_err(|_| fail(&self.file, None, "the import was stopped".into()))
    }
}

/// Remembers the line of each key, so a repeated key can be reported (the later row wins).
pub(crate) struct Duplicates<K> {
    seen: std::collections::HashMap<K, u64>,
}

impl<K: std::hash::Hash + Eq> Duplicates<K> {
    pub(crate) fn new() -> Self {
        Self {
            seen: std::collections::HashMap::new(),
        }
    }

    /// Records `key` at `line`; returns the line it was last seen on.
    pub(crate) fn see(&mut self, key: K, line: u64) -> Option<u64> {
        self.seen.insert(key, line)
    }
}

/// The report entry for a row that a later row replaced.
pub(crate) fn superseded(earlier: u64, later: u64, what: &str) -> Rejected {
    Rejected {
        line: earlier,
        reason: format!("duplicate {what}: replaced by line {later} (the later row wins)"),
    }
}

impl App {
    /// Imports one source file (SPEC.md §2.2), then re-evaluates eligibility for today's
    /// plan year and sends the invitations that are due.
    #[tracing::instrument(skip_all, fields(kind = kind.as_str(), file = %source.name))]
    pub async fn import(
        &self,
        kind: ImportKind,
        source: Source,
        opts: ImportOptions,
    ) -> Result<ImportReport> {
        let file = source.name.clone();
        let latest_year = PlanYear::standard_for(self.today()).year;
        let (batches, rx) = mpsc::channel::<Batch>(4);
        let progress = opts.progress.clone();
        let parser = tokio::task::spawn_blocking(move || match kind {
            ImportKind::Nipr => nipr::parse(source, progress, batches),
            _ => rows::parse(kind, source, progress, batches, latest_year),
        });

        let load = async |t: Option<&mut Tx>| -> Result<ImportReport> {
            self.load(kind, &file, rx, parser, &opts, t).await
        };
        if opts.dry_run {
            return load(None).await;
        }
        let report = self.write(async |t| load(Some(t)).await).await?;
        tracing::info!(
            rows = report.rows,
            applied = report.applied,
            rejected = report.rejected.len(),
            "import landed"
        );

        let evaluation = self.evaluate_eligibility(self.today()).await?;
        Ok(ImportReport {
            evaluation,
            ..report
        })
    }

    /// Reads the parser's batches into `db_tx` (none in a dry run) and records the import.
    async fn load(
        &self,
        kind: ImportKind,
        file: &str,
        mut rx: mpsc::Receiver<Batch>,
        parser: tokio::task::JoinHandle<std::result::Result<Parsed, ImportError>>,
        opts: &ImportOptions,
        mut db_tx: Option<&mut Tx>,
    ) -> Result<ImportReport> {
        let mut replaced: HashSet<Npn> = HashSet::new();
        let mut loas_cleared = false;
        let now = self.now();
        while let Some(batch) = rx.recv().await {
            let Some(t) = db_tx.as_deref_mut() else {
                continue;
            };
            match batch {
                Batch::Rcl(rows) => cms::upsert_rcl(t, &rows).await?,
                Batch::Mlms(rows) => cms::upsert_mlms(t, &rows, now).await?,
                Batch::Events(rows) => cms::insert_status_events(t, &rows).await?,
                Batch::Loas(rows) => {
                    if !loas_cleared {
                        cms::clear_valid_loas(t).await?;
                        loas_cleared = true;
                    }
                    cms::add_valid_loas(t, &rows).await?;
                }
                Batch::Licences(groups) => {
                    // The file replaces what was known of each NPN it lists: forgotten
                    // once, when the NPN first comes.
                    let first: Vec<&Npn> = groups
                        .iter()
                        .map(|(npn, _)| npn)
                        .filter(|npn| replaced.insert((*npn).clone()))
                        .collect();
                    licences::delete_for(t, &first).await?;
                    licences::add(t, &groups).await?;
                }
            }
        }
        let parsed = parser
            .await
            .map_err(|e| AppError::Other(anyhow::anyhow!("import parser failed: {e}")))?
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        let mut rejected = parsed.rejected;
        rejected.sort_by_key(|r| r.line);
        // A line is reported once, even when several of its values were replaced later.
        rejected.dedup_by_key(|r| r.line);
        let report = ImportReport {
            file: file.to_owned(),
            rows: parsed.rows,
            applied: parsed.rows - rejected.len() as u64,
            rejected,
            dry_run: opts.dry_run,
            sha256: parsed.sha256.clone(),
            record: None,
            evaluation: None,
        };
        let Some(t) = db_tx else {
            return Ok(report);
        };
        let rejected_json = serde_json::to_string(&report.rejected).expect("serialisable");
        let record = imports::record(
            t,
            &imports::ImportRecord {
                kind: kind.as_str(),
                file_name: file,
                sha256: &parsed.sha256,
                rows: report.rows,
                applied: report.applied,
                rejected_json: &rejected_json,
                actor: &opts.actor.to_string(),
                dry_run: false,
            },
            now,
        )
        .await?;
        audit::append(
            t,
            &audit::Entry {
                actor: opts.actor,
                action: "import.applied",
                subject: file,
                ip: None,
                detail: serde_json::json!({
                    "kind": kind.as_str(),
                    "sha256": parsed.sha256,
                    "rows": report.rows,
                    "applied": report.applied,
                    "rejected": report.rejected.len(),
                }),
            },
            now,
        )
        .await?;
        Ok(ImportReport {
            record: Some(record),
            ..report
        })
    }

    /// Keeps the report of a file checked from the console without applying it, so that it
    /// can be read and downloaded. Returns its record.
    pub async fn record_dry_run(
        &self,
        kind: ImportKind,
        report: &ImportReport,
        actor: Actor,
    ) -> Result<i64> {
        let now = self.now();
        let rejected_json = serde_json::to_string(&report.rejected).expect("serialisable");
        self.write(async |t| -> Result<_> {
            let id = imports::record(
                t,
                &imports::ImportRecord {
                    kind: kind.as_str(),
                    file_name: &report.file,
                    sha256: &report.sha256,
                    rows: report.rows,
                    applied: report.applied,
                    rejected_json: &rejected_json,
                    actor: &actor.to_string(),
                    dry_run: true,
                },
                now,
            )
            .await?;
            audit::append(
                t,
                &audit::Entry {
                    actor,
                    action: "import.checked",
                    subject: &report.file,
                    ip: None,
                    detail: serde_json::json!({ "kind": kind.as_str(), "rows": report.rows, "rejected": report.rejected.len() }),
                },
                now,
            )
            .await?;
            Ok(id)
        })
        .await
    }

    /// Past imports, newest first.
    pub async fn import_history(&self, limit: i64) -> Result<Vec<imports::ImportRow>> {
        Ok(imports::history(&self.db, limit).await?)
    }

    pub async fn import_record(&self, id: i64) -> Result<imports::ImportRow> {
        imports::find(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("import {id}")))
    }
}
