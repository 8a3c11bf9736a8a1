//! Property test: the log against a Vec-of-batches model under random appends,
//! reads, rolls, retention, DeleteRecords, clean reopen and torn-tail crashes.

use super::{headers, read_all};
use crate::segment::{segment_path, LOG_SUFFIX};
use crate::testing::{tiny_config, BatchBuilder};
use crate::{Log, LogConfig};
use proptest::prelude::*;
use std::path::Path;

#[derive(Debug, Clone)]
enum Op {
    Append { batches: Vec<(u32, usize)>, timestamp: i64 },
    Read { pick: u64, max_bytes: usize, min_one: bool },
    Roll { advance_ms: i64 },
    Retention { advance_ms: i64 },
    DeleteRecords { pick: u64 },
    Reopen,
    Crash { cut: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec((1u32..5, 0usize..120), 1..4), 0i64..10_000)
            .prop_map(|(batches, timestamp)| Op::Append { batches, timestamp }),
        3 => (any::<u64>(), 0usize..800, any::<bool>()).prop_map(|(pick, max_bytes, min_one)| Op::Read { pick, max_bytes, min_one }),
        1 => (0i64..2_000).prop_map(|advance_ms| Op::Roll { advance_ms }),
        1 => (0i64..5_000).prop_map(|advance_ms| Op::Retention { advance_ms }),
        1 => any::<u64>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => Just(Op::Reopen),
        1 => any::<u64>().prop_map(|cut| Op::Crash { cut }),
    ]
}

/// The model: every batch ever appended and not lost in a crash (base offset,
/// bytes) in offset order, the start offset and the end offset. Batches below the
/// start offset stay, because the crash step needs their positions in the active
/// segment.
#[derive(Debug, Default)]
struct Model {
    batches: Vec<(i64, Vec<u8>)>,
    log_start_offset: i64,
    log_end_offset: i64,
}

impl Model {
    fn visible_from(&self, offset: i64) -> Vec<&(i64, Vec<u8>)> {
        self.batches
            .iter()
            .filter(|(_, b)| headers(b)[0].last_offset() >= offset)
            .collect()
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_ms: 1_000,
        retention_ms: 3_000,
        retention_bytes: 2_000,
        ..tiny_config()
    }
}

fn reopen(dir: &Path, now_ms: i64) -> Log {
    Log::open(dir, config(), now_ms).expect("reopen")
}

fn check(log: &Log, model: &Model) {
    assert_eq!(log.log_start_offset(), model.log_start_offset);
    assert_eq!(log.log_end_offset(), model.log_end_offset);
    let got: Vec<u8> = log
        .read(log.log_start_offset(), usize::MAX, true, i64::MAX)
        .expect("read all")
        .to_vec();
    let want: Vec<u8> = model
        .visible_from(model.log_start_offset)
        .iter()
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert_eq!(got, want);
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut now = 0i64;
    let mut log = Some(reopen(dir.path(), now));
    let mut model = Model::default();
    for op in ops {
        let l = log.as_mut().expect("log is open between ops");
        match op {
            Op::Append { batches, timestamp } => {
                let mut buf = Vec::new();
                for (records, value_len) in &batches {
                    buf.extend(
                        BatchBuilder::new(*records)
                            .value_len(*value_len)
                            .timestamp(timestamp)
                            .build(),
                    );
                }
                now += 1;
                let info = l.append(&buf, now).expect("append");
                assert_eq!(info.base_offset, model.log_end_offset);
                // The model stores each batch as the log must: its bytes as sent, with the
                // assigned base offset in the first 8 bytes.
                let mut pos = 0;
                let mut next = info.base_offset;
                for h in headers(&buf) {
                    let mut stored = buf[pos..pos + h.size()].to_vec();
                    stored[..8].copy_from_slice(&next.to_be_bytes());
                    model.batches.push((next, stored));
                    next += h.offset_count();
                    pos += h.size();
                }
                model.log_end_offset = info.last_offset + 1;
            }
            Op::Read {
                pick,
                max_bytes,
                min_one,
            } => {
                let span = (model.log_end_offset - model.log_start_offset + 1) as u64;
                let offset = model.log_start_offset + (pick % span) as i64;
                let got = l.read(offset, max_bytes, min_one, i64::MAX).expect("read");
                let mut want = Vec::new();
                for (_, b) in model.visible_from(offset) {
                    if want.len() + b.len() > max_bytes && !(want.is_empty() && min_one) {
                        break;
                    }
                    want.extend_from_slice(b);
                }
                assert_eq!(got.to_vec(), want, "read at {offset} max {max_bytes} min_one {min_one}");
            }
            Op::Roll { advance_ms } => {
                now += advance_ms;
                l.maybe_roll(now).expect("maybe_roll");
            }
            Op::Retention { advance_ms } => {
                now += advance_ms;
                let before = model.log_start_offset;
                l.enforce_retention(now).expect("retention");
                let start = l.log_start_offset();
                assert!(start >= before);
                assert!(
                    start == before || start == model.log_end_offset || model.batches.iter().any(|(b, _)| *b == start)
                );
                model.log_start_offset = start;
            }
            Op::DeleteRecords { pick } => {
                let span = (model.log_end_offset - model.log_start_offset + 1) as u64;
                let offset = model.log_start_offset + (pick % span) as i64;
                assert_eq!(
                    l.delete_records_before(offset).expect("delete records"),
                    offset.max(model.log_start_offset)
                );
                model.log_start_offset = offset.max(model.log_start_offset);
            }
            Op::Reopen => {
                log.take().expect("open").close().expect("close");
                log = Some(reopen(dir.path(), now));
            }
            Op::Crash { cut } => {
                let closing = log.take().expect("open");
                let active_base = closing.active().base_offset;
                let active_size = closing.active().size;
                drop(closing);
                let cut = cut % (active_size + 1);
                let path = segment_path(dir.path(), active_base, LOG_SUFFIX);
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .expect("open")
                    .set_len(cut)
                    .expect("cut");
                // The model keeps the batches of the active segment that end at or before the cut.
                let mut pos = 0u64;
                model.batches.retain(|(base, bytes)| {
                    if *base < active_base {
                        return true;
                    }
                    pos += bytes.len() as u64;
                    pos <= cut
                });
                model.log_end_offset = match model.batches.last() {
                    Some((_, b)) if headers(b)[0].base_offset >= active_base => headers(b)[0].last_offset() + 1,
                    _ => active_base,
                };
                if model.log_start_offset > model.log_end_offset {
                    model.batches.clear();
                    model.log_end_offset = model.log_start_offset;
                }
                log = Some(reopen(dir.path(), now));
            }
        }
        check(log.as_ref().expect("open"), &model);
    }
    if let Some(l) = log {
        let all = read_all(&l);
        assert!(all.windows(2).all(|w| w[0].last_offset() + 1 == w[1].base_offset));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_vec_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

#[test]
fn model_regression_delete_records_then_crash() {
    let ops = vec![
        Op::Append {
            batches: vec![(2, 8)],
            timestamp: 0,
        },
        Op::DeleteRecords {
            pick: 348774645374381127,
        },
        Op::Append {
            batches: vec![(1, 35)],
            timestamp: 0,
        },
        Op::Append {
            batches: vec![(1, 77), (1, 6), (1, 2)],
            timestamp: 0,
        },
        Op::Retention { advance_ms: 0 },
        Op::Append {
            batches: vec![(1, 0)],
            timestamp: 8056,
        },
        Op::DeleteRecords {
            pick: 1160210601060944020,
        },
        Op::Crash {
            cut: 15098785260894515013,
        },
    ];
    run(ops);
}
