//! How many records producers may still send, and when (with `--rate`).
//!
//! [`Budget`] is shared by all producer connections: a record count to hand out, or a deadline.
//! [`Pacer`] belongs to one connection and spaces its records out to a fixed rate: record `k`
//! (from 0) is due at `(k + 1) / rate` seconds after the start. A request goes out when a full
//! request's worth of records is due, or when the oldest due record has waited `--linger-ms`,
//! which is what linger means in a real producer. Without `--rate` there is no pacer and
//! records are always due, so batches are always full.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NANOS_PER_KILOSEC: u128 = 1_000_000_000_000;

/// Records left to produce across all producers.
#[derive(Debug)]
pub struct Budget {
    remaining: Option<AtomicU64>,
    deadline: Option<Instant>,
}

impl Budget {
    /// A budget of exactly `count` records.
    pub fn count(count: u64) -> Self {
        Budget {
            remaining: Some(AtomicU64::new(count)),
            deadline: None,
        }
    }

    /// Unlimited records until `deadline`.
    pub fn until(deadline: Instant) -> Self {
        Budget {
            remaining: None,
            deadline: Some(deadline),
        }
    }

    /// Takes up to `want` records; `None` once the budget is spent or the deadline passed.
    pub fn claim(&self, want: u64) -> Option<u64> {
        if want == 0 {
            return None;
        }
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                return None;
            }
        }
        let Some(remaining) = &self.remaining else {
            return Some(want);
        };
        let mut claimed = 0;
        let result = remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            claimed = left.min(want);
            (claimed > 0).then(|| left - claimed)
        });
        result.ok().map(|_| claimed)
    }
}

/// Paces one producer connection to `rate` records per second.
#[derive(Debug)]
pub struct Pacer {
    /// Records per 1000 seconds; integer arithmetic keeps due times exact.
    rate_milli: u128,
    linger: Duration,
    start: Instant,
    sent: u64,
}

impl Pacer {
    pub fn new(rate_per_sec: f64, linger: Duration) -> Self {
        Pacer {
            rate_milli: ((rate_per_sec * 1000.0) as u128).max(1),
            linger,
            start: Instant::now(),
            sent: 0,
        }
    }

    /// Time after start at which record `k` (from 0) is due.
    fn due_at(&self, k: u64) -> Duration {
        let nanos = ((k as u128 + 1) * NANOS_PER_KILOSEC).div_ceil(self.rate_milli);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many records to send now, given that a full request holds `full`; `None` means
    /// wait until the returned instant and ask again.
    pub fn poll(&self, full: u64, now: Instant) -> Result<u64, Instant> {
        let elapsed = now.saturating_duration_since(self.start);
        let due_total = elapsed.as_nanos() * self.rate_milli / NANOS_PER_KILOSEC;
        let due_total = u64::try_from(due_total).unwrap_or(u64::MAX);
        let due = due_total.saturating_sub(self.sent);
        if due >= full {
            return Ok(full);
        }
        let oldest_due = self.start + self.due_at(self.sent);
        if due > 0 && now >= oldest_due + self.linger {
            return Ok(due);
        }
        let full_due = self.start + self.due_at(self.sent + full - 1);
        Err(full_due.min(oldest_due + self.linger))
    }

    /// Waits until records are due, then says how many (at most `full`).
    pub async fn ready(&self, full: u64) -> u64 {
        loop {
            match self.poll(full, Instant::now()) {
                Ok(n) => return n,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }

    /// Notes that `n` records were sent.
    pub fn sent(&mut self, n: u64) {
        self.sent += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_count_hands_out_exactly_count() {
        let b = Budget::count(25);
        assert_eq!(b.claim(10), Some(10));
        assert_eq!(b.claim(10), Some(10));
        assert_eq!(b.claim(10), Some(5));
        assert_eq!(b.claim(10), None);
    }

    #[test]
    fn budget_past_deadline_is_spent() {
        let b = Budget::until(Instant::now());
        assert_eq!(b.claim(10), None);
        let b = Budget::until(Instant::now() + Duration::from_secs(60));
        assert_eq!(b.claim(10), Some(10));
    }

    #[test]
    fn pacer_sends_full_request_when_due() {
        let p = Pacer::new(1000.0, Duration::from_millis(5));
        // After 100 ms at 1000/s, 100 records are due.
        assert_eq!(p.poll(50, p.start + Duration::from_millis(100)), Ok(50));
    }

    #[test]
    fn pacer_waits_for_linger_before_partial_request() {
        let p = Pacer::new(1000.0, Duration::from_millis(5));
        // At 3 ms, 3 records are due; the first became due at 1 ms, so linger ends at 6 ms.
        let at = p.start + Duration::from_millis(3);
        assert_eq!(p.poll(50, at), Err(p.start + Duration::from_millis(6)));
        let later = p.start + Duration::from_millis(6);
        assert_eq!(p.poll(50, later), Ok(6));
    }
}
