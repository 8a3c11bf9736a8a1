//! Traffic counters of one topic partition: records and bytes produced and fetched, and
//! produces refused by the topic's backlog cap. They live in the `Partition` itself, so the
//! Produce and Fetch paths reach them through the partition they already hold — one relaxed
//! atomic add per counter, no map lookup and no lock. A scrape sums them per topic.
//!
//! Records are counted from batch headers only (the recordCount field), never by decoding
//! records: for Produce what the log appended, for Fetch what the response carries (a compacted
//! batch counts the records it still holds, not the offsets it spans). Relaxed ordering is enough: each counter is independent and only ever grows, and a
//! scrape that races an add sees it on the next scrape.

use std::sync::atomic::{AtomicU64, Ordering};

use wharf_log::{batch_size_at, BatchHeader};

#[derive(Debug, Default)]
pub struct PartitionTraffic {
    produce_records: AtomicU64,
    produce_bytes: AtomicU64,
    fetch_records: AtomicU64,
    fetch_bytes: AtomicU64,
    backlog_rejections: AtomicU64,
}

/// A copy of the counters at one moment, to sum per topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSnapshot {
    pub produce_records: u64,
    pub produce_bytes: u64,
    pub fetch_records: u64,
    pub fetch_bytes: u64,
    pub backlog_rejections: u64,
}

impl PartitionTraffic {
    /// An append wrote `records` records in `bytes` bytes of batches (idempotent duplicates,
    /// which write nothing, are not counted).
    pub fn produced(&self, records: u64, bytes: u64) {
        self.produce_records.fetch_add(records, Ordering::Relaxed);
        self.produce_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A Fetch response carries `batches` from this partition.
    pub fn fetched(&self, batches: &[u8]) {
        if batches.is_empty() {
            return;
        }
        self.fetch_records.fetch_add(record_count(batches), Ordering::Relaxed);
        self.fetch_bytes.fetch_add(batches.len() as u64, Ordering::Relaxed);
    }

    /// A produce to this partition was refused because the topic's backlog is full.
    pub fn backlog_rejected(&self) {
        self.backlog_rejections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> TrafficSnapshot {
        TrafficSnapshot {
            produce_records: self.produce_records.load(Ordering::Relaxed),
            produce_bytes: self.produce_bytes.load(Ordering::Relaxed),
            fetch_records: self.fetch_records.load(Ordering::Relaxed),
            fetch_bytes: self.fetch_bytes.load(Ordering::Relaxed),
            backlog_rejections: self.backlog_rejections.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::AddAssign for TrafficSnapshot {
    fn add_assign(&mut self, o: TrafficSnapshot) {
        self.produce_records += o.produce_records;
        self.produce_bytes += o.produce_bytes;
        self.fetch_records += o.fetch_records;
        self.fetch_bytes += o.fetch_bytes;
        self.backlog_rejections += o.backlog_rejections;
    }
}

/// Records in the data batches in `batches` (their recordCount fields). Control
/// batches (transaction markers) are skipped: they are no client's records. A partial batch at
/// the end (a fetch cut at max_bytes) is not counted, as the client will not read it either.
pub fn record_count(batches: &[u8]) -> u64 {
    let mut count = 0u64;
    let mut at = 0usize;
    while let Some(size) = batches.get(at..).and_then(batch_size_at) {
        let Some(batch) = batches.get(at..at + size) else {
            break;
        };
        if let Ok(h) = BatchHeader::parse(batch) {
            if !h.is_control() {
                count += u64::try_from(h.record_count).unwrap_or(0);
            }
        }
        at += size;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_log::testing::BatchBuilder;

    #[test]
    fn record_count_sums_offsets_of_whole_batches_only() {
        let mut bytes = BatchBuilder::new(3).build();
        bytes.extend_from_slice(&BatchBuilder::new(4).build());
        assert_eq!(record_count(&bytes), 7);
        let cut = bytes.len() - 1;
        assert_eq!(record_count(&bytes[..cut]), 3, "a truncated last batch is not counted");
        assert_eq!(record_count(&[]), 0);
    }

    #[test]
    fn record_count_skips_control_batches() {
        let mut bytes = BatchBuilder::new(2).build();
        bytes.extend_from_slice(&BatchBuilder::new(1).attributes(0x30).build());
        assert_eq!(record_count(&bytes), 2);
    }

    #[test]
    fn record_count_of_compacted_batch_is_its_record_count_not_offsets() {
        let bytes = BatchBuilder::new(3).record_count_override(1).build();
        assert_eq!(record_count(&bytes), 1);
    }

    #[test]
    fn fetched_adds_records_and_bytes_empty_adds_nothing() {
        let t = PartitionTraffic::default();
        let bytes = BatchBuilder::new(5).value_len(10).build();
        t.fetched(&bytes);
        t.fetched(&[]);
        t.produced(2, 100);
        t.backlog_rejected();
        assert_eq!(
            t.snapshot(),
            TrafficSnapshot {
                produce_records: 2,
                produce_bytes: 100,
                fetch_records: 5,
                fetch_bytes: bytes.len() as u64,
                backlog_rejections: 1,
            }
        );
    }
}
