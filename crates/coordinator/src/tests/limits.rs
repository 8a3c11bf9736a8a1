use super::*;
use crate::Committer;
use crate::OffsetCommit;

fn limited(f: impl FnOnce(&mut GroupLimits)) -> GroupCoordinator {
    let mut l = GroupLimits::default();
    f(&mut l);
    GroupCoordinator::new(l)
}

#[test]
fn max_members_per_group_admits_exactly_the_max() {
    let mut c = limited(|l| l.max_members_per_group = 2);
    join(&mut c, params("", "m1", 1), 0).expect("1st");
    join(&mut c, params("", "m2", 2), 0).expect("2nd");
    assert_eq!(
        join(&mut c, params("", "m3", 3), 0).expect_err("3rd"),
        GroupError::GroupMaxSizeReached(2)
    );
}

#[test]
fn max_members_counts_pending_member_ids() {
    let mut c = limited(|l| l.max_members_per_group = 1);
    let mut p = params("", "m1", 1);
    p.require_known_member_id = true;
    join(&mut c, p.clone(), 0).expect_err("member id required");
    p.new_member_id = "m2".into();
    assert_eq!(
        join(&mut c, p, 0).expect_err("full"),
        GroupError::GroupMaxSizeReached(1)
    );
}

#[test]
fn max_groups_admits_exactly_the_max() {
    let mut c = limited(|l| l.max_groups = 2);
    for (g, w) in [("g1", 1), ("g2", 2)] {
        let mut p = params("", "m", w);
        p.group_id = g.into();
        join(&mut c, p, 0).expect("within limit");
    }
    let mut p = params("", "m", 3);
    p.group_id = "g3".into();
    assert_eq!(join(&mut c, p, 0).expect_err("over"), GroupError::GroupLimitReached(2));
    let mut fx = Effects::default();
    assert_eq!(
        c.commit_offsets(&Committer::new("g4", "", None, -1), vec![], 0, &mut fx),
        Err(GroupError::GroupLimitReached(2))
    );
}

fn commit(partition: i32, metadata: &str) -> OffsetCommit {
    OffsetCommit {
        topic: "t".into(),
        partition,
        offset: 1,
        leader_epoch: -1,
        metadata: metadata.into(),
    }
}

#[test]
fn max_offsets_per_group_admits_exactly_the_max_and_recommits() {
    let mut c = limited(|l| l.max_offsets_per_group = 2);
    let mut fx = Effects::default();
    let r = c.commit_offsets(
        &Committer::new("g", "", None, -1),
        vec![commit(0, ""), commit(1, ""), commit(2, "")],
        0,
        &mut fx,
    );
    assert_eq!(r, Ok(vec![Ok(()), Ok(()), Err(GroupError::OffsetLimitReached(2))]));
    let r = c.commit_offsets(&Committer::new("g", "", None, -1), vec![commit(1, "again")], 0, &mut fx);
    assert_eq!(r, Ok(vec![Ok(())]));
}

#[test]
fn offset_metadata_of_exactly_the_max_is_accepted() {
    let mut c = limited(|l| l.max_offset_metadata_bytes = 4);
    let mut fx = Effects::default();
    let r = c.commit_offsets(
        &Committer::new("g", "", None, -1),
        vec![commit(0, "abcd"), commit(1, "abcde")],
        0,
        &mut fx,
    );
    assert_eq!(
        r,
        Ok(vec![Ok(()), Err(GroupError::OffsetMetadataTooLarge { len: 5, max: 4 })])
    );
}

#[test]
fn session_timeout_bounds_are_inclusive() {
    let mut c = limited(|l| {
        l.min_session_timeout_ms = 100;
        l.max_session_timeout_ms = 200;
    });
    for (t, ok) in [(99, false), (100, true), (200, true), (201, false)] {
        let mut p = params("", &format!("m{t}"), t as u64);
        p.session_timeout_ms = t;
        let r = join(&mut c, p, 0);
        assert_eq!(r.is_ok(), ok, "session timeout {t}");
        if !ok {
            assert_eq!(r.expect_err("bound"), GroupError::InvalidSessionTimeout(t));
        }
    }
}

#[test]
fn empty_group_id_is_invalid() {
    let mut c = coordinator();
    let mut p = params("", "m", 1);
    p.group_id = String::new();
    assert_eq!(join(&mut c, p, 0).expect_err("empty"), GroupError::InvalidGroupId);
}
