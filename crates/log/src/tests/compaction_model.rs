//! Property test: compaction against a model of everything written, under random puts,
//! deletes, rolls, cleaning passes (sometimes with a tiny key map), clean reopens and crashes
//! between a pass's write and its swap.
//!
//! What must hold after every step, whatever the order:
//! - every record read back is one that was written, at the offset it was written at, and
//!   offsets ascend (compaction removes, never moves or invents);
//! - the newest record of every key is readable, unless it is a tombstone (those may go once
//!   their horizon passes);
//! - a record of the active segment is never removed, and the log end offset never changes;
//! - after a pass, below the cleaner checkpoint each key has one record left.

use super::open;
use crate::cleaner::CleanerConfig;
use crate::record::parse_records;
use crate::testing::{tiny_config, BatchBuilder};
use crate::{CleanupPolicy, Log, LogConfig, BATCH_HEADER_BYTES, MIN_DEDUPE_BUFFER_BYTES};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Value = Option<Vec<u8>>;

#[derive(Debug, Clone)]
enum Op {
    /// One batch of (key index, value or tombstone) records.
    Put(Vec<(u8, Option<u8>)>),
    Roll,
    Clean {
        advance_ms: i64,
        small_map: bool,
    },
    Reopen,
    /// A pass writes its output, then the process dies before the swap.
    CrashBeforeSwap,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::collection::vec((0u8..24, prop::option::weighted(0.8, any::<u8>())), 1..5).prop_map(Op::Put),
        2 => Just(Op::Roll),
        3 => (0i64..3_000, prop::bool::weighted(0.2))
            .prop_map(|(advance_ms, small_map)| Op::Clean { advance_ms, small_map }),
        1 => Just(Op::Reopen),
        1 => Just(Op::CrashBeforeSwap),
    ]
}

fn config() -> LogConfig {
    LogConfig {
        cleanup_policy: CleanupPolicy::COMPACT,
        min_cleanable_dirty_permille: 0,
        delete_retention_ms: 1_000,
        segment_bytes: 600,
        segment_index_bytes: 1_200,
        ..tiny_config()
    }
}

fn read_records(log: &Log) -> Vec<(i64, Vec<u8>, Value)> {
    let bytes = log
        .read(log.log_start_offset(), usize::MAX, true, i64::MAX)
        .expect("read");
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let h = crate::BatchHeader::validate(&bytes[pos..pos + crate::batch_size_at(&bytes[pos..]).expect("size")], 0)
            .expect("valid batch");
        let batch = &bytes[pos..pos + h.size()];
        for r in parse_records(&batch[BATCH_HEADER_BYTES..], h.record_count).expect("records") {
            let key = r.key.expect("every test record has a key").to_vec();
            out.push((
                h.base_offset + i64::from(r.offset_delta),
                key,
                r.value.map(<[u8]>::to_vec),
            ));
        }
        pos += h.size();
    }
    out
}

fn check(log: &Log, written: &BTreeMap<i64, (Vec<u8>, Value)>, end: i64) {
    assert_eq!(log.log_end_offset(), end, "the log end never moves");
    let read = read_records(log);
    let mut previous = -1;
    for (offset, key, value) in &read {
        assert!(*offset > previous, "offsets ascend");
        previous = *offset;
        assert_eq!(
            written.get(offset),
            Some(&(key.clone(), value.clone())),
            "record at {offset}"
        );
    }
    let mut newest: BTreeMap<&Vec<u8>, (i64, &Value)> = BTreeMap::new();
    for (offset, (key, value)) in written {
        newest.insert(key, (*offset, value));
    }
    let present: std::collections::HashSet<i64> = read.iter().map(|r| r.0).collect();
    for (key, (offset, value)) in newest {
        if value.is_some() {
            assert!(
                present.contains(&offset),
                "newest record of {key:?} at {offset} is gone"
            );
        }
    }
}

/// Below the cleaner checkpoint every key's older records are gone.
fn check_cleaned_part_has_one_record_per_key(log: &Log) {
    let mut seen = std::collections::HashSet::new();
    for (offset, key, _) in read_records(log) {
        if offset < log.first_dirty_offset() {
            assert!(
                seen.insert(key.clone()),
                "{key:?} twice below {}",
                log.first_dirty_offset()
            );
        }
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), config());
    let mut written: BTreeMap<i64, (Vec<u8>, Value)> = BTreeMap::new();
    let mut now = 1_000i64;
    for op in ops {
        match op {
            Op::Put(records) => {
                let pairs: Vec<(Option<Vec<u8>>, Value)> = records
                    .iter()
                    .map(|(k, v)| (Some(vec![b'k', *k]), v.map(|v| vec![v])))
                    .collect();
                let info = log
                    .append(&BatchBuilder::new(1).timestamp(now).keyed(&pairs).build(), now)
                    .expect("append");
                for (i, (k, v)) in pairs.into_iter().enumerate() {
                    written.insert(info.base_offset + i as i64, (k.expect("key"), v));
                }
            }
            Op::Roll => {
                if log.active().size > 0 {
                    log.roll(now).expect("roll");
                }
            }
            Op::Clean { advance_ms, small_map } => {
                now += advance_ms;
                let cleaner = CleanerConfig {
                    dedupe_buffer_bytes: if small_map { MIN_DEDUPE_BUFFER_BYTES } else { 1 << 20 },
                };
                log.flush().expect("flush");
                if let Some(plan) = log.plan_cleaning(now, &cleaner) {
                    let cleaned = plan.clean().expect("clean");
                    let (_, after) = log.install_cleaned(cleaned).expect("install");
                    after.finish().expect("after install");
                }
                check_cleaned_part_has_one_record_per_key(&log);
            }
            Op::Reopen => {
                log.close().expect("close");
                log = open(dir.path(), config());
            }
            Op::CrashBeforeSwap => {
                log.flush().expect("flush");
                if let Some(plan) = log.plan_cleaning(now, &CleanerConfig::default()) {
                    drop(plan.clean().expect("clean"));
                }
                drop(log);
                log = open(dir.path(), config());
            }
        }
        let end = written.keys().next_back().map_or(0, |o| o + 1);
        check(&log, &written, end);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn compaction_keeps_newest_values_and_never_invents(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
