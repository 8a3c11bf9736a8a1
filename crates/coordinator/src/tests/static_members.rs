use super::*;
use crate::GroupState;

fn static_params(member_id: &str, new_id: &str, instance: &str, waiter: u64) -> JoinParams {
    let mut p = params(member_id, new_id, waiter);
    p.group_instance_id = Some(instance.into());
    p.require_known_member_id = true;
    p
}

/// One static member "i1" as "s1", Stable in generation 1.
fn stable_static(c: &mut GroupCoordinator) {
    let fx = join(c, static_params("", "s1", "i1", 1), 0).expect("static joins without KIP-394");
    assert_eq!(joined(&fx, 1).expect("ok").member_id, "s1");
    sync(c, sync_params("s1", 1, &[("s1", "a")], 2), 0).expect("sync");
}

#[test]
fn static_rejoin_when_stable_replaces_member_id_without_rebalance() {
    let mut c = coordinator();
    stable_static(&mut c);
    let fx = join(&mut c, static_params("", "s2", "i1", 3), 100).expect("rejoin");
    let r = joined(&fx, 3).expect("ok");
    assert_eq!(
        (r.member_id.as_str(), r.generation_id, r.leader.as_str()),
        ("s2", 1, "s2")
    );
    assert!(
        r.skip_assignment,
        "KIP-814: the static leader keeps the current assignment"
    );
    assert_eq!(fx.records.len(), 1, "the new member id is persisted");
    let d = c.describe_group("g").expect("g");
    assert_eq!(d.state, GroupState::Stable);
    assert_eq!(d.members[0].member_id, "s2");
    assert_eq!(d.members[0].assignment, bytes::Bytes::from_static(b"a"));
}

#[test]
fn static_old_member_id_is_fenced() {
    let mut c = coordinator();
    stable_static(&mut c);
    join(&mut c, static_params("", "s2", "i1", 3), 100).expect("rejoin");
    assert_eq!(
        c.heartbeat("g", "s1", Some("i1"), 1, 200),
        Err(GroupError::FencedInstanceId)
    );
    assert_eq!(c.heartbeat("g", "s2", Some("i1"), 1, 200), Ok(()));
    let mut fx = Effects::default();
    assert_eq!(
        c.leave("g", &[("s1".into(), Some("i1".into()))], 200, &mut fx),
        vec![Err(GroupError::FencedInstanceId)]
    );
}

#[test]
fn static_rejoin_with_changed_protocols_rebalances() {
    let mut c = coordinator();
    stable_static(&mut c);
    let mut p = static_params("", "s2", "i1", 3);
    p.protocols = vec![("roundrobin".into(), bytes::Bytes::new())];
    let fx = join(&mut c, p, 100).expect("rejoin");
    let r = joined(&fx, 3).expect("completes: only member");
    assert_eq!((r.generation_id, r.protocol_name.as_str()), (2, "roundrobin"));
}

#[test]
fn static_member_leaves_by_instance_id_alone() {
    let mut c = coordinator();
    stable_static(&mut c);
    let mut fx = Effects::default();
    assert_eq!(
        c.leave("g", &[(String::new(), Some("i1".into()))], 10, &mut fx),
        vec![Ok(())]
    );
    assert_eq!(c.describe_group("g").expect("g").state, GroupState::Empty);
}
