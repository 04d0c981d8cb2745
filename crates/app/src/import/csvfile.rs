//! CSV files: headers matched by name (any order, case and spacing ignored, known variants),
//! rows read as UTF-8 with their line numbers, and the field parsers every file shares.
use std::io::BufRead;

use hod_domain::Npn;
use jiff::civil::Date;

use super::source::{CsvLines, LineMap};
use super::{ImportKind, Rejected, fail};
use crate::import::ImportError;

/// The headers a kind of file must have. Each column lists the spellings seen in real files.
#[derive(Debug)]
pub(crate) struct CsvSpec {
    pub kind: ImportKind,
    pub columns: &'static [&'static [&'static str]],
}

pub(crate) const RCL: CsvSpec = CsvSpec {
    kind: ImportKind::Rcl,
    columns: &[
        &["NPN"],
        &["Applicable Plan Year"],
        &["Individual Registration Completion Date"],
        &["Individual Marketplace End Date"],
        &["Shop Registration Completion Date"],
        &["Shop End Date"],
        &["NPN Valid (Current Plan Year Only)", "NPN Valid"],
    ],
};

pub(crate) const TERMINATION: CsvSpec = CsvSpec {
    kind: ImportKind::Termination,
    columns: &[
        &["NPN"],
        &["Status"],
        &["Marketplaces", "Marketplace"],
        &["Effective Plan Year"],
        &["Registration Completion Date"],
        &["Termination or Suspension Date"],
    ],
};

pub(crate) const MLMS: CsvSpec = CsvSpec {
    kind: ImportKind::Mlms,
    columns: &[
        &["NPN"],
        &["First Name"],
        &["Last Name"],
        &["Email", "Email Address"],
        &["Plan Year"],
        &["HOD Course Completion Date"],
    ],
};

pub(crate) const NIPR: CsvSpec = CsvSpec {
    kind: ImportKind::Nipr,
    columns: &[
        &["NPN"],
        &["State"],
        &["License Number"],
        &["License Class"],
        &["Residency"],
        &["Active"],
        &["Expiration Date"],
        &["LOA"],
        &["LOA Code"],
        &["LOA Status"],
        &["LOA Status Date"],
    ],
};

pub(crate) const LOA: CsvSpec = CsvSpec {
    kind: ImportKind::Loa,
    columns: &[&["State"], &["LOA"]],
};

const ALL: [&CsvSpec; 5] = [&RCL, &TERMINATION, &MLMS, &NIPR, &LOA];

fn normalise(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl CsvSpec {
    /// Where each column is in `headers`, or the names of the missing ones.
    fn positions(&self, headers: &[String]) -> Result<Vec<usize>, Vec<&'static str>> {
        let mut found = Vec::with_capacity(self.columns.len());
        let mut missing = Vec::new();
        for names in self.columns {
            match headers
                .iter()
                .position(|h| names.iter().any(|n| normalise(n) == *h))
            {
                Some(i) => found.push(i),
                None => missing.push(names[0]),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(missing)
        }
    }
}

/// One data row, its fields in the order of the spec's columns.
pub(crate) struct Fields<'r> {
    record: &'r csv::StringRecord,
    positions: &'r [usize],
}

impl Fields<'_> {
    pub(crate) fn get(&self, column: usize) -> &str {
        self.record.get(self.positions[column]).unwrap_or("").trim()
    }
}

/// Reads a CSV file of `spec`'s kind, calling `row` for each data row with its line number.
/// A row's `Err` is a rejection; a bad header, a file of another kind or text that is not
/// UTF-8 stops the import.
pub(crate) fn read<R: BufRead>(
    file: &str,
    reader: R,
    spec: &CsvSpec,
    mut row: impl FnMut(u64, &Fields<'_>) -> Result<(), RowError>,
) -> Result<(u64, Vec<Rejected>, R), ImportError> {
    let (lines, map) = CsvLines::new(reader);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(lines);
    let mut record = csv::StringRecord::new();
    let read_record = |rdr: &mut csv::Reader<CsvLines<R>>, record: &mut csv::StringRecord| {
        rdr.read_record(record)
            .map_err(|e| csv_error(file, &e, &map))
    };
    if !read_record(&mut rdr, &mut record)? {
        return Err(fail(
            file,
            None,
            format!(
                "the file is empty; expected {} with the headers {}",
                spec.kind.title(),
                header_list(spec)
            ),
        ));
    }
    let headers: Vec<String> = record.iter().map(normalise).collect();
    let positions = match spec.positions(&headers) {
        Ok(p) => p,
        Err(missing) => return Err(wrong_headers(file, spec, &headers, &missing)),
    };
    let width = record.len();

    let mut rows = 0;
    let mut rejected = Vec::new();
    while read_record(&mut rdr, &mut record)? {
        let line = map.original(record.position().map_or(0, csv::Position::line));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows += 1;
        if record.len() != width {
            rejected.push(Rejected {
                line,
                reason: format!(
                    "the row has {} fields; the header has {width}",
                    record.len()
                ),
            });
            continue;
        }
        let fields = Fields {
            record: &record,
            positions: &positions,
        };
        match row(line, &fields) {
            Ok(()) => {}
            Err(RowError::Reject(reason)) => rejected.push(Rejected { line, reason }),
            Err(RowError::Stop(e)) => return Err(e),
        }
    }
    Ok((rows, rejected, rdr.into_inner().into_inner()))
}

/// Why a row did not land.
#[derive(Debug)]
pub(crate) enum RowError {
    /// The row is reported and skipped.
    Reject(String),
    /// The import ends (the writer went away).
    Stop(ImportError),
}

impl From<String> for RowError {
    fn from(reason: String) -> Self {
        Self::Reject(reason)
    }
}

fn header_list(spec: &CsvSpec) -> String {
    spec.columns
        .iter()
        .map(|c| c[0])
        .collect::<Vec<_>>()
        .join(", ")
}

fn wrong_headers(file: &str, spec: &CsvSpec, headers: &[String], missing: &[&str]) -> ImportError {
    if let Some(other) = ALL
        .iter()
        .find(|o| o.kind != spec.kind && o.positions(headers).is_ok())
    {
        return fail(
            file,
            Some(1),
            format!(
                "this is {}, not {}; import it with `hod import {}`",
                other.kind.title(),
                spec.kind.title(),
                other.kind.as_str()
            ),
        );
    }
    fail(
        file,
        Some(1),
        format!(
            "not {}: missing the column{} {}; expected the headers {}",
            spec.kind.title(),
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            header_list(spec)
        ),
    )
}

fn csv_error(file: &str, e: &csv::Error, map: &LineMap) -> ImportError {
    let line = e.position().map(|p| map.original(p.line()));
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => fail(
            file,
            line,
            "the text is not UTF-8; save the file as CSV UTF-8 and import it again".into(),
        ),
        csv::ErrorKind::Io(io) => fail(file, line, format!("cannot read the file: {io}")),
        _ => fail(file, line, format!("the file is not valid CSV: {e}")),
    }
}

/// A binary file (a spreadsheet, an archive) given where a text file belongs.
pub(crate) fn binary_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive or an Excel workbook (.xlsx)")
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Some("an old Excel workbook (.xls)")
    } else if head.starts_with(b"%PDF") {
        Some("a PDF document")
    } else if head.starts_with(&[0x1F, 0x8B]) {
        Some("a gzip archive")
    } else {
        None
    }
}

pub(crate) fn npn(raw: &str) -> Result<Npn, String> {
    Npn::parse(raw).map_err(|e| match e {
        hod_domain::npn::NpnError::Empty => "NPN is empty".to_owned(),
        other => other.to_string(),
    })
}

/// `mm/dd/yyyy` (also `m/d/yyyy` and ISO `yyyy-mm-dd`); empty or `-` is no date.
pub(crate) fn date(column: &str, raw: &str) -> Result<Option<Date>, String> {
    let s = raw.trim();
    if s.is_empty() || s == "-" {
        return Ok(None);
    }
    let bad = || format!("{column} {s:?} is not a date (expected mm/dd/yyyy)");
    if let Ok(d) = s.parse::<Date>() {
        return Ok(Some(d));
    }
    let parts: Vec<&str> = s.split('/').collect();
    let [m, d, y] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let num = |p: &str| p.parse::<i8>().ok();
    let year: i16 = y.parse().map_err(|_| bad())?;
    let (Some(m), Some(d)) = (num(m), num(d)) else {
        return Err(bad());
    };
    Date::new(year, m, d).map(Some).map_err(|_| bad())
}

pub(crate) fn required_date(column: &str, raw: &str) -> Result<Date, String> {
    date(column, raw)?.ok_or_else(|| format!("{column} is empty"))
}

/// Plan years from the Marketplace's first (2014) to the one after `latest`.
pub(crate) fn plan_year(column: &str, raw: &str, latest: i16) -> Result<i16, String> {
    let s = raw.trim();
    let year: i16 = s
        .parse()
        .map_err(|_| format!("{column} {s:?} is not a year"))?;
    if !(2014..=latest + 1).contains(&year) {
        return Err(format!(
            "{column} {year} is not a plan year of the Marketplace (2014 to {})",
            latest + 1
        ));
    }
    Ok(year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date as d;

    #[test]
    fn dates_in_the_files_formats() {
        assert_eq!(date("X", "03/07/2026"), Ok(Some(d(2026, 3, 7))));
        assert_eq!(date("X", "3/7/2026"), Ok(Some(d(2026, 3, 7))));
        assert_eq!(date("X", "2026-03-07"), Ok(Some(d(2026, 3, 7))));
        assert_eq!(date("X", " - "), Ok(None));
        assert_eq!(date("X", ""), Ok(None));
        assert_eq!(
            date("End Date", "13/45/2026"),
            Err("End Date \"13/45/2026\" is not a date (expected mm/dd/yyyy)".into())
        );
        assert!(date("X", "03/07/26").is_err());
        assert!(date("X", "soon").is_err());
    }

    #[test]
    fn plan_years_are_bounded() {
        assert_eq!(plan_year("PY", "2016", 2027), Ok(2016));
        assert_eq!(plan_year("PY", "2028", 2027), Ok(2028));
        assert!(plan_year("PY", "2029", 2027).is_err());
        assert!(plan_year("PY", "2013", 2027).is_err());
        assert!(plan_year("PY", "20X6", 2027).is_err());
    }
}
