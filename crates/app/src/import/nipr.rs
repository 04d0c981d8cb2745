//! NIPR licence data: the PDB XML report, or our flat CSV with one row per (NPN, state, LOA).
//! Either way the parser sends each NPN's licences together; the writer replaces what was
//! known of that NPN the first time the import meets it.
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use hod_domain::licence::loa_key;
use hod_domain::{License, LineOfAuthority, Npn, UsState};
use quick_xml::events::Event;
use tokio::sync::mpsc;

use super::csvfile::{self, Fields, RowError};
use super::rows::{FileReader, open};
use super::source::{LineTracker, Source};
use super::{Batch, Duplicates, ImportError, Parsed, Rejected, Sender, fail, superseded};

type Group = (Npn, Vec<License>);

pub(crate) fn parse(
    source: Source,
    progress: Arc<AtomicU64>,
    tx: mpsc::Sender<Batch>,
) -> Result<Parsed, ImportError> {
    let (file, mut reader, lines) = open(
        source,
        progress,
        true,
        "give the NIPR PDB XML report or the flat CSV (UTF-8)",
    )?;
    let head = reader
        .fill_buf()
        .map_err(|e| fail(&file, None, format!("cannot read the file: {e}")))?;
    let starts_with_tag = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        == Some(&b'<');
    let out = Sender::new(tx, Batch::Licences, &file);
    if starts_with_tag {
        xml(&file, reader, lines.expect("tracked"), out)
    } else {
        reader.get_mut().stop_tracking_lines();
        flat_csv(&file, reader, out)
    }
}

/// Adds one line of authority to the NPN's licences, merging rows of the same licence.
fn merge(list: &mut Vec<License>, mut licence: License) {
    match list
        .iter_mut()
        .find(|l| l.state == licence.state && l.license_number == licence.license_number)
    {
        Some(existing) => {
            for loa in licence.loas.drain(..) {
                existing
                    .loas
                    .retain(|a| loa_key(&a.loa) != loa_key(&loa.loa));
                existing.loas.push(loa);
            }
            existing.license_class = licence.license_class;
            existing.resident = licence.resident;
            existing.active = licence.active;
            existing.expires_on = licence.expires_on;
        }
        None => list.push(licence),
    }
}

fn licence_key(npn: &Npn, l: &License, loa: &LineOfAuthority) -> (u64, UsState, String, String) {
    (
        npn.as_u64(),
        l.state,
        l.license_number.clone(),
        loa_key(&loa.loa),
    )
}

fn describe(npn: &Npn, l: &License, loa: &LineOfAuthority) -> String {
    format!(
        "LOA {:?} of licence {} in {} for NPN {npn}",
        loa.loa, l.license_number, l.state
    )
}

fn flat_csv(file: &str, reader: FileReader, mut out: Sender<Group>) -> Result<Parsed, ImportError> {
    let mut current: Option<Group> = None;
    let mut seen = Duplicates::new();
    let mut replaced = Vec::new();
    let (rows, mut rejected, reader) = csvfile::read(file, reader, &csvfile::NIPR, |line, f| {
        let (npn, licence) = csv_row(f)?;
        let loa = &licence.loas[0];
        if let Some(earlier) = seen.see(licence_key(&npn, &licence, loa), line) {
            replaced.push(superseded(earlier, line, &describe(&npn, &licence, loa)));
        }
        match &mut current {
            Some((n, list)) if *n == npn => merge(list, licence),
            _ => {
                if let Some(done) = current.replace((npn, vec![licence])) {
                    out.push(done).map_err(RowError::Stop)?;
                }
            }
        }
        Ok(())
    })?;
    if let Some(done) = current {
        out.push(done)?;
    }
    out.flush()?;
    rejected.extend(replaced);
    Ok(Parsed {
        rows,
        rejected,
        sha256: reader.get_ref().sha256(),
    })
}

fn yes_no(column: &str, raw: &str, yes: &[&str], no: &[&str]) -> Result<bool, String> {
    let v = raw.trim().to_lowercase();
    if yes.contains(&v.as_str()) {
        Ok(true)
    } else if no.contains(&v.as_str()) {
        Ok(false)
    } else {
        Err(format!("{column} {raw:?} must be {} or {}", yes[0], no[0]))
    }
}

fn active(column: &str, raw: &str) -> Result<bool, String> {
    yes_no(
        column,
        raw,
        &["yes", "y", "active", "true"],
        &["no", "n", "inactive", "false"],
    )
}

fn resident(column: &str, raw: &str) -> Result<bool, String> {
    yes_no(
        column,
        raw,
        &["resident", "r", "res"],
        &[
            "non-resident",
            "nonresident",
            "non resident",
            "nr",
            "non-res",
        ],
    )
}

fn state(column: &str, raw: &str) -> Result<UsState, String> {
    UsState::parse(raw.trim())
        .map_err(|_| format!("{column} {raw:?} is not a two-letter state code"))
}

fn required(column: &str, raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        Err(format!("{column} is empty"))
    } else {
        Ok(v.to_owned())
    }
}

fn csv_row(f: &Fields<'_>) -> Result<(Npn, License), String> {
    let npn = csvfile::npn(f.get(0))?;
    let licence = License {
        state: state("State", f.get(1))?,
        license_number: required("License Number", f.get(2))?,
        license_class: f.get(3).to_owned(),
        resident: resident("Residency", f.get(4))?,
        active: active("Active", f.get(5))?,
        expires_on: csvfile::date("Expiration Date", f.get(6))?,
        loas: vec![LineOfAuthority {
            loa: required("LOA", f.get(7))?,
            loa_code: f.get(8).to_owned(),
            active: active("LOA Status", f.get(9))?,
            status_date: csvfile::date("LOA Status Date", f.get(10))?,
        }],
    };
    Ok((npn, licence))
}

/// A `LICENSE` element being read.
#[derive(Default)]
struct LicenceXml {
    line: u64,
    state: Option<String>,
    number: String,
    class: String,
    residency: String,
    active: String,
    expires: String,
    loas: Vec<LoaXml>,
}

#[derive(Default)]
struct LoaXml {
    loa: String,
    code: String,
    status: String,
    date: String,
}

impl LicenceXml {
    fn build(self) -> Result<License, String> {
        let state_name = self
            .state
            .ok_or("the LICENSE is not inside a STATE with a name attribute")?;
        let mut loas = Vec::with_capacity(self.loas.len());
        for a in self.loas {
            loas.push(LineOfAuthority {
                loa: required("LOA", &a.loa)?,
                loa_code: a.code,
                active: active("STATUS", &a.status)?,
                status_date: csvfile::date("STATUS_REASON_DATE", &a.date)?,
            });
        }
        Ok(License {
            state: state("STATE name", &state_name)?,
            license_number: required("LICENSE_NUM", &self.number)?,
            license_class: self.class,
            resident: resident("RESIDENCY_STATUS", &self.residency)?,
            active: active("ACTIVE", &self.active)?,
            expires_on: csvfile::date("DATE_EXPIRE_LICENSE", &self.expires)?,
            loas,
        })
    }
}

/// A `PRODUCER` element being read.
#[derive(Default)]
struct ProducerXml {
    line: u64,
    npn: Option<String>,
    licences: Vec<(u64, Result<License, String>)>,
}

fn xml(
    file: &str,
    reader: FileReader,
    mut lines: LineTracker,
    mut out: Sender<Group>,
) -> Result<Parsed, ImportError> {
    let mut reader = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut state: Option<String> = None;
    let mut producer: Option<ProducerXml> = None;
    let mut licence: Option<LicenceXml> = None;
    let mut loa: Option<LoaXml> = None;
    let mut rows = 0;
    let mut rejected = Vec::new();
    let mut seen = Duplicates::new();

    loop {
        let at = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            let line = lines.line_at(reader.error_position());
            fail(file, Some(line), format!("the XML is not well formed: {e}"))
        })?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_uppercase();
                let line = lines.line_at(at);
                if path.is_empty() && name != "PDB" {
                    return Err(fail(
                        file,
                        Some(line),
                        format!(
                            "the XML root element is <{name}>; a NIPR PDB report starts with <PDB>"
                        ),
                    ));
                }
                text.clear();
                match name.as_str() {
                    "PRODUCER" => {
                        if let Some(open) = producer.replace(ProducerXml {
                            line,
                            ..ProducerXml::default()
                        }) {
                            rejected.push(Rejected {
                                line: open.line,
                                reason: format!(
                                    "this PRODUCER is not closed before the next one starts (line {line}); it was left out"
                                ),
                            });
                        }
                    }
                    "STATE" => {
                        state = e.attributes().flatten().find_map(|a| {
                            a.key
                                .as_ref()
                                .eq_ignore_ascii_case(b"name")
                                .then(|| String::from_utf8_lossy(&a.value).trim().to_owned())
                        });
                    }
                    "LICENSE" => {
                        licence = Some(LicenceXml {
                            line,
                            state: state.clone(),
                            ..LicenceXml::default()
                        });
                    }
                    "DETAIL" => loa = Some(LoaXml::default()),
                    _ => {}
                }
                path.push(name);
            }
            Event::Text(t) => text.push_str(
                &t.decode()
                    .map_err(|e| fail(file, Some(lines.line_at(at)), e.to_string()))?,
            ),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| fail(file, Some(lines.line_at(at)), e.to_string()))?;
                let entity = format!("&{name};");
                let resolved = quick_xml::escape::unescape(&entity).map_err(|e| {
                    fail(
                        file,
                        Some(lines.line_at(at)),
                        format!("the XML has an unknown entity: {e}"),
                    )
                })?;
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let Some(name) = path.pop() else { continue };
                let value = std::mem::take(&mut text).trim().to_owned();
                match (name.as_str(), loa.as_mut(), licence.as_mut()) {
                    ("LOA", Some(a), _) => a.loa = value,
                    ("LOA_CODE", Some(a), _) => a.code = value,
                    ("STATUS", Some(a), _) => a.status = value,
                    ("STATUS_REASON_DATE", Some(a), _) => a.date = value,
                    ("DETAIL", Some(_), Some(l)) => l.loas.push(loa.take().expect("matched")),
                    ("LICENSE_NUM", _, Some(l)) => l.number = value,
                    ("LICENSE_CLASS", _, Some(l)) => l.class = value,
                    ("RESIDENCY_STATUS", _, Some(l)) => l.residency = value,
                    ("ACTIVE", _, Some(l)) => l.active = value,
                    ("DATE_EXPIRE_LICENSE", _, Some(l)) => l.expires = value,
                    ("LICENSE", _, Some(_)) => {
                        let l = licence.take().expect("matched");
                        rows += 1;
                        if let Some(p) = producer.as_mut() {
                            p.licences.push((l.line, l.build()));
                        } else {
                            rejected.push(Rejected {
                                line: l.line,
                                reason: "the LICENSE is not inside a PRODUCER".into(),
                            });
                        }
                    }
                    ("STATE", _, _) => state = None,
                    ("NPN", _, _) => {
                        if let Some(p) = producer.as_mut() {
                            p.npn = Some(value);
                        }
                    }
                    // A closing tag whose PRODUCER another one replaced has nothing left.
                    ("PRODUCER", _, _) => {
                        if let Some(p) = producer.take()
                            && let Some(group) = finish_producer(p, &mut rejected, &mut seen)
                        {
                            out.push(group)?;
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !path.is_empty() {
        return Err(fail(
            file,
            None,
            format!("the XML ends inside <{}>", path.join("><")),
        ));
    }
    out.flush()?;
    Ok(Parsed {
        rows,
        rejected,
        sha256: reader.get_ref().get_ref().sha256(),
    })
}

/// Checks a producer's NPN and licences; returns what lands.
fn finish_producer(
    p: ProducerXml,
    rejected: &mut Vec<Rejected>,
    seen: &mut Duplicates<(u64, UsState, String, String)>,
) -> Option<Group> {
    let npn = match p.npn.as_deref().map(csvfile::npn) {
        Some(Ok(n)) => n,
        problem => {
            let why = match problem {
                Some(Err(e)) => e,
                _ => "no NPN element".into(),
            };
            rejected.extend(p.licences.iter().map(|(line, _)| Rejected {
                line: *line,
                reason: format!("the PRODUCER at line {} has {why}", p.line),
            }));
            return None;
        }
    };
    let had_licences = !p.licences.is_empty();
    let mut list = Vec::new();
    for (line, result) in p.licences {
        match result {
            Ok(l) => {
                for loa in &l.loas {
                    if let Some(earlier) = seen.see(licence_key(&npn, &l, loa), line) {
                        rejected.push(superseded(earlier, line, &describe(&npn, &l, loa)));
                    }
                }
                merge(&mut list, l);
            }
            Err(reason) => rejected.push(Rejected { line, reason }),
        }
    }
    // A producer whose every licence was rejected keeps what was known before.
    (!list.is_empty() || !had_licences).then_some((npn, list))
}
