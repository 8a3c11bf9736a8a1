//! Recovery on open: torn tails, corrupt middles, index rebuilds, clean reopen.

use super::{append, headers, open_tiny, read_all};
use crate::segment::{segment_path, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::testing::BatchBuilder;
use crate::{AppendInfo, Log, LogError};
use std::fs::OpenOptions;
use std::path::Path;

/// A deterministic multi-segment log left open (not closed) in `dir`.
fn build(dir: &Path) -> (Log, Vec<AppendInfo>) {
    let mut log = open_tiny(dir);
    let mut infos = Vec::new();
    for i in 0..30i64 {
        infos.push(append(
            &mut log,
            BatchBuilder::new((i % 3 + 1) as u32).value_len(40).timestamp(i),
        ));
    }
    (log, infos)
}

fn set_len(path: &Path, len: u64) {
    let f = OpenOptions::new().write(true).open(path).expect("open segment");
    f.set_len(len).expect("truncate");
}

#[test]
fn open_after_crash_truncates_torn_last_batch_at_every_cut_point() {
    let template = tempfile::tempdir().expect("tempdir");
    let (log, infos) = build(template.path());
    let last_base = *log.segment_base_offsets().last().expect("segments");
    let full = log.active().size;
    let last = infos.last().expect("appended");
    let last_size = headers(&log.read(last.base_offset, 1, true, i64::MAX).expect("read"))[0].size() as u64;
    drop(log);
    for cut in (full - last_size)..=full {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, _) = build(dir.path());
        drop(log); // crash: no close, no flush
        set_len(&segment_path(dir.path(), last_base, LOG_SUFFIX), cut);
        let mut log = open_tiny(dir.path());
        let expected_end = if cut == full {
            last.last_offset + 1
        } else {
            last.base_offset
        };
        assert_eq!(log.log_end_offset(), expected_end, "cut at {cut}");
        assert_eq!(log.active().size, if cut == full { full } else { full - last_size });
        let bases: Vec<i64> = read_all(&log).iter().map(|h| h.base_offset).collect();
        let want: Vec<i64> = infos
            .iter()
            .map(|i| i.base_offset)
            .filter(|b| *b < expected_end)
            .collect();
        assert_eq!(bases, want);
        assert_eq!(append(&mut log, BatchBuilder::new(1)).base_offset, expected_end);
    }
}

#[test]
fn open_after_crash_truncates_garbage_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, infos) = build(dir.path());
    let last_base = *log.segment_base_offsets().last().expect("segments");
    let size = log.active().size;
    drop(log);
    let f = OpenOptions::new()
        .write(true)
        .open(segment_path(dir.path(), last_base, LOG_SUFFIX))
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, &[0xAB; 100], size).expect("write garbage");
    let log = open_tiny(dir.path());
    assert_eq!(log.log_end_offset(), infos.last().expect("infos").last_offset + 1);
    assert_eq!(log.active().size, size);
}

#[test]
fn open_after_crash_with_corrupt_middle_segment_drops_it_onwards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = build(dir.path());
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 3);
    drop(log);
    // No flush ever happened, so the recovery point is 0 and every segment is checked.
    let victim = segment_path(dir.path(), bases[1], LOG_SUFFIX);
    let mut bytes = std::fs::read(&victim).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&victim, &bytes).expect("write");
    let log = open_tiny(dir.path());
    assert_eq!(log.segment_count(), 2, "segments after the corrupt one are deleted");
    for later in &bases[2..] {
        assert!(!segment_path(dir.path(), *later, LOG_SUFFIX).exists());
    }
    assert!(log.log_end_offset() > bases[1]);
}

#[test]
fn read_of_corrupt_batch_below_recovery_point_returns_segment_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = build(dir.path());
    log.flush().expect("flush");
    let first = segment_path(dir.path(), 0, LOG_SUFFIX);
    drop(log);
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[70] ^= 0xff; // inside the first batch's records
    std::fs::write(&first, &bytes).expect("write");
    let log = open_tiny(dir.path());
    assert!(matches!(
        log.read(0, 1, true, i64::MAX),
        Err(LogError::SegmentCorrupt { .. })
    ));
}

#[test]
fn open_rebuilds_deleted_or_garbage_indexes() {
    for damage in ["delete", "garbage", "partial", "past-end"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, infos) = build(dir.path());
        let bases = log.segment_base_offsets();
        log.close().expect("close");
        for base in &bases {
            let index = segment_path(dir.path(), *base, INDEX_SUFFIX);
            let time_index = segment_path(dir.path(), *base, TIME_INDEX_SUFFIX);
            match damage {
                "delete" => {
                    std::fs::remove_file(&index).expect("rm");
                    std::fs::remove_file(&time_index).expect("rm");
                }
                "garbage" => std::fs::write(&index, [7u8; 16]).expect("write"),
                "partial" => std::fs::write(&time_index, [1u8; 13]).expect("write"),
                _ => std::fs::write(&index, [0, 0, 0, 1, 0xff, 0xff, 0, 0]).expect("write"),
            }
        }
        let log = open_tiny(dir.path());
        for info in &infos {
            for offset in info.base_offset..=info.last_offset {
                let h = headers(&log.read(offset, 1, true, i64::MAX).expect("read"))[0];
                assert_eq!(h.base_offset, info.base_offset, "{damage}: offset {offset}");
            }
        }
        let h = headers(&log.max_timestamp_batch().expect("max").expect("some"))[0];
        assert_eq!(h.base_offset, infos.last().expect("infos").base_offset, "{damage}");
    }
}

#[test]
fn reopen_after_clean_close_restores_state_and_removes_marker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, infos) = build(dir.path());
    let (bases, size, start, end) = (
        log.segment_base_offsets(),
        log.size_bytes(),
        log.log_start_offset(),
        log.log_end_offset(),
    );
    let before = read_all(&log);
    log.close().expect("close");
    assert!(dir.path().join("clean-shutdown").exists());
    let mut log = open_tiny(dir.path());
    assert!(
        !dir.path().join("clean-shutdown").exists(),
        "a crash after open must not look clean"
    );
    assert_eq!(
        (
            log.segment_base_offsets(),
            log.size_bytes(),
            log.log_start_offset(),
            log.log_end_offset()
        ),
        (bases, size, start, end)
    );
    assert_eq!(read_all(&log), before);
    assert_eq!(log.durable_offset(), end);
    let next = append(&mut log, BatchBuilder::new(1));
    assert_eq!(next.base_offset, infos.last().expect("infos").last_offset + 1);
}

#[test]
fn delete_removes_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("topic-0");
    let mut log = open_tiny(&path);
    append(&mut log, BatchBuilder::new(1));
    log.delete().expect("delete");
    assert!(!path.exists());
}

/// Found by the index_rebuild fuzz target: after a clean shutdown the offset index is adopted
/// without reading every entry, so an entry damaged to point into the middle of a batch, or at
/// a later batch, must be caught when used rather than return the wrong batch or an error.
#[test]
fn read_with_offset_index_entry_pointing_elsewhere_returns_right_batch() {
    for damage in ["mid-batch", "later-batch"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, infos) = build(dir.path());
        let bases = log.segment_base_offsets();
        log.close().expect("close");
        let mut damaged = 0;
        for base in &bases {
            let path = segment_path(dir.path(), *base, INDEX_SUFFIX);
            let mut bytes = std::fs::read(&path).expect("read index");
            if bytes.len() < 8 {
                continue;
            }
            let rel = u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes"));
            let pos = u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes"));
            if damage == "mid-batch" {
                // Still inside the file and below the next entry, so the file decodes.
                bytes[4..8].copy_from_slice(&(pos - 1).to_be_bytes());
            } else if rel > 0 {
                bytes[0..4].copy_from_slice(&(rel - 1).to_be_bytes());
            } else {
                continue;
            }
            std::fs::write(&path, &bytes).expect("write index");
            damaged += 1;
        }
        assert!(damaged > 0, "{damage}: the test log has indexed segments");
        let log = open_tiny(dir.path());
        for info in &infos {
            for offset in info.base_offset..=info.last_offset {
                let h = headers(&log.read(offset, 1, true, i64::MAX).expect("read"))[0];
                assert_eq!(h.base_offset, info.base_offset, "{damage}: offset {offset}");
            }
        }
    }
}
