use bytes::Bytes;

use super::*;
use crate::{GroupState, Record};

#[test]
fn join_single_member_completes_at_once_as_leader() {
    let mut c = coordinator();
    let fx = join(&mut c, params("", "m1", 7), 0).expect("join");
    let r = joined(&fx, 7).expect("ok");
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader, "m1");
    assert_eq!(r.member_id, "m1");
    assert_eq!(r.protocol_name, "range");
    assert_eq!(r.protocol_type, "consumer");
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, Bytes::from_static(b"r"));
    assert_eq!(c.describe_group("g").expect("g").state, GroupState::CompletingRebalance);
}

#[test]
fn join_v4_without_member_id_requires_member_id_then_accepts_it() {
    let mut c = coordinator();
    let mut p = params("", "gen-id", 1);
    p.require_known_member_id = true;
    let err = join(&mut c, p.clone(), 0).expect_err("KIP-394");
    assert_eq!(
        err,
        GroupError::MemberIdRequired {
            member_id: "gen-id".into()
        }
    );
    p.member_id = "gen-id".into();
    p.waiter = 2;
    let fx = join(&mut c, p, 0).expect("rejoin");
    assert_eq!(joined(&fx, 2).expect("ok").member_id, "gen-id");
}

#[test]
fn pending_member_id_expires_after_session_timeout() {
    let mut c = coordinator();
    let mut p = params("", "gen-id", 1);
    p.require_known_member_id = true;
    join(&mut c, p.clone(), 0).expect_err("member id required");
    let mut fx = Effects::default();
    c.tick(i64::from(SESSION_MS), &mut fx);
    p.member_id = "gen-id".into();
    assert_eq!(join(&mut c, p, 1).expect_err("expired"), GroupError::UnknownMemberId);
}

#[test]
fn full_cycle_two_members_stable_then_heartbeats_ok() {
    let mut c = coordinator();
    stable_pair(&mut c);
    assert_eq!(c.describe_group("g").expect("g").state, GroupState::Stable);
    assert_eq!(c.heartbeat("g", "m1", None, 2, 100), Ok(()));
    assert_eq!(c.heartbeat("g", "m2", None, 1, 100), Err(GroupError::IllegalGeneration));
    assert_eq!(
        c.heartbeat("g", "nobody", None, 2, 100),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.heartbeat("other", "m1", None, 2, 100),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn leader_sync_writes_group_snapshot_record() {
    let mut c = coordinator();
    join(&mut c, params("", "m1", 1), 0).expect("join");
    let fx = sync(&mut c, sync_params("m1", 1, &[("m1", "a")], 2), 0).expect("sync");
    let [Record::Group {
        group_id,
        snapshot: Some(s),
    }] = &fx.records[..]
    else {
        panic!("one group record expected: {:?}", fx.records);
    };
    assert_eq!(group_id, "g");
    assert_eq!(
        (s.generation_id, s.protocol_name.as_deref(), s.leader.as_deref()),
        (1, Some("range"), Some("m1"))
    );
    assert_eq!(s.members[0].assignment, Bytes::from_static(b"a"));
}

#[test]
fn heartbeat_during_rebalance_returns_rebalance_in_progress() {
    let mut c = coordinator();
    stable_pair(&mut c);
    join(&mut c, params("", "m3", 9), 10).expect("m3 joins");
    assert_eq!(
        c.heartbeat("g", "m2", None, 2, 20),
        Err(GroupError::RebalanceInProgress)
    );
    assert_eq!(
        sync(&mut c, sync_params("m2", 2, &[], 10), 20).expect_err("preparing"),
        GroupError::RebalanceInProgress
    );
}

#[test]
fn rebalance_timeout_drops_members_that_did_not_rejoin() {
    let mut c = coordinator();
    stable_pair(&mut c);
    // m1 rejoins (leader rejoin forces a rebalance); m2 keeps heartbeating but never rejoins.
    join(&mut c, params("m1", "x", 10), 1_000).expect("m1 rejoins");
    let mut fx = Effects::default();
    let deadline = 1_000 + i64::from(REBALANCE_MS);
    for now in (2_000..deadline).step_by(5_000) {
        assert_eq!(
            c.heartbeat("g", "m2", None, 2, now),
            Err(GroupError::RebalanceInProgress)
        );
        c.tick(now, &mut fx);
    }
    c.tick(deadline - 1, &mut fx);
    assert!(fx.joins.is_empty());
    c.tick(1_000 + i64::from(REBALANCE_MS), &mut fx);
    let r = joined(&fx, 10).expect("completed");
    assert_eq!((r.generation_id, r.members.len()), (3, 1));
    assert_eq!(
        c.heartbeat("g", "m2", None, 3, 31_001),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn session_expiry_removes_member_and_rebalances() {
    let mut c = coordinator();
    stable_pair(&mut c);
    c.heartbeat("g", "m1", None, 2, 5_000).expect("m1 alive");
    let mut fx = Effects::default();
    c.tick(i64::from(SESSION_MS) - 1, &mut fx);
    assert_eq!(c.describe_group("g").expect("g").members.len(), 2);
    c.tick(i64::from(SESSION_MS), &mut fx);
    let d = c.describe_group("g").expect("g");
    assert_eq!(d.state, GroupState::PreparingRebalance);
    assert_eq!(d.members.len(), 1);
    assert_eq!(
        c.heartbeat("g", "m2", None, 2, 10_001),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.heartbeat("g", "m1", None, 2, 10_001),
        Err(GroupError::RebalanceInProgress)
    );
}

#[test]
fn leave_last_member_makes_group_empty_with_new_generation() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let mut fx = Effects::default();
    let r = c.leave(
        "g",
        &[("m1".into(), None), ("m2".into(), None), ("zz".into(), None)],
        0,
        &mut fx,
    );
    assert_eq!(r, vec![Ok(()), Ok(()), Err(GroupError::UnknownMemberId)]);
    let d = c.describe_group("g").expect("g");
    assert_eq!((d.state, d.members.len()), (GroupState::Empty, 0));
    let last = fx.records.last().expect("empty snapshot");
    assert!(matches!(last, Record::Group { snapshot: Some(s), .. } if s.generation_id == 3 && s.members.is_empty()));
}

#[test]
fn leave_unknown_group_is_unknown_member_per_member() {
    let mut c = coordinator();
    let mut fx = Effects::default();
    assert_eq!(
        c.leave("nope", &[("a".into(), None)], 0, &mut fx),
        vec![Err(GroupError::UnknownMemberId)]
    );
}

#[test]
fn join_with_other_protocol_type_is_inconsistent() {
    let mut c = coordinator();
    join(&mut c, params("", "m1", 1), 0).expect("m1");
    let mut p = params("", "m2", 2);
    p.protocol_type = "connect".into();
    assert_eq!(
        join(&mut c, p, 0).expect_err("type"),
        GroupError::InconsistentGroupProtocol
    );
    let mut p = params("", "m3", 3);
    p.protocols = vec![("sticky".into(), Bytes::new())];
    assert_eq!(
        join(&mut c, p, 0).expect_err("no common"),
        GroupError::InconsistentGroupProtocol
    );
    let mut p = params("", "m4", 4);
    p.protocols.clear();
    assert_eq!(
        join(&mut c, p, 0).expect_err("empty"),
        GroupError::InconsistentGroupProtocol
    );
}

#[test]
fn protocol_selection_takes_most_first_choices_among_common() {
    let mut c = coordinator();
    let mut a = params("", "m1", 1);
    a.protocols = vec![("range".into(), Bytes::new()), ("rr".into(), Bytes::new())];
    join(&mut c, a, 0).expect("m1");
    for (id, w) in [("m2", 2), ("m3", 3)] {
        let mut p = params("", id, w);
        p.protocols = vec![("rr".into(), Bytes::new()), ("range".into(), Bytes::new())];
        join(&mut c, p, 0).expect("join");
    }
    let mut p = params("m1", "x", 4);
    p.protocols = vec![("range".into(), Bytes::new()), ("rr".into(), Bytes::new())];
    let fx = join(&mut c, p, 0).expect("m1 rejoin");
    assert_eq!(joined(&fx, 4).expect("ok").protocol_name, "rr");
}

#[test]
fn sync_with_wrong_generation_or_protocol_is_refused() {
    let mut c = coordinator();
    join(&mut c, params("", "m1", 1), 0).expect("m1");
    assert_eq!(
        sync(&mut c, sync_params("m1", 5, &[], 2), 0).expect_err("gen"),
        GroupError::IllegalGeneration
    );
    let mut p = sync_params("m1", 1, &[], 3);
    p.protocol_name = Some("roundrobin".into());
    assert_eq!(
        sync(&mut c, p, 0).expect_err("name"),
        GroupError::InconsistentGroupProtocol
    );
    assert_eq!(
        sync(&mut c, sync_params("m9", 1, &[], 4), 0).expect_err("member"),
        GroupError::UnknownMemberId
    );
}

#[test]
fn sync_phase_timeout_removes_members_that_never_synced() {
    let mut c = coordinator();
    join(&mut c, params("", "m1", 1), 0).expect("m1");
    join(&mut c, params("", "m2", 2), 0).expect("m2");
    join(&mut c, params("m1", "x", 3), 0).expect("m1 rejoin");
    sync(&mut c, sync_params("m2", 2, &[], 4), 0).expect("m2 parks");
    let mut fx = Effects::default();
    c.tick(i64::from(REBALANCE_MS), &mut fx);
    // The leader never synced: it is removed and the parked follower is told to rejoin.
    assert_eq!(synced(&fx, 4), Err(GroupError::RebalanceInProgress));
    let d = c.describe_group("g").expect("g");
    assert_eq!(
        d.members.iter().map(|m| m.member_id.as_str()).collect::<Vec<_>>(),
        vec!["m2"]
    );
}

#[test]
fn stable_follower_rejoin_unchanged_returns_current_generation() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let fx = join(&mut c, params("m2", "x", 20), 0).expect("m2 rejoin");
    let r = joined(&fx, 20).expect("ok");
    assert_eq!((r.generation_id, r.leader.as_str(), r.members.len()), (2, "m1", 0));
    assert_eq!(c.describe_group("g").expect("g").state, GroupState::Stable);
}

#[test]
fn fail_all_waiters_answers_parked_joins() {
    let mut c = coordinator();
    stable_pair(&mut c);
    join(&mut c, params("", "m3", 9), 0).expect("m3 parks");
    let mut fx = Effects::default();
    c.fail_all_waiters(&mut fx);
    assert_eq!(joined(&fx, 9), Err(GroupError::CoordinatorNotAvailable));
}
