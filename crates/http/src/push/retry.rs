//! What delivery does after a failed attempt, as pure functions: the backoff before the next
//! attempt (exponential, "full jitter": a uniform pick in [0, ceiling], so many subscriptions
//! failing at once do not retry in step), and whether to retry, narrow a failing batch down to
//! single records, or dead-letter the record.
//!
//! Narrowing: a batch that fails `max_attempts` times is re-sent one record at a time, each
//! record with a fresh `max_attempts`; a single record that fails `max_attempts` times goes to
//! the dead-letter topic. So one poison record costs its batch's attempts plus its own, and
//! every healthy record of the batch is still delivered, in order.

use std::time::Duration;

/// Exponential backoff settings of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial_ms: u64,
    pub max_ms: u64,
}

impl Backoff {
    /// The upper end of the wait after failed attempt number `attempt` (1-based):
    /// initial * 2^(attempt-1), capped at max.
    pub fn ceiling_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        self.initial_ms.saturating_mul(1u64 << doublings).min(self.max_ms)
    }

    /// The wait after failed attempt `attempt`, `unit` being a uniform pick in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling_ms(attempt);
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        Duration::from_millis((ceiling as f64 * unit).round() as u64)
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send the same records again after the backoff.
    Retry,
    /// The batch used up its attempts: send its records one at a time.
    Narrow,
    /// A single record used up its attempts: move it to the dead-letter topic.
    DeadLetter,
}

/// The step after `attempts` failures (1-based) of a request carrying `records` records.
pub fn after_failure(attempts: u32, max_attempts: u32, records: usize) -> Step {
    if attempts < max_attempts {
        Step::Retry
    } else if records > 1 {
        Step::Narrow
    } else {
        Step::DeadLetter
    }
}

/// How many records the next request carries: one while narrowing a failed batch (`narrow`
/// records still to send singly), else up to `batch_size` of the `pending` ones.
pub fn next_batch_len(batch_size: usize, pending: usize, narrow: usize) -> usize {
    if narrow > 0 {
        pending.min(1)
    } else {
        pending.min(batch_size)
    }
}

/// Whether to send now or linger for more records: send when the batch is full, or when the
/// first pending record has waited `linger_ms`.
pub fn should_send(batch_len: usize, wanted: usize, waited_ms: u64, linger_ms: u64) -> bool {
    batch_len > 0 && (batch_len >= wanted || waited_ms >= linger_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        initial_ms: 100,
        max_ms: 1_000,
    };

    #[test]
    fn ceiling_doubles_from_initial_and_stops_at_max() {
        let got: Vec<u64> = (1..=6).map(|a| B.ceiling_ms(a)).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(B.ceiling_ms(u32::MAX), 1_000);
        assert_eq!(B.ceiling_ms(0), 100);
    }

    #[test]
    fn delay_stays_within_zero_and_ceiling() {
        for attempt in 1..=10 {
            assert_eq!(B.delay(attempt, 0.0), Duration::ZERO);
            assert_eq!(B.delay(attempt, 1.0), Duration::from_millis(B.ceiling_ms(attempt)));
            assert!(B.delay(attempt, 0.5) <= Duration::from_millis(B.ceiling_ms(attempt)));
        }
        assert_eq!(B.delay(3, f64::NAN), Duration::ZERO);
        assert_eq!(B.delay(3, 7.0), Duration::from_millis(400));
    }

    #[test]
    fn after_failure_retries_then_narrows_then_dead_letters() {
        assert_eq!(after_failure(1, 5, 10), Step::Retry);
        assert_eq!(after_failure(4, 5, 10), Step::Retry);
        assert_eq!(after_failure(5, 5, 10), Step::Narrow);
        assert_eq!(after_failure(4, 5, 1), Step::Retry);
        assert_eq!(after_failure(5, 5, 1), Step::DeadLetter);
        assert_eq!(after_failure(1, 1, 1), Step::DeadLetter);
    }

    #[test]
    fn next_batch_len_is_one_while_narrowing() {
        assert_eq!(next_batch_len(100, 250, 0), 100);
        assert_eq!(next_batch_len(100, 30, 0), 30);
        assert_eq!(next_batch_len(100, 30, 7), 1);
        assert_eq!(next_batch_len(100, 0, 7), 0);
    }

    #[test]
    fn should_send_when_full_or_lingered() {
        assert!(!should_send(0, 10, 1_000, 50));
        assert!(!should_send(3, 10, 49, 50));
        assert!(should_send(3, 10, 50, 50));
        assert!(should_send(10, 10, 0, 50));
    }
}
