//! KIP-848 consumer groups: joining, reconciliation without double ownership, leaving, session
//! and revocation timeouts, static members, assignors and the epoch checks clients rely on.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::{coordinator, join, params};
use crate::{
    Assignment, Committer, ConsumerHeartbeat, ConsumerHeartbeatResult, Effects, GroupCoordinator, GroupError,
    GroupLimits, GroupState, OffsetCommit, TopicMetadata,
};

const TOPIC_ID: Uuid = Uuid::from_u128(0x1234);
const SESSION_MS: i64 = 45_000;

fn topics(partitions: i32) -> impl Fn(&str) -> Option<TopicMetadata> {
    move |name: &str| {
        (name == "t").then_some(TopicMetadata {
            topic_id: TOPIC_ID,
            partitions,
        })
    }
}

fn hb(member_id: &str, epoch: i32, owned: Option<&[i32]>) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        group_id: "g".into(),
        member_id: member_id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: if epoch == 0 { 60_000 } else { -1 },
        subscribed_topic_names: (epoch == 0).then(|| vec!["t".to_string()]),
        owned: owned.map(parts),
        client_id: "c".into(),
        client_host: "h".into(),
        ..ConsumerHeartbeat::default()
    }
}

fn parts(ps: &[i32]) -> Assignment {
    if ps.is_empty() {
        return Assignment::new();
    }
    BTreeMap::from([(TOPIC_ID, ps.iter().copied().collect::<BTreeSet<i32>>())])
}

fn owned(r: &ConsumerHeartbeatResult) -> Vec<i32> {
    r.assignment
        .as_ref()
        .expect("assignment sent")
        .get(&TOPIC_ID)
        .map(|ps| ps.iter().copied().collect())
        .unwrap_or_default()
}

fn beat(c: &mut GroupCoordinator, p: ConsumerHeartbeat, partitions: i32, now: i64) -> ConsumerHeartbeatResult {
    c.consumer_heartbeat(p, &topics(partitions), now)
        .expect("heartbeat accepted")
}

/// A member as the client tracks it: its id, epoch and what it owns.
struct Client {
    id: String,
    epoch: i32,
    owned: Vec<i32>,
}

impl Client {
    fn join(c: &mut GroupCoordinator, id: &str, partitions: i32, now: i64) -> Client {
        let r = beat(c, hb(id, 0, None), partitions, now);
        Client {
            id: r.member_id.clone(),
            epoch: r.member_epoch,
            owned: owned(&r),
        }
    }

    /// One heartbeat that reports what it owns, then applies the answer as a client does.
    fn beat(&mut self, c: &mut GroupCoordinator, partitions: i32, now: i64) {
        let r = beat(c, hb(&self.id, self.epoch, Some(&self.owned)), partitions, now);
        self.epoch = r.member_epoch;
        if r.assignment.is_some() {
            self.owned = owned(&r);
        }
    }
}

/// Heartbeats every client in turn until nothing changes; returns what each owns.
fn settle(c: &mut GroupCoordinator, clients: &mut [Client], partitions: i32, now: i64) -> Vec<Vec<i32>> {
    for _ in 0..10 {
        let before: Vec<(i32, Vec<i32>)> = clients.iter().map(|m| (m.epoch, m.owned.clone())).collect();
        for i in 0..clients.len() {
            clients[i].beat(c, partitions, now);
            let all: Vec<i32> = clients_owned(clients);
            let unique: BTreeSet<i32> = all.iter().copied().collect();
            assert_eq!(all.len(), unique.len(), "a partition is owned twice: {all:?}");
        }
        let after: Vec<(i32, Vec<i32>)> = clients.iter().map(|m| (m.epoch, m.owned.clone())).collect();
        if before == after {
            return clients.iter().map(|m| m.owned.clone()).collect();
        }
    }
    panic!("group did not settle");
}

fn clients_owned(clients: &[Client]) -> Vec<i32> {
    clients.iter().flat_map(|m| m.owned.clone()).collect()
}

#[test]
fn heartbeat_three_members_six_partitions_each_owns_two_exactly_once() {
    let mut c = coordinator();
    let mut clients = vec![Client::join(&mut c, "a", 6, 0)];
    assert_eq!(clients[0].owned, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(clients[0].epoch, 1);
    clients.push(Client::join(&mut c, "b", 6, 0));
    assert!(clients[1].owned.is_empty(), "b gets nothing a still owns");
    clients.push(Client::join(&mut c, "c", 6, 0));
    let owned = settle(&mut c, &mut clients, 6, 0);
    assert!(owned.iter().all(|o| o.len() == 2), "{owned:?}");
    let mut all: Vec<i32> = owned.concat();
    all.sort();
    assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    let d = c.describe_consumer_group("g").expect("described");
    assert_eq!((d.state, d.group_epoch, d.assignment_epoch), (GroupState::Stable, 3, 3));
    assert!(d
        .members
        .iter()
        .all(|m| m.member_epoch == 3 && m.assignment == m.target_assignment));
}

#[test]
fn heartbeat_revocation_not_acknowledged_keeps_partition_from_new_member() {
    let mut c = coordinator();
    let mut a = Client::join(&mut c, "a", 2, 0);
    let mut b = Client::join(&mut c, "b", 2, 0);
    assert_eq!((b.epoch, b.owned.clone()), (2, vec![]));
    // a is told to give up one partition, still at its old epoch.
    let r = beat(&mut c, hb("a", 1, None), 2, 0);
    assert_eq!((r.member_epoch, owned(&r).len()), (1, 1));
    assert_eq!(
        c.describe_consumer_group("g").expect("g").state,
        GroupState::Reconciling
    );
    // Until a's heartbeat shows it no longer owns it, b waits.
    b.beat(&mut c, 2, 0);
    assert!(b.owned.is_empty());
    a.owned = owned(&r);
    a.beat(&mut c, 2, 0);
    assert_eq!(a.epoch, 2);
    b.beat(&mut c, 2, 0);
    assert_eq!(b.owned.len(), 1);
    assert_ne!(a.owned, b.owned);
}

#[test]
fn heartbeat_leave_moves_partitions_to_remaining_members() {
    let mut c = coordinator();
    let mut clients: Vec<Client> = ["a", "b", "c"]
        .iter()
        .map(|id| Client::join(&mut c, id, 6, 0))
        .collect();
    settle(&mut c, &mut clients, 6, 0);
    let r = c.consumer_heartbeat(hb("c", -1, None), &topics(6), 0).expect("leave");
    assert_eq!(r.member_epoch, -1);
    clients.pop();
    let owned = settle(&mut c, &mut clients, 6, 0);
    assert_eq!(owned.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3]);
}

#[test]
fn tick_session_timeout_removes_member_and_reassigns() {
    let mut c = coordinator();
    let mut clients: Vec<Client> = ["a", "b"].iter().map(|id| Client::join(&mut c, id, 4, 0)).collect();
    settle(&mut c, &mut clients, 4, 0);
    // Only a keeps heartbeating.
    clients[0].beat(&mut c, 4, SESSION_MS - 1);
    let mut fx = Effects::default();
    c.tick(SESSION_MS - 1, &mut fx);
    assert_eq!(c.describe_consumer_group("g").expect("g").members.len(), 2);
    c.tick(SESSION_MS, &mut fx);
    assert_eq!(c.describe_consumer_group("g").expect("g").members.len(), 1);
    clients.pop();
    assert_eq!(settle(&mut c, &mut clients, 4, SESSION_MS), vec![vec![0, 1, 2, 3]]);
}

#[test]
fn tick_revocation_timeout_fences_member_that_keeps_partitions() {
    let mut c = coordinator();
    let a = Client::join(&mut c, "a", 2, 0);
    let _b = Client::join(&mut c, "b", 2, 0);
    // a is asked to revoke at t=0 but never acknowledges (it keeps reporting both partitions).
    beat(&mut c, hb("a", a.epoch, Some(&[0, 1])), 2, 0);
    beat(&mut c, hb("b", 2, Some(&[])), 2, 30_000);
    beat(&mut c, hb("a", a.epoch, Some(&[0, 1])), 2, 30_000);
    let mut fx = Effects::default();
    c.tick(60_000, &mut fx);
    let d = c.describe_consumer_group("g").expect("g");
    assert_eq!(
        d.members.iter().map(|m| m.member_id.as_str()).collect::<Vec<_>>(),
        vec!["b"]
    );
    let r = beat(&mut c, hb("b", 2, Some(&[])), 2, 60_000);
    assert_eq!(owned(&r), vec![0, 1]);
}

#[test]
fn heartbeat_epoch_checks_answer_fenced_and_unknown() {
    let mut c = coordinator();
    let a = Client::join(&mut c, "a", 2, 0);
    let err = |c: &mut GroupCoordinator, p| c.consumer_heartbeat(p, &topics(2), 0).expect_err("refused");
    assert_eq!(err(&mut c, hb("a", a.epoch + 1, None)), GroupError::FencedMemberEpoch);
    assert_eq!(err(&mut c, hb("zz", 1, None)), GroupError::UnknownMemberId);
    let mut other = hb("x", 1, None);
    other.group_id = "nope".into();
    assert_eq!(err(&mut c, other), GroupError::UnknownMemberId);
    let mut bad = hb("b", 0, None);
    bad.server_assignor = Some("sticky".into());
    assert_eq!(err(&mut c, bad), GroupError::UnsupportedAssignor("sticky".into()));
    let mut no_topics = hb("b", 0, None);
    no_topics.subscribed_topic_names = None;
    assert!(matches!(err(&mut c, no_topics), GroupError::InvalidRequest(_)));
}

#[test]
fn heartbeat_previous_epoch_accepted_after_lost_response() {
    let mut c = coordinator();
    let a = Client::join(&mut c, "a", 2, 0);
    let _b = Client::join(&mut c, "b", 2, 0);
    // a revokes, moves to epoch 2, but the response is "lost": it heartbeats with epoch 1.
    let r = beat(&mut c, hb("a", 1, None), 2, 0);
    let kept = owned(&r);
    let r = beat(&mut c, hb("a", 1, Some(&kept)), 2, 0);
    assert_eq!(r.member_epoch, 2);
    let r = beat(&mut c, hb("a", 1, Some(&kept)), 2, 0);
    assert_eq!(r.member_epoch, 2, "previous epoch, owning only its assignment");
    let refused = c.consumer_heartbeat(hb("a", 1, Some(&[0, 1])), &topics(2), 0);
    assert_eq!(refused, Err(GroupError::FencedMemberEpoch));
    assert_eq!(a.epoch, 1);
}

#[test]
fn heartbeat_static_member_rejoins_with_same_partitions_and_no_epoch_bump() {
    let mut c = coordinator();
    let mut p = hb("a", 0, None);
    p.instance_id = Some("i-1".into());
    let r = beat(&mut c, p.clone(), 4, 0);
    let mut clients = vec![
        Client {
            id: "a".into(),
            epoch: r.member_epoch,
            owned: owned(&r),
        },
        Client::join(&mut c, "b", 4, 0),
    ];
    let before = settle(&mut c, &mut clients, 4, 0);
    let epoch = c.describe_consumer_group("g").expect("g").group_epoch;
    let mut leave = hb("a", -2, None);
    leave.instance_id = Some("i-1".into());
    assert_eq!(beat(&mut c, leave, 4, 1_000).member_epoch, -2);
    // Another process with the same instance id while a is away: it takes a's place.
    let mut back = hb("a2", 0, None);
    back.instance_id = Some("i-1".into());
    let r = beat(&mut c, back, 4, 2_000);
    assert_eq!(owned(&r), before[0]);
    let d = c.describe_consumer_group("g").expect("g");
    assert_eq!((d.group_epoch, d.state), (epoch, GroupState::Stable));
    // A second live member with the same instance id is refused.
    let mut dup = hb("a3", 0, None);
    dup.instance_id = Some("i-1".into());
    assert_eq!(
        c.consumer_heartbeat(dup, &topics(4), 2_000),
        Err(GroupError::UnreleasedInstanceId)
    );
}

#[test]
fn heartbeat_partition_count_increase_assigns_new_partitions() {
    let mut c = coordinator();
    let mut clients = vec![Client::join(&mut c, "a", 2, 0)];
    assert_eq!(settle(&mut c, &mut clients, 2, 0), vec![vec![0, 1]]);
    assert_eq!(settle(&mut c, &mut clients, 3, 0), vec![vec![0, 1, 2]]);
}

#[test]
fn heartbeat_range_assignor_gives_contiguous_ranges() {
    let mut c = coordinator();
    let mut clients = Vec::new();
    for id in ["a", "b"] {
        let mut p = hb(id, 0, None);
        p.server_assignor = Some("range".into());
        let r = beat(&mut c, p, 5, 0);
        clients.push(Client {
            id: id.into(),
            epoch: r.member_epoch,
            owned: owned(&r),
        });
    }
    assert_eq!(settle(&mut c, &mut clients, 5, 0), vec![vec![0, 1, 2], vec![3, 4]]);
    assert_eq!(c.describe_consumer_group("g").expect("g").assignor_name, "range");
}

#[test]
fn commit_member_epoch_checked_for_consumer_group() {
    let mut c = coordinator();
    let a = Client::join(&mut c, "a", 1, 0);
    let commit = |c: &mut GroupCoordinator, member: &str, epoch: i32| {
        let one = OffsetCommit {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            leader_epoch: -1,
            metadata: String::new(),
        };
        let mut fx = Effects::default();
        c.commit_offsets(&Committer::new("g", member, None, epoch), vec![one], 0, &mut fx)
    };
    assert_eq!(commit(&mut c, "a", a.epoch), Ok(vec![Ok(())]));
    assert_eq!(commit(&mut c, "a", a.epoch + 1), Err(GroupError::StaleMemberEpoch));
    assert_eq!(commit(&mut c, "zz", a.epoch), Err(GroupError::UnknownMemberId));
    assert_eq!(commit(&mut c, "", -1), Err(GroupError::UnknownMemberId));
}

#[test]
fn protocols_do_not_mix_in_one_live_group() {
    let mut c = coordinator();
    Client::join(&mut c, "a", 1, 0);
    assert_eq!(
        join(&mut c, params("", "m1", 1), 0).expect_err("classic join refused"),
        GroupError::InconsistentGroupProtocol
    );
    let mut classic = GroupCoordinator::new(GroupLimits::default());
    join(&mut classic, params("", "m1", 1), 0).expect("classic join");
    assert_eq!(
        classic.consumer_heartbeat(hb("a", 0, None), &topics(1), 0),
        Err(GroupError::NotConsumerGroup)
    );
    // Once the consumer group is empty, a classic join converts it.
    c.consumer_heartbeat(hb("a", -1, None), &topics(1), 0).expect("leave");
    let listed = c.list_groups(&[]);
    assert_eq!((listed[0].state, listed[0].group_type), (GroupState::Empty, "consumer"));
    join(&mut c, params("", "m1", 1), 0).expect("converted to classic");
    assert_eq!(c.list_groups(&[])[0].group_type, "classic");
}
