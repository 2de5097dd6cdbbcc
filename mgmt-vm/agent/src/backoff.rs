//! When the controller cannot be reached: wait before the next try, twice
//! as long each time up to a ceiling, each wait drawn at random from its
//! upper half ("equal jitter") so that a fleet coming back from an outage
//! does not call the controller all at once.

use std::time::Duration;

/// The first wait after a failure (its upper bound).
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(FIRST_WAIT, MAX_WAIT)
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            failures: 0,
        }
    }

    /// The wait after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self
            .first
            .checked_mul(1u32.checked_shl(self.failures).unwrap_or(u32::MAX))
            .map_or(self.max, |wait| wait.min(self.max));
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(random_fraction())
    }

    /// The controller answered: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A number in [0, 1] from the operating system's randomness; 1 if there
/// is none (the wait is then the ceiling, still bounded).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(30);

    #[test]
    fn waits_double_within_their_upper_half_up_to_the_ceiling() {
        let mut backoff = Backoff::new(FIRST, MAX);
        let mut ceiling = FIRST;
        for _ in 0..10 {
            let wait = backoff.next_wait();
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{wait:?} for {ceiling:?}"
            );
            ceiling = (ceiling * 2).min(MAX);
        }
        assert_eq!(ceiling, MAX);
    }

    #[test]
    fn reset_starts_again_from_the_first_wait() {
        let mut backoff = Backoff::new(FIRST, MAX);
        for _ in 0..5 {
            backoff.next_wait();
        }
        backoff.reset();
        assert!(backoff.next_wait() <= FIRST);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut backoff = Backoff::new(FIRST, MAX);
        for _ in 0..100 {
            assert!(backoff.next_wait() <= MAX);
        }
    }
}
