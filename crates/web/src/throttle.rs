//! Limits on how often one address or one account may use a form, on top of the per-account
//! lockout kept in the database. Each purpose has its own budget, so that people who share an
//! address (a help center, an agency's office, a mobile carrier) asking for help do not use up
//! what protects the log-in form against guessing. Each node counts its own requests.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};

use crate::i18n::Tr;

/// What an attempt is for; each purpose counts separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Wrong passwords from one address, on the log-in page and the app's token endpoint.
    /// Only failures count: an office where every agent logs in is not slowed down.
    FailedLogin,
    /// Passkey log-in challenges asked from one address.
    PasskeyLogin,
    /// Forgot-username and forgot-password forms posted from one address.
    Recovery,
    /// Recovery messages asked for one username or email address (however many addresses
    /// ask): nobody's mailbox is flooded.
    RecoveryOf,
    /// Posts of one password-reset link.
    Reset,
    /// Help requests from one address. Generous: the same person asking twice is caught by
    /// the person key, and many people may share one address.
    HelpRequest,
}

impl Purpose {
    /// Attempts allowed per window.
    pub const fn budget(self) -> (u32, SignedDuration) {
        const TEN_MINUTES: SignedDuration = SignedDuration::from_mins(10);
        match self {
            Self::FailedLogin | Self::Recovery => (30, TEN_MINUTES),
            Self::PasskeyLogin => (60, TEN_MINUTES),
            Self::RecoveryOf => (5, SignedDuration::from_hours(1)),
            Self::Reset => (20, TEN_MINUTES),
            Self::HelpRequest => (300, TEN_MINUTES),
        }
    }
}

/// Whom an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An IPv4 address, or an IPv6 address's /64 network (what one subscriber is given).
    Address(IpAddr),
    /// An account, a typed username or email (lowercase), or a link's token.
    Name(String),
}

impl Key {
    pub fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => Self::Address(IpAddr::V6((u128::from(v6) & !(u128::MAX >> 64)).into())),
            },
            v4 => Self::Address(v4),
        }
    }

    pub fn name(name: &str) -> Self {
        Self::Name(name.trim().to_lowercase())
    }
}

/// How long until the budget allows another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(pub SignedDuration);

impl Wait {
    /// Whole minutes, rounded up (what a person is told).
    pub fn minutes(self) -> i64 {
        (self.0.as_secs() + 59).div_euclid(60).max(1)
    }

    /// Whole seconds, rounded up (`Retry-After`).
    pub fn seconds(self) -> i64 {
        self.0.as_secs() + i64::from(self.0.subsec_nanos() > 0)
    }
}

/// What a person is told when a budget is spent: how long to wait, in their language.
pub(crate) fn wait_text(t: Tr, wait: Wait) -> String {
    t.get_n("throttled-text", "minutes", wait.minutes(), &[])
}

/// `r` (the form again, with what was typed, or an API error) as the answer to an attempt
/// over budget: `429` and `Retry-After`.
pub(crate) fn over_budget(mut r: Response, wait: Wait) -> Response {
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait.seconds()));
    r
}

/// Counts kept in memory: at most `capacity` keys (and those of one attempt), so that a flood
/// of made-up names or addresses cannot grow it without end.
#[derive(Debug)]
pub struct Throttle {
    seen: Mutex<HashMap<(Purpose, Key), (Timestamp, u32)>>,
    capacity: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl Throttle {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: Mutex::default(),
            capacity,
        }
    }

    /// Whether one more attempt fits every one of `keys`' budgets, without counting it.
    pub fn check(&self, purpose: Purpose, keys: &[Key], now: Timestamp) -> Result<(), Wait> {
        let (allowed, window) = purpose.budget();
        let seen = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| seen.get(&(purpose, k.clone())))
            .filter(|(start, used)| now.duration_since(*start) < window && *used >= allowed)
            .map(|(start, _)| window - now.duration_since(*start))
            .max();
        wait.map_or(Ok(()), |w| Err(Wait(w)))
    }

    /// Counts an attempt against each of `keys`.
    pub fn charge(&self, purpose: Purpose, keys: &[Key], now: Timestamp) {
        let (_, window) = purpose.budget();
        let mut seen = self.lock();
        if seen.len() >= self.capacity {
            self.make_room(&mut seen, now);
        }
        for key in keys {
            let entry = seen.entry((purpose, key.clone())).or_insert((now, 0));
            if now.duration_since(entry.0) >= window {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// Forgets the counts whose window has passed, then, if that is not a tenth of the
    /// capacity, the oldest windows: a flood forgets some budgets early rather than refuse
    /// everyone or grow, and the work is done once per tenth of the capacity, not per attempt.
    fn make_room(&self, seen: &mut HashMap<(Purpose, Key), (Timestamp, u32)>, now: Timestamp) {
        seen.retain(|(p, _), (start, _)| now.duration_since(*start) < p.budget().1);
        let keep = self.capacity - self.capacity / 10;
        if seen.len() > keep {
            let mut starts: Vec<Timestamp> = seen.values().map(|(start, _)| *start).collect();
            let cut = seen.len() - keep;
            let (_, newest_gone, _) = starts.select_nth_unstable(cut - 1);
            let newest_gone = *newest_gone;
            let mut over = cut;
            seen.retain(|_, (start, _)| {
                let gone = over > 0 && *start <= newest_gone;
                over -= usize::from(gone);
                !gone
            });
        }
    }

    /// `check`, then `charge` when the attempt is allowed.
    pub fn take(&self, purpose: Purpose, keys: &[Key], now: Timestamp) -> Result<(), Wait> {
        self.check(purpose, keys, now)?;
        self.charge(purpose, keys, now);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Purpose, Key), (Timestamp, u32)>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-26T16:00:00Z".parse().unwrap()
    }

    #[test]
    fn each_purpose_and_key_has_its_own_budget() {
        let t = Throttle::default();
        let a = [Key::address("192.0.2.1".parse().unwrap())];
        let b = [Key::address("192.0.2.2".parse().unwrap())];
        let (allowed, window) = Purpose::FailedLogin.budget();
        for _ in 0..allowed {
            assert!(t.take(Purpose::FailedLogin, &a, now()).is_ok());
        }
        let wait = t.take(Purpose::FailedLogin, &a, now()).unwrap_err();
        assert_eq!(wait, Wait(window));
        assert_eq!(wait.minutes(), 10);
        assert!(
            t.take(Purpose::FailedLogin, &b, now()).is_ok(),
            "another address"
        );
        assert!(
            t.take(Purpose::HelpRequest, &a, now()).is_ok(),
            "another purpose"
        );
        let later = now() + SignedDuration::from_mins(4);
        assert_eq!(
            t.check(Purpose::FailedLogin, &a, later)
                .unwrap_err()
                .minutes(),
            6
        );
        assert!(
            t.take(Purpose::FailedLogin, &a, now() + window).is_ok(),
            "a new window"
        );
    }

    #[test]
    fn an_ipv6_subscriber_is_one_network() {
        let t = Throttle::default();
        let (allowed, _) = Purpose::Recovery.budget();
        for i in 0..allowed {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(
                t.take(Purpose::Recovery, &[Key::address(ip)], now())
                    .is_ok()
            );
        }
        let next: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert!(
            t.take(Purpose::Recovery, &[Key::address(next)], now())
                .is_err()
        );
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(
            t.take(Purpose::Recovery, &[Key::address(other)], now())
                .is_ok()
        );
        assert_eq!(
            Key::address("::ffff:192.0.2.1".parse().unwrap()),
            Key::address("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn a_flood_of_names_stays_within_the_capacity() {
        let t = Throttle::with_capacity(1_000);
        let victim = [Key::name("ana.alvarez")];
        assert!(t.take(Purpose::RecoveryOf, &victim, now()).is_ok());
        // Made-up names, all within their windows: none can be forgotten for having expired.
        for i in 0..5_000 {
            let at = now() + SignedDuration::from_secs(i);
            let junk = [Key::name(&format!("nobody{i}"))];
            assert!(t.take(Purpose::RecoveryOf, &junk, at).is_ok());
            assert!(t.lock().len() <= 1_000, "{} keys at {i}", t.lock().len());
        }
        // The newest names are still counted; the oldest, the victim's among them, went first.
        let recent = [Key::name("nobody4999")];
        assert_eq!(
            t.lock()
                .get(&(Purpose::RecoveryOf, recent[0].clone()))
                .map(|e| e.1),
            Some(1)
        );
        assert!(
            !t.lock()
                .contains_key(&(Purpose::RecoveryOf, victim[0].clone()))
        );
    }

    #[test]
    fn every_key_must_have_room() {
        let t = Throttle::default();
        let (allowed, _) = Purpose::RecoveryOf.budget();
        let name = Key::name(" Ana.Alvarez ");
        for i in 0..allowed {
            let ip = Key::address(format!("192.0.2.{i}").parse().unwrap());
            assert!(
                t.take(Purpose::RecoveryOf, &[ip, name.clone()], now())
                    .is_ok()
            );
        }
        let fresh = Key::address("198.51.100.1".parse().unwrap());
        assert!(
            t.take(
                Purpose::RecoveryOf,
                &[fresh, Key::name("ana.alvarez")],
                now()
            )
            .is_err()
        );
    }
}
