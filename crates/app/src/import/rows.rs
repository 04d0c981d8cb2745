//! The four CSV files with one fact per row: RCL, Suspension and Termination List, MLMS
//! course file, valid-LOA table.
use std::hash::Hash;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use hod_db::cms::ValidLoaRow;
use hod_domain::UsState;
use hod_domain::eligibility::{
    ListStatus, Marketplaces, MlmsEntry, NpnValid, RclEntry, StatusEvent,
};
use hod_domain::licence::{loa_key, never_health_related};
use tokio::sync::mpsc;

use super::csvfile::{self, CsvSpec, Fields, RowError};
use super::source::{LineTracker, Source, Tap};
use super::{
    Batch, Duplicates, ImportError, ImportKind, Parsed, Rejected, Sender, fail, superseded,
};

/// An import file as the parsers read it.
pub(crate) type FileReader = BufReader<Tap<Box<dyn Read + Send>>>;

/// Opens the file for reading, refusing binary files with a message that says what they are
/// and what to give instead (`expected`). With `track_lines`, newline positions are kept
/// from the first byte (for XML).
pub(crate) fn open(
    source: Source,
    progress: Arc<AtomicU64>,
    track_lines: bool,
    expected: &str,
) -> Result<(String, FileReader, Option<LineTracker>), ImportError> {
    let file = source.name;
    let mut tap = Tap::new(source.reader, progress);
    let lines = track_lines.then(|| tap.track_lines());
    let mut reader = BufReader::with_capacity(1 << 16, tap);
    let head = reader
        .fill_buf()
        .map_err(|e| fail(&file, None, format!("cannot read the file: {e}")))?;
    if let Some(what) = csvfile::binary_kind(head) {
        return Err(fail(
            &file,
            None,
            format!("this is {what}, not a text file; {expected}"),
        ));
    }
    Ok((file, reader, lines))
}

pub(crate) fn parse(
    kind: ImportKind,
    source: Source,
    progress: Arc<AtomicU64>,
    tx: mpsc::Sender<Batch>,
    latest_year: i16,
) -> Result<Parsed, ImportError> {
    let (file, reader, _) = open(source, progress, false, "export it as CSV UTF-8")?;
    let (rows, rejected, reader) = match kind {
        ImportKind::Rcl => run(
            &file,
            reader,
            &csvfile::RCL,
            Sender::new(tx, Batch::Rcl, &file),
            |f| rcl(f, latest_year),
            |r| (r.plan_year, r.npn.as_u64()),
            |r| format!("NPN {} for plan year {}", r.npn, r.plan_year),
        )?,
        ImportKind::Termination => run(
            &file,
            reader,
            &csvfile::TERMINATION,
            Sender::new(tx, Batch::Events, &file),
            |f| termination(f, latest_year),
            |e| {
                (
                    e.npn.as_u64(),
                    e.plan_year,
                    e.status.to_string(),
                    e.marketplaces,
                    e.effective_on,
                )
            },
            |e| format!("row for NPN {} ({} on {})", e.npn, e.status, e.effective_on),
        )?,
        ImportKind::Mlms => run(
            &file,
            reader,
            &csvfile::MLMS,
            Sender::new(tx, Batch::Mlms, &file),
            |f| mlms(f, latest_year),
            |r| (r.plan_year, r.npn.as_u64()),
            |r| format!("NPN {} for plan year {}", r.npn, r.plan_year),
        )?,
        ImportKind::Loa => {
            let out = run(
                &file,
                reader,
                &csvfile::LOA,
                Sender::new(tx, Batch::Loas, &file),
                loa,
                |r| (r.state, loa_key(&r.loa)),
                |r| format!("LOA {:?} for {}", r.loa, r.state.map_or("*", |s| s.code())),
            )?;
            if out.0 == out.1.len() as u64 {
                return Err(fail(
                    &file,
                    None,
                    "the file has no valid rows; the valid-LOA table was left as it was".into(),
                ));
            }
            out
        }
        ImportKind::Nipr => unreachable!("NIPR files have their own parser"),
    };
    Ok(Parsed {
        rows,
        rejected,
        sha256: reader.get_ref().sha256(),
    })
}

/// Reads every row with `parse`, reports rejections and repeated keys, sends the rest.
fn run<R: BufRead, T, K: Hash + Eq>(
    file: &str,
    reader: R,
    spec: &CsvSpec,
    mut out: Sender<T>,
    parse: impl Fn(&Fields<'_>) -> Result<T, String>,
    key: impl Fn(&T) -> K,
    describe: impl Fn(&T) -> String,
) -> Result<(u64, Vec<Rejected>, R), ImportError> {
    let mut seen = Duplicates::new();
    let mut replaced = Vec::new();
    let (rows, mut rejected, reader) = csvfile::read(file, reader, spec, |line, f| {
        let row = parse(f)?;
        if let Some(earlier) = seen.see(key(&row), line) {
            replaced.push(superseded(earlier, line, &describe(&row)));
        }
        out.push(row).map_err(RowError::Stop)
    })?;
    out.flush()?;
    rejected.extend(replaced);
    Ok((rows, rejected, reader))
}

fn rcl(f: &Fields<'_>, latest: i16) -> Result<RclEntry, String> {
    let valid = f.get(6);
    Ok(RclEntry {
        npn: csvfile::npn(f.get(0))?,
        plan_year: csvfile::plan_year("Applicable Plan Year", f.get(1), latest)?,
        individual_completed_on: csvfile::date(
            "Individual Registration Completion Date",
            f.get(2),
        )?,
        individual_end_on: csvfile::date("Individual Marketplace End Date", f.get(3))?,
        shop_completed_on: csvfile::date("Shop Registration Completion Date", f.get(4))?,
        shop_end_on: csvfile::date("Shop End Date", f.get(5))?,
        npn_valid: NpnValid::parse(valid)
            .ok_or_else(|| format!("NPN Valid {valid:?} must be Y, N or -"))?,
    })
}

fn termination(f: &Fields<'_>, latest: i16) -> Result<StatusEvent, String> {
    let (status, markets) = (f.get(1), f.get(2));
    Ok(StatusEvent {
        npn: csvfile::npn(f.get(0))?,
        status: ListStatus::parse(status)
            .ok_or_else(|| format!("Status {status:?} must be one of T1–T4 or R1–R4"))?,
        marketplaces: Marketplaces::parse(markets)
            .ok_or_else(|| format!("Marketplaces {markets:?} must be INDIVIDUAL, SHOP or BOTH"))?,
        plan_year: csvfile::plan_year("Effective Plan Year", f.get(3), latest)?,
        registration_completed_on: csvfile::date("Registration Completion Date", f.get(4))?,
        effective_on: csvfile::required_date("Termination or Suspension Date", f.get(5))?,
    })
}

fn mlms(f: &Fields<'_>, latest: i16) -> Result<MlmsEntry, String> {
    let required = |column: usize, name: &str| {
        let v = f.get(column);
        if v.is_empty() {
            Err(format!("{name} is empty"))
        } else {
            Ok(v.to_owned())
        }
    };
    // Names reach emails and agents' screens: the same rules as names typed on our pages.
    let name = |column: usize, title: &str| {
        let v = required(column, title)?;
        hod_domain::text::name(&v).map_err(|e| format!("{title} {v:?} {e}"))
    };
    let email = required(3, "Email")?;
    if !hod_domain::account::plausible_email(&email) {
        return Err(format!("Email {email:?} is not an email address"));
    }
    Ok(MlmsEntry {
        npn: csvfile::npn(f.get(0))?,
        first_name: name(1, "First Name")?,
        last_name: name(2, "Last Name")?,
        email,
        plan_year: csvfile::plan_year("Plan Year", f.get(4), latest)?,
        course_completed_on: csvfile::date("HOD Course Completion Date", f.get(5))?,
    })
}

fn loa(f: &Fields<'_>) -> Result<ValidLoaRow, String> {
    let (state, name) = (f.get(0), f.get(1));
    let state = match state {
        "*" => None,
        s => Some(
            UsState::parse(s)
                .map_err(|_| format!("State {s:?} is not a two-letter state code or *"))?,
        ),
    };
    if name.is_empty() {
        return Err("LOA is empty".into());
    }
    if never_health_related(name) {
        return Err(format!(
            "LOA {name:?} never counts as health-related (Life alone, Credit, Travel and limited lines do not)"
        ));
    }
    Ok(ValidLoaRow {
        state,
        loa: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+hod@agency.example.org"] {
            assert!(hod_domain::account::plausible_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@b.co.", "a@.co",
        ] {
            assert!(!hod_domain::account::plausible_email(bad), "{bad}");
        }
    }
}
