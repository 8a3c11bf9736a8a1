//! Request latency per Kafka API: a fixed-bucket histogram per API key, in seconds, from the
//! moment dispatch starts on a request to the moment its response bytes are ready to write —
//! for an `Answer::Later` (acks=all produce, long-poll fetch, JoinGroup) that is when its
//! future resolves, so the time waiting for fsync or data is included, as in Kafka's
//! RequestMetrics TotalTimeMs (less the socket write).
//!
//! Lock-free and allocation-free on the request path: one slot per API key in a fixed array,
//! and an observation is two relaxed atomic adds (its bucket and the sum). Buckets are stored
//! per bucket, not cumulatively, and the count is their sum at scrape time, so `_count` always
//! equals the `+Inf` bucket even while requests race a scrape.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;

use super::exposition::{self, Kind};

/// Upper bounds of the buckets, in nanoseconds and as written in `le`. From 0.5 ms (a produce
/// with acks=1 on a warm machine) to 10 s (beyond any long poll a client asks for); a slower
/// request falls in `+Inf`.
const BUCKETS: [(u64, &str); 14] = [
    (500_000, "0.0005"),
    (1_000_000, "0.001"),
    (2_500_000, "0.0025"),
    (5_000_000, "0.005"),
    (10_000_000, "0.01"),
    (25_000_000, "0.025"),
    (50_000_000, "0.05"),
    (100_000_000, "0.1"),
    (250_000_000, "0.25"),
    (500_000_000, "0.5"),
    (1_000_000_000, "1"),
    (2_500_000_000, "2.5"),
    (5_000_000_000, "5"),
    (10_000_000_000, "10"),
];

/// API keys below this get a histogram (every key kafka-protocol 0.18 knows is below 92; a
/// unit test checks all of them fit). Unknown keys never reach dispatch's handlers.
pub const API_KEY_SLOTS: usize = 128;

pub const REQUEST_DURATION: &str = "wharf_request_duration_seconds";

#[derive(Debug, Default)]
struct Histogram {
    /// buckets[i]: observations in (BUCKETS[i-1], BUCKETS[i]]; the last slot is above them all.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let slot = BUCKETS.iter().position(|(le, _)| nanos <= *le).unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

pub struct RequestLatency {
    by_api: Box<[Histogram]>,
}

impl Default for RequestLatency {
    fn default() -> Self {
        RequestLatency {
            by_api: (0..API_KEY_SLOTS).map(|_| Histogram::default()).collect(),
        }
    }
}

impl std::fmt::Debug for RequestLatency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLatency").finish_non_exhaustive()
    }
}

impl RequestLatency {
    pub fn observe(&self, key: ApiKey, elapsed: Duration) {
        if let Some(h) = usize::try_from(key as i16).ok().and_then(|i| self.by_api.get(i)) {
            h.observe(elapsed);
        }
    }

    /// Writes the histogram family; only APIs that have served a request get series, so the
    /// output stays short (a series appears with its API's first request).
    pub fn render(&self, out: &mut String) {
        exposition::header(
            out,
            REQUEST_DURATION,
            Kind::Histogram,
            "Time from dispatching a Kafka request to its response being ready to write, by API.",
        );
        let bucket = format!("{REQUEST_DURATION}_bucket");
        let sum = format!("{REQUEST_DURATION}_sum");
        let count = format!("{REQUEST_DURATION}_count");
        for (i, h) in self.by_api.iter().enumerate() {
            let counts: Vec<u64> = h.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let Some(key) = i16::try_from(i).ok().and_then(|k| ApiKey::try_from(k).ok()) else {
                continue;
            };
            let api = format!("{key:?}");
            let mut cumulative = 0u64;
            for ((_, le), n) in BUCKETS.iter().zip(&counts) {
                cumulative += n;
                exposition::sample(out, &bucket, &[("api", &api), ("le", le)], cumulative);
            }
            exposition::sample(out, &bucket, &[("api", &api), ("le", "+Inf")], total);
            let seconds = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            exposition::sample(out, &sum, &[("api", &api)], seconds);
            exposition::sample(out, &count, &[("api", &api)], total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_key_fits_a_slot() {
        assert!(ApiKey::iter().all(|k| (k as i16) >= 0 && (k as i16 as usize) < API_KEY_SLOTS));
    }

    #[test]
    fn buckets_ascend() {
        assert!(BUCKETS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn render_cumulates_buckets_bounds_inclusive_count_equals_inf() {
        let l = RequestLatency::default();
        l.observe(ApiKey::Produce, Duration::from_micros(500)); // exactly on the first bound
        l.observe(ApiKey::Produce, Duration::from_millis(3));
        l.observe(ApiKey::Produce, Duration::from_secs(20)); // above every bound
        let mut out = String::new();
        l.render(&mut out);
        let line = |le: &str| format!("wharf_request_duration_seconds_bucket{{api=\"Produce\",le=\"{le}\"}}");
        for (le, n) in [
            ("0.0005", 1),
            ("0.001", 1),
            ("0.0025", 1),
            ("0.005", 2),
            ("10", 2),
            ("+Inf", 3),
        ] {
            assert!(out.contains(&format!("{} {n}\n", line(le))), "le={le} in\n{out}");
        }
        assert!(out.contains("wharf_request_duration_seconds_count{api=\"Produce\"} 3\n"));
        assert!(
            out.contains("wharf_request_duration_seconds_sum{api=\"Produce\"} 20.0035\n"),
            "{out}"
        );
        assert!(!out.contains("api=\"Fetch\""), "unused APIs have no series");
    }
}
