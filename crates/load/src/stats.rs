//! Latencies per kind of request, merged from every client at the end.
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What one client saw of one kind of request.
#[derive(Debug, Default)]
pub struct Samples {
    /// Microseconds of each answered request, errors included.
    pub micros: Vec<u32>,
    pub errors: u64,
    /// The first few errors, to say what went wrong.
    pub examples: Vec<String>,
}

impl Samples {
    pub fn record(&mut self, took: Duration) {
        self.micros
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn error(&mut self, what: String) {
        self.errors += 1;
        if self.examples.len() < 3 {
            self.examples.push(what);
        }
    }

    /// Records a request that took `took`, an error unless it was answered with one of
    /// `expected`.
    pub fn answered(
        &mut self,
        took: Duration,
        answer: &anyhow::Result<crate::http::Answer>,
        expected: &[hyper::StatusCode],
    ) {
        self.record(took);
        match answer {
            Ok(a) if expected.contains(&a.status) => {}
            Ok(a) => self.error(format!(
                "{}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            )),
            Err(e) => self.error(format!("{e:#}")),
        }
    }
}

/// Every client's samples, by kind of request.
#[derive(Debug, Default)]
pub struct Tally(pub BTreeMap<&'static str, Samples>);

impl Tally {
    pub fn kind(&mut self, name: &'static str) -> &mut Samples {
        self.0.entry(name).or_default()
    }

    pub fn merge(&mut self, other: Tally) {
        for (name, s) in other.0 {
            let mine = self.kind(name);
            mine.micros.extend(s.micros);
            mine.errors += s.errors;
            for e in s.examples {
                if mine.examples.len() < 3 {
                    mine.examples.push(e);
                }
            }
        }
    }

    pub fn summaries(mut self, elapsed: Duration) -> Vec<Summary> {
        self.0
            .iter_mut()
            .map(|(name, s)| {
                s.micros.sort_unstable();
                let at = |q: f64| {
                    let n = s.micros.len();
                    if n == 0 {
                        return 0.0;
                    }
                    let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
                    f64::from(s.micros[i]) / 1000.0
                };
                Summary {
                    kind: name,
                    requests: s.micros.len() as u64,
                    per_second: s.micros.len() as f64 / elapsed.as_secs_f64(),
                    p50_ms: at(0.50),
                    p90_ms: at(0.90),
                    p99_ms: at(0.99),
                    max_ms: at(1.0),
                    errors: s.errors,
                    error_examples: std::mem::take(&mut s.examples),
                }
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub kind: &'static str,
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub error_examples: Vec<String>,
}
