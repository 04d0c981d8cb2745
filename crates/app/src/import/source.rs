//! Reading an import file: bytes counted for progress, hashed for the import record, and
//! newline positions kept so an XML parser can name lines.
use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// A file being imported.
pub struct Source {
    /// How the file is named in reports and errors.
    pub name: String,
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Source {
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        Ok(Self {
            name: path.display().to_string(),
            reader: Box::new(file),
        })
    }
}

/// Wraps the file's reader: counts and hashes what passes, and optionally records where
/// lines end.
pub(crate) struct Tap<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    progress: Arc<AtomicU64>,
    newlines: Option<std::rc::Rc<std::cell::RefCell<VecDeque<u64>>>>,
}

impl<R: Read> Tap<R> {
    pub(crate) fn new(inner: R, progress: Arc<AtomicU64>) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
            progress,
            newlines: None,
        }
    }

    /// Keeps the offsets of newlines for a [`LineTracker`].
    pub(crate) fn track_lines(&mut self) -> LineTracker {
        let q = std::rc::Rc::new(std::cell::RefCell::new(VecDeque::new()));
        self.newlines = Some(q.clone());
        LineTracker {
            newlines: q,
            line: 1,
        }
    }

    pub(crate) fn stop_tracking_lines(&mut self) {
        self.newlines = None;
    }

    pub(crate) fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(q) = &self.newlines {
            let mut q = q.borrow_mut();
            for (i, b) in buf[..n].iter().enumerate() {
                if *b == b'\n' {
                    q.push_back(self.read + i as u64);
                }
            }
        }
        self.read += n as u64;
        self.progress.store(self.read, Ordering::Relaxed);
        Ok(n)
    }
}

/// Turns increasing byte offsets into line numbers.
pub(crate) struct LineTracker {
    newlines: std::rc::Rc<std::cell::RefCell<VecDeque<u64>>>,
    line: u64,
}

impl LineTracker {
    /// The line holding byte `offset`. Offsets must not go backwards between calls.
    pub(crate) fn line_at(&mut self, offset: u64) -> u64 {
        let mut q = self.newlines.borrow_mut();
        while q.front().is_some_and(|nl| *nl < offset) {
            q.pop_front();
            self.line += 1;
        }
        self.line
    }
}

/// Feeds the CSV reader lines it can count: CRLF becomes LF and blank lines (outside quoted
/// fields) are dropped, remembering where, so that a line number the CSV reader gives can
/// be turned back into the line of the file. (The CSV reader miscounts lines after CRLF
/// and after blank lines.)
pub(crate) struct CsvLines<R> {
    inner: R,
    in_quotes: bool,
    at_line_start: bool,
    pending_cr: bool,
    eof: bool,
    /// Output line being written (1-based).
    line: u64,
    skipped: u64,
    map: std::rc::Rc<std::cell::RefCell<Vec<(u64, u64)>>>,
}

/// Turns the CSV reader's line numbers into the file's.
#[derive(Clone)]
pub(crate) struct LineMap(std::rc::Rc<std::cell::RefCell<Vec<(u64, u64)>>>);

impl LineMap {
    pub(crate) fn original(&self, line: u64) -> u64 {
        let map = self.0.borrow();
        let i = map.partition_point(|(from, _)| *from <= line);
        line + if i == 0 { 0 } else { map[i - 1].1 }
    }
}

impl<R: std::io::BufRead> CsvLines<R> {
    pub(crate) fn new(inner: R) -> (Self, LineMap) {
        let map = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        (
            Self {
                inner,
                in_quotes: false,
                at_line_start: true,
                pending_cr: false,
                eof: false,
                line: 1,
                skipped: 0,
                map: map.clone(),
            },
            LineMap(map),
        )
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn newline(&mut self, out: &mut [u8], n: &mut usize) {
        if self.at_line_start && !self.in_quotes {
            self.skipped += 1;
            let mut map = self.map.borrow_mut();
            match map.last_mut() {
                Some(last) if last.0 == self.line => last.1 = self.skipped,
                _ => map.push((self.line, self.skipped)),
            }
        } else {
            out[*n] = b'\n';
            *n += 1;
            self.line += 1;
            self.at_line_start = true;
        }
    }
}

impl<R: std::io::BufRead> Read for CsvLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.len() < 2 {
            return Err(std::io::Error::other(
                "CSV line reader needs a buffer of 2 bytes or more",
            ));
        }
        let mut n = 0;
        while n == 0 && !self.eof {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.eof = true;
                if self.pending_cr {
                    self.pending_cr = false;
                    out[0] = b'\r';
                    n = 1;
                }
                break;
            }
            let buf = buf.to_vec();
            let mut used = 0;
            for &b in &buf {
                if n + 2 > out.len() {
                    break;
                }
                used += 1;
                if std::mem::take(&mut self.pending_cr) && b != b'\n' {
                    // A lone CR is data.
                    out[n] = b'\r';
                    n += 1;
                    self.at_line_start = false;
                }
                match b {
                    b'\r' => self.pending_cr = true,
                    b'\n' => self.newline(out, &mut n),
                    _ => {
                        if b == b'"' {
                            self.in_quotes = !self.in_quotes;
                        }
                        out[n] = b;
                        n += 1;
                        self.at_line_start = false;
                    }
                }
            }
            self.inner.consume(used);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::CsvLines;

    fn run(input: &[u8], chunk: usize) -> (String, super::LineMap) {
        let (mut lines, map) = CsvLines::new(std::io::BufReader::with_capacity(chunk, input));
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk.max(2)];
        loop {
            let n = lines.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (String::from_utf8(out).unwrap(), map)
    }

    #[test]
    fn crlf_and_blank_lines_are_normalised_and_mapped_back() {
        let input = b"h1,h2\r\n\r\n1,\"a\r\n\r\nb\"\r\n\n\n2,x\r3\n";
        for chunk in [1, 2, 3, 7, 64] {
            let (text, map) = run(input, chunk);
            assert_eq!(text, "h1,h2\n1,\"a\n\nb\"\n2,x\r3\n", "chunk {chunk}");
            // Output lines 1 (header), 2 (record with a quoted field over 3 lines), 5 (2,x).
            assert_eq!(map.original(1), 1);
            assert_eq!(map.original(2), 3);
            assert_eq!(map.original(5), 8);
        }
    }
}
