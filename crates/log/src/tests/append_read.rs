//! Append and read round trips, offset assignment, validation and KIP-74 reads.

use super::{append, headers, open_tiny, read_all};
use crate::testing::{tiny_config, BatchBuilder, FaultyStorage};
use crate::{Log, LogError};
use std::sync::Arc;

#[test]
fn append_then_read_returns_identical_bytes_with_patched_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let mut first = BatchBuilder::new(3).fill(b'a').build();
    let info = log.append(&first, 5).expect("append");
    assert_eq!(
        (info.base_offset, info.last_offset, info.record_count, info.batch_count),
        (0, 2, 3, 1)
    );
    let mut second = BatchBuilder::new(2).fill(b'b').build();
    let info = log.append(&second, 5).expect("append");
    assert_eq!((info.base_offset, info.last_offset), (3, 4));
    let read = log.read(0, usize::MAX, true, i64::MAX).expect("read");
    // Stored as sent except the base offset the log assigned (bytes 0..8, outside the CRC).
    first[..8].copy_from_slice(&0i64.to_be_bytes());
    second[..8].copy_from_slice(&3i64.to_be_bytes());
    assert_eq!(
        &read[..first.len()],
        &first[..],
        "stored exactly as sent, offset assigned"
    );
    assert_eq!(&read[first.len()..], &second[..]);
    assert_eq!(
        headers(&read).iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        vec![0, 3]
    );
}

#[test]
fn append_log_end_offset_is_last_offset_plus_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    append(&mut log, BatchBuilder::new(7));
    assert_eq!(log.log_end_offset(), 7, "base 0 + lastOffsetDelta 6 + 1");
}

#[test]
fn append_several_batches_in_one_buffer_uses_one_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FaultyStorage::new();
    let mut log = Log::open_with_storage(dir.path(), tiny_config(), 0, Arc::new(storage.clone())).expect("open");
    let mut buf = BatchBuilder::new(2).build();
    buf.extend(BatchBuilder::new(3).build());
    let before = storage.write_count();
    let info = log.append(&buf, 0).expect("append");
    assert_eq!(storage.write_count() - before, 1);
    assert_eq!((info.batch_count, info.last_offset), (2, 4));
    assert_eq!(
        read_all(&log).iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn append_crc_mismatch_in_second_batch_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let mut buf = BatchBuilder::new(1).build();
    let mut bad = BatchBuilder::new(1).build();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    buf.extend(bad);
    assert!(matches!(log.append(&buf, 0), Err(LogError::CorruptBatch { .. })));
    assert_eq!((log.log_end_offset(), log.size_bytes()), (0, 0));
}

#[test]
fn append_too_large_batch_is_rejected_at_max_plus_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = BatchBuilder::new(1).value_len(500).build();
    let config = crate::LogConfig {
        max_message_bytes: batch.len() as u32 - 1,
        ..tiny_config()
    };
    let mut log = Log::open(dir.path(), config, 0).expect("open");
    let too_big = batch.clone();
    assert!(matches!(log.append(&too_big, 0), Err(LogError::MessageTooLarge { .. })));
    assert_eq!(log.size_bytes(), 0);
    let config = crate::LogConfig {
        max_message_bytes: batch.len() as u32,
        ..tiny_config()
    };
    let mut log = Log::open(dir.path(), config, 0).expect("reopen");
    let exact = batch;
    assert!(log.append(&exact, 0).is_ok());
}

#[test]
fn read_max_bytes_returns_only_whole_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    let size = BatchBuilder::new(1).build().len();
    for _ in 0..4 {
        append(&mut log, BatchBuilder::new(1));
    }
    let read = log.read(0, 2 * size + size / 2, false, i64::MAX).expect("read");
    assert_eq!(read.len(), 2 * size);
    let read = log.read(0, size - 1, false, i64::MAX).expect("read");
    assert!(
        read.is_empty(),
        "without min_one_batch a too-small max_bytes returns nothing"
    );
    let read = log.read(0, 1, true, i64::MAX).expect("read");
    assert_eq!(read.len(), size, "KIP-74: at least one whole batch");
}

#[test]
fn read_from_middle_of_batch_returns_whole_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    append(&mut log, BatchBuilder::new(5));
    append(&mut log, BatchBuilder::new(5));
    let hs = headers(&log.read(7, usize::MAX, true, i64::MAX).expect("read"));
    assert_eq!(hs.iter().map(|h| h.base_offset).collect::<Vec<_>>(), vec![5]);
}

#[test]
fn read_upper_bound_excludes_batches_at_or_above_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    append(&mut log, BatchBuilder::new(2));
    append(&mut log, BatchBuilder::new(2));
    let hs = headers(&log.read(0, usize::MAX, true, 2).expect("read"));
    assert_eq!(hs.len(), 1);
    assert!(log.read(2, usize::MAX, true, 2).expect("read").is_empty());
}

#[test]
fn read_out_of_range_errors_and_log_end_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open_tiny(dir.path());
    append(&mut log, BatchBuilder::new(2));
    assert!(log.read(2, 100, true, i64::MAX).expect("read at end").is_empty());
    assert!(matches!(
        log.read(3, 100, true, i64::MAX),
        Err(LogError::OffsetOutOfRange {
            offset: 3,
            log_start_offset: 0,
            log_end_offset: 2
        })
    ));
    assert!(matches!(
        log.read(-1, 100, true, i64::MAX),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

/// Throughput smoke check, run on demand:
/// `cargo test -p wharf-log --release -- --ignored append_throughput --nocapture`.
#[test]
#[ignore = "timing-dependent; run on demand in release mode"]
fn append_throughput_one_mib_batches_with_sync_reports_records_per_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), crate::LogConfig::default(), 0).expect("open");
    let template = BatchBuilder::new(9000).value_len(100).build();
    let start = std::time::Instant::now();
    let mut records = 0u64;
    for _ in 0..200 {
        let batch = template.clone();
        records += log.append(&batch, 0).expect("append").record_count;
        let point = log.sync_point();
        point.sync().expect("sync");
        log.mark_synced(point.end_offset);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{records} records, {:.0} records/s, {:.0} MB/s",
        records as f64 / secs,
        log.size_bytes() as f64 / secs / 1e6
    );
}
