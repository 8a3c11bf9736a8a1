//! What the bounded-backlog check (issue #4) adds to a produce request, next to what the request
//! costs anyway, measured in the same run.
//!
//! `append`: the log append of one produce request's batch (1,000 records of 100 B, as librdkafka
//! sends under load), the part of a produce every topic pays; on tmpfs, so it is the cheapest the
//! append can be and the ratio below is an upper bound. `check`: the extra work on a capped topic —
//! the reference-offset look-up over the groups with commits on the partition, then
//! `backlog::admit` (batch headers, backlog measure, cap comparison) with a cap that never binds.
//! The ratio check / append is the share of produce time the check costs.
//!
//!     cargo bench -p wharf-broker --bench backlog_check

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use wharf_broker::backlog::{self, BacklogPolicy, OverflowPolicy};
use wharf_coordinator::{CommittedOffset, GroupCoordinator, GroupLimits, Record};
use wharf_log::testing::BatchBuilder;
use wharf_log::{Log, LogConfig};

const TOPIC: &str = "orders";
/// Appends between retention passes, which keep the log (and tmpfs) small; not timed.
const APPENDS_PER_TRIM: u64 = 500;

fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let made = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    };
    made.expect("temp dir")
}

fn open_log(dir: &std::path::Path) -> Log {
    let config = LogConfig {
        segment_bytes: 32 << 20,
        retention_bytes: 64 << 20,
        retention_ms: -1,
        ..LogConfig::default()
    };
    Log::open(dir, config, 0).expect("open log")
}

/// A coordinator with `groups` groups, each with a commit on partition 0.
fn coordinator(groups: usize) -> GroupCoordinator {
    let mut c = GroupCoordinator::new(GroupLimits::default());
    for g in 0..groups {
        let record = Record::Offset {
            group_id: format!("group-{g}"),
            topic: TOPIC.into(),
            partition: 0,
            offset: Some(CommittedOffset {
                offset: 10 * g as i64,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp_ms: 0,
            }),
        };
        c.replay(record, 0);
    }
    c.finish_replay();
    c
}

fn bench(c: &mut Criterion) {
    let batch = BatchBuilder::new(1_000).value_len(100).build();
    let dir = scratch_dir();
    let mut log = open_log(dir.path());

    c.bench_function("append 1000 x 100 B", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for i in 0..iters {
                let start = Instant::now();
                black_box(log.append(&batch, 0).expect("append"));
                timed += start.elapsed();
                if i % APPENDS_PER_TRIM == APPENDS_PER_TRIM - 1 {
                    log.enforce_retention(0).expect("retention");
                }
            }
            timed
        })
    });

    let policy = BacklogPolicy {
        max_messages: Some(1_000_000_000_000),
        max_bytes: None,
        group: None,
        overflow: OverflowPolicy::Reject,
    };
    for groups in [3, 100] {
        let coordinator = coordinator(groups);
        c.bench_function(&format!("check, {groups} groups with commits"), |b| {
            b.iter(|| {
                let reference = coordinator.min_committed_offset(TOPIC, 0, policy.group.as_deref());
                black_box(backlog::admit(&policy, &mut log, &batch, reference).expect("admit"))
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
