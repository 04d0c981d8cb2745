//! What a simulated day came to, per strategy.
use jiff::SignedDuration;
use serde::Serialize;

use crate::routing::{Policy, Strategy};

/// Counted while the day runs.
pub(super) struct Outcomes {
    pub offers: Vec<u32>,
    pub won: Vec<u32>,
    /// Time to accept of each served request, in seconds.
    pub accepted_after: Vec<f64>,
    pub requests: usize,
    pub decisions: u64,
    pub lapsed: u64,
    pub declined: u64,
    pub withdrawn: u64,
    pub paused: u64,
}

impl Outcomes {
    pub fn new(agents: usize, requests: usize) -> Self {
        Self {
            offers: vec![0; agents],
            won: vec![0; agents],
            accepted_after: Vec::with_capacity(requests),
            requests,
            decisions: 0,
            lapsed: 0,
            declined: 0,
            withdrawn: 0,
            paused: 0,
        }
    }

    pub fn served(&mut self, after: SignedDuration) {
        self.accepted_after.push(after.as_secs_f64());
    }

    pub fn report(mut self, policy: Policy) -> Report {
        self.accepted_after.sort_by(f64::total_cmp);
        let total = self.requests.max(1) as f64;
        let within = |minutes: f64| {
            let n = self
                .accepted_after
                .partition_point(|&s| s <= minutes * 60.0);
            n as f64 / total
        };
        let offers: u64 = self.offers.iter().map(|&x| u64::from(x)).sum();
        Report {
            strategy: policy.strategy.id().to_owned(),
            settings: settings(policy),
            requests: self.requests,
            served: self.accepted_after.len(),
            served_share: self.accepted_after.len() as f64 / total,
            served_within_15_minutes: within(15.0),
            served_within_60_minutes: within(60.0),
            accept_p50_seconds: percentile(&self.accepted_after, 0.5),
            accept_p90_seconds: percentile(&self.accepted_after, 0.9),
            offers,
            offers_per_agent: offers as f64 / self.offers.len().max(1) as f64,
            offers_per_agent_max: self.offers.iter().copied().max().unwrap_or(0),
            offers_lapsed: self.lapsed,
            offers_declined: self.declined,
            offers_withdrawn: self.withdrawn,
            agents_paused: self.paused,
            fairness_offers: jain(&self.offers),
            fairness_referrals: jain(&self.won),
            decisions: self.decisions,
        }
    }
}

/// One strategy's day. Shares are of all requests; times are from the request to the
/// acceptance, of the requests served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub strategy: String,
    /// Its numbers, named as in the scenario's policy section.
    pub settings: String,
    pub requests: usize,
    pub served: usize,
    pub served_share: f64,
    pub served_within_15_minutes: f64,
    pub served_within_60_minutes: f64,
    pub accept_p50_seconds: Option<f64>,
    pub accept_p90_seconds: Option<f64>,
    pub offers: u64,
    pub offers_per_agent: f64,
    pub offers_per_agent_max: u32,
    /// Offers nobody answered in time (each a missed offer for its agent).
    pub offers_lapsed: u64,
    pub offers_declined: u64,
    /// Offers still open when another agent accepted or the request gave up.
    pub offers_withdrawn: u64,
    /// Times an agent was switched to red after three missed offers in a row.
    pub agents_paused: u64,
    /// Jain's fairness index of offers per agent (1 = every agent got as many).
    pub fairness_offers: f64,
    /// Jain's fairness index of referrals won per agent.
    pub fairness_referrals: f64,
    pub decisions: u64,
}

/// A strategy's numbers, as the scenario's policy section names them.
fn settings(p: Policy) -> String {
    let minutes = |d: SignedDuration| d.as_secs() / 60;
    let own = match p.strategy {
        Strategy::OneAtATime => String::new(),
        Strategy::Cascade { step } => format!("cascade_minutes={}, ", minutes(step)),
        Strategy::Broadcast { size } => format!("broadcast_size={size}, "),
        Strategy::Adaptive { step, width } => format!(
            "adaptive_step_minutes={}, adaptive_width={width}, ",
            minutes(step)
        ),
    };
    format!(
        "{own}offer_minutes={}, max_wait_minutes={}, capacity={}",
        minutes(p.offer_window),
        minutes(p.max_wait),
        p.capacity
    )
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied()
}

/// Jain's fairness index: (Σx)² / (n·Σx²); 1 when all are equal, 1/n when one has all.
pub fn jain(xs: &[u32]) -> f64 {
    let (sum, squares) = xs.iter().fold((0.0, 0.0), |(s, q), &x| {
        let x = f64::from(x);
        (s + x, q + x * x)
    });
    if squares == 0.0 {
        return 1.0;
    }
    sum * sum / (xs.len() as f64 * squares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_and_percentiles() {
        assert!((jain(&[3, 3, 3]) - 1.0).abs() < 1e-12);
        assert!((jain(&[4, 0, 0, 0]) - 0.25).abs() < 1e-12);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.9), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
