//! Log compaction: newest value per key, offsets kept, tombstone horizons, crash-safe swaps.

use super::open;
use crate::cleaner::{CleanStats, CleanerConfig};
use crate::record::parse_records;
use crate::testing::{tiny_config, BatchBuilder};
use crate::{CleanupPolicy, Log, LogConfig, BATCH_HEADER_BYTES};
use std::path::Path;

/// (offset, key, value) of one record as read back.
type Rec = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

fn compact_config() -> LogConfig {
    LogConfig {
        cleanup_policy: CleanupPolicy::COMPACT,
        min_cleanable_dirty_permille: 0,
        delete_retention_ms: 1_000,
        // Room for 100 index entries, so cleaned segments can be merged (tiny_config's 96-byte
        // indexes fill after a few entries and would keep every segment apart).
        segment_index_bytes: 1_200,
        segment_bytes: 4_096,
        ..tiny_config()
    }
}

fn put(log: &mut Log, pairs: &[(&str, Option<&str>)], now_ms: i64) {
    let pairs: Vec<(Option<&str>, Option<&str>)> = pairs.iter().map(|(k, v)| (Some(*k), *v)).collect();
    let batch = BatchBuilder::new(1).timestamp(now_ms).keyed(&pairs).build();
    log.append(&batch, now_ms).expect("append");
}

/// Plans, cleans and installs one pass; `None` if no pass was due.
fn clean(log: &mut Log, now_ms: i64, cleaner: &CleanerConfig) -> Option<CleanStats> {
    log.flush().expect("flush");
    let plan = log.plan_cleaning(now_ms, cleaner)?;
    let cleaned = plan.clean().expect("clean");
    let (stats, after) = log.install_cleaned(cleaned).expect("install");
    after.finish().expect("after install");
    Some(stats)
}

fn records(log: &Log) -> Vec<Rec> {
    let bytes = log
        .read(log.log_start_offset(), usize::MAX, true, i64::MAX)
        .expect("read");
    let mut out = Vec::new();
    for h in super::headers(&bytes) {
        let start = out_position(&bytes, h.base_offset);
        let batch = &bytes[start..start + h.size()];
        for r in parse_records(&batch[BATCH_HEADER_BYTES..], h.record_count).expect("records") {
            out.push((
                h.base_offset + i64::from(r.offset_delta),
                r.key.map(<[u8]>::to_vec),
                r.value.map(<[u8]>::to_vec),
            ));
        }
    }
    out
}

/// Byte position of the batch with `base_offset` in concatenated batches.
fn out_position(bytes: &[u8], base_offset: i64) -> usize {
    let mut pos = 0;
    loop {
        let h = crate::BatchHeader::parse(&bytes[pos..]).expect("header");
        if h.base_offset == base_offset {
            return pos;
        }
        pos += h.size();
    }
}

fn kv(offset: i64, k: &str, v: Option<&str>) -> Rec {
    (offset, Some(k.as_bytes().to_vec()), v.map(|v| v.as_bytes().to_vec()))
}

/// 60 updates of 6 keys, one per batch, in six segments of ten, then one more batch in the
/// active segment.
fn sixty_updates(dir: &Path) -> Log {
    let mut log = open(dir, compact_config());
    for i in 0..60 {
        let (k, v) = (format!("k{}", i % 6), format!("v{i}"));
        put(&mut log, &[(&k, Some(&v))], 1_000);
        if i % 10 == 9 {
            log.roll(1_000).expect("roll");
        }
    }
    put(&mut log, &[("active", Some("x"))], 1_000);
    log
}

#[test]
fn clean_keeps_only_the_newest_record_of_each_key_at_its_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = sixty_updates(dir.path());
    assert_eq!(log.segment_count(), 7);
    let stats = clean(&mut log, 2_000, &CleanerConfig::default()).expect("a pass is due");
    assert_eq!((stats.records_read, stats.records_kept, stats.keys), (60, 6, 6));
    assert_eq!(records(&log), compacted_expected());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 61));
    assert_eq!(log.segment_count(), 2, "six segments merged into one, plus the active");
    assert_eq!(log.first_dirty_offset(), 60);
    // Reads inside the removed range return the next batch present.
    // Each input segment's last batch stays, empty, so the output still ends at offset 59 and a
    // read inside the removed range returns the next batch present.
    let batches = super::read_all(&log);
    let empty: Vec<i64> = batches
        .iter()
        .filter(|h| h.record_count == 0)
        .map(|h| h.base_offset)
        .collect();
    assert_eq!(empty, vec![9, 19, 29, 39, 49]);
    let from_ten = log.read(10, usize::MAX, true, i64::MAX).expect("read in a gap");
    assert_eq!(super::headers(&from_ten)[0].base_offset, 19);
    assert!(
        clean(&mut log, 3_000, &CleanerConfig::default()).is_none(),
        "nothing dirty, no tombstones: no pass"
    );
}

#[test]
fn clean_result_survives_clean_and_unclean_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = sixty_updates(dir.path());
    clean(&mut log, 2_000, &CleanerConfig::default()).expect("pass");
    let after = records(&log);
    drop(log); // unclean: recovery scans the compacted segment, gaps and all
    let log = open(dir.path(), compact_config());
    assert_eq!(records(&log), after);
    assert_eq!((log.log_end_offset(), log.first_dirty_offset()), (61, 60));
    log.close().expect("close");
    let mut log = open(dir.path(), compact_config());
    assert_eq!(records(&log), after);
    put(&mut log, &[("k0", Some("new"))], 3_000);
    assert_eq!(log.log_end_offset(), 62, "appends continue after the log end");
}

#[test]
fn clean_filters_inside_a_batch_and_keeps_its_offset_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), compact_config());
    put(&mut log, &[("a", Some("1")), ("b", Some("1")), ("c", Some("1"))], 1_000);
    put(&mut log, &[("b", Some("2"))], 1_000);
    log.roll(1_000).expect("roll");
    clean(&mut log, 2_000, &CleanerConfig::default()).expect("pass");
    assert_eq!(
        records(&log),
        vec![kv(0, "a", Some("1")), kv(2, "c", Some("1")), kv(3, "b", Some("2"))]
    );
    let first = super::read_all(&log)[0];
    assert_eq!((first.base_offset, first.last_offset(), first.record_count), (0, 2, 2));
}

#[test]
fn tombstone_stays_until_its_delete_horizon_then_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), compact_config());
    put(&mut log, &[("a", Some("1")), ("b", Some("1"))], 1_000);
    put(&mut log, &[("a", None)], 1_005);
    log.roll(1_005).expect("roll");
    clean(&mut log, 2_000, &CleanerConfig::default()).expect("first pass");
    assert_eq!(records(&log), vec![kv(1, "b", Some("1")), kv(2, "a", None)]);
    let stamped = super::read_all(&log)[1];
    assert_eq!(
        stamped.base_timestamp,
        2_000 + 1_000,
        "delete horizon = now + delete.retention.ms"
    );
    assert_eq!(stamped.max_timestamp, 1_005, "record timestamps unchanged");
    assert!(
        clean(&mut log, 2_999, &CleanerConfig::default()).is_none(),
        "before the horizon no pass is due"
    );
    let stats = clean(&mut log, 3_000, &CleanerConfig::default()).expect("due at the horizon");
    assert_eq!(stats.tombstones_removed, 1);
    assert_eq!(records(&log), vec![kv(1, "b", Some("1"))]);
}

#[test]
fn tombstone_timestamps_read_back_unchanged_after_stamping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), compact_config());
    let batch = BatchBuilder::new(1)
        .timestamp(1_000)
        .timestamp_step(7)
        .keyed(&[(Some("x"), Some("1")), (Some("y"), None::<&str>)])
        .build();
    log.append(&batch, 1_000).expect("append");
    log.roll(1_000).expect("roll");
    clean(&mut log, 50_000, &CleanerConfig::default()).expect("pass");
    let bytes = log.read(0, usize::MAX, true, i64::MAX).expect("read");
    let h = super::headers(&bytes)[0];
    let recs = parse_records(&bytes[BATCH_HEADER_BYTES..h.size()], h.record_count).expect("records");
    let timestamps: Vec<i64> = recs.iter().map(|r| h.base_timestamp + r.timestamp_delta).collect();
    assert_eq!(timestamps, vec![1_000, 1_007]);
    assert_eq!(h.base_timestamp, 51_000);
}

#[test]
fn producer_newest_batch_is_kept_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), compact_config());
    let idempotent = BatchBuilder::new(1)
        .producer(7, 0, 0)
        .keyed(&[(Some("a"), Some("1"))])
        .build();
    log.append(&idempotent, 1_000).expect("append");
    put(&mut log, &[("a", Some("2"))], 1_000);
    log.roll(1_000).expect("roll");
    clean(&mut log, 2_000, &CleanerConfig::default()).expect("pass");
    assert_eq!(records(&log), vec![kv(0, "a", Some("1")), kv(1, "a", Some("2"))]);
    drop(log);
    let log = open(dir.path(), compact_config());
    let entry = log.producer_state().get(7).expect("producer state rebuilt");
    assert_eq!(entry.last_sequence(), Some(0));
}

#[test]
fn small_dedupe_buffer_cleans_in_several_passes_to_the_same_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), compact_config());
    for round in 0..3 {
        for key in 0..40 {
            put(
                &mut log,
                &[(&format!("key-{key:03}"), Some(&format!("r{round}")))],
                1_000,
            );
        }
    }
    log.roll(1_000).expect("roll");
    let small = CleanerConfig {
        dedupe_buffer_bytes: crate::MIN_DEDUPE_BUFFER_BYTES,
    };
    let mut passes = 0;
    while let Some(stats) = clean(&mut log, 2_000, &small) {
        assert!(stats.keys <= 16, "1024 bytes hold at most 15 entries plus one batch");
        passes += 1;
        assert!(passes < 20, "passes make progress");
    }
    assert!(passes >= 3, "{passes} passes");
    let expected: Vec<Rec> = (80..120)
        .map(|o| kv(o, &format!("key-{:03}", o - 80), Some("r2")))
        .collect();
    assert_eq!(records(&log), expected);
}

#[test]
fn compact_only_policy_is_not_subject_to_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        retention_ms: 1,
        retention_bytes: 0,
        ..compact_config()
    };
    let mut log = open(dir.path(), config.clone());
    for i in 0..30 {
        put(&mut log, &[(&format!("k{i}"), Some("v"))], 1_000);
        if i % 10 == 9 {
            log.roll(1_000).expect("roll");
        }
    }
    assert_eq!(log.segment_count(), 4);
    assert_eq!(log.enforce_retention(1_000_000).expect("retention"), 0);
    let both = LogConfig {
        cleanup_policy: CleanupPolicy {
            delete: true,
            compact: true,
        },
        ..config
    };
    log.set_config(both).expect("config");
    assert!(
        log.enforce_retention(1_000_000).expect("retention") > 0,
        "compact,delete deletes"
    );
}

fn compacted_expected() -> Vec<Rec> {
    (54..60)
        .map(|i| kv(i, &format!("k{}", i % 6), Some(&format!("v{i}"))))
        .chain([kv(60, "active", Some("x"))])
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".cleaned") || name.ends_with(".swap"))
        .collect()
}

#[test]
fn unfinished_cleaner_output_is_removed_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = sixty_updates(dir.path());
    log.close().expect("close");
    let before = records(&open(dir.path(), compact_config()));
    // A crash while step 1 was writing: partial output and index files.
    for name in ["00000000000000000000.cleaned", "00000000000000000000.cleaned-index"] {
        std::fs::write(dir.path().join(name), b"partial").expect("write leftover");
    }
    let log = open(dir.path(), compact_config());
    assert_eq!(records(&log), before);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn crash_after_the_swap_is_staged_completes_it_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = sixty_updates(dir.path());
    log.flush().expect("flush");
    let plan = log.plan_cleaning(2_000, &CleanerConfig::default()).expect("due");
    let cleaned = plan.clean().expect("clean");
    let group = &cleaned.groups[0];
    assert!(
        group.staged_path.to_string_lossy().ends_with(".swap"),
        "clean() stages the swap"
    );
    // Step 3 half done: one replaced segment (not the first) already removed.
    let second = group.replaced[1].0;
    std::fs::remove_file(dir.path().join(format!("{second:020}.log"))).expect("remove one");
    drop(cleaned);
    drop(log);
    let log = open(dir.path(), compact_config());
    assert_eq!(records(&log), compacted_expected());
    assert_eq!(log.segment_count(), 2);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn segments_deleted_during_cleaning_discard_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = sixty_updates(dir.path());
    log.flush().expect("flush");
    let plan = log.plan_cleaning(2_000, &CleanerConfig::default()).expect("due");
    let cleaned = plan.clean().expect("clean");
    log.delete_records_before(30).expect("delete records meanwhile");
    let (stats, after) = log.install_cleaned(cleaned).expect("install");
    assert!(
        !after.moves_checkpoint(),
        "no checkpoint moves when a group was discarded"
    );
    assert_eq!(stats.records_kept, 6, "the pass ran, but its output is dropped");
    assert_eq!(log.first_dirty_offset(), 0, "checkpoint unchanged");
    assert_eq!(records(&log).first().map(|r| r.0), Some(30));
    assert_eq!(
        leftovers(dir.path()),
        Vec::<String>::new(),
        "the staged swap was removed"
    );
    assert!(
        clean(&mut log, 2_000, &CleanerConfig::default()).is_some(),
        "the next pass redoes it"
    );
    assert_eq!(records(&log).len(), 7);
}

#[test]
fn pass_waits_for_min_cleanable_dirty_ratio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        min_cleanable_dirty_permille: 500,
        ..compact_config()
    };
    let mut log = open(dir.path(), config);
    for i in 0..40 {
        put(&mut log, &[(&format!("k{i}"), Some("v"))], 1_000);
        if i % 10 == 9 {
            log.roll(1_000).expect("roll");
        }
    }
    clean(&mut log, 2_000, &CleanerConfig::default()).expect("all dirty: ratio 1");
    // Ten new updates in one segment against forty clean records: dirty share 10/50 < 0.5.
    for i in 0..10 {
        put(&mut log, &[(&format!("k{i}"), Some("w"))], 1_000);
    }
    log.roll(1_000).expect("roll");
    assert!(
        clean(&mut log, 3_000, &CleanerConfig::default()).is_none(),
        "below the ratio"
    );
    for round in 0..4 {
        for i in 0..10 {
            put(&mut log, &[(&format!("k{i}"), Some(&format!("x{round}")))], 1_000);
        }
        log.roll(1_000).expect("roll");
    }
    let stats = clean(&mut log, 4_000, &CleanerConfig::default()).expect("dirty share now above 0.5");
    assert_eq!(stats.records_kept, 40, "one record per key");
}
