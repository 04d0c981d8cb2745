//! The dashboards and the coverage map (SPEC.md §8): how many asked and were served over a
//! period, how fast agents accept, where consumers wait with nobody to help, and how offers
//! are shared among agents.
use std::collections::BTreeMap;

use hod_db::console;
pub use hod_db::console::AgentOffers;
use jiff::{SignedDuration, Timestamp};

use crate::{App, Result};

/// Referrals made in one hour or day of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start: Timestamp,
    pub received: u32,
    /// Of those, accepted by an agent (by now).
    pub served: u32,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub from: Timestamp,
    pub until: Timestamp,
    /// Hours when the period is two days or less, else days (program time zone).
    pub hourly: bool,
    pub buckets: Vec<Bucket>,
    pub received: u32,
    pub served: u32,
    pub unserved: u32,
    /// Time from request to acceptance, of the served.
    pub accept_p50: Option<SignedDuration>,
    pub accept_p90: Option<SignedDuration>,
    /// Unserved requests by (state, language), most first.
    pub unserved_by: Vec<(String, String, u32)>,
    pub per_agent: Vec<AgentOffers>,
    /// Jain's index of the offers per agent offered at least once (1 = perfectly even).
    pub fairness: Option<f64>,
}

/// One place (a state, a state and language, or a ZIP3 area) on the coverage map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    pub requests: u32,
    pub served: u32,
    pub median_accept: Option<SignedDuration>,
    /// Agents who could take a referral there now.
    pub available: usize,
}

impl Place {
    /// Share served, 0..=1 (`None` without requests).
    pub fn served_share(&self) -> Option<f64> {
        (self.requests > 0).then(|| f64::from(self.served) / f64::from(self.requests))
    }
}

#[derive(Debug, Clone)]
pub struct Coverage {
    pub by_state: BTreeMap<String, Place>,
    pub by_state_language: BTreeMap<(String, String), Place>,
    /// Within one state, by the first three digits of the consumer's ZIP code.
    pub by_zip3: BTreeMap<String, Place>,
}

/// The value at quantile `q` (0..=1) of sorted `values`, by the nearest rank.
pub fn quantile(sorted: &[SignedDuration], q: f64) -> Option<SignedDuration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Jain's fairness index of `xs`: (Σx)² / (n·Σx²).
pub fn jain(xs: &[f64]) -> Option<f64> {
    let sum: f64 = xs.iter().sum();
    let squares: f64 = xs.iter().map(|x| x * x).sum();
    (!xs.is_empty() && squares > 0.0).then(|| sum * sum / (xs.len() as f64 * squares))
}

fn wait(f: &console::ReferralFact) -> Option<SignedDuration> {
    f.accepted_at
        .map(|a| SignedDuration::from_millis(a - f.created_at))
}

fn add(place: &mut Place, waits: &mut Vec<SignedDuration>, f: &console::ReferralFact) {
    place.requests += 1;
    if let Some(w) = wait(f) {
        place.served += 1;
        waits.push(w);
    }
}

impl App {
    pub async fn dashboard(&self, from: Timestamp, until: Timestamp) -> Result<Dashboard> {
        let facts = console::referral_facts(&self.db, from, until).await?;
        let zone = self.settings.program_time_zone.clone();
        let hourly = until.duration_since(from) <= SignedDuration::from_hours(48);
        let bucket_of = |ms: i64| -> Timestamp {
            let at = Timestamp::from_millisecond(ms)
                .unwrap_or(from)
                .to_zoned(zone.clone());
            let start = if hourly {
                at.date().at(at.hour(), 0, 0, 0)
            } else {
                at.date().at(0, 0, 0, 0)
            };
            start.to_zoned(zone.clone()).map_or(from, |z| z.timestamp())
        };
        // Every hour or day of the period, also the empty ones.
        let mut buckets: BTreeMap<Timestamp, Bucket> = BTreeMap::new();
        let mut t = bucket_of(from.as_millisecond());
        while t < until {
            buckets.insert(
                t,
                Bucket {
                    start: t,
                    received: 0,
                    served: 0,
                },
            );
            let next = t.to_zoned(zone.clone());
            let next = if hourly {
                next.checked_add(SignedDuration::from_hours(1))
            } else {
                next.tomorrow()
            };
            match next {
                Ok(n) if n.timestamp() > t => t = n.timestamp(),
                _ => break,
            }
        }
        let mut waits = Vec::new();
        let mut unserved_by: BTreeMap<(String, String), u32> = BTreeMap::new();
        let mut unserved = 0;
        for f in &facts {
            let b = buckets.entry(bucket_of(f.created_at)).or_insert(Bucket {
                start: bucket_of(f.created_at),
                received: 0,
                served: 0,
            });
            b.received += 1;
            if let Some(w) = wait(f) {
                b.served += 1;
                waits.push(w);
            }
            if f.status == "unserved" {
                unserved += 1;
                *unserved_by
                    .entry((f.state.clone(), f.language.clone()))
                    .or_default() += 1;
            }
        }
        waits.sort();
        let mut unserved_by: Vec<(String, String, u32)> = unserved_by
            .into_iter()
            .map(|((s, l), n)| (s, l, n))
            .collect();
        unserved_by.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.cmp(&b.1))
        });
        let per_agent = console::offers_per_agent(&self.db, from, until).await?;
        let offers: Vec<f64> = per_agent.iter().map(|a| a.offered as f64).collect();
        Ok(Dashboard {
            from,
            until,
            hourly,
            received: u32::try_from(facts.len()).unwrap_or(u32::MAX),
            served: u32::try_from(waits.len()).unwrap_or(u32::MAX),
            unserved,
            accept_p50: quantile(&waits, 0.5),
            accept_p90: quantile(&waits, 0.9),
            buckets: buckets.into_values().collect(),
            unserved_by,
            fairness: jain(&offers),
            per_agent,
        })
    }

    /// Requests, served share, median time to accept and agents available now, by state, by
    /// state and language, and by ZIP3 area within `state`.
    pub async fn coverage(
        &self,
        from: Timestamp,
        until: Timestamp,
        state: Option<&str>,
    ) -> Result<Coverage> {
        let facts = console::referral_facts(&self.db, from, until).await?;
        let mut by_state: BTreeMap<String, (Place, Vec<SignedDuration>)> = BTreeMap::new();
        let mut by_pair: BTreeMap<(String, String), (Place, Vec<SignedDuration>)> = BTreeMap::new();
        let mut by_zip3: BTreeMap<String, (Place, Vec<SignedDuration>)> = BTreeMap::new();
        for f in &facts {
            let (p, w) = by_state.entry(f.state.clone()).or_default();
            add(p, w, f);
            let (p, w) = by_pair
                .entry((f.state.clone(), f.language.clone()))
                .or_default();
            add(p, w, f);
            if state == Some(f.state.as_str()) {
                let (p, w) = by_zip3.entry(f.zip.chars().take(3).collect()).or_default();
                add(p, w, f);
            }
        }
        let available = self.agents_available_now().await?;
        for ((st, l), n) in &available.by_place {
            by_pair
                .entry((st.clone(), l.clone()))
                .or_default()
                .0
                .available = *n;
        }
        for (st, n) in &available.by_state {
            by_state.entry(st.clone()).or_default().0.available = *n;
        }
        let finish = |(mut p, mut w): (Place, Vec<SignedDuration>)| {
            w.sort();
            p.median_accept = quantile(&w, 0.5);
            p
        };
        Ok(Coverage {
            by_state: by_state.into_iter().map(|(k, v)| (k, finish(v))).collect(),
            by_state_language: by_pair.into_iter().map(|(k, v)| (k, finish(v))).collect(),
            by_zip3: by_zip3.into_iter().map(|(k, v)| (k, finish(v))).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let s: Vec<SignedDuration> = (1..=10).map(SignedDuration::from_mins).collect();
        assert_eq!(quantile(&s, 0.5), Some(SignedDuration::from_mins(5)));
        assert_eq!(quantile(&s, 0.9), Some(SignedDuration::from_mins(9)));
        assert_eq!(quantile(&s[..1], 0.9), Some(SignedDuration::from_mins(1)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn jain_is_one_when_even_and_one_over_n_when_one_takes_all() {
        assert_eq!(jain(&[3.0, 3.0, 3.0]), Some(1.0));
        assert_eq!(jain(&[9.0, 0.0, 0.0]), Some(1.0 / 3.0));
        assert_eq!(jain(&[]), None);
    }
}
