//! Idempotent producers against a model: random sends, retries of recent batches, sequence gaps,
//! epoch bumps and stale epochs, across rolls, clean reopens, torn-tail crashes and torn
//! snapshots. The model knows only the log's batches in order; the expected answer to every send
//! is computed from that list, never from the log's incremental cache, so recovery and snapshots
//! are checked against a definition rather than against themselves. Finally every batch a client
//! had acknowledged (and that a crash did not take back) is in the log exactly once.

use super::headers;
use crate::producer_snapshot::{list_snapshots, snapshot_path};
use crate::producer_state::last_sequence;
use crate::segment::{segment_path, LOG_SUFFIX};
use crate::testing::{tiny_config, BatchBuilder};
use crate::{BatchHeader, Log, LogConfig, LogError};
use proptest::prelude::*;
use std::path::Path;

const PRODUCERS: i64 = 3;

#[derive(Debug, Clone)]
enum Op {
    Send { pid: i64, records: u32 },
    Retry { pid: i64, back: usize },
    Gap { pid: i64, skip: i32 },
    BumpEpoch { pid: i64, first_seq: i32 },
    StaleEpoch { pid: i64 },
    Reopen,
    Crash { cut: u64, tear_snapshot: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let pid = 0..PRODUCERS;
    prop_oneof![
        8 => (pid.clone(), 1u32..4).prop_map(|(pid, records)| Op::Send { pid, records }),
        3 => (pid.clone(), 0usize..7).prop_map(|(pid, back)| Op::Retry { pid, back }),
        1 => (pid.clone(), 1i32..3).prop_map(|(pid, skip)| Op::Gap { pid, skip }),
        1 => (pid.clone(), prop_oneof![Just(0), 1i32..3]).prop_map(|(pid, first_seq)| Op::BumpEpoch { pid, first_seq }),
        1 => pid.prop_map(|pid| Op::StaleEpoch { pid }),
        1 => Just(Op::Reopen),
        1 => (any::<u64>(), any::<bool>()).prop_map(|(cut, tear_snapshot)| Op::Crash { cut, tear_snapshot }),
    ]
}

/// One batch in the log, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    pid: i64,
    epoch: i16,
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
    last_offset: i64,
    size: u64,
}

/// A batch a client had acknowledged: epoch, first sequence, records, offset it was written at.
type Acked = (i16, i32, u32, i64);

/// A client: its epoch, next sequence, and the batches it sent and had acknowledged.
#[derive(Debug, Default, Clone)]
struct Client {
    epoch: i16,
    next_seq: i32,
    acked: Vec<Acked>,
}

#[derive(Debug)]
enum Expect {
    Append,
    Duplicate(i64, i64),
    OutOfOrder,
    StaleEpoch,
}

/// Kafka's rules, evaluated over the whole list of batches in the log.
fn expect(log: &[Stored], pid: i64, epoch: i16, first_seq: i32, records: u32) -> Expect {
    let mine: Vec<&Stored> = log.iter().filter(|s| s.pid == pid).collect();
    let Some(last) = mine.last() else {
        return Expect::Append;
    };
    let last_seq = last_sequence(first_seq, records as i32 - 1);
    let recent = mine.iter().rev().take_while(|s| s.epoch == last.epoch).take(5);
    for s in recent {
        if epoch == s.epoch && s.first_seq == first_seq && s.last_seq == last_seq {
            return Expect::Duplicate(s.base_offset, s.last_offset);
        }
    }
    if epoch < last.epoch {
        return Expect::StaleEpoch;
    }
    if epoch > last.epoch {
        return if first_seq == 0 {
            Expect::Append
        } else {
            Expect::OutOfOrder
        };
    }
    if first_seq == last.last_seq + 1 {
        Expect::Append
    } else {
        Expect::OutOfOrder
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 400,
        ..tiny_config()
    }
}

struct World {
    log: Option<Log>,
    stored: Vec<Stored>,
    clients: Vec<Client>,
}

impl World {
    fn log(&mut self) -> &mut Log {
        self.log.as_mut().expect("open between ops")
    }

    /// Sends one batch and checks the answer against the model; returns where it was written.
    fn send(&mut self, pid: i64, epoch: i16, first_seq: i32, records: u32) -> Option<i64> {
        let bytes = BatchBuilder::new(records)
            .producer(pid, epoch, first_seq)
            .fill(b'a' + pid as u8)
            .build();
        let want = expect(&self.stored, pid, epoch, first_seq, records);
        let got = self.log().append(&bytes, 0);
        match (want, got) {
            (Expect::Append, Ok(info)) if !info.is_duplicate => {
                self.stored.push(Stored {
                    pid,
                    epoch,
                    first_seq,
                    last_seq: last_sequence(first_seq, records as i32 - 1),
                    base_offset: info.base_offset,
                    last_offset: info.last_offset,
                    size: bytes.len() as u64,
                });
                Some(info.base_offset)
            }
            (Expect::Duplicate(base, last), Ok(info)) => {
                assert!(info.is_duplicate);
                assert_eq!((info.base_offset, info.last_offset), (base, last), "original offsets");
                None
            }
            (Expect::OutOfOrder, Err(LogError::OutOfOrderSequence { .. })) => None,
            (Expect::StaleEpoch, Err(LogError::InvalidProducerEpoch { .. })) => None,
            (want, got) => panic!("pid {pid} epoch {epoch} seq {first_seq}: expected {want:?}, got {got:?}"),
        }
    }

    fn check(&self) {
        let log = self.log.as_ref().expect("open");
        assert_eq!(
            log.log_end_offset(),
            self.stored.last().map_or(0, |s| s.last_offset + 1)
        );
        let bytes = log.read(0, usize::MAX, true, i64::MAX).expect("read");
        let got: Vec<(i64, i16, i32, i64)> = headers(&bytes)
            .iter()
            .map(|h: &BatchHeader| (h.producer_id, h.producer_epoch, h.base_sequence, h.base_offset))
            .collect();
        let want: Vec<(i64, i16, i32, i64)> = self
            .stored
            .iter()
            .map(|s| (s.pid, s.epoch, s.first_seq, s.base_offset))
            .collect();
        assert_eq!(got, want);
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let reopen = |d: &Path| Log::open(d, config(), 0).expect("open");
    let mut w = World {
        log: Some(reopen(dir.path())),
        stored: Vec::new(),
        clients: vec![Client::default(); PRODUCERS as usize],
    };
    for op in ops {
        match op {
            Op::Send { pid, records } => {
                let c = w.clients[pid as usize].clone();
                if let Some(offset) = w.send(pid, c.epoch, c.next_seq, records) {
                    let c = &mut w.clients[pid as usize];
                    c.acked.push((c.epoch, c.next_seq, records, offset));
                    c.next_seq += records as i32;
                }
            }
            Op::Retry { pid, back } => {
                let c = &w.clients[pid as usize];
                if let Some(&(epoch, seq, records, _)) = c.acked.iter().rev().nth(back) {
                    assert!(
                        w.send(pid, epoch, seq, records).is_none(),
                        "a retry is never written twice"
                    );
                }
            }
            Op::Gap { pid, skip } => {
                let c = w.clients[pid as usize].clone();
                let known = w.stored.iter().any(|s| s.pid == pid);
                let written = w.send(pid, c.epoch, c.next_seq + skip, 1);
                assert_eq!(
                    written.is_some(),
                    !known,
                    "a gap is refused exactly when the producer is known"
                );
                if let Some(offset) = written {
                    let c = &mut w.clients[pid as usize];
                    c.acked.push((c.epoch, c.next_seq + skip, 1, offset));
                    c.next_seq += skip + 1;
                }
            }
            Op::BumpEpoch { pid, first_seq } => {
                let epoch = w.clients[pid as usize].epoch + 1;
                if let Some(offset) = w.send(pid, epoch, first_seq, 1) {
                    let c = &mut w.clients[pid as usize];
                    c.epoch = epoch;
                    c.acked.push((epoch, first_seq, 1, offset));
                    c.next_seq = first_seq + 1;
                }
            }
            Op::StaleEpoch { pid } => {
                let c = w.clients[pid as usize].clone();
                if c.epoch > 0 {
                    // Every epoch > 0 was reached by a written batch, so the producer is known.
                    assert!(w.send(pid, c.epoch - 1, c.next_seq, 1).is_none());
                }
            }
            Op::Reopen => {
                w.log.take().expect("open").close().expect("close");
                w.log = Some(reopen(dir.path()));
            }
            Op::Crash { cut, tear_snapshot } => {
                let closing = w.log.take().expect("open");
                let (active_base, active_size) = (closing.active().base_offset, closing.active().size);
                drop(closing);
                let cut = cut % (active_size + 1);
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(segment_path(dir.path(), active_base, LOG_SUFFIX))
                    .expect("open segment");
                f.set_len(cut).expect("cut");
                let mut pos = 0u64;
                w.stored.retain(|s| {
                    if s.base_offset < active_base {
                        return true;
                    }
                    pos += s.size;
                    pos <= cut
                });
                // The clients never had the lost batches acknowledged (acks=all answers only
                // after fsync): they resend them, in order, as the next thing they do.
                let lost = forget_lost(&mut w);
                if tear_snapshot {
                    if let Some(newest) = list_snapshots(&crate::OsStorage, dir.path()).expect("list").last() {
                        let p = snapshot_path(dir.path(), *newest);
                        let len = std::fs::metadata(&p).expect("stat").len();
                        let f = std::fs::OpenOptions::new().write(true).open(&p).expect("open");
                        f.set_len(len / 2).expect("tear");
                    }
                }
                w.log = Some(reopen(dir.path()));
                for (pid, (epoch, seq, records, _)) in lost {
                    let offset = w.send(pid, epoch, seq, records).expect("a lost batch is written again");
                    w.clients[pid as usize].acked.push((epoch, seq, records, offset));
                }
            }
        }
        w.check();
    }
    // Exactly once: every acknowledged (pid, epoch, first sequence) appears once in the log.
    for (pid, c) in w.clients.iter().enumerate() {
        for (epoch, seq, ..) in &c.acked {
            let n = w
                .stored
                .iter()
                .filter(|s| s.pid == pid as i64 && s.epoch == *epoch && s.first_seq == *seq)
                .count();
            assert_eq!(n, 1, "pid {pid} epoch {epoch} seq {seq} in the log {n} times");
        }
    }
}

/// Drops from the clients' acknowledged lists what the crash took from the log (the batches at
/// or past the recovered log end), returning it in the order it was first written, so replaying
/// it takes every producer through the same states again.
fn forget_lost(w: &mut World) -> Vec<(i64, Acked)> {
    let end = w.stored.last().map_or(0, |s| s.last_offset + 1);
    let mut lost = Vec::new();
    for (pid, c) in w.clients.iter_mut().enumerate() {
        lost.extend(c.acked.iter().filter(|a| a.3 >= end).map(|a| (pid as i64, *a)));
        c.acked.retain(|a| a.3 < end);
    }
    lost.sort_by_key(|(_, a)| a.3);
    lost
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn idempotent_appends_match_model_and_acknowledged_batches_appear_once(ops in prop::collection::vec(op(), 1..80)) {
        run(ops);
    }
}

#[test]
fn retry_after_crash_with_batch_on_disk_is_duplicate_with_original_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), config(), 0).expect("open");
    let batch = BatchBuilder::new(2).producer(7, 0, 0).build();
    let first = log.append(&batch, 0).expect("append");
    drop(log); // crash: no snapshot covers the batch, so open rebuilds from the segment
    let mut log = Log::open(dir.path(), config(), 0).expect("reopen");
    let again = log.append(&batch, 0).expect("retry");
    assert!(again.is_duplicate);
    assert_eq!(
        (again.base_offset, again.last_offset),
        (first.base_offset, first.last_offset)
    );
    assert_eq!(log.log_end_offset(), 2, "nothing written twice");
}

#[test]
fn reopen_expires_producers_idle_for_expiration_ms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        producer_id_expiration_ms: 1000,
        ..config()
    };
    let mut log = Log::open(dir.path(), config.clone(), 0).expect("open");
    log.append(&BatchBuilder::new(1).producer(7, 0, 0).build(), 0)
        .expect("append");
    log.close().expect("close");
    let log = Log::open(dir.path(), config.clone(), 999).expect("reopen");
    assert!(log.producer_state().get(7).is_some());
    log.close().expect("close");
    let mut log = Log::open(dir.path(), config, 1000).expect("reopen");
    assert!(log.producer_state().is_empty(), "expired at open");
    // Unknown now: any sequence is accepted.
    let info = log
        .append(&BatchBuilder::new(1).producer(7, 0, 5).build(), 1000)
        .expect("append");
    assert!(!info.is_duplicate);
}

#[test]
fn clean_reopen_loads_snapshot_at_log_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), config(), 0).expect("open");
    for seq in 0..20 {
        log.append(&BatchBuilder::new(1).producer(1, 0, seq).build(), 0)
            .expect("append");
    }
    let state = log.producer_state().clone();
    let end = log.log_end_offset();
    log.close().expect("close");
    assert!(list_snapshots(&crate::OsStorage, dir.path())
        .expect("list")
        .contains(&end));
    let log = Log::open(dir.path(), config(), 0).expect("reopen");
    assert_eq!(log.producer_state(), &state);
}

#[test]
fn open_with_newest_snapshot_torn_rebuilds_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), config(), 0).expect("open");
    for seq in 0..20 {
        log.append(&BatchBuilder::new(1).producer(seq % 3, 0, (seq / 3) as i32).build(), 0)
            .expect("append");
    }
    let state = log.producer_state().clone();
    log.close().expect("close");
    let newest = *list_snapshots(&crate::OsStorage, dir.path())
        .expect("list")
        .last()
        .expect("a snapshot");
    let path = snapshot_path(dir.path(), newest);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("tear");
    let log = Log::open(dir.path(), config(), 0).expect("reopen");
    assert_eq!(
        log.producer_state(),
        &state,
        "rebuilt from the older snapshot and the segments"
    );
}

#[test]
fn open_after_losing_rolled_segments_deletes_snapshots_past_log_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), config(), 0).expect("open");
    for seq in 0..20 {
        log.append(&BatchBuilder::new(1).producer(1, 0, seq).build(), 0)
            .expect("append");
    }
    let first_segment = log.segment_base_offsets()[0];
    assert!(log.segment_count() > 3);
    drop(log); // crash before any flush: nothing is trusted
               // As if the first segment's tail never reached the disk.
    let path = segment_path(dir.path(), first_segment, LOG_SUFFIX);
    let len = std::fs::metadata(&path).expect("stat").len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
    f.set_len(len / 2).expect("cut");
    let mut log = Log::open(dir.path(), config(), 0).expect("reopen");
    let end = log.log_end_offset();
    assert!(end < 20);
    let snapshots = list_snapshots(&crate::OsStorage, dir.path()).expect("list");
    assert!(
        snapshots.iter().all(|o| *o <= end),
        "stale snapshots deleted: {snapshots:?} end {end}"
    );
    // The lost batches were never acknowledged; their retries are written, in sequence.
    let retry = log
        .append(&BatchBuilder::new(1).producer(1, 0, end as i32).build(), 0)
        .expect("retry");
    assert!(!retry.is_duplicate);
    assert_eq!(retry.base_offset, end);
}
