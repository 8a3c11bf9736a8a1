//! DeleteRecords and retention: whole segments only, start offset persisted.

use super::{append, open, open_tiny, read_all};
use crate::testing::{tiny_config, BatchBuilder};
use crate::{LogConfig, LogError};

fn fill(log: &mut crate::Log, batches: i64) {
    for i in 0..batches {
        append(log, BatchBuilder::new(1).value_len(200).timestamp(i * 100));
    }
}

#[test]
fn delete_records_before_persists_across_clean_and_unclean_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    fill(&mut log, 20);
    let segments_before = log.segment_count();
    assert_eq!(log.delete_records_before(9).expect("delete"), 9);
    assert!(
        log.segment_count() < segments_before,
        "segments wholly below were deleted"
    );
    assert_eq!(read_all(&log)[0].base_offset, 9);
    assert_eq!(log.delete_records_before(3).expect("no effect"), 9);
    drop(log); // unclean
    let log = open_tiny(dir.path());
    assert_eq!(log.log_start_offset(), 9);
    log.close().expect("close");
    let log = open_tiny(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (9, 20));
    assert!(matches!(
        log.read(8, 10, true, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn delete_records_before_log_end_empties_log_and_beyond_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    fill(&mut log, 3);
    assert!(matches!(
        log.delete_records_before(4),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.delete_records_before(3).expect("delete all"), 3);
    assert_eq!((log.segment_count(), log.size_bytes()), (1, 0));
    assert!(log.read(3, 100, true, i64::MAX).expect("read at end").is_empty());
    append(&mut log, BatchBuilder::new(1));
    assert_eq!(read_all(&log)[0].base_offset, 3);
}

#[test]
fn enforce_retention_by_time_deletes_only_old_whole_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        retention_ms: 1000,
        ..tiny_config()
    };
    let mut log = open(dir.path(), config);
    fill(&mut log, 20); // timestamps 0..1900, four batches per segment
    let bases = log.segment_base_offsets();
    // now 2500: batches with timestamp < 1500 are expired; a segment goes only if
    // its largest timestamp is.
    let deleted = log.enforce_retention(2500).expect("retention");
    let remaining = log.segment_base_offsets();
    assert_eq!(remaining, bases[deleted..].to_vec());
    assert!(deleted > 0);
    assert_eq!(log.log_start_offset(), remaining[0]);
    let first_ts = read_all(&log).iter().map(|h| h.max_timestamp).max().expect("data");
    assert!(first_ts >= 1500);
    // Everything expired: the active segment still stays.
    log.enforce_retention(i64::MAX).expect("retention");
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn enforce_retention_by_bytes_keeps_at_least_retention_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        retention_bytes: 1500,
        ..tiny_config()
    };
    let mut log = open(dir.path(), config);
    fill(&mut log, 30);
    let deleted = log.enforce_retention(0).expect("retention");
    assert!(deleted > 0);
    assert!(log.size_bytes() >= 1500);
    // Deleting one more segment would drop below retention_bytes.
    assert!(log.size_bytes() - log.segments[0].size < 1500);
    assert_eq!(log.enforce_retention(0).expect("idempotent"), 0);
}

#[test]
fn bytes_from_counts_whole_batches_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let mut sizes = Vec::new();
    for i in 0..20 {
        let before = log.size_bytes();
        append(&mut log, BatchBuilder::new(2).value_len(200).timestamp(i * 100));
        sizes.push(log.size_bytes() - before);
    }
    assert!(log.segment_count() > 1, "tiny segments roll");
    let total: u64 = sizes.iter().sum();
    assert_eq!(log.bytes_from(0).expect("bytes"), total);
    // Offset 5 is inside the third batch (offsets 4..=5): that whole batch is still to read.
    assert_eq!(log.bytes_from(5).expect("bytes"), sizes[2..].iter().sum::<u64>());
    assert_eq!(log.bytes_from(39).expect("bytes"), sizes[19]);
    assert_eq!(log.bytes_from(40).expect("bytes"), 0);
    log.delete_records_before(10).expect("delete");
    // Below the log start counts from the log start.
    assert_eq!(log.bytes_from(0).expect("bytes"), sizes[5..].iter().sum::<u64>());
}

#[test]
fn drop_before_moves_start_in_memory_and_persists_when_segments_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    fill(&mut log, 20);
    let first_segment_end = log.segment_base_offsets()[1];
    assert!(first_segment_end > 1);
    // Inside the oldest segment: memory only.
    assert_eq!(log.drop_before(1).expect("drop"), 1);
    assert_eq!(read_all(&log)[0].base_offset, 1);
    assert_eq!(log.drop_before(0).expect("no effect"), 1);
    drop(log); // crash: the records of the oldest segment come back
    let mut log = open_tiny(dir.path());
    assert_eq!(log.log_start_offset(), 0);
    // Past a whole segment: persisted, and the segment is gone.
    let segments = log.segment_count();
    assert_eq!(log.drop_before(first_segment_end).expect("drop"), first_segment_end);
    assert_eq!(log.segment_count(), segments - 1);
    drop(log);
    let mut log = open_tiny(dir.path());
    assert_eq!(log.log_start_offset(), first_segment_end);
    assert_eq!(log.drop_before(1_000).expect("clamped"), 20);
}
