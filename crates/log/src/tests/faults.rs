//! Fail-stop on injected write and fsync faults, and no loss of synced data.

use super::{append, read_all};
use crate::testing::{tiny_config, BatchBuilder, Fault, FaultyStorage};
use crate::{Log, LogError};
use std::sync::Arc;

fn open_faulty(dir: &std::path::Path) -> (Log, FaultyStorage) {
    let storage = FaultyStorage::new();
    let log = Log::open_with_storage(dir, tiny_config(), 0, Arc::new(storage.clone())).expect("open");
    (log, storage)
}

/// Appends and syncs through a sync point, as the broker does.
fn append_synced(log: &mut Log, n: usize) -> i64 {
    for _ in 0..n {
        append(log, BatchBuilder::new(2).value_len(50));
    }
    let point = log.sync_point();
    point.sync().expect("sync");
    log.mark_synced(point.end_offset);
    assert_eq!(log.durable_offset(), log.log_end_offset());
    log.durable_offset()
}

#[test]
fn append_after_write_faults_fails_stop_and_keeps_synced_data() {
    for fault in [Fault::FailWrite, Fault::NoSpace, Fault::TornWrite(30)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, storage) = open_faulty(dir.path());
        let durable = append_synced(&mut log, 30);
        storage.set_fault(fault);
        let batch = BatchBuilder::new(1).build();
        assert!(matches!(log.append(&batch, 0), Err(LogError::Io { .. })), "{fault:?}");
        assert!(log.is_failed());
        storage.set_fault(Fault::None);
        let batch = BatchBuilder::new(1).build();
        assert!(
            matches!(log.append(&batch, 0), Err(LogError::StorageFailed { .. })),
            "no retry after {fault:?}"
        );
        assert!(matches!(log.flush(), Err(LogError::StorageFailed { .. })));
        drop(log);
        let log = Log::open(dir.path(), tiny_config(), 0).expect("reopen healthy");
        assert_eq!(log.log_end_offset(), durable, "{fault:?}");
        assert_eq!(read_all(&log).len(), 30);
    }
}

#[test]
fn sync_failure_marks_log_failed_and_is_never_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, storage) = open_faulty(dir.path());
    let durable = append_synced(&mut log, 10);
    append(&mut log, BatchBuilder::new(1));
    storage.set_fault(Fault::FailSync);
    let point = log.sync_point();
    assert!(matches!(point.sync(), Err(LogError::Io { .. })));
    assert!(log.is_failed());
    log.mark_synced(point.end_offset);
    assert_eq!(log.durable_offset(), durable, "a failed sync never advances durability");
    storage.set_fault(Fault::None);
    let syncs = storage.sync_count();
    assert!(matches!(log.sync_point().sync(), Err(LogError::StorageFailed { .. })));
    assert_eq!(storage.sync_count(), syncs, "fsync is not retried");
    drop(log);
    let log = Log::open(dir.path(), tiny_config(), 0).expect("reopen healthy");
    assert!(log.log_end_offset() >= durable);
}

#[test]
fn sync_point_covers_rolled_segments_until_marked_synced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _storage) = open_faulty(dir.path());
    for _ in 0..20 {
        append(&mut log, BatchBuilder::new(1).value_len(100));
    }
    assert!(log.segment_count() > 2);
    let point = log.sync_point();
    assert!(
        point.file_count() >= log.segment_count(),
        "every unsynced rolled segment plus the active one"
    );
    point.sync().expect("sync");
    log.mark_synced(point.end_offset);
    let idle = log.sync_point();
    assert!(idle.is_empty(), "nothing new to sync");
    log.mark_synced(0);
    assert_eq!(log.durable_offset(), 20, "monotonic");
}
