//! ListOffsets support: batch_at_timestamp and max_timestamp_batch.

use super::{append, headers, open_tiny};
use crate::testing::BatchBuilder;

#[test]
fn batch_at_timestamp_returns_first_batch_at_or_after_timestamp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let mut expected = Vec::new();
    for i in 0..100i64 {
        // Non-monotonic timestamps: a dip every 10 batches.
        let ts = if i % 10 == 5 { 10 } else { 1000 + i * 10 };
        let info = append(&mut log, BatchBuilder::new(2).timestamp(ts));
        expected.push((info.base_offset, ts));
    }
    assert!(log.segment_count() > 3);
    for target in [0, 10, 11, 1000, 1001, 1500, 1990, 1991, 5000] {
        let want = expected.iter().find(|(_, ts)| *ts >= target).map(|e| e.0);
        let got = log
            .batch_at_timestamp(target)
            .expect("lookup")
            .map(|b| headers(&b)[0].base_offset);
        assert_eq!(got, want, "target {target}");
    }
}

#[test]
fn max_timestamp_batch_returns_earliest_batch_with_largest_timestamp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    assert!(log.max_timestamp_batch().expect("empty").is_none());
    for i in 0..60i64 {
        let ts = if i == 20 || i == 40 { 9999 } else { i };
        append(&mut log, BatchBuilder::new(1).timestamp(ts));
    }
    let batch = log.max_timestamp_batch().expect("lookup").expect("some batch");
    let h = headers(&batch)[0];
    assert_eq!((h.base_offset, h.max_timestamp), (20, 9999));
}

#[test]
fn timestamp_lookups_survive_clean_reopen_and_respect_log_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    for i in 0..40i64 {
        append(&mut log, BatchBuilder::new(1).timestamp(if i == 3 { 5000 } else { i }));
    }
    log.close().expect("close");
    let mut log = open_tiny(dir.path());
    let h = headers(&log.max_timestamp_batch().expect("lookup").expect("some"))[0];
    assert_eq!(h.base_offset, 3);
    log.delete_records_before(4).expect("delete records");
    let h = headers(&log.max_timestamp_batch().expect("lookup").expect("some"))[0];
    assert_eq!(h.base_offset, 39, "largest remaining timestamp");
    let h = headers(&log.batch_at_timestamp(0).expect("lookup").expect("some"))[0];
    assert_eq!(h.base_offset, 4, "never below the log start offset");
}
