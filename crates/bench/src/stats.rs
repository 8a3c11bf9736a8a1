//! Measurements: shared progress counters and latency histograms.
//!
//! Counters are atomics shared by all tasks (read by the progress bar). Histograms are not
//! shared: each producer or consumer task owns one and they are merged at the end, so the hot
//! path never takes a lock. Latencies are recorded in microseconds and reported in milliseconds.

use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency the histograms track: one hour in microseconds. Larger values are clamped
/// to it (`saturating_record`) rather than dropped, so max still shows something went wrong.
pub const LATENCY_US_MAX: u64 = 3_600_000_000;

/// Records and bytes done so far, across tasks.
#[derive(Debug, Default)]
pub struct Counters {
    records: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A histogram of latencies in microseconds, 1 µs to one hour, three significant digits.
#[allow(
    clippy::expect_used,
    reason = "constant bounds, valid for every call; the unit tests construct it"
)]
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
        .expect("constant bounds are valid: 1 <= low, high >= 2 * low, sigfig 3 <= 5")
}

/// Adds `from` into `into`; both come from [`latency_histogram`], so bounds match.
pub fn merge(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    // Same bounds on both sides, and `into` auto-resizes neither; values of `from` are already
    // within `into`'s range, so this cannot fail. Saturating is used anyway to stay total.
    for v in from.iter_recorded() {
        into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples recorded (requests for produce latency, records for end-to-end latency).
    pub samples: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencySummary {
    /// `None` for an empty histogram (for example acks=0, where nothing is measured).
    pub fn from_histogram(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencySummary {
            samples: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_empty_histogram_is_none() {
        assert_eq!(LatencySummary::from_histogram(&latency_histogram()), None);
    }

    #[test]
    fn summary_reports_milliseconds() {
        let mut h = latency_histogram();
        for us in 1..=1000u64 {
            h.saturating_record(us * 1000);
        }
        let s = LatencySummary::from_histogram(&h).expect("non-empty");
        assert_eq!(s.samples, 1000);
        assert!((s.p50_ms - 500.0).abs() < 1.0, "{}", s.p50_ms);
        assert!((s.max_ms - 1000.0).abs() < 1.0, "{}", s.max_ms);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = latency_histogram();
        let mut b = latency_histogram();
        a.saturating_record(10);
        b.saturating_record(20);
        b.saturating_record(LATENCY_US_MAX * 2);
        merge(&mut a, &b);
        assert_eq!(a.len(), 3);
    }
}
