//! Segment rolling (size, time, index full) and offset lookups across segments.

use super::{append, headers, open, open_tiny};
use crate::testing::{tiny_config, BatchBuilder};
use crate::LogConfig;

#[test]
fn append_past_segment_bytes_rolls_new_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let size = BatchBuilder::new(1).value_len(300).build().len() as u64;
    let per_segment = tiny_config().segment_bytes / size;
    for _ in 0..per_segment {
        append(&mut log, BatchBuilder::new(1).value_len(300));
    }
    assert_eq!(log.segment_count(), 1);
    append(&mut log, BatchBuilder::new(1).value_len(300));
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.segment_base_offsets(), vec![0, per_segment as i64]);
}

#[test]
fn append_larger_than_segment_bytes_goes_alone_into_fresh_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    append(&mut log, BatchBuilder::new(1));
    append(&mut log, BatchBuilder::new(1).value_len(2000));
    append(&mut log, BatchBuilder::new(1));
    assert_eq!(log.segment_base_offsets(), vec![0, 1, 2]);
}

#[test]
fn maybe_roll_after_segment_ms_rolls_and_not_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        segment_ms: 100,
        ..tiny_config()
    };
    let mut log = open(dir.path(), config);
    let b = BatchBuilder::new(1).build();
    log.append(&b, 1000).expect("append");
    assert!(!log.maybe_roll(1100).expect("maybe_roll"));
    assert!(log.maybe_roll(1101).expect("maybe_roll"));
    assert_eq!(log.segment_count(), 2);
    assert!(!log.maybe_roll(5000).expect("empty active segment never rolls"));
    let b = BatchBuilder::new(1).build();
    log.append(&b, 5000).expect("append");
    let b = BatchBuilder::new(1).build();
    log.append(&b, 5101).expect("append rolls by time first");
    assert_eq!(log.segment_base_offsets(), vec![0, 1, 2]);
}

#[test]
fn append_when_index_full_rolls() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 24-byte indexes: 2 time index slots, one kept for the final entry.
    let config = LogConfig {
        segment_index_bytes: 24,
        index_interval_bytes: 0,
        segment_bytes: 1 << 20,
        ..tiny_config()
    };
    let mut log = open(dir.path(), config);
    for _ in 0..6 {
        append(&mut log, BatchBuilder::new(1).timestamp_step(1));
    }
    assert!(log.segment_count() > 1, "rolled because the index filled, not by size");
}

#[test]
fn read_every_offset_across_many_segments_finds_its_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let mut expected = Vec::new();
    for i in 0..200u32 {
        let records = i % 4 + 1;
        let info = append(&mut log, BatchBuilder::new(records).value_len((i % 7) as usize * 10));
        expected.push((info.base_offset, info.last_offset));
    }
    assert!(log.segment_count() > 10);
    for &(base, last) in &expected {
        for offset in base..=last {
            let read = log.read(offset, 1, true, i64::MAX).expect("read");
            let hs = headers(&read);
            assert_eq!(hs.len(), 1);
            assert_eq!(hs[0].base_offset, base, "offset {offset}");
        }
    }
    // One read spanning every segment returns every batch in order.
    let all = headers(&log.read(0, usize::MAX, true, i64::MAX).expect("read"));
    assert_eq!(
        all.iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>()
    );
}
