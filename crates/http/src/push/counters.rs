//! Delivery counters of one subscription, shared by its partition tasks and read by
//! `GET /v1/subscriptions/{name}` and `Subscriptions::snapshot` (for /metrics). Counters only
//! grow while the broker runs; they start at zero after a restart (positions do not: those are
//! the group's committed offsets).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// Longest `last_error` kept; a webhook's answer is quoted in it, so it is cut here.
pub const LAST_ERROR_BYTES_MAX: usize = 512;

#[derive(Default)]
pub struct Counters {
    delivered_records: AtomicU64,
    delivered_batches: AtomicU64,
    failed_attempts: AtomicU64,
    dead_lettered: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Per partition: high watermark minus the committed delivery position, as last seen.
    lag: Mutex<BTreeMap<i32, i64>>,
}

/// The counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    pub delivered_records: u64,
    pub delivered_batches: u64,
    pub failed_attempts: u64,
    pub dead_lettered: u64,
    pub last_error: Option<String>,
    /// Records not yet delivered, over all partitions.
    pub lag: i64,
    pub lag_by_partition: BTreeMap<i32, i64>,
}

impl Counters {
    pub fn delivered(&self, records: usize) {
        self.delivered_records.fetch_add(records as u64, Ordering::Relaxed);
        self.delivered_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, error: &str) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
        self.set_error(error);
    }

    pub fn dead_lettered(&self) {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// An error that is not a failed attempt (a fetch or commit that failed).
    pub fn set_error(&self, error: &str) {
        let mut cut = error.to_owned();
        if cut.len() > LAST_ERROR_BYTES_MAX {
            let mut end = LAST_ERROR_BYTES_MAX;
            while !cut.is_char_boundary(end) {
                end -= 1;
            }
            cut.truncate(end);
        }
        // A poisoned lock holds a complete Option<String>: still sound to use.
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(cut);
    }

    pub fn set_lag(&self, partition: i32, lag: i64) {
        self.lag
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(partition, lag.max(0));
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        let lag_by_partition = self.lag.lock().unwrap_or_else(|p| p.into_inner()).clone();
        CountersSnapshot {
            delivered_records: self.delivered_records.load(Ordering::Relaxed),
            delivered_batches: self.delivered_batches.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            last_error: self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            lag: lag_by_partition.values().sum(),
            lag_by_partition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_lag_and_cuts_last_error() {
        let c = Counters::default();
        c.delivered(10);
        c.delivered(5);
        c.failed(&"é".repeat(400));
        c.set_lag(0, 3);
        c.set_lag(1, -2);
        c.set_lag(2, 4);
        let s = c.snapshot();
        assert_eq!(
            (s.delivered_records, s.delivered_batches, s.failed_attempts),
            (15, 2, 1)
        );
        assert_eq!(s.lag, 7);
        assert_eq!(s.last_error.unwrap().len(), LAST_ERROR_BYTES_MAX);
    }
}
