//! Unit tests of the transaction coordinator, with a manual clock and a counting id allocator.

use super::*;

const TIMEOUT_MS: i32 = 60_000;

fn tp(t: &str, p: i32) -> (String, i32) {
    (t.to_string(), p)
}

fn offset(group: &str, partition: i32, offset: i64) -> PendingOffset {
    PendingOffset {
        group_id: group.into(),
        topic: "in".into(),
        partition,
        offset,
        leader_epoch: -1,
        metadata: String::new(),
    }
}

fn init(c: &mut TxnCoordinator, tid: &str, next_id: i64) -> (i64, i16) {
    let mut out = Vec::new();
    match c.init_producer_id(tid, TIMEOUT_MS, None, || Some(next_id), 0, &mut out) {
        Ok(InitResult::Ready {
            producer_id,
            producer_epoch,
        }) => (producer_id, producer_epoch),
        other => panic!("init: {other:?}"),
    }
}

#[test]
fn init_new_id_allocates_then_reinit_bumps_epoch_and_keeps_id() {
    let mut c = TxnCoordinator::default();
    assert_eq!(init(&mut c, "t", 7), (7, 0));
    assert_eq!(init(&mut c, "t", 99), (7, 1), "no new id for a known transactional id");
    let mut out = Vec::new();
    assert_eq!(
        c.init_producer_id("", TIMEOUT_MS, None, || Some(1), 0, &mut out),
        Err(TxnError::InvalidRequest("empty transactional id"))
    );
}

#[test]
fn init_timeout_above_max_is_invalid_and_exactly_max_passes() {
    let mut c = TxnCoordinator::new(TxnLimits {
        max_timeout_ms: 1000,
        ..TxnLimits::default()
    });
    let mut out = Vec::new();
    assert!(c.init_producer_id("t", 1000, None, || Some(1), 0, &mut out).is_ok());
    assert_eq!(
        c.init_producer_id("t", 1001, None, || Some(1), 0, &mut out),
        Err(TxnError::InvalidTransactionTimeout {
            timeout_ms: 1001,
            max_ms: 1000
        })
    );
}

#[test]
fn commit_makes_offsets_part_of_completion_and_completes() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_partitions("t", pid, epoch, &[tp("out", 0), tp("out", 1)], 10, &mut out)
        .expect("add");
    c.add_offsets("t", pid, epoch, "g", 11, &mut out).expect("add offsets");
    c.commit_offsets("t", pid, epoch, vec![offset("g", 0, 5), offset("g", 0, 6)], 0, &mut out)
        .expect("commit offsets");
    assert_eq!(c.get("t").expect("t").status, TxnStatus::Ongoing);
    assert_eq!(c.get("t").expect("t").start_ms, 10);
    let EndResult::Complete(done) = c.end_txn("t", pid, epoch, true, 0, &mut out).expect("end") else {
        panic!("expected a completion");
    };
    assert!(done.commit);
    assert_eq!(done.partitions, vec![tp("out", 0), tp("out", 1)]);
    assert_eq!(
        done.offsets,
        vec![offset("g", 0, 6)],
        "the later offset of a partition wins"
    );
    assert_eq!(c.get("t").expect("t").status, TxnStatus::PrepareCommit);
    assert_eq!(
        c.add_partitions("t", pid, epoch, &[tp("out", 0)], 12, &mut out),
        Err(TxnError::ConcurrentTransactions)
    );
    c.complete(&done, 0, &mut out);
    assert_eq!(c.get("t").expect("t").status, TxnStatus::CompleteCommit);
    assert_eq!(
        c.end_txn("t", pid, epoch, true, 0, &mut out),
        Ok(EndResult::AlreadyDone),
        "a retried EndTxn is answered"
    );
    assert!(matches!(
        c.end_txn("t", pid, epoch, false, 0, &mut out),
        Err(TxnError::InvalidTxnState(_))
    ));
    // Every change was handed out as a record, the last one the completed state.
    assert_eq!(out.last(), c.get("t"));
}

#[test]
fn abort_discards_pending_offsets() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_offsets("t", pid, epoch, "g", 0, &mut out).expect("add offsets");
    c.commit_offsets("t", pid, epoch, vec![offset("g", 0, 5)], 0, &mut out)
        .expect("commit offsets");
    let EndResult::Complete(done) = c.end_txn("t", pid, epoch, false, 0, &mut out).expect("end") else {
        panic!("expected a completion");
    };
    assert!(!done.commit && done.offsets.is_empty());
}

#[test]
fn commit_offsets_of_group_not_added_is_invalid_txn_state() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_partitions("t", pid, epoch, &[tp("out", 0)], 0, &mut out)
        .expect("add");
    assert!(matches!(
        c.commit_offsets("t", pid, epoch, vec![offset("g", 0, 5)], 0, &mut out),
        Err(TxnError::InvalidTxnState(_))
    ));
}

#[test]
fn second_init_fences_first_and_aborts_its_open_transaction_first() {
    let mut c = TxnCoordinator::default();
    let (pid, old) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_partitions("t", pid, old, &[tp("out", 0)], 0, &mut out)
        .expect("add");
    let InitResult::AbortFirst(abort) = c
        .init_producer_id("t", TIMEOUT_MS, None, || Some(2), 0, &mut out)
        .expect("init")
    else {
        panic!("expected the open transaction to be aborted first");
    };
    assert!(!abort.commit);
    assert_eq!(
        (abort.producer_id, abort.producer_epoch),
        (pid, old + 1),
        "markers carry the bumped epoch"
    );
    assert_eq!(abort.partitions, vec![tp("out", 0)]);
    assert_eq!(
        c.init_producer_id("t", TIMEOUT_MS, None, || Some(2), 0, &mut out),
        Err(TxnError::ConcurrentTransactions)
    );
    c.complete(&abort, 0, &mut out);
    assert_eq!(init(&mut c, "t", 2), (pid, old + 2));
    // The first producer's requests are fenced from now on.
    assert_eq!(
        c.end_txn("t", pid, old, true, 0, &mut out),
        Err(TxnError::ProducerFenced {
            epoch: old,
            current: old + 2
        })
    );
    assert_eq!(
        c.add_partitions("t", pid + 5, old + 2, &[tp("out", 0)], 0, &mut out),
        Err(TxnError::InvalidProducerIdMapping)
    );
}

#[test]
fn expire_aborts_only_transactions_past_their_timeout_with_bumped_epoch() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    init(&mut c, "idle", 2);
    let mut out = Vec::new();
    c.add_partitions("t", pid, epoch, &[tp("out", 0)], 1000, &mut out)
        .expect("add");
    assert!(
        c.expire(1000 + i64::from(TIMEOUT_MS), &mut out).is_empty(),
        "exactly the timeout is not past it"
    );
    let due = c.expire(1001 + i64::from(TIMEOUT_MS), &mut out);
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].transactional_id.as_str(), due[0].producer_epoch),
        ("t", epoch + 1)
    );
    assert_eq!(c.get("t").expect("t").status, TxnStatus::PrepareAbort);
    assert!(matches!(
        c.end_txn("t", pid, epoch, true, 0, &mut out),
        Err(TxnError::ProducerFenced { .. })
    ));
}

#[test]
fn epoch_exhausted_reinit_allocates_new_producer_id() {
    let mut c = TxnCoordinator::default();
    init(&mut c, "t", 1);
    let mut meta = c.get("t").expect("t").clone();
    meta.producer_epoch = i16::MAX - 1;
    c.replay(meta);
    assert_eq!(init(&mut c, "t", 42), (42, 0));
}

#[test]
fn add_partitions_past_limit_adds_none_and_exactly_limit_passes() {
    let mut c = TxnCoordinator::new(TxnLimits {
        max_partitions_per_txn: 2,
        ..TxnLimits::default()
    });
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_partitions("t", pid, epoch, &[tp("a", 0), tp("a", 1)], 0, &mut out)
        .expect("exactly the limit");
    assert_eq!(
        c.add_partitions("t", pid, epoch, &[tp("a", 2)], 0, &mut out),
        Err(TxnError::PartitionLimit(2))
    );
    assert_eq!(c.get("t").expect("t").partitions.len(), 2);
}

#[test]
fn transactional_id_limit_refuses_new_ids_only() {
    let mut c = TxnCoordinator::new(TxnLimits {
        max_transactional_ids: 1,
        ..TxnLimits::default()
    });
    init(&mut c, "a", 1);
    let mut out = Vec::new();
    assert_eq!(
        c.init_producer_id("b", TIMEOUT_MS, None, || Some(2), 0, &mut out),
        Err(TxnError::TransactionalIdLimit(1))
    );
    assert_eq!(init(&mut c, "a", 3), (1, 1));
}

#[test]
fn records_round_trip_and_replay_yields_pending_completions() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    c.add_partitions("t", pid, epoch, &[tp("out", 3)], 5, &mut out)
        .expect("add");
    c.add_offsets("t", pid, epoch, "g", 5, &mut out).expect("add offsets");
    c.commit_offsets("t", pid, epoch, vec![offset("g", 1, 9)], 0, &mut out)
        .expect("offsets");
    c.end_txn("t", pid, epoch, true, 0, &mut out).expect("end");
    let mut replayed = TxnCoordinator::default();
    for m in &out {
        let (k, v) = (m.record_key(), m.record_value());
        let back = TxnMetadata::decode_record(Some(&k), Some(&v))
            .expect("decode")
            .expect("not a tombstone");
        assert_eq!(&back, m);
        replayed.replay(back);
    }
    assert_eq!(replayed.pending_completions(), c.pending_completions());
    let pending = replayed.pending_completions();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].commit && pending[0].offsets == vec![offset("g", 1, 9)]);
    // Truncated values are refused, never panic.
    let v = out[1].record_value();
    for cut in 0..v.len() {
        let short = v.slice(..cut);
        assert!(TxnMetadata::decode_record(Some(&out[1].record_key()), Some(&short)).is_err());
    }
}

#[test]
fn apply_txn_offsets_commits_to_groups_and_validate_checks_generation() {
    use crate::{Committer, Effects, GroupCoordinator, GroupLimits};
    let mut g = GroupCoordinator::new(GroupLimits::default());
    assert!(g.validate_txn_commit(&Committer::new("new", "", None, -1)).is_ok());
    let mut fx = Effects::default();
    let refused = g.apply_txn_offsets(&[offset("g", 0, 5), offset("h", 1, 7)], 0, &mut fx);
    assert!(refused.is_empty());
    assert_eq!(fx.records.len(), 2);
    let got = g.fetch_offsets("g", Some(&[("in".to_string(), vec![0])]));
    assert_eq!(got[0].2.as_ref().map(|o| o.offset), Some(5));
    // The group now exists (Empty); a commit naming a generation of a member it lacks is refused.
    assert!(g.validate_txn_commit(&Committer::new("g", "ghost", None, 3)).is_err());
}

#[test]
fn verify_partition_only_in_ongoing_transaction_holding_it_at_current_epoch() {
    let mut c = TxnCoordinator::default();
    let (pid, epoch) = init(&mut c, "t", 1);
    let mut out = Vec::new();
    assert!(matches!(
        c.verify_partition(pid, epoch, "out", 0),
        Err(TxnError::InvalidTxnState(_))
    ));
    c.add_partitions("t", pid, epoch, &[tp("out", 0)], 0, &mut out)
        .expect("add");
    assert_eq!(c.verify_partition(pid, epoch, "out", 0), Ok(()));
    assert!(matches!(
        c.verify_partition(pid, epoch, "out", 1),
        Err(TxnError::InvalidTxnState(_))
    ));
    assert_eq!(
        c.verify_partition(pid + 1, epoch, "out", 0),
        Err(TxnError::InvalidProducerIdMapping)
    );
    let EndResult::Complete(done) = c.end_txn("t", pid, epoch, true, 0, &mut out).expect("end") else {
        panic!("expected a completion");
    };
    c.complete(&done, 0, &mut out);
    assert!(
        matches!(
            c.verify_partition(pid, epoch, "out", 0),
            Err(TxnError::InvalidTxnState(_))
        ),
        "after the transaction ended"
    );
    init(&mut c, "t", 1);
    assert!(matches!(
        c.verify_partition(pid, epoch, "out", 0),
        Err(TxnError::ProducerFenced { .. })
    ));
    // Replay rebuilds the producer id index.
    let mut replayed = TxnCoordinator::default();
    for m in out.into_iter().chain(c.get("t").cloned()) {
        replayed.replay(m);
    }
    assert!(matches!(
        replayed.verify_partition(pid, epoch + 1, "out", 0),
        Err(TxnError::InvalidTxnState(_))
    ));
}

#[test]
fn expire_ids_forgets_only_idle_ids_without_open_transaction() {
    let mut c = TxnCoordinator::new(TxnLimits {
        transactional_id_expiration_ms: 1000,
        ..TxnLimits::default()
    });
    let mut out = Vec::new();
    let ready = |r| matches!(r, Ok(InitResult::Ready { .. }));
    assert!(ready(c.init_producer_id(
        "idle",
        TIMEOUT_MS,
        None,
        || Some(1),
        0,
        &mut out
    )));
    assert!(ready(c.init_producer_id(
        "busy",
        TIMEOUT_MS,
        None,
        || Some(2),
        0,
        &mut out
    )));
    c.add_partitions("busy", 2, 0, &[tp("out", 0)], 500, &mut out)
        .expect("add");
    assert!(c.expire_ids(999).is_empty(), "not yet idle for the expiration");
    assert_eq!(c.expire_ids(1000), vec!["idle".to_string()], "exactly the expiration");
    assert!(
        c.get("idle").is_none() && c.get("busy").is_some(),
        "an open transaction keeps its id"
    );
    assert_eq!(
        c.verify_partition(1, 0, "out", 0),
        Err(TxnError::InvalidProducerIdMapping)
    );
    // The tombstone's key is the id's record key, with no value.
    let key = crate::txn_record_key("idle");
    assert_eq!(
        TxnMetadata::decode_record(Some(&key), None),
        Ok(Err("idle".to_string()))
    );
    // A returning producer gets a fresh producer id.
    assert_eq!(init(&mut c, "idle", 9), (9, 0));
}
