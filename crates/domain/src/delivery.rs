//! When to try a message again after a provider failed to take it.
use jiff::SignedDuration;

/// Attempts a message gets before it goes to the dead letter.
pub const MAX_ATTEMPTS: u32 = 8;

/// The first retry waits this long; each later one twice as long as the one before.
const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(10);

/// No wait between attempts is longer than this.
const LONGEST_WAIT: SignedDuration = SignedDuration::from_mins(30);

/// The wait before attempt `attempts + 1`, after `attempts` failed ones; `None` when the
/// message has had its attempts. `jitter` in `[0, 1)` spreads the retries of many messages
/// that failed together over ±25% of the wait, so a recovering provider is not hit by all of
/// them at once.
pub fn retry_after(attempts: u32, jitter: f64) -> Option<SignedDuration> {
    if attempts == 0 || attempts >= MAX_ATTEMPTS {
        return None;
    }
    let doubled = FIRST_RETRY
        .checked_mul(1 << (attempts - 1).min(20))
        .unwrap_or(LONGEST_WAIT);
    let wait = doubled.min(LONGEST_WAIT);
    let spread = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
    Some(SignedDuration::from_secs_f64(wait.as_secs_f64() * spread))
}

#[cfg(test)]
mod tests {
    use super::{MAX_ATTEMPTS, retry_after};
    use jiff::SignedDuration;

    #[test]
    fn waits_double_up_to_a_cap_then_stop() {
        let secs = |n| retry_after(n, 0.5).map(|d: SignedDuration| d.as_secs());
        assert_eq!(
            (1..MAX_ATTEMPTS).map(secs).collect::<Vec<_>>(),
            [10, 20, 40, 80, 160, 320, 640].map(Some)
        );
        assert_eq!(secs(MAX_ATTEMPTS), None, "then the dead letter");
        assert_eq!(secs(0), None, "nothing was tried");
    }

    #[test]
    fn jitter_spreads_a_quarter_each_way() {
        let low = retry_after(3, 0.0).unwrap().as_secs_f64();
        let high = retry_after(3, 0.999_999).unwrap().as_secs_f64();
        assert!(
            (29.9..30.1).contains(&low) && (49.9..50.1).contains(&high),
            "{low} {high}"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_longer_than_the_cap_with_its_spread(n in 1u32..MAX_ATTEMPTS, j in 0.0f64..1.0) {
            let wait = retry_after(n, j).unwrap();
            proptest::prop_assert!(wait.as_secs_f64() <= 30.0 * 60.0 * 1.25);
            proptest::prop_assert!(wait.as_secs_f64() >= 7.5);
        }
    }
}
