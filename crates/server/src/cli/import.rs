//! `hod import`: a CMS source file through the same use case as the console's upload.
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hod_domain::actor::Actor;

use super::describe_evaluation;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Which file: rcl (Registration Completion List), termination (Suspension and
    /// Termination List), nipr (licences: PDB XML or flat CSV), mlms (HOD course), loa
    /// (valid health lines of authority)
    #[arg(value_parser = ["rcl", "termination", "nipr", "mlms", "loa"])]
    pub kind: String,
    pub file: PathBuf,
    /// Read and check the file; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// How many rejected rows the text report lists before pointing at `--json`.
const REJECTED_SHOWN: usize = 50;

pub(super) async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    use hod_app::import::{ImportKind, ImportOptions, Source};
    let kind = ImportKind::parse(&args.kind).expect("clap checked the kind");
    let source =
        Source::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let db = crate::open_database(config, &config.database_url("hod.sqlite")).await?;
    let app = crate::app(db, crate::settings(config, config.addr)).await?;
    let opts = ImportOptions {
        dry_run: args.dry_run,
        actor: Actor::Cli,
        ..ImportOptions::default()
    };
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(format!("importing {}", args.file.display()));
        let progress = opts.progress.clone();
        let ticker = bar.clone();
        tokio::spawn(async move {
            loop {
                ticker.set_position(progress.load(std::sync::atomic::Ordering::Relaxed));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        bar
    });
    let result = app.import(kind, source, opts).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}: {} rows, {} applied, {} rejected{}",
        report.file,
        report.rows,
        report.applied,
        report.rejected.len(),
        if report.dry_run {
            " (dry run: nothing was written)"
        } else {
            ""
        }
    )?;
    for r in report.rejected.iter().take(REJECTED_SHOWN) {
        writeln!(out, "  line {}: {}", r.line, r.reason)?;
    }
    if report.rejected.len() > REJECTED_SHOWN {
        writeln!(
            out,
            "  … and {} more (--json lists them all)",
            report.rejected.len() - REJECTED_SHOWN
        )?;
    }
    if let Some(s) = &report.evaluation {
        writeln!(out, "{}", describe_evaluation(s))?;
    }
    Ok(())
}
