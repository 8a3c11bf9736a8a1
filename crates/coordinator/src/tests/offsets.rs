use super::*;
use crate::Committer;
use crate::{CommittedOffset, GroupState, OffsetCommit, Record};

fn commit(topic: &str, partition: i32, offset: i64, metadata: &str) -> OffsetCommit {
    OffsetCommit {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: -1,
        metadata: metadata.into(),
    }
}

#[test]
fn standalone_commit_creates_group_and_fetch_returns_it() {
    let mut c = coordinator();
    let mut fx = Effects::default();
    let r = c.commit_offsets(
        &Committer::new("g", "", None, -1),
        vec![commit("t", 0, 42, "meta")],
        1234,
        &mut fx,
    );
    assert_eq!(r, Ok(vec![Ok(())]));
    assert_eq!(fx.records.len(), 1);
    let want = CommittedOffset {
        offset: 42,
        leader_epoch: -1,
        metadata: "meta".into(),
        commit_timestamp_ms: 1234,
    };
    assert_eq!(
        c.fetch_offsets("g", Some(&[("t".into(), vec![0, 1])])),
        vec![("t".into(), 0, Some(want.clone())), ("t".into(), 1, None)]
    );
    assert_eq!(c.fetch_offsets("g", None), vec![("t".into(), 0, Some(want))]);
    assert_eq!(c.describe_group("g").expect("g").state, GroupState::Empty);
}

#[test]
fn commit_to_unknown_group_with_generation_is_illegal_generation() {
    let mut c = coordinator();
    let mut fx = Effects::default();
    assert_eq!(
        c.commit_offsets(
            &Committer::new("g", "m", None, 3),
            vec![commit("t", 0, 1, "")],
            0,
            &mut fx
        ),
        Err(GroupError::IllegalGeneration)
    );
}

#[test]
fn member_commit_checks_member_and_generation() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let mut fx = Effects::default();
    let one = || vec![commit("t", 0, 5, "")];
    assert_eq!(
        c.commit_offsets(&Committer::new("g", "m1", None, 2), one(), 0, &mut fx),
        Ok(vec![Ok(())])
    );
    assert_eq!(
        c.commit_offsets(&Committer::new("g", "m1", None, 1), one(), 0, &mut fx),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        c.commit_offsets(&Committer::new("g", "zz", None, 2), one(), 0, &mut fx),
        Err(GroupError::UnknownMemberId)
    );
    // A standalone consumer must not overwrite a live group's progress.
    assert_eq!(
        c.commit_offsets(&Committer::new("g", "", None, -1), one(), 0, &mut fx),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn commit_during_completing_rebalance_is_rebalance_in_progress() {
    let mut c = coordinator();
    join(&mut c, params("", "m1", 1), 0).expect("join");
    let mut fx = Effects::default();
    assert_eq!(
        c.commit_offsets(
            &Committer::new("g", "m1", None, 1),
            vec![commit("t", 0, 1, "")],
            0,
            &mut fx
        ),
        Err(GroupError::RebalanceInProgress)
    );
}

#[test]
fn delete_group_with_members_is_non_empty_and_empty_one_is_tombstoned() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let mut fx = Effects::default();
    assert_eq!(c.delete_group("g", &mut fx), Err(GroupError::NonEmptyGroup));
    assert_eq!(c.delete_group("nope", &mut fx), Err(GroupError::GroupIdNotFound));
    let mut c = coordinator();
    c.commit_offsets(
        &Committer::new("g", "", None, -1),
        vec![commit("t", 0, 1, ""), commit("t", 1, 2, "")],
        0,
        &mut fx,
    )
    .expect("commit");
    let mut fx = Effects::default();
    assert_eq!(c.delete_group("g", &mut fx), Ok(()));
    assert_eq!(fx.records.len(), 3);
    assert!(fx.records.iter().all(|r| r.value().is_none()), "tombstones");
    assert!(matches!(fx.records[2], Record::Group { snapshot: None, .. }));
    assert!(c.describe_group("g").is_none());
}

#[test]
fn offset_delete_refuses_subscribed_topic_of_live_group() {
    let mut c = coordinator();
    // A consumer-protocol subscription (version 0) to topic "t".
    let mut sub = vec![0u8, 0, 0, 0, 0, 1, 0, 1, b't'];
    sub.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    let mut p = params("", "m1", 1);
    p.protocols = vec![("range".into(), bytes::Bytes::from(sub))];
    join(&mut c, p, 0).expect("join");
    let mut fx = Effects::default();
    c.commit_offsets(&Committer::new("g", "m1", None, 1), vec![], 0, &mut fx)
        .expect_err("completing");
    sync(&mut c, sync_params("m1", 1, &[], 2), 0).expect("sync");
    c.commit_offsets(
        &Committer::new("g", "m1", None, 1),
        vec![commit("t", 0, 1, ""), commit("u", 0, 1, "")],
        0,
        &mut fx,
    )
    .expect("commit");
    let mut fx = Effects::default();
    let r = c.delete_offsets("g", &[("t".into(), 0), ("u".into(), 0)], &mut fx);
    assert_eq!(r, Ok(vec![Err(GroupError::GroupSubscribedToTopic), Ok(())]));
    assert_eq!(fx.records.len(), 1);
    assert_eq!(c.fetch_offsets("g", None).len(), 1);
}

#[test]
fn list_groups_filters_by_state_case_insensitively() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let mut fx = Effects::default();
    c.commit_offsets(
        &Committer::new("solo", "", None, -1),
        vec![commit("t", 0, 1, "")],
        0,
        &mut fx,
    )
    .expect("commit");
    let all = c.list_groups(&[]);
    assert_eq!(
        all.iter().map(|g| g.group_id.as_str()).collect::<Vec<_>>(),
        vec!["g", "solo"]
    );
    let stable = c.list_groups(&["stable".into()]);
    assert_eq!(stable.len(), 1);
    assert_eq!(
        (stable[0].group_id.as_str(), stable[0].protocol_type.as_str()),
        ("g", "consumer")
    );
}

#[test]
fn replay_of_delete_group_tombstones_forgets_group() {
    let mut c = coordinator();
    let mut fx = Effects::default();
    c.commit_offsets(
        &Committer::new("g", "", None, -1),
        vec![commit("t", 0, 1, "")],
        0,
        &mut fx,
    )
    .expect("commit");
    c.delete_group("g", &mut fx).expect("delete");
    let mut d = coordinator();
    for r in fx.records {
        d.replay(r, 0);
    }
    d.finish_replay();
    assert_eq!(d.group_count(), 0);
    assert!(d.fetch_offsets("g", None).is_empty());
}

#[test]
fn replay_rebuilds_offsets_and_stable_members() {
    let mut c = coordinator();
    stable_pair(&mut c);
    let mut fx = Effects::default();
    c.commit_offsets(
        &Committer::new("g", "m1", None, 2),
        vec![commit("t", 0, 9, "x")],
        0,
        &mut fx,
    )
    .expect("commit");
    // The log as a one-member group's leader sync, then that commit, would have written it.
    let mut d = coordinator();
    let mut all = Effects::default();
    join(&mut d, params("", "m1", 1), 0).expect("join");
    let leader = sync(&mut d, sync_params("m1", 1, &[("m1", "a1")], 2), 0).expect("sync");
    all.records.extend(leader.records);
    all.records.extend(fx.records);
    let mut e = coordinator();
    for r in all.records {
        e.replay(r, 50_000);
    }
    e.finish_replay();
    let desc = e.describe_group("g").expect("restored");
    assert_eq!((desc.state, desc.members.len()), (GroupState::Stable, 1));
    assert_eq!(e.fetch_offsets("g", None)[0].2.as_ref().map(|o| o.offset), Some(9));
    // A restored member heartbeats on; one that is gone expires after its session.
    assert_eq!(e.heartbeat("g", "m1", None, 1, 50_001), Ok(()));
    let mut fx = Effects::default();
    e.tick(50_001 + i64::from(SESSION_MS), &mut fx);
    assert_eq!(e.describe_group("g").expect("g").state, GroupState::Empty);
}

#[test]
fn committed_offsets_lists_every_group_sorted_by_group_topic_partition() {
    let mut c = coordinator();
    let mut fx = Effects::default();
    let standalone = |g| Committer::new(g, "", None, -1);
    let r = c.commit_offsets(
        &standalone("b"),
        vec![commit("t", 1, 7, ""), commit("s", 0, 3, "")],
        0,
        &mut fx,
    );
    assert_eq!(r, Ok(vec![Ok(()), Ok(())]));
    let r = c.commit_offsets(&standalone("a"), vec![commit("t", 0, 5, "")], 0, &mut fx);
    assert_eq!(r, Ok(vec![Ok(())]));
    assert_eq!(
        c.committed_offsets().collect::<Vec<_>>(),
        vec![("a", "t", 0, 5), ("b", "s", 0, 3), ("b", "t", 1, 7)]
    );
}
