//! Per-IP limits on the forms that guess at accounts (login, recovery, registration), on top
//! of the per-account lockout kept in the database. Each node counts its own requests.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Attempts one address may make per window.
pub const PER_WINDOW: u32 = 30;
pub const WINDOW: SignedDuration = SignedDuration::from_mins(10);

#[derive(Debug, Default)]
pub struct Throttle {
    seen: Mutex<HashMap<IpAddr, (Timestamp, u32)>>,
}

impl Throttle {
    /// Counts an attempt from `ip`; false when the address is over its limit.
    pub fn allow(&self, ip: IpAddr, now: Timestamp) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= PER_WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_window() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now: Timestamp = "2026-11-26T16:00:00Z".parse().unwrap();
        for _ in 0..PER_WINDOW {
            assert!(t.allow(a, now));
        }
        assert!(!t.allow(a, now));
        assert!(t.allow(b, now), "another address has its own count");
        assert!(t.allow(a, now + WINDOW), "a new window");
    }
}
