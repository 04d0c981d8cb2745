//! The importers (RCL, termination, MLMS, LOA, NIPR CSV and XML) fed the fixtures mutated
//! (bytes flipped, inserted, deleted, lines repeated or cut, fields replaced with hostile
//! text) and arbitrary bytes. None may panic; a file refused whole says which file and, where
//! it can, which line; every row refused names a line of the file and a reason.
//!
//! CI runs the default number of cases; a long run (docs/security.md):
//! `PROPTEST_CASES=1000000 cargo test -p hod-app --lib import::fuzz`.
use std::io::Cursor;
use std::sync::Arc;

use proptest::prelude::*;
use tokio::sync::mpsc;

use super::{Batch, ImportError, ImportKind, Parsed, nipr, rows, source::Source};

/// The files the importers are seeded with.
const SEEDS: [(ImportKind, &str); 10] = [
    (
        ImportKind::Rcl,
        include_str!("../../../server/tests/fixtures/rcl.csv"),
    ),
    (
        ImportKind::Rcl,
        include_str!("../../../../data/demo/rcl.csv"),
    ),
    (
        ImportKind::Termination,
        include_str!("../../../server/tests/fixtures/termination.csv"),
    ),
    (
        ImportKind::Termination,
        include_str!("../../../../data/demo/termination.csv"),
    ),
    (
        ImportKind::Mlms,
        include_str!("../../../server/tests/fixtures/mlms.csv"),
    ),
    (
        ImportKind::Mlms,
        include_str!("../../../../data/demo/mlms.csv"),
    ),
    (
        ImportKind::Loa,
        include_str!("../../../server/tests/fixtures/loa.csv"),
    ),
    (
        ImportKind::Nipr,
        include_str!("../../../server/tests/fixtures/nipr.csv"),
    ),
    (
        ImportKind::Nipr,
        include_str!("../../../server/tests/fixtures/nipr.xml"),
    ),
    (
        ImportKind::Nipr,
        include_str!("../../../../data/demo/nipr.xml"),
    ),
];

const FILE: &str = "fuzzed-file";

/// A seed with the demo files' plan-year placeholders filled in.
fn seed(i: usize) -> (ImportKind, Vec<u8>) {
    let (kind, text) = SEEDS[i];
    (kind, crate::demo::fill_years(text, 2027).into_bytes())
}

fn rows_in(batch: &Batch) -> usize {
    match batch {
        Batch::Rcl(r) => r.len(),
        Batch::Mlms(r) => r.len(),
        Batch::Events(r) => r.len(),
        Batch::Loas(r) => r.len(),
        Batch::Licences(r) => r.len(),
    }
}

/// Runs the importer's parser over `bytes`; what it reported, and how many rows it sent on.
fn parse(kind: ImportKind, bytes: Vec<u8>) -> (Result<Parsed, ImportError>, usize) {
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let drain = std::thread::spawn(move || {
        let mut sent = 0;
        while let Some(batch) = rx.blocking_recv() {
            sent += rows_in(&batch);
        }
        sent
    });
    let source = Source {
        name: FILE.into(),
        reader: Box::new(Cursor::new(bytes)),
    };
    let progress = Arc::default();
    let parsed = match kind {
        ImportKind::Nipr => nipr::parse(source, progress, tx),
        _ => rows::parse(kind, source, progress, tx, 2027),
    };
    (parsed, drain.join().expect("the drain does not panic"))
}

/// What is said of a file is about that file and its lines.
fn check(kind: ImportKind, bytes: &[u8]) -> Result<(), TestCaseError> {
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let (parsed, sent) = parse(kind, bytes.to_vec());
    match parsed {
        Ok(p) => {
            prop_assert!(sent as u64 <= p.rows, "{sent} sent of {} rows", p.rows);
            for r in &p.rejected {
                prop_assert!(
                    (1..=lines).contains(&r.line),
                    "line {} of {lines}: {r:?}",
                    r.line
                );
                prop_assert!(!r.reason.trim().is_empty(), "{r:?}");
            }
        }
        Err(e) => {
            prop_assert_eq!(e.file.as_str(), FILE);
            prop_assert!(!e.message.trim().is_empty(), "{e:?}");
            if let Some(line) = e.line {
                prop_assert!((1..=lines).contains(&line), "line {line} of {lines}: {e:?}");
            }
        }
    }
    Ok(())
}

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    RepeatLine(usize),
    Truncate(usize),
    ReplaceField(usize, String),
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\",\\r\\n\\u{0}\\u{feff}\\u{202e}<>&;'/ a-zA-Z0-9-]{0,24}",
        "[0-9]{0,30}",
        Just("\"unterminated".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("&#x0;&bogus;".to_owned()),
        Just("99/99/9999".to_owned()),
        Just("-1".to_owned()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 1..40usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::RepeatLine),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), hostile_text()).prop_map(|(at, t)| Mutation::ReplaceField(at, t)),
    ]
}

fn apply(mut file: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let len = file.len().max(1);
    match m {
        Mutation::Flip(at, b) => {
            if let Some(x) = file.get_mut(at % len) {
                *x ^= b | 1;
            }
        }
        Mutation::Insert(at, bytes) => {
            let at = at % (file.len() + 1);
            file.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let at = at % len;
            let end = (at + n).min(file.len());
            if at < end {
                file.drain(at..end);
            }
        }
        Mutation::RepeatLine(at) => {
            let lines: Vec<&[u8]> = file.split_inclusive(|b| *b == b'\n').collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                let mut out = Vec::with_capacity(file.len() * 2);
                for (j, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    if j == i {
                        out.extend_from_slice(l);
                    }
                }
                file = out;
            }
        }
        Mutation::Truncate(at) => file.truncate(at % len),
        Mutation::ReplaceField(at, text) => {
            // The field (between commas, or between tags) around a position.
            let at = at % len;
            let is_edge = |b: &u8| matches!(b, b',' | b'\n' | b'<' | b'>');
            let start = file[..at.min(file.len())]
                .iter()
                .rposition(is_edge)
                .map_or(0, |p| p + 1);
            let end = file[start..]
                .iter()
                .position(is_edge)
                .map_or(file.len(), |p| start + p);
            file.splice(start..end, text.bytes());
        }
    }
    file
}

proptest! {
    #[test]
    fn importers_take_mutated_files_without_panicking(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let (kind, text) = self::seed(seed);
        let file = mutations.iter().fold(text, apply);
        check(kind, &file)?;
    }

    #[test]
    fn importers_take_arbitrary_bytes_without_panicking(
        kind in prop::sample::select(ImportKind::ALL.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        check(kind, &bytes)?;
    }
}

#[test]
fn the_seeds_import_cleanly() {
    for i in 0..SEEDS.len() {
        let (kind, text) = seed(i);
        let (parsed, sent) = parse(kind, text);
        let parsed = parsed.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(sent > 0, "{kind:?}: {parsed:?}");
    }
}

/// Found by the harness: a PRODUCER inside another one made the parser panic at the outer
/// closing tag.
#[test]
fn a_producer_inside_another_is_reported_not_a_panic() {
    let xml = "<PDB>\n<PRODUCER>\n<PRODUCER><ENTITY_BIOGRAPHIC><BIOGRAPHIC><NPN>2000001</NPN></BIOGRAPHIC></ENTITY_BIOGRAPHIC></PRODUCER>\n</PRODUCER>\n</PDB>\n";
    let (parsed, _) = parse(ImportKind::Nipr, xml.as_bytes().to_vec());
    let parsed = parsed.unwrap();
    assert!(
        parsed
            .rejected
            .iter()
            .any(|r| r.line == 2 && r.reason.contains("not closed before the next one starts")),
        "{parsed:?}"
    );
}
