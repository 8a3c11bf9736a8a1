//! Unit tests of the group state machine, driven with a manual clock (plain `now_ms` values)
//! and deterministic member ids.

mod consumer;
mod expiry;
mod limits;
mod offsets;
mod rebalance;
mod records;
mod static_members;
mod waiters;

use bytes::Bytes;

use crate::{Effects, GroupCoordinator, GroupError, GroupLimits, JoinParams, JoinResult, SyncParams, SyncResult};

pub const SESSION_MS: i32 = 10_000;
pub const REBALANCE_MS: i32 = 30_000;

pub fn coordinator() -> GroupCoordinator {
    GroupCoordinator::new(GroupLimits::default())
}

pub fn params(member_id: &str, new_id: &str, waiter: u64) -> JoinParams {
    JoinParams {
        group_id: "g".into(),
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "h".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        protocol_type: "consumer".into(),
        protocols: vec![
            ("range".into(), Bytes::from_static(b"r")),
            ("roundrobin".into(), Bytes::from_static(b"rr")),
        ],
        require_known_member_id: false,
        new_member_id: new_id.into(),
        waiter,
    }
}

pub fn join(c: &mut GroupCoordinator, p: JoinParams, now: i64) -> Result<Effects, GroupError> {
    let mut fx = Effects::default();
    c.join(p, now, &mut fx).map(|()| fx)
}

/// The join answer for `waiter` in `fx`.
pub fn joined(fx: &Effects, waiter: u64) -> Result<JoinResult, GroupError> {
    fx.joins
        .iter()
        .find(|(w, _)| *w == waiter)
        .map(|(_, r)| r.clone())
        .expect("waiter answered")
}

pub fn synced(fx: &Effects, waiter: u64) -> Result<SyncResult, GroupError> {
    fx.syncs
        .iter()
        .find(|(w, _)| *w == waiter)
        .map(|(_, r)| r.clone())
        .expect("waiter answered")
}

pub fn sync_params(member_id: &str, generation_id: i32, assignments: &[(&str, &str)], waiter: u64) -> SyncParams {
    SyncParams {
        group_id: "g".into(),
        member_id: member_id.into(),
        group_instance_id: None,
        generation_id,
        protocol_type: None,
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::copy_from_slice(a.as_bytes())))
            .collect(),
        waiter,
    }
}

pub fn sync(c: &mut GroupCoordinator, p: SyncParams, now: i64) -> Result<Effects, GroupError> {
    let mut fx = Effects::default();
    c.sync(p, now, &mut fx).map(|()| fx)
}

/// Two dynamic members "m1" (leader) and "m2" in generation 2, Stable, assignments "a1"/"a2".
pub fn stable_pair(c: &mut GroupCoordinator) {
    let fx = join(c, params("", "m1", 1), 0).expect("m1 joins");
    assert_eq!(joined(&fx, 1).expect("gen 1").generation_id, 1);
    join(c, params("", "m2", 2), 0).expect("m2 joins");
    let fx = join(c, params("m1", "x", 3), 0).expect("m1 rejoins");
    let r1 = joined(&fx, 3).expect("m1 gen 2");
    let r2 = joined(&fx, 2).expect("m2 gen 2");
    assert_eq!((r1.generation_id, r1.leader.as_str(), r1.members.len()), (2, "m1", 2));
    assert_eq!((r2.generation_id, r2.members.len()), (2, 0));
    sync(c, sync_params("m2", 2, &[], 4), 0).expect("m2 sync parks");
    let fx = sync(c, sync_params("m1", 2, &[("m1", "a1"), ("m2", "a2")], 5), 0).expect("leader sync");
    assert_eq!(synced(&fx, 4).expect("m2").assignment, Bytes::from_static(b"a2"));
    assert_eq!(synced(&fx, 5).expect("m1").assignment, Bytes::from_static(b"a1"));
}
